//! The observed state: the tenant objects that matter, parsed from Graph JSON.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Parse a Graph JSON object, treating `null` collections as empty.
fn strings(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn string(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

fn nested_strings(v: &Value, outer: &str, key: &str) -> Vec<String> {
    v.get(outer).map(|o| strings(o, key)).unwrap_or_default()
}

/// One optional claim as Graph returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedClaim {
    pub name: String,
    pub source: Option<String>,
    pub essential: bool,
    pub additional_properties: Vec<String>,
}

fn claims(v: &Value, token: &str) -> Vec<ObservedClaim> {
    v.get("optionalClaims")
        .and_then(|o| o.get(token))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|c| {
                    Some(ObservedClaim {
                        name: string(c, "name")?,
                        source: string(c, "source"),
                        essential: c.get("essential").and_then(Value::as_bool).unwrap_or(false),
                        additional_properties: strings(c, "additionalProperties"),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// One `requiredResourceAccess` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceAccess {
    pub resource_app_id: String,
    /// `(id, type)` with type `Scope` or `Role`.
    pub access: Vec<(String, String)>,
}

/// An application registration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Application {
    pub id: String,
    pub app_id: String,
    pub display_name: String,
    pub unique_name: Option<String>,
    pub tags: Vec<String>,
    pub sign_in_audience: Option<String>,
    pub is_fallback_public_client: Option<bool>,
    pub web_redirect_uris: Vec<String>,
    pub public_client_redirect_uris: Vec<String>,
    pub spa_redirect_uris: Vec<String>,
    pub id_token_claims: Vec<ObservedClaim>,
    pub access_token_claims: Vec<ObservedClaim>,
    pub saml2_token_claims: Vec<ObservedClaim>,
    pub group_membership_claims: Option<String>,
    pub required_resource_access: Vec<ResourceAccess>,
    /// The object exactly as Graph returned it (journal, read-modify-write).
    pub raw: Value,
}

impl Application {
    /// Parses Graph's `application` JSON. Returns `None` when `id` or `appId` is missing.
    pub fn from_graph(v: &Value) -> Option<Application> {
        let rra = v
            .get("requiredResourceAccess")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|r| {
                        Some(ResourceAccess {
                            resource_app_id: string(r, "resourceAppId")?,
                            access: r
                                .get("resourceAccess")
                                .and_then(Value::as_array)
                                .map(|x| {
                                    x.iter()
                                        .filter_map(|e| {
                                            Some((string(e, "id")?, string(e, "type")?))
                                        })
                                        .collect()
                                })
                                .unwrap_or_default(),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        Some(Application {
            id: string(v, "id")?,
            app_id: string(v, "appId")?,
            display_name: string(v, "displayName").unwrap_or_default(),
            unique_name: string(v, "uniqueName"),
            tags: strings(v, "tags"),
            sign_in_audience: string(v, "signInAudience"),
            is_fallback_public_client: v.get("isFallbackPublicClient").and_then(Value::as_bool),
            web_redirect_uris: nested_strings(v, "web", "redirectUris"),
            public_client_redirect_uris: nested_strings(v, "publicClient", "redirectUris"),
            spa_redirect_uris: nested_strings(v, "spa", "redirectUris"),
            id_token_claims: claims(v, "idToken"),
            access_token_claims: claims(v, "accessToken"),
            saml2_token_claims: claims(v, "saml2Token"),
            group_membership_claims: string(v, "groupMembershipClaims"),
            required_resource_access: rra,
            raw: v.clone(),
        })
    }
}

/// How an application candidate was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MatchedBy {
    UniqueName,
    ManagedTag,
    AppId,
}

impl MatchedBy {
    pub fn describe(self) -> &'static str {
        match self {
            MatchedBy::UniqueName => "its uniqueName",
            MatchedBy::ManagedTag => "its entractl tag",
            MatchedBy::AppId => "the appId pinned in the spec",
        }
    }
}

/// An application found by one of the lookups, with every way it matched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub app: Application,
    pub matched_by: Vec<MatchedBy>,
}

/// A service principal (the app's own, or a resource API's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServicePrincipal {
    pub id: String,
    pub app_id: String,
    pub display_name: String,
    pub tags: Vec<String>,
    /// `appRoleAssignmentRequired` ("Assignment required?"), when read.
    #[serde(default)]
    pub app_role_assignment_required: Option<bool>,
    /// Delegated permissions offered: `(id, value)`.
    pub scopes: Vec<(String, String)>,
    /// Application permissions offered: `(id, value)`.
    pub roles: Vec<(String, String)>,
    pub raw: Value,
}

impl ServicePrincipal {
    pub fn from_graph(v: &Value) -> Option<ServicePrincipal> {
        let perms = |key: &str| -> Vec<(String, String)> {
            v.get(key)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|p| Some((string(p, "id")?, string(p, "value")?)))
                        .collect()
                })
                .unwrap_or_default()
        };
        Some(ServicePrincipal {
            id: string(v, "id")?,
            app_id: string(v, "appId")?,
            display_name: string(v, "displayName").unwrap_or_default(),
            tags: strings(v, "tags"),
            app_role_assignment_required: v
                .get("appRoleAssignmentRequired")
                .and_then(Value::as_bool),
            scopes: perms("oauth2PermissionScopes"),
            roles: perms("appRoles"),
            raw: v.clone(),
        })
    }
}

/// A delegated permission grant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OAuth2PermissionGrant {
    pub id: String,
    pub client_id: String,
    pub resource_id: String,
    pub consent_type: String,
    pub principal_id: Option<String>,
    pub scope: String,
    pub raw: Value,
}

impl OAuth2PermissionGrant {
    pub fn from_graph(v: &Value) -> Option<OAuth2PermissionGrant> {
        Some(OAuth2PermissionGrant {
            id: string(v, "id")?,
            client_id: string(v, "clientId")?,
            resource_id: string(v, "resourceId")?,
            consent_type: string(v, "consentType").unwrap_or_default(),
            principal_id: string(v, "principalId"),
            scope: string(v, "scope").unwrap_or_default(),
            raw: v.clone(),
        })
    }

    pub fn scopes(&self) -> Vec<String> {
        self.scope.split_whitespace().map(str::to_string).collect()
    }

    pub fn is_all_principals(&self) -> bool {
        self.consent_type.eq_ignore_ascii_case("AllPrincipals")
    }
}

/// The result of looking up one resource API named in the spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceLookup {
    pub query: crate::desired::ResourceRef,
    /// Every service principal that matched (0: not in the tenant, >1: ambiguous name).
    pub found: Vec<ServicePrincipal>,
}

/// The tenant as far as the desired state is concerned.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Observed {
    /// The tenant id (GUID) when known.
    pub tenant_id: Option<String>,
    /// Applications matched by any of the app lookups (0, 1 or, in error, more).
    pub candidates: Vec<Candidate>,
    /// The managed application's service principal.
    pub service_principal: Option<ServicePrincipal>,
    pub resources: Vec<ResourceLookup>,
    /// Grants whose client is the managed application's service principal.
    pub grants: Vec<OAuth2PermissionGrant>,
    /// The MFA posture, when the spec manages it (`mfa`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa: Option<crate::mfa::posture::ObservedMfa>,
    /// What was read for `assignments` (lookups, current assignments, group members).
    #[serde(default)]
    pub assignments: crate::assignments::ObservedAssignments,
    /// Who can sign in to the app after apply: assigned users and groups (with their direct
    /// members). Filled by `fetch` when the spec has `assignments`.
    #[serde(default)]
    pub principals: crate::assignments::Principals,
    /// The tenant's Entra ID tier from `subscribedSkus`, when it was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<crate::assignments::LicenseTier>,
    /// Deleted applications matching the spec (read only when no live one matched).
    #[serde(
        default,
        skip_serializing_if = "crate::restore::ObservedDeleted::is_empty"
    )]
    pub deleted: crate::restore::ObservedDeleted,
}
