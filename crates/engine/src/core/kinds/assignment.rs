//! Users and groups assigned to the app (`appRoleAssignedTo` of its service principal),
//! license-aware. The service principal's `appRoleAssignmentRequired` is the service
//! principal's own (see `service_principal`).

use entractl_graph::resource::app_role_assignment::{
    self as graph, AppRoleAssignment, DEFAULT_ACCESS_ROLE,
};
use entractl_graph::resource::{group, subscribed_sku, user};
use entractl_graph::{GraphError, GraphRequest};
use serde_json::{Value, json};

use super::assignment_plan;
use super::context::PlanContext;
use super::kind::{Kind, PlanOut, RequiredPermissions, Sending};
use crate::core::desired::Desired;
use crate::core::error::{BadChange, PlanError};
use crate::core::normalize;
use crate::core::observed::Observed;
use crate::core::plan::{Action, Change, ObjectKind};

/// See the module documentation.
pub struct AssignmentKind;

const KIND: ObjectKind = ObjectKind::AppRoleAssignment;

impl Kind for AssignmentKind {
    fn kind(&self) -> ObjectKind {
        KIND
    }

    /// The service principal (and whether it requires assignment) before its assignments.
    fn after(&self) -> &'static [ObjectKind] {
        &[ObjectKind::ServicePrincipal]
    }

    fn plan(&self, cx: &PlanContext<'_>, out: &mut PlanOut) -> Result<(), PlanError> {
        match &cx.desired.assignments {
            Some(a) => assignment_plan::plan(cx, a, out),
            None => Ok(()),
        }
    }

    fn requests(&self, c: &Change, o: &Observed) -> Result<Vec<GraphRequest>, BadChange> {
        Ok(vec![match c.action {
            Action::Create => graph::create(c.payload.clone()),
            Action::Delete => {
                let id = c
                    .object
                    .id
                    .as_deref()
                    .ok_or_else(|| BadChange::new(KIND, "no assignment id"))?;
                let sp = o
                    .service_principal
                    .as_ref()
                    .ok_or_else(|| BadChange::new(KIND, "no service principal id"))?;
                graph::delete(&sp.id, id)
            }
            other => {
                return Err(BadChange::unsupported(KIND, other.as_str()));
            }
        }])
    }

    fn prior_state(&self, o: &Observed, c: &Change) -> Value {
        c.object
            .id
            .as_ref()
            .and_then(|id| o.assignments.existing.iter().find(|e| &e.id == id))
            .map(|e| serde_json::to_value(e).unwrap_or(Value::Null))
            .unwrap_or(Value::Null)
    }

    fn simulate(
        &self,
        o: &mut Observed,
        c: &Change,
        new_id: &mut dyn FnMut(&str) -> String,
    ) -> Result<Value, BadChange> {
        match c.action {
            Action::Create => {
                let s = |k: &str| c.payload.get(k).and_then(Value::as_str);
                let principal_id = s("principalId")
                    .ok_or_else(|| BadChange::new(KIND, "no principalId"))?
                    .to_ascii_lowercase();
                let principal_type = c
                    .fields
                    .iter()
                    .find(|f| f.path == "principalType")
                    .and_then(|f| f.after.as_str())
                    .unwrap_or("User")
                    .to_string();
                let id = new_id("id");
                o.assignments.existing.push(AppRoleAssignment {
                    id: id.clone(),
                    app_role_id: normalize::guid(s("appRoleId").unwrap_or(DEFAULT_ACCESS_ROLE)),
                    principal_id,
                    principal_type,
                    principal_display_name: c.object.display.clone(),
                    resource_id: String::new(),
                    resource_display_name: String::new(),
                });
                Ok(json!({ "id": id }))
            }
            Action::Delete => {
                let id = c
                    .object
                    .id
                    .as_deref()
                    .ok_or_else(|| BadChange::new(KIND, "no id"))?;
                o.assignments.existing.retain(|e| e.id != id);
                Ok(Value::Null)
            }
            other => Err(BadChange::unsupported(KIND, other.as_str())),
        }
    }

    fn permissions(&self, desired: &Desired, needed: &mut RequiredPermissions) {
        let Some(a) = &desired.assignments else {
            return;
        };
        if !a.users.is_empty() || !a.prune {
            needed.to_plan(
                user::READ,
                "find the users under assignments.users and read the assigned users (GET /users/{id | userPrincipalName})",
            );
        }
        needed.to_plan(
            group::READ,
            "find the groups under assignments.groups and read their direct members (GET /groups, /groups/{id}/members)",
        );
        needed.to_plan(
            subscribed_sku::READ,
            "read the license tier: groups can be assigned only with Entra ID P1/P2 (GET /subscribedSkus)",
        );
        if desired.destroying() {
            needed.to_apply(
                graph::WRITE,
                "remove the app's user and group assignments (DELETE /servicePrincipals/{id}/appRoleAssignedTo/{id})",
            );
            return;
        }
        needed.to_apply(
            graph::WRITE,
            "assign users and groups to the app and, with prune, remove assignments (POST/DELETE /servicePrincipals/{id}/appRoleAssignedTo); it can assign any app role of any API: keep the identity's credential tight",
        );
    }

    /// All together, in `$batch`es (5,000 users are not 5,000 round trips); the first alone,
    /// with the retries a just-created service principal needs while it replicates.
    fn sending(&self) -> Sending {
        Sending::Together { first_alone: true }
    }

    /// A duplicate create (made meanwhile) or a delete of one already gone: as planned.
    fn already_done(&self, c: &Change, e: &GraphError) -> bool {
        match c.action {
            Action::Create => graph::is_duplicate(&e.to_string()),
            Action::Delete => e.is_not_found(),
            _ => false,
        }
    }
}
