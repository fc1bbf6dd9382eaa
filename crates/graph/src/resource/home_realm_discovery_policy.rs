//! `homeRealmDiscoveryPolicy`: how Entra ID treats the users of federated domains for an app —
//! and whether the app may check a federated user's password itself (the password grant), which
//! only `AllowCloudPasswordValidation: true` allows (with password hash sync).
//!
//! Sources: graph-docs `api-reference/v1.0/resources/homerealmdiscoverypolicy.md` (the
//! `definition` JSON string), `api/homerealmdiscoverypolicy-list.md` (Policy.Read.All),
//! `api/homerealmdiscoverypolicy-list-appliesto.md` (Policy.Read.All and Application.Read.All);
//! entra-docs `identity/enterprise-apps/home-realm-discovery-policy.md` ("Priority and evaluation
//! of HRD policies": a policy assigned to the service principal wins, else the organization's
//! default policy, else none). Which policies are assigned to a service principal is read from each
//! policy's `appliesTo`: the service principal's own list
//! (`serviceprincipal-list-homerealmdiscoverypolicies.md`) asks for Application.ReadWrite.OwnedBy,
//! a write permission, to read.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::common::Operation;
use super::de;
use crate::request::GraphRequest;

pub const PATH: &str = "/policies/homeRealmDiscoveryPolicies";

/// Least privilege to list the policies.
pub const READ: &str = "Policy.Read.All";

/// Least privilege to list the objects a policy applies to.
pub const READ_APPLIES_TO: &str = "Policy.Read.All and Application.Read.All";

pub const OPERATIONS: &[Operation] = &[
    Operation::new("GET", PATH, READ),
    Operation::new(
        "GET",
        "/policies/homeRealmDiscoveryPolicies/{}/appliesTo",
        READ_APPLIES_TO,
    ),
];

/// A policy as entractl reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HomeRealmDiscoveryPolicy {
    #[serde(deserialize_with = "de::required_guid")]
    pub id: String,
    #[serde(default, deserialize_with = "de::text")]
    pub display_name: String,
    /// One JSON string with the policy's rules (`{"HomeRealmDiscoveryPolicy": {…}}`).
    #[serde(default, deserialize_with = "de::strings")]
    pub definition: Vec<String>,
    /// The tenant's default policy: it applies to every service principal that has none assigned.
    #[serde(default, deserialize_with = "de::flag")]
    pub is_organization_default: bool,
}

impl HomeRealmDiscoveryPolicy {
    /// `AllowCloudPasswordValidation` is `true` in the definition: the app may present a federated
    /// user's username and password to Entra ID's token endpoint (the password grant). Property
    /// names are read as documented (exact case); anything else reads as `false`.
    pub fn allows_cloud_password_validation(&self) -> bool {
        self.definition.iter().any(|d| {
            serde_json::from_str::<Value>(d).ok().is_some_and(|v| {
                v.get("HomeRealmDiscoveryPolicy")
                    .and_then(|p| p.get("AllowCloudPasswordValidation"))
                    .and_then(Value::as_bool)
                    == Some(true)
            })
        })
    }
}

/// A directory object a policy applies to (a service principal, or the organization).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliesTo {
    #[serde(deserialize_with = "de::required_guid")]
    pub id: String,
}

/// Which policy Entra ID uses for an app, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effective<'a> {
    /// The policy assigned to the app's service principal.
    AssignedToApp(&'a HomeRealmDiscoveryPolicy),
    /// No policy assigned to the app: the organization's default policy.
    OrganizationDefault(&'a HomeRealmDiscoveryPolicy),
    /// Neither: Entra ID's default behaviour (federated users go to their identity provider).
    None,
}

impl<'a> Effective<'a> {
    /// The policy in effect, if any.
    pub fn policy(self) -> Option<&'a HomeRealmDiscoveryPolicy> {
        match self {
            Effective::AssignedToApp(p) | Effective::OrganizationDefault(p) => Some(p),
            Effective::None => None,
        }
    }
}

/// The policy in effect for the service principal `sp_id` (`None`: it does not exist yet), given
/// every policy with the object ids it applies to.
pub fn effective<'a>(
    policies: impl IntoIterator<Item = (&'a HomeRealmDiscoveryPolicy, &'a [String])>,
    sp_id: Option<&str>,
) -> Effective<'a> {
    let mut default = None;
    for (p, targets) in policies {
        if sp_id.is_some_and(|sp| targets.iter().any(|t| t.eq_ignore_ascii_case(sp))) {
            return Effective::AssignedToApp(p);
        }
        if p.is_organization_default && default.is_none() {
            default = Some(p);
        }
    }
    default.map_or(Effective::None, Effective::OrganizationDefault)
}

/// List the tenant's home realm discovery policies.
pub fn list() -> GraphRequest {
    GraphRequest::get(PATH)
        .select(&["id", "displayName", "definition", "isOrganizationDefault"])
        .label("read the home realm discovery policies")
}

/// The objects a policy applies to (service principals it is assigned to).
pub fn applies_to(policy_id: &str) -> GraphRequest {
    GraphRequest::get(format!("{PATH}/{}/appliesTo", policy_id.trim()))
        .select(&["id"])
        .label(format!(
            "read what home realm discovery policy {policy_id} applies to"
        ))
}
