//! `user`: found by user principal name or object id.

use serde::{Deserialize, Serialize};

use super::common::{Operation, odata_str};
use super::de;
use crate::request::GraphRequest;

pub const SELECT: &[&str] = &[
    "id",
    "userPrincipalName",
    "displayName",
    "accountEnabled",
    "userType",
];

/// `userType` of an invited (B2B guest) account.
pub const GUEST: &str = "Guest";

pub const READ: &str = "User.Read.All";

pub const OPERATIONS: &[Operation] = &[
    Operation::new("GET", "/users", READ),
    Operation::new("GET", "/users/{}", READ),
];

/// A user as entractl reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    #[serde(deserialize_with = "de::required_guid")]
    pub id: String,
    #[serde(default, deserialize_with = "de::text")]
    pub user_principal_name: String,
    #[serde(default, deserialize_with = "de::text")]
    pub display_name: String,
    /// `false` when the account is disabled (absent reads as enabled).
    #[serde(default = "enabled", deserialize_with = "de::enabled")]
    pub account_enabled: bool,
    /// `Member` or `Guest` (`None` when not read).
    #[serde(default, deserialize_with = "de::string")]
    pub user_type: Option<String>,
}

impl User {
    /// An invited guest account (`userType` `Guest`).
    pub fn is_guest(&self) -> bool {
        is_guest(self.user_type.as_deref())
    }
}

/// Whether a `userType` value is `Guest`.
pub fn is_guest(user_type: Option<&str>) -> bool {
    user_type.is_some_and(|t| t.eq_ignore_ascii_case(GUEST))
}

fn enabled() -> bool {
    true
}

/// The path of a user by UPN or object id: `/users/{upn}`, or `/users('$x@y')` for a UPN
/// starting with `$` (which Graph would read as a system query option); `#` is percent-encoded
/// (it would start a URL fragment).
pub fn path(upn_or_id: &str) -> String {
    let s = upn_or_id.trim();
    if s.starts_with('$') {
        format!("/users({})", odata_str(s).replace('#', "%23"))
    } else {
        format!("/users/{}", s.replace('#', "%23"))
    }
}

/// Read one user by UPN or object id (404 when there is none).
pub fn get(upn_or_id: &str, label: impl Into<String>) -> GraphRequest {
    GraphRequest::get(path(upn_or_id))
        .select(SELECT)
        .label(label.into())
}
