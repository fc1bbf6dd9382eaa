//! References to objects created earlier in the same apply: filled in from what their creates
//! answered, by `apply` (from Graph) and by `simulate_apply` (from the simulated creates).

use std::collections::BTreeMap;

use serde_json::Value;

use super::error::BadChange;
use super::plan::{Change, ChangeId};

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
