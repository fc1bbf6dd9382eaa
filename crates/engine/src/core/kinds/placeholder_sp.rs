//! The placeholder app's service principal: the conditional access app picker and the Baseline
//! scopes settings page list service principals, so the placeholder needs one. Created with the
//! `entractl:<uniqueName>` tag (found by it in one read), tagged when found without it.

use entractl_graph::{GraphError, GraphRequest};
use serde_json::Value;

use super::context::PlanContext;
use super::kind::{Kind, PlanOut, RequiredPermissions};
use super::service_principal::{
    create_change, existing_change, requests_of, simulate_into, sp_undo_hint,
};
use crate::core::desired::Desired;
use crate::core::error::{BadChange, PlanError};
use crate::core::observed::{Observed, ObservedPlaceholder, ServicePrincipal};
use crate::core::plan::{Action, Change, ChangeId, ObjectKind, ObjectRef};

/// See the module documentation.
pub struct PlaceholderServicePrincipalKind;

const KIND: ObjectKind = ObjectKind::PlaceholderServicePrincipal;

impl Kind for PlaceholderServicePrincipalKind {
    fn kind(&self) -> ObjectKind {
        KIND
    }

    /// The placeholder app (created or changed) before its service principal.
    fn after(&self) -> &'static [ObjectKind] {
        &[ObjectKind::PlaceholderApplication]
    }

    fn plan(&self, cx: &PlanContext<'_>, out: &mut PlanOut) -> Result<(), PlanError> {
        let Some(p) = cx.placeholder else {
            return Ok(());
        };
        let key = p.desired.unique_name.clone();
        let tag = p.desired.identity().managed_tag();
        let object = ObjectRef {
            kind: KIND,
            key: key.clone(),
            display: p.desired.display_name.clone(),
            id: p.sp.map(|s| s.id.clone()),
        };
        if cx.desired.destroying() {
            if p.sp.is_some() {
                out.changes.push(super::teardown::placeholder(object));
            }
            return Ok(());
        }
        out.changes.push(match p.sp {
            Some(s) => existing_change(s, object, &tag),
            None => create_change(
                object,
                cx.placeholder_app_id(),
                &tag,
                ChangeId {
                    kind: ObjectKind::PlaceholderApplication,
                    key,
                },
                "the placeholder app has no service principal in this tenant; conditional access policies and the Baseline scopes settings page pick apps by their service principal",
            ),
        });
        Ok(())
    }

    fn requests(&self, c: &Change, _o: &Observed) -> Result<Vec<GraphRequest>, BadChange> {
        requests_of(KIND, c)
    }

    /// A deletion of a service principal already gone: as planned.
    fn already_done(&self, c: &Change, e: &GraphError) -> bool {
        c.action == Action::Delete && e.is_not_found()
    }

    fn undo_hint(&self, c: &Change) -> String {
        sp_undo_hint(c)
    }

    fn prior_state(&self, o: &Observed, _c: &Change) -> Value {
        o.placeholder
            .as_ref()
            .and_then(|p| p.service_principal.as_ref())
            .map(ServicePrincipal::to_json)
            .unwrap_or(Value::Null)
    }

    fn simulate(
        &self,
        o: &mut Observed,
        c: &Change,
        new_id: &mut dyn FnMut(&str) -> String,
    ) -> Result<Value, BadChange> {
        let found = o
            .placeholder
            .get_or_insert_with(ObservedPlaceholder::default);
        simulate_into(&mut found.service_principal, KIND, c, &mut || new_id("id"))
    }

    fn permissions(&self, _desired: &Desired, _needed: &mut RequiredPermissions) {
        // Covered by the placeholder application's: the same Application.* permissions.
    }
}
