//! `group`: found by display name or object id; its direct and transitive members.

use serde::{Deserialize, Serialize};

use serde_json::{Value, json};

use super::common::{Operation, PAGE_SIZE, eq, odata_str, while_replicating};
use super::de;
use crate::request::GraphRequest;

pub const COLLECTION: &str = "/groups";

pub const SELECT: &[&str] = &["id", "displayName", "description"];

/// What a record group is read with (its mailNickname says what it records).
pub const RECORD_SELECT: &[&str] = &["id", "displayName", "description", "mailNickname"];

/// The mailNickname prefix of entractl's record groups.
pub const RECORD_PREFIX: &str = "entractl-record-";

/// Least privilege to create a group.
pub const CREATE: &str = "Group.Create";

/// Least privilege to add and remove members of a group.
pub const MEMBER_WRITE: &str = "GroupMember.ReadWrite.All";

/// Needed with [`MEMBER_WRITE`] to add a service principal as a member: graph-docs
/// `api-reference/v1.0/api/group-post-members.md` lists, for a servicePrincipal member,
/// "GroupMember.ReadWrite.All and Application.ReadWrite.All" (Application.ReadWrite.OwnedBy is not
/// named). Removing one needs [`MEMBER_WRITE`] alone (`group-delete-members.md`).
pub const SERVICE_PRINCIPAL_MEMBER_WRITE: &str = "Application.ReadWrite.All";

/// Least privilege to delete a group (`group-delete.md`: no narrower application permission).
pub const DELETE: &str = "Group.ReadWrite.All";

/// Least privilege to read groups and their members.
pub const READ: &str = "GroupMember.Read.All";

const READ_HINT: &str = "GroupMember.Read.All (or Group.Read.All)";

pub const OPERATIONS: &[Operation] = &[
    Operation::new("GET", "/groups", READ_HINT),
    Operation::new("GET", "/groups/{}", READ_HINT),
    Operation::new("GET", "/groups/{}/members", READ_HINT),
    Operation::new("GET", "/groups/{}/transitiveMembers", READ_HINT),
    Operation::new("POST", "/groups", "Group.Create (or Group.ReadWrite.All)"),
    Operation::new("DELETE", "/groups/{}", DELETE),
    Operation::new(
        "POST",
        "/groups/{}/members/$ref",
        "GroupMember.ReadWrite.All (or Group.ReadWrite.All); a service principal member also Application.ReadWrite.All",
    ),
    Operation::new(
        "DELETE",
        "/groups/{}/members/{}/$ref",
        "GroupMember.ReadWrite.All (or Group.ReadWrite.All)",
    ),
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

/// entractl's record groups (by mailNickname prefix; no advanced query needed).
pub fn find_records(label: impl Into<String>) -> GraphRequest {
    GraphRequest::get(COLLECTION)
        .query(
            "$filter",
            format!("startswith(mailNickname,{})", odata_str(RECORD_PREFIX)),
        )
        .select(RECORD_SELECT)
        .top(PAGE_SIZE)
        .label(label.into())
}

/// The body of a security group that is neither mail-enabled nor a Microsoft 365 group.
pub fn security_group_body(display_name: &str, mail_nickname: &str, description: &str) -> Value {
    json!({
        "displayName": display_name,
        "mailNickname": mail_nickname,
        "description": description,
        "securityEnabled": true,
        "mailEnabled": false,
    })
}

/// Create a group from its body. An unknown outcome is resolved by looking the group up by
/// its mailNickname.
pub fn create(body: Value) -> GraphRequest {
    let nickname = body
        .get("mailNickname")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    GraphRequest::post(COLLECTION).json(body).idempotency_probe(
        GraphRequest::get(COLLECTION).query("$filter", eq("mailNickname", &nickname)),
    )
}

/// Add a directory object (user or group) to the direct members of `group_id` (retried while a
/// just-created group replicates).
pub fn add_member(group_id: &str, member_id: &str) -> GraphRequest {
    while_replicating(GraphRequest::post(format!(
        "{}/members/$ref",
        path(group_id)
    )))
    .json(json!({
        "@odata.id": format!(
            "https://graph.microsoft.com/v1.0/directoryObjects/{}",
            member_id.trim().to_ascii_lowercase()
        )
    }))
}

/// Delete a group. A security group is deleted at once, not kept in deleted items
/// (`group-delete.md`).
pub fn delete(id: &str) -> GraphRequest {
    GraphRequest::delete(path(id))
}

/// Remove a direct member of `group_id`.
pub fn remove_member(group_id: &str, member_id: &str) -> GraphRequest {
    GraphRequest::delete(format!(
        "{}/members/{}/$ref",
        path(group_id),
        member_id.trim().to_ascii_lowercase()
    ))
}

/// True when an add failed because the object is a member already: `error` is the failure in
/// words (Graph: "One or more added object references already exist").
pub fn is_already_member(error: &str) -> bool {
    error.contains("already exist")
}
