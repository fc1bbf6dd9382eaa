//! Home realm discovery policies: which one Entra ID uses for a client, and whether it lets the
//! password grant check a federated user's password in the cloud.
//!
//! entra-docs `identity/enterprise-apps/home-realm-discovery-policy.md`: "Policies only take effect
//! for a specific application when they are attached to a service principal" or set as the
//! organization's default; a policy assigned to the service principal wins, else the organization's
//! default (`isOrganizationDefault`), else none. `AllowCloudPasswordValidation: true` in the policy's
//! `definition` lets an application authenticate a federated user by presenting the username and
//! password to the token endpoint (ROPC); v2-oauth-ropc.md names it as the exception to "ROPC is not
//! supported in hybrid identity federation scenarios". (Password hash sync, which it needs, is not
//! modelled: a federated user's password is the one of the fixture.)

use serde_json::Value;

use crate::state::{Record, Tenant};

/// The policy in effect for the service principal `sp_id` (or for a client without one).
pub fn effective<'t>(t: &'t Tenant, sp_id: Option<&str>) -> Option<&'t Record> {
    let assigned = sp_id.and_then(|sp| {
        t.home_realm_discovery_policies
            .iter()
            .find(|p| p.internal.applies_to.iter().any(|a| a == sp))
    });
    assigned.or_else(|| {
        t.home_realm_discovery_policies
            .iter()
            .find(|p| p.bool("isOrganizationDefault") == Some(true))
    })
}

/// `AllowCloudPasswordValidation` is `true` in the policy's `definition` (a collection holding one
/// JSON string: `{"HomeRealmDiscoveryPolicy": {…}}`).
pub fn allows_cloud_password_validation(policy: &Record) -> bool {
    policy
        .obj
        .get("definition")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .any(|d| {
            d.get("HomeRealmDiscoveryPolicy")
                .and_then(|p| p.get("AllowCloudPasswordValidation"))
                .and_then(Value::as_bool)
                == Some(true)
        })
}

/// The password grant may check passwords of federated users for this client.
pub fn cloud_password_validation_allowed(t: &Tenant, sp_id: Option<&str>) -> bool {
    effective(t, sp_id).is_some_and(allows_cloud_password_validation)
}

/// A definition string allowing (or not) cloud password validation, as the fixture's shorthand
/// `allowCloudPasswordValidation` writes it.
pub fn definition(allow: bool) -> String {
    serde_json::json!({"HomeRealmDiscoveryPolicy": {"AllowCloudPasswordValidation": allow}})
        .to_string()
}
