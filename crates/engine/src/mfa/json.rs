//! Tolerant reading of conditional access policy JSON as real tenants and tools produce it:
//! keys in the wrong case (`GrantControls`), keys that are missing or `null`, OData annotations
//! (`includeApplications@odata.type`), non-string entries in string lists.

use serde_json::{Map, Value};

/// The member `key` of an object: the exact key first, then a key that differs only in case.
/// Annotation keys (`key@odata.type`, `@odata.context`) never match. `None` for a missing key, a
/// `null` value, or when `value` is not an object.
pub(crate) fn get<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    let object = value.as_object()?;
    member(object, key).filter(|v| !v.is_null())
}

fn member<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    if let Some(v) = object.get(key) {
        return Some(v);
    }
    object
        .iter()
        .find(|(k, _)| !k.contains('@') && k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

/// The value at a path of object keys (each looked up with [`get`]).
pub(crate) fn path<'a>(value: &'a Value, keys: &[&str]) -> Option<&'a Value> {
    keys.iter().try_fold(value, |v, k| get(v, k))
}

/// The strings of a list: a missing key, `null` or a non-list gives none; non-string entries are
/// skipped. A single string is read as a list of one (seen in hand-written templates).
pub(crate) fn strings(value: Option<&Value>) -> Vec<&str> {
    match value {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        Some(Value::String(s)) => vec![s.as_str()],
        _ => Vec::new(),
    }
}

/// A string member, `None` when missing, `null` or not a string.
pub(crate) fn string<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    get(value, key).and_then(Value::as_str)
}

/// Whether a list holds `wanted`, compared without regard to ASCII case (GUIDs and Graph's
/// keywords such as `All` are case-insensitive).
pub(crate) fn contains(list: &[&str], wanted: &str) -> bool {
    list.iter()
        .any(|s| s.trim().eq_ignore_ascii_case(wanted.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn get_prefers_exact_key_then_ignores_case_but_not_annotations() {
        let v = json!({"grantControls@odata.type": "x", "GrantControls": {"a": 1}});
        assert_eq!(get(&v, "grantControls"), Some(&json!({"a": 1})));
        let v = json!({"grantControls": null, "GRANTCONTROLS": {"a": 1}});
        assert_eq!(get(&v, "grantControls"), None, "an exact null wins");
        assert_eq!(get(&json!([1]), "x"), None);
    }

    #[test]
    fn strings_tolerates_shapes() {
        assert!(strings(None).is_empty());
        assert!(strings(Some(&json!(null))).is_empty());
        assert_eq!(strings(Some(&json!(["a", 1, "b"]))), vec!["a", "b"]);
        assert_eq!(strings(Some(&json!("All"))), vec!["All"]);
        assert!(contains(&["ALL"], "all"));
        assert!(!contains(&["Allx"], "all"));
    }

    #[test]
    fn path_walks_objects() {
        let v = json!({"conditions": {"Applications": {"includeApplications": ["All"]}}});
        assert_eq!(
            strings(path(
                &v,
                &["conditions", "applications", "includeApplications"]
            )),
            vec!["All"]
        );
        assert!(path(&v, &["conditions", "users"]).is_none());
    }
}
