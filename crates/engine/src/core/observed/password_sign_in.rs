//! What the password sign-in preflight read: who signs in (with their UPN and `userType`), the
//! tenant's domains and the home realm discovery policies (only when a domain is federated). The
//! per-user MFA state of those users is the MFA posture's ([`super::ObservedMfa::per_user`]).

use entractl_graph::resource::domain::Domain;
use entractl_graph::resource::home_realm_discovery_policy::{
    self as hrd, Effective, HomeRealmDiscoveryPolicy,
};
use serde::{Deserialize, Serialize};

/// One user who can sign in to the app after apply.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignInUser {
    /// Object id (lower case).
    pub id: String,
    /// User principal name (empty when unknown).
    pub user_principal_name: String,
    /// `Member` or `Guest` (`None` when Graph did not say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_type: Option<String>,
}

impl SignInUser {
    /// What a person calls the user: the UPN, else the object id.
    pub fn label(&self) -> &str {
        if self.user_principal_name.is_empty() {
            &self.id
        } else {
            &self.user_principal_name
        }
    }
}

/// A home realm discovery policy and the object ids it applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HomeRealmPolicy {
    pub policy: HomeRealmDiscoveryPolicy,
    /// Object ids of the service principals (or the organization) the policy is assigned to.
    pub applies_to: Vec<String>,
}

/// What was read for the password sign-in preflight.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObservedPasswordSignIn {
    /// Everyone who can sign in after apply (assigned users, direct user members of assigned
    /// groups), sorted by id.
    pub users: Vec<SignInUser>,
    /// The tenant's domains.
    pub domains: Vec<Domain>,
    /// Every home realm discovery policy; `None` when not read (no federated domain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home_realm_policies: Option<Vec<HomeRealmPolicy>>,
}

impl ObservedPasswordSignIn {
    /// The home realm discovery policy in effect for the app (`sp`: its service principal's
    /// object id, `None` before it exists).
    pub fn effective_policy(&self, sp: Option<&str>) -> Effective<'_> {
        let policies = self.home_realm_policies.as_deref().unwrap_or(&[]);
        hrd::effective(
            policies
                .iter()
                .map(|h| (&h.policy, h.applies_to.as_slice())),
            sp,
        )
    }
}
