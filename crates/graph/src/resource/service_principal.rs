//! `servicePrincipal`: an application's instance in a tenant (the enterprise application), the
//! managed app's own and those of the resource APIs it asks permissions of.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::common::{Operation, eq, has_tag, list, while_replicating};
use super::de;
use crate::request::GraphRequest;

pub const COLLECTION: &str = "/servicePrincipals";

/// The properties entractl reads: the managed app's service principal (tags, assignment
/// required, its app roles) and the resource APIs (their delegated and application permissions).
pub const SELECT: &[&str] = &[
    "id",
    "appId",
    "displayName",
    "tags",
    "appRoleAssignmentRequired",
    "appRoles",
    "oauth2PermissionScopes",
];

/// Tag Entra puts on service principals made in the portal, which lists them under Enterprise
/// applications.
pub const INTEGRATED_APP_TAG: &str = "WindowsAzureActiveDirectoryIntegratedApp";

pub const READ: &str = "Application.Read.All";
pub const WRITE_OWNED: &str = "Application.ReadWrite.OwnedBy";

pub const OPERATIONS: &[Operation] = &[
    Operation::new("GET", "/servicePrincipals", READ),
    Operation::new("GET", "/servicePrincipals/{}", READ),
    Operation::new(
        "POST",
        "/servicePrincipals",
        "Application.ReadWrite.OwnedBy (for apps it owns) or Application.ReadWrite.All",
    ),
    Operation::new(
        "PATCH",
        "/servicePrincipals/{}",
        "Application.ReadWrite.OwnedBy (for apps it owns) or Application.ReadWrite.All",
    ),
    Operation::new(
        "DELETE",
        "/servicePrincipals/{}",
        "Application.ReadWrite.OwnedBy (for apps it owns) or Application.ReadWrite.All",
    ),
    Operation::new(
        "GET",
        "/servicePrincipals/{}/oauth2PermissionGrants",
        "Directory.Read.All",
    ),
];

/// A service principal as Graph returns it (unmodelled properties in `other`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePrincipal {
    pub id: String,
    pub app_id: String,
    #[serde(default, deserialize_with = "de::text")]
    pub display_name: String,
    #[serde(default, deserialize_with = "de::strings")]
    pub tags: Vec<String>,
    /// "Assignment required?" (`None` when not read).
    #[serde(
        default,
        deserialize_with = "de::boolean",
        skip_serializing_if = "Option::is_none"
    )]
    pub app_role_assignment_required: Option<bool>,
    /// Application permissions (and roles users can be assigned).
    #[serde(default, deserialize_with = "de::list")]
    pub app_roles: Vec<Permission>,
    /// Delegated permissions.
    #[serde(default, deserialize_with = "de::list")]
    pub oauth2_permission_scopes: Vec<Permission>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// An app role or a delegated permission scope: its id and value (`User.Read`); for an app
/// role also who it can be assigned to and what it allows, in the API's own words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permission {
    pub id: String,
    pub value: String,
    /// An app role's `allowedMemberTypes`: `User` (users and groups), `Application` (client
    /// service principals: an application permission), or both (`approle.md`).
    #[serde(
        default,
        rename = "allowedMemberTypes",
        deserialize_with = "de::strings",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub allowed_member_types: Vec<String>,
    /// An app role's `description` ("Allows the app to read user profiles without a signed in
    /// user.").
    #[serde(
        default,
        deserialize_with = "de::text",
        skip_serializing_if = "String::is_empty"
    )]
    pub description: String,
}

impl Permission {
    /// True for an app role client applications can be granted (`allowedMemberTypes` names
    /// `Application`, or is not known).
    pub fn is_application_permission(&self) -> bool {
        self.allowed_member_types.is_empty()
            || self
                .allowed_member_types
                .iter()
                .any(|t| t.eq_ignore_ascii_case("Application"))
    }
}

impl ServicePrincipal {
    /// True when it carries `tag` (case-insensitively).
    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t.eq_ignore_ascii_case(tag))
    }

    /// The object as JSON (the journal's prior state).
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// `/servicePrincipals/{id}`.
pub fn path(id: &str) -> String {
    format!("{COLLECTION}/{id}")
}

/// Find service principals by a `$filter`.
pub fn find(filter: String, label: impl Into<String>) -> GraphRequest {
    list(COLLECTION, filter, SELECT, label)
}

/// The service principal of the application `app_id`.
pub fn find_by_app_id(app_id: &str, label: impl Into<String>) -> GraphRequest {
    find(eq("appId", app_id), label)
}

/// The service principals carrying `tag`.
pub fn find_by_tag(tag: &str, label: impl Into<String>) -> GraphRequest {
    find(has_tag(tag), label)
}

/// The service principals with this display name.
pub fn find_by_display_name(name: &str, label: impl Into<String>) -> GraphRequest {
    find(eq("displayName", name), label)
}

/// Read one service principal by id (404 when it does not exist).
pub fn get(id: &str, label: impl Into<String>) -> GraphRequest {
    GraphRequest::get(path(id))
        .select(SELECT)
        .label(label.into())
}

/// The body creating the service principal of `app_id` with `tags` (and any other properties).
pub fn create_body(app_id: Option<&str>, tags: &[&str]) -> Value {
    json!({ "appId": app_id, "tags": tags })
}

/// Create the service principal whose body names `appId`. Retried while the application
/// replicates ("does not reference a valid application object"); an unknown outcome is resolved
/// by looking it up by appId.
pub fn create(body: Value) -> GraphRequest {
    let app_id = body
        .get("appId")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    while_replicating(GraphRequest::post(COLLECTION))
        .json(body)
        .idempotency_probe(GraphRequest::get(COLLECTION).query("$filter", eq("appId", &app_id)))
}

/// Delete a service principal (to deleted items, restorable for 30 days;
/// `serviceprincipal-delete.md`).
pub fn delete(id: &str) -> GraphRequest {
    GraphRequest::delete(path(id))
}

/// Update a service principal (PATCH semantics), retried while it replicates.
pub fn update(id: &str, patch: Value) -> GraphRequest {
    while_replicating(GraphRequest::patch(path(id))).json(patch)
}
