//! `strongAuthenticationRequirements` of a user (beta `authentication/requirements`): the
//! legacy per-user MFA state, `disabled`, `enabled` or `enforced` (`enabled` becomes `enforced`
//! once the user registers a method). Beta only; Microsoft documents no v1.0 equivalent.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::common::Operation;
use super::{de, user};
use crate::request::GraphRequest;

pub const READ: &str = "Policy.Read.All";
pub const WRITE: &str = "Policy.ReadWrite.AuthenticationMethod";

pub const OPERATIONS: &[Operation] = &[
    Operation::new("GET", "/users/{}/authentication/requirements", READ),
    Operation::new("PATCH", "/users/{}/authentication/requirements", WRITE),
];

/// `perUserMfaState` values.
pub const DISABLED: &str = "disabled";
pub const ENABLED: &str = "enabled";
pub const ENFORCED: &str = "enforced";

/// The requirements object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Requirements {
    /// Absent reads as `disabled`.
    #[serde(default = "disabled", deserialize_with = "de::per_user_state")]
    pub per_user_mfa_state: String,
}

fn disabled() -> String {
    DISABLED.to_string()
}

/// `…/users/{user}/authentication/requirements` (`user`: a UPN or an object id).
pub fn path(upn_or_id: &str) -> String {
    format!("{}/authentication/requirements", user::path(upn_or_id))
}

/// Read the per-user MFA state of a user (beta).
pub fn get(upn_or_id: &str, label: &str) -> GraphRequest {
    GraphRequest::get(path(upn_or_id))
        .beta()
        .label(format!("read the per-user MFA state of {label}"))
}

/// The PATCH body setting the state.
pub fn state_body(state: &str) -> Value {
    json!({ "perUserMfaState": state })
}

/// Set the per-user MFA state of a user by object id (beta).
pub fn update(user_id: &str, patch: Value) -> GraphRequest {
    GraphRequest::patch(format!("/users/{user_id}/authentication/requirements"))
        .beta()
        .json(patch)
}
