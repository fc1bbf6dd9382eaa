//! The one change entractl makes to a conditional access policy: add the app's appId to
//! `conditions.applications.excludeApplications`.

use serde_json::{Map, Value, json};

use super::json::{contains, path, strings};

/// The body of `PATCH /identity/conditionalAccess/policies/{id}` that excludes `app_id`:
/// `{"conditions":{"applications":{"excludeApplications":[…existing…, app_id]}}}` and nothing
/// else. Graph replaces arrays on PATCH, so every existing entry is carried, in its order and as
/// written (entries other owners put there are never removed or rewritten); `app_id` is appended.
/// `None` when the app is already excluded (compared without regard to case).
///
/// Non-string entries of an existing list are carried unchanged too.
pub fn exclusion_patch(policy: &Value, app_id: &str) -> Option<Value> {
    let existing = path(
        policy,
        &["conditions", "applications", "excludeApplications"],
    );
    if contains(&strings(existing), app_id) {
        return None;
    }
    let mut list: Vec<Value> = match existing {
        Some(Value::Array(items)) => items.clone(),
        Some(Value::String(s)) => vec![Value::String(s.clone())],
        _ => Vec::new(),
    };
    list.push(Value::String(app_id.to_string()));
    Some(json!({"conditions": {"applications": {"excludeApplications": list}}}))
}

/// What a policy looks like after Graph applies `patch` to it: objects are merged member by
/// member (recursively), every other value (arrays included) replaces the old one. Used by
/// tests and by the plan's preview of a change.
pub fn apply_exclusion_patch(policy: &Value, patch: &Value) -> Value {
    let mut out = policy.clone();
    merge(&mut out, patch);
    out
}

fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (key, value) in p {
                let slot = existing_key(t, key).unwrap_or_else(|| key.clone());
                match t.get_mut(&slot) {
                    Some(existing) if existing.is_object() && value.is_object() => {
                        merge(existing, value);
                    }
                    _ => {
                        t.insert(slot, value.clone());
                    }
                }
            }
        }
        (target, patch) => *target = patch.clone(),
    }
}

/// The key of `object` Graph would update for the patch key `key`: itself, or a key that differs
/// only in case (Graph's property names are case-insensitive); never an annotation.
fn existing_key(object: &Map<String, Value>, key: &str) -> Option<String> {
    if object.contains_key(key) {
        return Some(key.to_string());
    }
    object
        .keys()
        .find(|k| !k.contains('@') && k.eq_ignore_ascii_case(key))
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const APP: &str = "9b1f4c2e-6a3d-4f8b-b1e7-2c5d8a0f3e69";

    #[test]
    fn appends_and_keeps_existing_entries_in_order() {
        let policy = json!({"id": "p", "conditions": {"applications": {
            "includeApplications": ["All"],
            "excludeApplications": ["Office365", "2793995e-0a7d-40d7-bd35-6968ba142197"]}}});
        let patch = exclusion_patch(&policy, APP).expect("a patch");
        assert_eq!(
            patch,
            json!({"conditions": {"applications": {"excludeApplications":
                ["Office365", "2793995e-0a7d-40d7-bd35-6968ba142197", APP]}}})
        );
        let after = apply_exclusion_patch(&policy, &patch);
        assert_eq!(
            after["conditions"]["applications"]["includeApplications"],
            json!(["All"])
        );
        assert_eq!(after["id"], "p");
        assert_eq!(exclusion_patch(&after, APP), None, "idempotent");
    }

    #[test]
    fn already_excluded_in_another_case() {
        let policy = json!({"conditions": {"applications": {
            "excludeApplications": [APP.to_uppercase()]}}});
        assert_eq!(exclusion_patch(&policy, APP), None);
    }

    #[test]
    fn missing_or_null_lists_are_created() {
        for policy in [
            json!({"conditions": {"applications": {"includeApplications": ["All"]}}}),
            json!({"conditions": {"applications": {"excludeApplications": null}}}),
            json!({"conditions": {}}),
            json!({}),
        ] {
            let patch = exclusion_patch(&policy, APP).expect("a patch");
            assert_eq!(
                patch["conditions"]["applications"]["excludeApplications"],
                json!([APP])
            );
            let after = apply_exclusion_patch(&policy, &patch);
            assert_eq!(
                after["conditions"]["applications"]["excludeApplications"],
                json!([APP])
            );
        }
    }

    #[test]
    fn merge_updates_a_wrong_case_key_in_place() {
        let policy = json!({"Conditions": {"Applications": {"ExcludeApplications": ["x"]}}});
        let patch = exclusion_patch(&policy, APP).expect("a patch");
        let after = apply_exclusion_patch(&policy, &patch);
        assert_eq!(
            after,
            json!({"Conditions": {"Applications": {"ExcludeApplications": ["x", APP]}}})
        );
    }
}
