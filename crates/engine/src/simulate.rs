//! `simulate_apply`: what the tenant would look like after a plan, as Graph would apply it.
//! Pure; used by the property test "after apply, a fresh plan is empty" and by `apply --dry-run`
//! style checks.

use serde_json::{Map, Value, json};

use crate::error::PlanError;
use crate::observed::{
    Application, Candidate, MatchedBy, OAuth2PermissionGrant, Observed, ServicePrincipal,
};
use crate::plan::{Action, ObjectKind, Plan};

/// Graph PATCH semantics: top-level properties in the body replace the current ones whole.
pub fn merge_patch(current: &Value, body: &Value) -> Value {
    let mut out = current.as_object().cloned().unwrap_or_default();
    if let Some(b) = body.as_object() {
        for (k, v) in b {
            out.insert(k.clone(), v.clone());
        }
    }
    Value::Object(out)
}

fn bad(kind: ObjectKind, detail: &str) -> PlanError {
    PlanError::BadPayload {
        kind,
        detail: detail.to_string(),
    }
}

/// Applies the plan's changes to the observed model.
pub fn simulate_apply(observed: &Observed, plan: &Plan) -> Result<Observed, PlanError> {
    let mut o = observed.clone();
    let mut counter = 0u32;
    let mut next_id = |prefix: &str| {
        counter += 1;
        format!("{prefix}-{counter:04}")
    };
    for c in plan.actionable() {
        if let Some(m) = o.mfa.as_mut() {
            let app_id = o.candidates.first().map(|a| a.app.app_id.clone());
            if crate::mfa::posture::simulate(m, c, app_id.as_deref())
                .map_err(|e| bad(c.object.kind, &e))?
            {
                continue;
            }
        }
        match (c.object.kind, c.action) {
            (ObjectKind::Application, Action::Create) => {
                let mut raw = c.payload.clone();
                let obj = raw
                    .as_object_mut()
                    .ok_or_else(|| bad(c.object.kind, "not an object"))?;
                obj.insert("id".into(), json!(next_id("app")));
                obj.insert("appId".into(), json!(next_id("appid")));
                let app = Application::from_graph(&raw)
                    .ok_or_else(|| bad(c.object.kind, "cannot parse"))?;
                o.candidates = vec![Candidate {
                    app,
                    matched_by: vec![MatchedBy::UniqueName, MatchedBy::ManagedTag],
                }];
            }
            (ObjectKind::Application, Action::Update | Action::Adopt) => {
                let cand = o
                    .candidates
                    .first_mut()
                    .ok_or_else(|| bad(c.object.kind, "update of a missing app"))?;
                let raw = merge_patch(&cand.app.raw, &c.payload);
                cand.app = Application::from_graph(&raw)
                    .ok_or_else(|| bad(c.object.kind, "cannot parse"))?;
                if !cand.matched_by.contains(&MatchedBy::ManagedTag) {
                    cand.matched_by.push(MatchedBy::ManagedTag);
                }
            }
            (ObjectKind::ServicePrincipal, Action::Create) => {
                let app_id = o
                    .candidates
                    .first()
                    .map(|c| c.app.app_id.clone())
                    .ok_or_else(|| bad(c.object.kind, "no application"))?;
                let mut body = c.payload.as_object().cloned().unwrap_or_else(Map::new);
                body.insert("appId".into(), json!(app_id));
                body.insert("id".into(), json!(next_id("sp")));
                o.service_principal = Some(
                    ServicePrincipal::from_graph(&Value::Object(body))
                        .ok_or_else(|| bad(c.object.kind, "cannot parse"))?,
                );
            }
            (ObjectKind::ServicePrincipal, Action::Update) => {
                let sp = o
                    .service_principal
                    .as_mut()
                    .ok_or_else(|| bad(c.object.kind, "update of a missing service principal"))?;
                let raw = merge_patch(&sp.raw, &c.payload);
                *sp = ServicePrincipal::from_graph(&raw)
                    .ok_or_else(|| bad(c.object.kind, "cannot parse"))?;
            }
            (ObjectKind::OAuth2PermissionGrant, Action::Create) => {
                let sp = o
                    .service_principal
                    .as_ref()
                    .ok_or_else(|| bad(c.object.kind, "no service principal"))?;
                let mut body = c.payload.as_object().cloned().unwrap_or_else(Map::new);
                body.insert("clientId".into(), json!(sp.id));
                body.insert("id".into(), json!(next_id("grant")));
                o.grants.push(
                    OAuth2PermissionGrant::from_graph(&Value::Object(body))
                        .ok_or_else(|| bad(c.object.kind, "cannot parse"))?,
                );
            }
            (ObjectKind::OAuth2PermissionGrant, Action::Update) => {
                let id = c
                    .object
                    .id
                    .as_deref()
                    .ok_or_else(|| bad(c.object.kind, "no id"))?;
                let g = o
                    .grants
                    .iter_mut()
                    .find(|g| g.id == id)
                    .ok_or_else(|| bad(c.object.kind, "grant not found"))?;
                let raw = merge_patch(&g.raw, &c.payload);
                *g = OAuth2PermissionGrant::from_graph(&raw)
                    .ok_or_else(|| bad(c.object.kind, "cannot parse"))?;
            }
            (ObjectKind::OAuth2PermissionGrant, Action::Delete) => {
                let id = c
                    .object
                    .id
                    .as_deref()
                    .ok_or_else(|| bad(c.object.kind, "no id"))?;
                o.grants.retain(|g| g.id != id);
            }
            (ObjectKind::Application, Action::Restore) => {
                crate::restore::simulate(&mut o, c).map_err(|d| bad(c.object.kind, &d))?;
            }
            (ObjectKind::AppRoleAssignment, _) => {
                let id = next_id("assignment");
                crate::assignments::simulate(&mut o, c, id).map_err(|d| bad(c.object.kind, &d))?;
            }
            (kind, action) => {
                return Err(bad(
                    kind,
                    &format!("{} is not supported for this kind", action.as_str()),
                ));
            }
        }
    }
    Ok(o)
}
