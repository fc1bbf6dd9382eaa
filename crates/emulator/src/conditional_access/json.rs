//! Tolerant reads of policy JSON: real exports contain wrong-case keys (`GrantControls`), missing keys,
//! and strings where lists are expected.

use serde_json::Value;

/// Case-insensitive property lookup.
pub fn get<'v>(v: &'v Value, key: &str) -> Option<&'v Value> {
    let obj = v.as_object()?;
    obj.get(key).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// A property that is present and not `null`.
pub fn present<'v>(v: &'v Value, key: &str) -> Option<&'v Value> {
    get(v, key).filter(|x| !x.is_null())
}

/// The strings of a list property (a comma-separated string counts as a list).
pub fn strings<'v>(v: &'v Value, key: &str) -> Vec<&'v str> {
    match get(v, key) {
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        Some(Value::String(s)) => s
            .split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .collect(),
        _ => Vec::new(),
    }
}

/// Case-insensitive membership.
pub fn contains_ci(list: &[&str], value: &str) -> bool {
    list.iter().any(|x| x.eq_ignore_ascii_case(value))
}
