//! `identitySecurityDefaultsEnforcementPolicy`: the tenant-wide security defaults (MFA for every
//! user, legacy authentication blocked).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::common::Operation;
use super::de;
use crate::request::GraphRequest;

pub const PATH: &str = "/policies/identitySecurityDefaultsEnforcementPolicy";

pub const READ: &str = "Policy.Read.All";
pub const WRITE: &str = "Policy.ReadWrite.SecurityDefaults";

pub const OPERATIONS: &[Operation] = &[
    Operation::new("GET", PATH, READ),
    Operation::new("PATCH", PATH, WRITE),
];

/// The policy as Graph returns it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityDefaults {
    #[serde(default, deserialize_with = "de::string")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "de::flag")]
    pub is_enabled: bool,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl SecurityDefaults {
    /// The object as JSON (the journal's prior state).
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// Read the policy.
pub fn get() -> GraphRequest {
    GraphRequest::get(PATH)
        .label("read the security defaults (identitySecurityDefaultsEnforcementPolicy)")
}

/// The PATCH body turning security defaults on or off.
pub fn enabled_body(enabled: bool) -> Value {
    json!({ "isEnabled": enabled })
}

/// Turn security defaults on or off.
pub fn update(patch: Value) -> GraphRequest {
    GraphRequest::patch(PATH).json(patch)
}
