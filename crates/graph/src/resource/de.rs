//! Lenient deserializers for Graph JSON: a property of an unexpected type (or `null`) reads as
//! absent instead of failing the whole object, as Graph documents `null` for empty collections
//! and hostile or newer responses may carry surprises. Required keys (`id`, `appId`) stay strict.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A string, or `None` for anything else.
pub(crate) fn string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(s),
        _ => None,
    })
}

/// A string, or `""` for anything else.
pub(crate) fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(string(d)?.unwrap_or_default())
}

/// A GUID, trimmed and lower-cased (GUIDs compare case-insensitively); `""` for a non-string.
pub(crate) fn guid<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(text(d)?.trim().to_ascii_lowercase())
}

/// A required GUID, trimmed and lower-cased.
pub(crate) fn required_guid<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    required_lower(d)
}

/// A required key Graph compares without regard to case (a GUID, a domain name), trimmed and
/// lower-cased.
pub(crate) fn required_lower<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(String::deserialize(d)?.trim().to_ascii_lowercase())
}

/// A per-user MFA state string, `disabled` for anything else.
pub(crate) fn per_user_state<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(string(d)?.unwrap_or_else(|| "disabled".to_string()))
}

/// A boolean, or `None` for anything else.
pub(crate) fn boolean<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(Value::deserialize(d)?.as_bool())
}

/// A boolean, or `false` for anything else.
pub(crate) fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(boolean(d)?.unwrap_or(false))
}

/// A boolean, or `true` for anything else (an account is enabled unless Graph says otherwise).
pub(crate) fn enabled<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(boolean(d)?.unwrap_or(true))
}

/// The strings of an array (other items skipped); empty for anything else.
pub(crate) fn strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Array(items) => items
            .into_iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    })
}

/// The items of an array that parse as `T` (others skipped); empty for anything else.
pub(crate) fn list<'de, D: Deserializer<'de>, T: DeserializeOwned>(
    d: D,
) -> Result<Vec<T>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Array(items) => items
            .into_iter()
            .filter_map(|v| serde_json::from_value(v).ok())
            .collect(),
        _ => Vec::new(),
    })
}

/// An object that parses as `T`, or `None` for anything else.
pub(crate) fn object<'de, D: Deserializer<'de>, T: DeserializeOwned>(
    d: D,
) -> Result<Option<T>, D::Error> {
    Ok(match Value::deserialize(d)? {
        v @ Value::Object(_) => serde_json::from_value(v).ok(),
        _ => None,
    })
}

/// Parses one Graph object as `T`; `None` when a required property is missing or malformed.
pub fn parse<T: DeserializeOwned>(v: &Value) -> Option<T> {
    T::deserialize(v).ok()
}
