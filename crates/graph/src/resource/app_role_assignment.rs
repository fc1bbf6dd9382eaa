//! `appRoleAssignment`: a user, group or service principal assigned to an app role of a
//! resource service principal (`appRoleAssignedTo`): who may sign in to the app, and the
//! application permissions granted to a client (admin consent for app roles: an app role of an
//! API assigned to the client's service principal, read from the client's side,
//! `appRoleAssignments`).
//!
//! Graph documents both ways to create one (`serviceprincipal-post-approleassignedto.md`,
//! `serviceprincipal-post-approleassignments.md`) and recommends the resource's
//! `appRoleAssignedTo`: entractl creates and deletes through it for both uses.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::common::{Operation, PAGE_SIZE, odata_str, while_replicating};
use super::{de, service_principal};
use crate::request::GraphRequest;

/// The app role every application has: "Default Access".
pub const DEFAULT_ACCESS_ROLE: &str = "00000000-0000-0000-0000-000000000000";

pub const SELECT: &[&str] = &[
    "id",
    "appRoleId",
    "principalId",
    "principalType",
    "principalDisplayName",
];

/// What the client-side read selects: the resource too (an application permission is known by
/// its API and app role).
pub const GRANTED_SELECT: &[&str] = &[
    "id",
    "appRoleId",
    "principalId",
    "principalType",
    "principalDisplayName",
    "resourceId",
    "resourceDisplayName",
];

pub const WRITE: &str = "AppRoleAssignment.ReadWrite.All";

/// Reading the app roles granted to a service principal
/// (`serviceprincipal-list-approleassignments.md`).
pub const READ_GRANTED: &str = "Application.Read.All";

pub const OPERATIONS: &[Operation] = &[
    Operation::new(
        "GET",
        "/servicePrincipals/{}/appRoleAssignedTo",
        "Application.Read.All",
    ),
    Operation::new(
        "POST",
        "/servicePrincipals/{}/appRoleAssignedTo",
        "AppRoleAssignment.ReadWrite.All + Application.Read.All",
    ),
    Operation::new(
        "DELETE",
        "/servicePrincipals/{}/appRoleAssignedTo/{}",
        WRITE,
    ),
    Operation::new(
        "GET",
        "/servicePrincipals/{}/appRoleAssignments",
        READ_GRANTED,
    ),
];

/// One assignment as Graph returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppRoleAssignment {
    pub id: String,
    #[serde(default, deserialize_with = "de::guid")]
    pub app_role_id: String,
    #[serde(deserialize_with = "de::required_guid")]
    pub principal_id: String,
    /// `User`, `Group` or `ServicePrincipal`.
    #[serde(default, deserialize_with = "de::text")]
    pub principal_type: String,
    #[serde(default, deserialize_with = "de::text")]
    pub principal_display_name: String,
    /// The resource service principal (the API); read from the principal's side only.
    #[serde(
        default,
        deserialize_with = "de::guid",
        skip_serializing_if = "String::is_empty"
    )]
    pub resource_id: String,
    #[serde(
        default,
        deserialize_with = "de::text",
        skip_serializing_if = "String::is_empty"
    )]
    pub resource_display_name: String,
}

impl AppRoleAssignment {
    pub fn is_user(&self) -> bool {
        self.principal_type.eq_ignore_ascii_case("User")
    }

    pub fn is_group(&self) -> bool {
        self.principal_type.eq_ignore_ascii_case("Group")
    }

    pub fn is_service_principal(&self) -> bool {
        self.principal_type.eq_ignore_ascii_case("ServicePrincipal")
    }
}

/// `/servicePrincipals/{principal}/appRoleAssignments`: what a service principal was granted.
pub fn granted_to(principal_sp_id: &str) -> String {
    format!(
        "{}/appRoleAssignments",
        service_principal::path(principal_sp_id)
    )
}

/// The app roles granted to the service principal `client_sp_id` (its application
/// permissions, every API; paged).
pub fn list_granted(client_sp_id: &str, label: impl Into<String>) -> GraphRequest {
    GraphRequest::get(granted_to(client_sp_id))
        .select(GRANTED_SELECT)
        .top(PAGE_SIZE)
        .label(label.into())
}

/// `/servicePrincipals/{resource}/appRoleAssignedTo`.
pub fn collection(resource_sp_id: &str) -> String {
    format!(
        "{}/appRoleAssignedTo",
        service_principal::path(resource_sp_id)
    )
}

/// Everyone assigned to an app role of the service principal `resource_sp_id` (paged).
pub fn list_assigned_to(resource_sp_id: &str, label: impl Into<String>) -> GraphRequest {
    GraphRequest::get(collection(resource_sp_id))
        .select(SELECT)
        .top(PAGE_SIZE)
        .label(label.into())
}

/// The body assigning `principal_id` the role `app_role_id` of `resource_sp_id` (which may be
/// `null` until the resource service principal exists).
pub fn body(principal_id: &str, resource_sp_id: Option<&str>, app_role_id: &str) -> Value {
    json!({
        "principalId": principal_id,
        "resourceId": resource_sp_id,
        "appRoleId": app_role_id,
    })
}

/// The body granting the client service principal `client_sp_id` (`null` until it exists) the
/// application permission `app_role_id` of the API `resource_sp_id`.
pub fn application_permission_body(
    client_sp_id: Option<&str>,
    resource_sp_id: &str,
    app_role_id: &str,
) -> Value {
    json!({
        "principalId": client_sp_id,
        "resourceId": resource_sp_id,
        "appRoleId": app_role_id,
    })
}

/// Create an assignment from its body (the resource is `resourceId`). Retried while a
/// just-created service principal replicates; an unknown outcome is resolved by looking the
/// assignment up by principal and role.
pub fn create(body: Value) -> GraphRequest {
    let s = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let (resource, principal, role) = (s("resourceId"), s("principalId"), s("appRoleId"));
    while_replicating(GraphRequest::post(collection(&resource)))
        .json(body)
        .idempotency_probe(GraphRequest::get(collection(&resource)).query(
            "$filter",
            format!(
                "principalId eq {} and appRoleId eq {}",
                odata_str(&principal),
                odata_str(&role)
            ),
        ))
}

/// Delete the assignment `id` of `resource_sp_id`.
pub fn delete(resource_sp_id: &str, id: &str) -> GraphRequest {
    GraphRequest::delete(format!("{}/{id}", collection(resource_sp_id)))
}

/// True when a create failed because the same assignment exists already: `error` is the failure
/// in words (Graph: "Permission being assigned already exists on the object").
pub fn is_duplicate(error: &str) -> bool {
    error.contains("already exists on the object")
}
