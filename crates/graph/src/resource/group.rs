//! `group`: found by display name or object id; its direct and transitive members.

use serde::{Deserialize, Serialize};

use super::common::{Operation, PAGE_SIZE, eq};
use super::de;
use crate::request::GraphRequest;

pub const COLLECTION: &str = "/groups";

pub const SELECT: &[&str] = &["id", "displayName", "description"];

/// Least privilege to read groups and their members.
pub const READ: &str = "GroupMember.Read.All";

const READ_HINT: &str = "GroupMember.Read.All (or Group.Read.All)";

pub const OPERATIONS: &[Operation] = &[
    Operation::new("GET", "/groups", READ_HINT),
    Operation::new("GET", "/groups/{}", READ_HINT),
    Operation::new("GET", "/groups/{}/members", READ_HINT),
    Operation::new("GET", "/groups/{}/transitiveMembers", READ_HINT),
];

/// A group as entractl reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    #[serde(deserialize_with = "de::required_guid")]
    pub id: String,
    #[serde(default, deserialize_with = "de::text")]
    pub display_name: String,
    #[serde(default, deserialize_with = "de::string")]
    pub description: Option<String>,
}

/// A member of a group: a user, a group, or another directory object (`@odata.type`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    #[serde(rename = "@odata.type", default, deserialize_with = "de::text")]
    pub odata_type: String,
    #[serde(deserialize_with = "de::required_guid")]
    pub id: String,
    #[serde(rename = "userPrincipalName", default, deserialize_with = "de::string")]
    pub user_principal_name: Option<String>,
    /// A user's `userType` (`Member`, `Guest`).
    #[serde(rename = "userType", default, deserialize_with = "de::string")]
    pub user_type: Option<String>,
}

impl Member {
    pub fn is_user(&self) -> bool {
        self.odata_type.ends_with(".user")
    }

    pub fn is_group(&self) -> bool {
        self.odata_type.ends_with(".group")
    }
}

/// `/groups/{id}`.
pub fn path(id: &str) -> String {
    format!("{COLLECTION}/{}", id.trim().to_ascii_lowercase())
}

/// Read one group by object id (404 when there is none).
pub fn get(id: &str, label: impl Into<String>) -> GraphRequest {
    GraphRequest::get(path(id))
        .select(SELECT)
        .label(label.into())
}

/// The groups with this display name (display names are not unique).
pub fn find_by_display_name(name: &str, label: impl Into<String>) -> GraphRequest {
    GraphRequest::get(COLLECTION)
        .query("$filter", eq("displayName", name))
        .select(SELECT)
        .label(label.into())
}

/// The direct members of a group (paged, largest pages).
pub fn members(id: &str, label: impl Into<String>) -> GraphRequest {
    GraphRequest::get(format!("{}/members", path(id)))
        .select(&["id", "userPrincipalName", "accountEnabled", "userType"])
        .top(PAGE_SIZE)
        .label(label.into())
}

/// Every member of a group, nested groups expanded (paged, largest pages).
pub fn transitive_members(id: &str, label: impl Into<String>) -> GraphRequest {
    GraphRequest::get(format!("{}/transitiveMembers", path(id)))
        .select(&["id"])
        .top(PAGE_SIZE)
        .label(label.into())
}
