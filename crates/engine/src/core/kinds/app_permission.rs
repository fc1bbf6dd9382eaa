//! Admin consent for application permissions: every application permission the spec declares
//! (`apiPermissions.<API>.application`) granted to the app's service principal — in Graph an
//! `appRoleAssignment` of the API's app role to the app's service principal — and every other
//! application permission the app holds revoked. The spec's `apiPermissions` is the whole list
//! (the app registration's `requiredResourceAccess` is replaced whole too), so a grant it does
//! not declare is removed without a `prune`-like opt-in; see docs/spec.md (`adminConsent`).

use std::collections::BTreeSet;

use entractl_graph::GraphError;
use entractl_graph::GraphRequest;
use entractl_graph::resource::app_role_assignment::{self as graph, AppRoleAssignment};
use serde_json::{Value, json};

use super::context::{PlanContext, ResolvedResource};
use super::kind::{Kind, PlanOut, RequiredPermissions};
use crate::core::desired::Desired;
use crate::core::error::{BadChange, PlanError};
use crate::core::normalize;
use crate::core::observed::Observed;
use crate::core::plan::{
    Action, Change, ChangeId, CreatedRef, FieldChange, ObjectKind, ObjectRef, Risk,
};

/// See the module documentation.
pub struct AppPermissionKind;

const KIND: ObjectKind = ObjectKind::ApplicationPermissionGrant;

impl Kind for AppPermissionKind {
    fn kind(&self) -> ObjectKind {
        KIND
    }

    fn after(&self) -> &'static [ObjectKind] {
        &[ObjectKind::ServicePrincipal]
    }

    fn plan(&self, cx: &PlanContext<'_>, out: &mut PlanOut) -> Result<(), PlanError> {
        let (Some(consent), Some(resolved)) = (cx.desired.app.admin_consent, &cx.resolved) else {
            return Ok(());
        };
        let granted: Vec<&AppRoleAssignment> = match cx.sp() {
            Some(sp) => cx
                .observed
                .app_role_grants
                .iter()
                .filter(|a| normalize::guid(&a.principal_id) == normalize::guid(&sp.id))
                .collect(),
            None => Vec::new(),
        };
        let mut wanted: BTreeSet<(String, String)> = BTreeSet::new();
        for r in resolved.iter().filter(|_| consent) {
            for (role_id, value) in &r.application {
                wanted.insert((normalize::guid(&r.sp.id), normalize::guid(role_id)));
                let existing = granted.iter().find(|a| {
                    normalize::guid(&a.resource_id) == normalize::guid(&r.sp.id)
                        && normalize::guid(&a.app_role_id) == normalize::guid(role_id)
                });
                out.changes.push(match existing {
                    Some(a) => {
                        let object = object(cx, &r.label, value, Some(a.id.clone()));
                        Change::new(object, Action::NoOp, "granted as the spec asks")
                    }
                    None => create(cx, r, role_id, value),
                });
            }
        }
        let mut deletes: Vec<Change> = granted
            .into_iter()
            .filter(|a| {
                !wanted.contains(&(
                    normalize::guid(&a.resource_id),
                    normalize::guid(&a.app_role_id),
                ))
            })
            .map(|a| revoke(cx, resolved, consent, a))
            .collect();
        deletes.sort_by(|x, y| x.object.key.cmp(&y.object.key));
        out.changes.extend(deletes);
        Ok(())
    }

    fn requests(&self, c: &Change, o: &Observed) -> Result<Vec<GraphRequest>, BadChange> {
        Ok(vec![match c.action {
            Action::Create => graph::create(c.payload.clone()),
            Action::Delete => {
                let a = granted(o, c)?;
                graph::delete(&a.resource_id, &a.id)
            }
            other => {
                return Err(BadChange::unsupported(KIND, other.as_str()));
            }
        }])
    }

    fn prior_state(&self, o: &Observed, c: &Change) -> Value {
        granted(o, c)
            .ok()
            .and_then(|a| serde_json::to_value(a).ok())
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
                let principal =
                    s("principalId").ok_or_else(|| BadChange::new(KIND, "no principalId"))?;
                let resource =
                    s("resourceId").ok_or_else(|| BadChange::new(KIND, "no resourceId"))?;
                let role = s("appRoleId").ok_or_else(|| BadChange::new(KIND, "no appRoleId"))?;
                let id = new_id("app-role-grant");
                o.app_role_grants.push(AppRoleAssignment {
                    id: id.clone(),
                    app_role_id: normalize::guid(role),
                    principal_id: normalize::guid(principal),
                    principal_type: "ServicePrincipal".into(),
                    principal_display_name: String::new(),
                    resource_id: normalize::guid(resource),
                    resource_display_name: field(c, "resource"),
                });
                Ok(json!({ "id": id }))
            }
            Action::Delete => {
                let id = c
                    .object
                    .id
                    .as_deref()
                    .ok_or_else(|| BadChange::new(KIND, "no id"))?;
                o.app_role_grants.retain(|a| a.id != id);
                Ok(Value::Null)
            }
            other => Err(BadChange::unsupported(KIND, other.as_str())),
        }
    }

    fn permissions(&self, desired: &Desired, needed: &mut RequiredPermissions) {
        let (Some(_), Some(perms)) = (desired.app.admin_consent, &desired.app.api_permissions)
        else {
            return;
        };
        needed.to_plan(
            graph::READ_GRANTED,
            "read the application permissions granted to the app (GET /servicePrincipals/{id}/appRoleAssignments)",
        );
        if desired.destroying() {
            needed.to_apply(
                graph::WRITE,
                "revoke the app's application permissions (DELETE /servicePrincipals/{API id}/appRoleAssignedTo/{id})",
            );
        } else if perms.iter().any(|p| !p.application.is_empty()) {
            needed.to_apply(
                graph::WRITE,
                "grant and revoke the app's application permissions (POST/DELETE /servicePrincipals/{API id}/appRoleAssignedTo); it can grant any application permission of any API, Microsoft Graph's included: keep the identity's credential tight",
            );
        }
    }

    /// A grant someone made in the meantime, or a revoked one already gone: as planned.
    fn already_done(&self, c: &Change, e: &GraphError) -> bool {
        match c.action {
            Action::Create => graph::is_duplicate(&e.to_string()),
            Action::Delete => e.is_not_found(),
            _ => false,
        }
    }

    fn undo_hint(&self, c: &Change) -> String {
        match c.action {
            Action::Delete => "POST /servicePrincipals/{resourceId}/appRoleAssignedTo with principalId, resourceId and appRoleId from `before`".into(),
            _ => "DELETE /servicePrincipals/{resourceId}/appRoleAssignedTo/{id} with the API's service principal id (`change.payload.resourceId`) and the id under `created.id` once the create succeeded".into(),
        }
    }
}

/// The observed grant a change is about.
fn granted<'o>(o: &'o Observed, c: &Change) -> Result<&'o AppRoleAssignment, BadChange> {
    let id = c
        .object
        .id
        .as_deref()
        .ok_or_else(|| BadChange::new(KIND, "no grant id"))?;
    o.app_role_grants
        .iter()
        .find(|a| a.id == id)
        .ok_or_else(|| BadChange::new(KIND, format!("no application permission grant {id}")))
}

/// The `after` (or, for a revoke, `before`) of one of a change's fields, as text.
fn field(c: &Change, path: &str) -> String {
    c.fields
        .iter()
        .find(|f| f.path == path)
        .and_then(|f| f.after.as_str().or(f.before.as_str()))
        .unwrap_or_default()
        .to_string()
}

/// `<app key> → <API>: <permission>`.
fn object(cx: &PlanContext<'_>, api: &str, permission: &str, id: Option<String>) -> ObjectRef {
    ObjectRef {
        kind: KIND,
        key: format!("{} → {api}: {permission}", cx.key()),
        display: format!("{} → {api}: {permission}", cx.desired.app.display_name),
        id,
    }
}

fn fields(api: &str, permission: &str, role_id: &str, granting: bool) -> Vec<FieldChange> {
    [
        ("resource", api),
        ("appRole", permission),
        ("appRoleId", role_id),
    ]
    .into_iter()
    .map(|(path, v)| {
        let (before, after) = if granting {
            (Value::Null, json!(v))
        } else {
            (json!(v), Value::Null)
        };
        FieldChange {
            path: path.into(),
            before,
            after,
        }
    })
    .collect()
}

/// Grant the application permission `role_id` (`value`) of the API `r`.
fn create(cx: &PlanContext<'_>, r: &ResolvedResource<'_>, role_id: &str, value: &str) -> Change {
    let what =
        r.sp.app_roles
            .iter()
            .find(|a| normalize::guid(&a.id) == normalize::guid(role_id))
            .map(|a| a.description.trim())
            .filter(|d| !d.is_empty())
            .map(|d| format!(" — {}: \"{d}\"", r.label))
            .unwrap_or_default();
    let mut c = Change::new(
        object(cx, &r.label, value, None),
        Action::Create,
        format!(
            "admin consent for an application permission the spec declares: once granted, {} uses it as itself, with no signed-in user, across the whole tenant{what}",
            cx.desired.app.display_name
        ),
    );
    c.fields = fields(&r.label, value, role_id, true);
    c.risks = vec![Risk::TenantWideConsent];
    let client = cx.sp().map(|s| s.id.as_str());
    c.payload = graph::application_permission_body(client, &r.sp.id, role_id);
    if client.is_none() {
        c.refs.push(CreatedRef {
            at: "/principalId".into(),
            created_by: ChangeId {
                kind: ObjectKind::ServicePrincipal,
                key: cx.key(),
            },
            property: "id".into(),
        });
    }
    c
}

/// Revoke a granted application permission the spec does not declare.
fn revoke(
    cx: &PlanContext<'_>,
    resolved: &[ResolvedResource<'_>],
    consent: bool,
    a: &AppRoleAssignment,
) -> Change {
    let named = resolved
        .iter()
        .find(|r| normalize::guid(&r.sp.id) == normalize::guid(&a.resource_id));
    let api = match named {
        Some(r) => r.label.clone(),
        None if !a.resource_display_name.is_empty() => a.resource_display_name.clone(),
        None => a.resource_id.clone(),
    };
    let value = named
        .and_then(|r| {
            r.sp.app_roles
                .iter()
                .find(|x| normalize::guid(&x.id) == normalize::guid(&a.app_role_id))
        })
        .map(|x| x.value.clone())
        .unwrap_or_else(|| a.app_role_id.clone());
    let reason = if cx.desired.destroying() {
        super::teardown::REMOVED.to_string()
    } else if !consent {
        "the spec sets `adminConsent: false`: the app's application permissions are revoked"
            .to_string()
    } else if named.is_some() {
        format!(
            "the spec does not declare this application permission of `{api}` (apiPermissions): revoked"
        )
    } else {
        format!(
            "the app holds an application permission of `{api}`, an API the spec's apiPermissions does not name: revoked"
        )
    };
    let mut c = Change::new(
        object(cx, &api, &value, Some(a.id.clone())),
        Action::Delete,
        reason,
    );
    c.fields = fields(&api, &value, &a.app_role_id, false);
    c.risks = vec![Risk::Removal];
    c
}
