//! The versioned JSON plan (`docs/plan-format.md`).

use serde_json::{Value, json};

use crate::core::plan::{FORMAT_VERSION, Plan};

/// The versioned JSON document (`docs/plan-format.md`).
pub fn json_value(plan: &Plan) -> Value {
    let s = plan.summary();
    let mut v = json!({
        "format_version": FORMAT_VERSION,
        "tenant": plan.tenant,
        "cloud": plan.cloud,
        "has_changes": plan.has_changes(),
        "summary": s,
        "changes": plan.changes,
        "notes": plan.notes,
        "unmanaged": plan.unmanaged,
        "outputs": plan.outputs,
    });
    if let Some(f) = &plan.sign_in_forecast {
        v["sign_in_forecast"] = super::forecast::json(f);
    }
    v
}
