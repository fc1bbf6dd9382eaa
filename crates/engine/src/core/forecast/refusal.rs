//! Users whose password is refused before conditional access is evaluated: the password grant
//! cannot reach the identity provider that checks a federated user's password (unless the home
//! realm discovery policy in effect for the app allows cloud password validation), nor the home
//! tenant of an invited (guest) account. Entra ID answers AADSTS50126 (entra-docs
//! `identity-platform/v2-oauth-ropc.md`). The preflight (`core::checks::password_sign_in`) words
//! the same findings as plan notes with their fixes; here they decide the users' verdicts.

use std::collections::BTreeMap;

use entractl_graph::resource::home_realm_discovery_policy::{self as hrd, Effective};
use entractl_graph::resource::{domain, user};

use crate::core::observed::{Observed, ObservedPasswordSignIn, SignInUser};

/// The code Entra ID answers for a password it cannot check.
pub const REFUSED_CODE: &str = "AADSTS50126";

/// Whether the home realm discovery policy in effect for the app (`sp`: its service principal's
/// object id) allows cloud password validation.
pub fn cloud_password_validation(p: &ObservedPasswordSignIn, sp: Option<&str>) -> bool {
    let policies = p.home_realm_policies.as_deref().unwrap_or(&[]);
    let effective = hrd::effective(
        policies
            .iter()
            .map(|h| (&h.policy, h.applies_to.as_slice())),
        sp,
    );
    match effective {
        Effective::AssignedToApp(pol) | Effective::OrganizationDefault(pol) => {
            pol.allows_cloud_password_validation()
        }
        Effective::None => false,
    }
}

/// Why `u`'s password will be refused, if it will.
fn reason(p: &ObservedPasswordSignIn, cloud: bool, u: &SignInUser) -> Option<String> {
    if user::is_guest(u.user_type.as_deref()) {
        return Some("a guest account: its password is checked where it was invited from, which the password grant cannot reach".to_string());
    }
    let d = domain::for_upn(&p.domains, &u.user_principal_name)?;
    (d.is_federated() && !cloud).then(|| {
        format!(
            "a user of the federated domain {}, and no home realm discovery policy in effect for the app allows cloud password validation",
            d.id
        )
    })
}

/// The users (by object id, lower case) whose password will be refused, with why.
pub fn refused(o: &Observed) -> BTreeMap<String, String> {
    let Some(p) = o.password_sign_in.as_ref() else {
        return BTreeMap::new();
    };
    let sp = o.service_principal.as_ref().map(|s| s.id.as_str());
    let cloud = cloud_password_validation(p, sp);
    p.users
        .iter()
        .filter_map(|u| Some((u.id.to_lowercase(), reason(p, cloud, u)?)))
        .collect()
}
