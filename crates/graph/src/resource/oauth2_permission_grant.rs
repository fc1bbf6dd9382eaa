//! `oauth2PermissionGrant`: delegated permissions granted to a client service principal for a
//! resource API; `consentType: AllPrincipals` is the tenant-wide admin consent.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::common::{Operation, list, odata_str, while_replicating};
use super::de;
use crate::request::GraphRequest;

pub const COLLECTION: &str = "/oauth2PermissionGrants";

pub const SELECT: &[&str] = &[
    "id",
    "clientId",
    "consentType",
    "principalId",
    "resourceId",
    "scope",
];

/// `consentType` of a tenant-wide grant.
pub const ALL_PRINCIPALS: &str = "AllPrincipals";

pub const READ: &str = "DelegatedPermissionGrant.Read.All";
pub const WRITE: &str = "DelegatedPermissionGrant.ReadWrite.All";

pub const OPERATIONS: &[Operation] = &[
    Operation::new("GET", "/oauth2PermissionGrants", "Directory.Read.All"),
    Operation::new("GET", "/oauth2PermissionGrants/{}", "Directory.Read.All"),
    Operation::new("POST", "/oauth2PermissionGrants", WRITE),
    Operation::new("PATCH", "/oauth2PermissionGrants/{}", WRITE),
    Operation::new("DELETE", "/oauth2PermissionGrants/{}", WRITE),
];

/// A delegated permission grant as Graph returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OAuth2PermissionGrant {
    pub id: String,
    pub client_id: String,
    pub resource_id: String,
    #[serde(default, deserialize_with = "de::text")]
    pub consent_type: String,
    #[serde(default, deserialize_with = "de::string")]
    pub principal_id: Option<String>,
    /// Space-separated permission values.
    #[serde(default, deserialize_with = "de::text")]
    pub scope: String,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl OAuth2PermissionGrant {
    /// The granted permission values.
    pub fn scopes(&self) -> Vec<String> {
        self.scope.split_whitespace().map(str::to_string).collect()
    }

    /// True for a tenant-wide (admin consent) grant.
    pub fn is_all_principals(&self) -> bool {
        self.consent_type.eq_ignore_ascii_case(ALL_PRINCIPALS)
    }

    /// The object as JSON (the journal's prior state).
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// `/oauth2PermissionGrants/{id}`.
pub fn path(id: &str) -> String {
    format!("{COLLECTION}/{id}")
}

fn tenant_wide_filter(client_sp_id: &str) -> String {
    format!(
        "clientId eq {} and consentType eq '{ALL_PRINCIPALS}'",
        odata_str(client_sp_id)
    )
}

/// The tenant-wide grants of the client service principal `client_sp_id`.
pub fn list_tenant_wide(client_sp_id: &str) -> GraphRequest {
    list(
        COLLECTION,
        tenant_wide_filter(client_sp_id),
        SELECT,
        "read the app's tenant-wide delegated grants",
    )
}

/// The body of a tenant-wide grant (`clientId` may be `null` until the client exists).
pub fn tenant_wide_body(
    client_sp_id: Option<&str>,
    resource_sp_id: &str,
    scopes: &[String],
) -> Value {
    json!({
        "clientId": client_sp_id,
        "consentType": ALL_PRINCIPALS,
        "resourceId": resource_sp_id,
        "scope": scopes.join(" "),
    })
}

/// Create a grant from its body. Retried while the client service principal replicates; an
/// unknown outcome is resolved by looking the grant up by client, resource and consent type.
pub fn create(body: Value) -> GraphRequest {
    let s = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let (client, resource) = (s("clientId"), s("resourceId"));
    while_replicating(GraphRequest::post(COLLECTION))
        .json(body)
        .idempotency_probe(GraphRequest::get(COLLECTION).query(
            "$filter",
            format!(
                "clientId eq {} and resourceId eq {} and consentType eq '{ALL_PRINCIPALS}'",
                odata_str(&client),
                odata_str(&resource)
            ),
        ))
}

/// The PATCH body changing the granted scopes.
pub fn scope_body(scopes: &[String]) -> Value {
    json!({ "scope": scopes.join(" ") })
}

/// Update a grant (its `scope`).
pub fn update(id: &str, patch: Value) -> GraphRequest {
    GraphRequest::patch(path(id)).json(patch)
}

/// Delete a grant.
pub fn delete(id: &str) -> GraphRequest {
    GraphRequest::delete(path(id))
}
