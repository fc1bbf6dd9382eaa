//! `simulate_apply`: what the tenant would look like after a plan, as Graph would apply it.
//! Pure; used by the property "after apply, a fresh plan is empty", and by apply's read-back
//! for writes Graph acknowledged but does not show yet ([`simulate_answered`]).

use std::collections::BTreeMap;

use serde_json::Value;

use super::error::PlanError;
use super::kinds;
use super::observed::Observed;
use super::plan::{Change, ChangeId, Plan};
use super::refs::resolve_refs;

/// Applies the plan's changes to the observed model.
pub fn simulate_apply(observed: &Observed, plan: &Plan) -> Result<Observed, PlanError> {
    simulate_on(observed.clone(), plan)
}

/// Applies the plan's changes to `o` (a copy of the observed model, possibly without the reads
/// no change touches: [`Observed::for_writes`]).
pub fn simulate_on(mut o: Observed, plan: &Plan) -> Result<Observed, PlanError> {
    let mut counter = 0u32;
    let mut new_id = |prefix: &str| {
        counter += 1;
        format!("{prefix}-{counter:04}")
    };
    let mut created: BTreeMap<ChangeId, Value> = BTreeMap::new();
    let mut changes: Vec<&Change> = plan.actionable().collect();
    changes.sort_by_key(|c| c.rank());
    for c in changes {
        let c = resolve_refs(c, &created)?;
        let answer = kinds::of(c.object.kind).simulate(&mut o, &c, &mut new_id)?;
        if !answer.is_null() {
            created.insert(c.id(), answer);
        }
    }
    Ok(o)
}

/// `observed` with `changes` applied as Graph applies them, each created object with the values
/// Graph answered for it (`answers`, by change; references filled in from them too): the tenant
/// once writes Graph acknowledged have replicated.
pub fn simulate_answered(
    observed: &Observed,
    changes: &[Change],
    answers: &BTreeMap<ChangeId, Value>,
) -> Result<Observed, PlanError> {
    let mut o = observed.clone();
    let mut changes: Vec<&Change> = changes.iter().collect();
    changes.sort_by_key(|c| c.object.kind.rank());
    for c in changes {
        let c = resolve_refs(c, answers)?;
        let answer = answers.get(&c.id());
        let mut given = |property: &str| {
            answer
                .and_then(|a| a.get(property))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        kinds::of(c.object.kind).simulate(&mut o, &c, &mut given)?;
    }
    Ok(o)
}
