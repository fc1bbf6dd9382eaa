//! `simulate_apply`: what the tenant would look like after a plan, as Graph would apply it.
//! Pure; used by the property "after apply, a fresh plan is empty".

use std::collections::BTreeMap;

use serde_json::Value;

use super::error::{BadChange, PlanError};
use super::kinds;
use super::observed::Observed;
use super::plan::{Change, ChangeId, Plan};

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

/// Fills the payload values a change takes from objects created earlier in the same apply
/// (`created`: what each create answered). An error names the first that is not known.
pub fn resolve_refs(
    change: &Change,
    created: &BTreeMap<ChangeId, Value>,
) -> Result<Change, BadChange> {
    let mut c = change.clone();
    for r in &change.refs {
        let value = created
            .get(&r.created_by)
            .and_then(|o| o.get(&r.property))
            .filter(|v| !v.is_null())
            .ok_or_else(|| {
                BadChange::new(
                    change.object.kind,
                    format!(
                        "the {} of {} \"{}\" is unknown (it was not created by this apply)",
                        r.property, r.created_by.kind, r.created_by.key
                    ),
                )
            })?;
        let slot = c.payload.pointer_mut(&r.at).ok_or_else(|| {
            BadChange::new(change.object.kind, format!("no `{}` in the payload", r.at))
        })?;
        *slot = value.clone();
    }
    Ok(c)
}

/// Applies the plan's changes to the observed model.
pub fn simulate_apply(observed: &Observed, plan: &Plan) -> Result<Observed, PlanError> {
    let mut o = observed.clone();
    let mut counter = 0u32;
    let mut new_id = |prefix: &str| {
        counter += 1;
        format!("{prefix}-{counter:04}")
    };
    let mut created: BTreeMap<ChangeId, Value> = BTreeMap::new();
    let mut changes: Vec<&Change> = plan.actionable().collect();
    changes.sort_by_key(|c| c.object.kind.rank());
    for c in changes {
        let c = resolve_refs(c, &created)?;
        let answer = kinds::of(c.object.kind).simulate(&mut o, &c, &mut new_id)?;
        if !answer.is_null() {
            created.insert(c.id(), answer);
        }
    }
    Ok(o)
}
