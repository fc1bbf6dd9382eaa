//! Users whose password is refused before conditional access is evaluated: the password grant
//! cannot reach the identity provider that checks a federated user's password (unless the home
//! realm discovery policy in effect for the app allows cloud password validation), nor the home
//! tenant of an invited (guest) account. Entra ID answers AADSTS50126 (entra-docs
//! `identity-platform/v2-oauth-ropc.md`). The preflight (`core::checks::password_sign_in`) words
//! the same findings as plan notes with their fixes; here they decide the users' verdicts.

use std::collections::BTreeMap;

use entractl_graph::resource::domain::{self, Domain};
use entractl_graph::resource::home_realm_discovery_policy::Effective;
use entractl_graph::resource::user;

use crate::core::observed::{Observed, ObservedPasswordSignIn, SignInUser};

/// The code Entra ID answers for a password it cannot check.
pub const REFUSED_CODE: &str = "AADSTS50126";

/// Why a guest's password is refused.
pub(super) const GUEST: &str = "a guest account: its password is checked where it was invited from, which the password grant cannot reach";
/// How the reason for a federated user's refused password begins.
pub(super) const FEDERATED: &str = "a user of the federated domain ";

/// Why the password grant cannot check a user's password where it is checked.
pub enum Unreachable<'a> {
    /// An invited account: its password is checked where it was invited from.
    Guest,
    /// A user of a federated domain: the identity provider checks the password (unless a home
    /// realm discovery policy allows cloud password validation).
    Federated(&'a Domain),
}

/// Where `u`'s password is checked out of the password grant's reach, if it is.
pub fn unreachable_password<'a>(
    p: &'a ObservedPasswordSignIn,
    u: &SignInUser,
) -> Option<Unreachable<'a>> {
    if user::is_guest(u.user_type.as_deref()) {
        return Some(Unreachable::Guest);
    }
    domain::for_upn(&p.domains, &u.user_principal_name)
        .filter(|d| d.is_federated())
        .map(Unreachable::Federated)
}

/// Whether the home realm discovery policy in effect for the app (`sp`: its service principal's
/// object id) allows cloud password validation.
fn cloud_password_validation(p: &ObservedPasswordSignIn, sp: Option<&str>) -> bool {
    match p.effective_policy(sp) {
        Effective::AssignedToApp(pol) | Effective::OrganizationDefault(pol) => {
            pol.allows_cloud_password_validation()
        }
        Effective::None => false,
    }
}

/// The users (by object id, lower case) whose password will be refused, with why: from the
/// password preflight's reads of the tenant `before` the plan (no change touches them), with
/// the service principal the app has `after` it (a home realm discovery policy may be assigned
/// to it).
pub fn refused(before: &Observed, after: &Observed) -> BTreeMap<String, String> {
    let Some(p) = before.password_sign_in.as_ref() else {
        return BTreeMap::new();
    };
    let sp = after.service_principal.as_ref().map(|s| s.id.as_str());
    let cloud = cloud_password_validation(p, sp);
    p.users
        .iter()
        .filter_map(|u| {
            let why = match unreachable_password(p, u)? {
                Unreachable::Guest => GUEST.to_string(),
                Unreachable::Federated(_) if cloud => return None,
                Unreachable::Federated(d) => format!(
                    "{FEDERATED}{}, and no home realm discovery policy in effect for the app allows cloud password validation",
                    d.id
                ),
            };
            Some((u.id.to_lowercase(), why))
        })
        .collect()
}
