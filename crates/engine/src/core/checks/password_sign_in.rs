//! The password sign-in preflight: who Passport's password sign-in (the OAuth password grant,
//! ROPC) will fail for whatever the conditional access posture, why (the AADSTS code Entra ID
//! answers) and the fix. Users of federated domains without a home realm discovery policy that
//! allows cloud password validation, guest accounts, and — when the spec leaves per-user MFA
//! alone — users whose per-user MFA is `enabled`, who become `enforced` once they register a
//! method (the sign-in forecast gives each user's verdict; this says what `enabled` means).
//! Whether an account has a password cannot be read from Microsoft Graph: the plan says so.
//! Sources: docs/mfa.md ("Before you rely on password sign-in").

use std::collections::BTreeSet;

use entractl_graph::resource::application;
use entractl_graph::resource::authentication_requirements as requirements;
use entractl_graph::resource::domain;
use entractl_graph::resource::home_realm_discovery_policy::{self as hrd, Effective};

use crate::core::desired::Desired;
use crate::core::forecast::{Unreachable, unreachable_password};
use crate::core::kinds::RequiredPermissions;
use crate::core::observed::{Observed, ObservedPasswordSignIn, SignInUser};
use crate::core::plan::{Note, NoteKind};

/// How many users a note names before "and N more".
const NAMED: usize = 10;

/// Whether the preflight runs: the spec needs Passport's password sign-in
/// ([`Desired::password_sign_in`], the one condition for its reads, notes and permissions).
pub fn needed(d: &Desired) -> bool {
    d.password_sign_in()
}

/// Whether the per-user MFA warning applies: the spec leaves per-user MFA alone (when it
/// manages it, the plan turns it off for these users).
fn per_user_mfa_unmanaged(d: &Desired) -> bool {
    !d.mfa.as_ref().is_some_and(|m| m.per_user_mfa_disabled)
}

/// The least-privileged permissions of the preflight's reads (all to plan). `userType` comes with
/// the users and group members the assignments read anyway, the per-user MFA state with the MFA
/// posture's reads.
pub fn permissions(d: &Desired, needed_: &mut RequiredPermissions) {
    if !needed(d) {
        return;
    }
    let why = "password sign-in preflight";
    needed_.to_plan(
        domain::READ,
        &format!("{why}: which of the tenant's domains are federated (GET /domains)"),
    );
    needed_.to_plan(
        hrd::READ,
        &format!(
            "{why}: the home realm discovery policies, when a domain is federated (GET /policies/homeRealmDiscoveryPolicies)"
        ),
    );
    needed_.to_plan(
        application::READ,
        &format!(
            "{why}: which service principals a home realm discovery policy is assigned to (GET /policies/homeRealmDiscoveryPolicies/{{id}}/appliesTo, with Policy.Read.All)"
        ),
    );
}

/// The preflight's notes for the plan (pure): nothing unless the spec needs password sign-in and
/// someone can sign in.
pub fn notes(d: &Desired, o: &Observed) -> Vec<Note> {
    let Some(p) = o.password_sign_in.as_ref().filter(|_| needed(d)) else {
        return Vec::new();
    };
    if p.users.is_empty() {
        return Vec::new();
    }
    let sp = o.service_principal.as_ref().map(|s| s.id.as_str());
    let mut out = Vec::new();
    out.extend(federated(p, sp));
    out.extend(guests(p));
    if per_user_mfa_unmanaged(d) {
        out.extend(per_user_mfa_enabled(o));
    }
    out.push(passwords_not_readable(p.users.len()));
    out
}

/// `a, b and 3 more` (sorted without regard to case).
fn names<'a>(labels: impl IntoIterator<Item = &'a str>) -> String {
    let mut all: Vec<&str> = labels.into_iter().collect();
    all.sort_by_key(|l| l.to_lowercase());
    let shown = all.len().min(NAMED);
    let mut out = all[..shown].join(", ");
    if all.len() > shown {
        out.push_str(&format!(" and {} more", all.len() - shown));
    }
    out
}

fn users(n: usize) -> String {
    if n == 1 {
        "1 user".to_string()
    } else {
        format!("{n} users")
    }
}

/// Users of federated domains, unless the policy in effect for the app allows cloud password
/// validation (then a note that it needs password hash sync).
fn federated(p: &ObservedPasswordSignIn, sp: Option<&str>) -> Option<Note> {
    let mut who: Vec<&str> = Vec::new();
    let mut domains: BTreeSet<&str> = BTreeSet::new();
    for u in &p.users {
        if let Some(Unreachable::Federated(d)) = unreachable_password(p, u) {
            who.push(u.label());
            domains.insert(&d.id);
        }
    }
    if who.is_empty() {
        return None;
    }
    let domains = domains.into_iter().collect::<Vec<_>>().join(", ");
    let group = format!("{} of the federated domain(s) {domains}", users(who.len()));
    let policy = policy_in_effect(p, sp);
    if let Some((name, true, _)) = &policy {
        return Some(Note {
            kind: NoteKind::Unmanaged,
            risks: Vec::new(),
            message: format!(
                "password sign-in: {group} can use it because {name} allows cloud password validation; Entra ID checks their passwords only if password hash sync is on, which entractl does not read"
            ),
        });
    }
    let reason = match policy {
        None => "no home realm discovery policy applies to the app".to_string(),
        Some((name, _, why)) => format!("{name} does not allow cloud password validation{why}"),
    };
    let later = if sp.is_none() {
        " (once apply has created the app's service principal)"
    } else {
        ""
    };
    Some(Note {
        kind: NoteKind::Warning,
        risks: Vec::new(),
        message: format!(
            "password sign-in will fail for {group}: {}. Entra ID answers AADSTS50126: the password grant cannot take a federated user to the identity provider that checks their password, and {reason}. Fix: assign the app's service principal{later} a home realm discovery policy with `\"AllowCloudPasswordValidation\": true` (it needs password hash sync), or make such a policy the organization's default; or use Passport's Web Login (docs/mfa.md)",
            names(who)
        ),
    })
}

/// The home realm discovery policy in effect for the app, in words: how to name it, whether it
/// allows cloud password validation, and why it is the one (`None`: no policy applies).
fn policy_in_effect(
    p: &ObservedPasswordSignIn,
    sp: Option<&str>,
) -> Option<(String, bool, &'static str)> {
    match p.effective_policy(sp) {
        Effective::AssignedToApp(pol) => Some((
            format!(
                "the home realm discovery policy \"{}\" assigned to the app",
                pol.display_name
            ),
            pol.allows_cloud_password_validation(),
            " (a policy assigned to the app takes precedence over the organization's default)",
        )),
        Effective::OrganizationDefault(pol) => Some((
            format!(
                "the organization's default home realm discovery policy \"{}\"",
                pol.display_name
            ),
            pol.allows_cloud_password_validation(),
            "",
        )),
        Effective::None => None,
    }
}

/// Invited (guest) accounts.
fn guests(p: &ObservedPasswordSignIn) -> Option<Note> {
    let who: Vec<&str> = p
        .users
        .iter()
        .filter(|u| matches!(unreachable_password(p, u), Some(Unreachable::Guest)))
        .map(SignInUser::label)
        .collect();
    if who.is_empty() {
        return None;
    }
    let n = who.len();
    let accounts = if n == 1 {
        "1 guest account".to_string()
    } else {
        format!("{n} guest accounts")
    };
    Some(Note {
        kind: NoteKind::Warning,
        risks: Vec::new(),
        message: format!(
            "password sign-in will fail for {accounts} (`userType` Guest): {}. Entra ID answers AADSTS50126 (AADSTS50020 for an invited personal Microsoft account): an invited account proves its password where it was invited from, which the password grant cannot reach. Fix: assign the person's own account in this tenant instead of the guest, or use Passport's Web Login (docs/mfa.md)",
            names(who)
        ),
    })
}

/// Per-user MFA `enabled` (read with the MFA posture): not yet `enforced`, and about to be.
fn per_user_mfa_enabled(o: &Observed) -> Option<Note> {
    let states = o.mfa.as_ref().map(|m| m.per_user.as_slice()).unwrap_or(&[]);
    let enabled: Vec<&str> = states
        .iter()
        .filter(|s| s.state.eq_ignore_ascii_case(requirements::ENABLED))
        .map(|s| s.user.label.as_str())
        .collect();
    if enabled.is_empty() {
        return None;
    }
    Some(Note {
        kind: NoteKind::Warning,
        risks: Vec::new(),
        message: format!(
            "password sign-in will fail for {} with per-user MFA `enabled`, which the spec leaves unmanaged: {}. `enabled` is not yet `enforced`: Entra ID asks them to register an MFA method at their next modern-authentication sign-in and moves them to `enforced` as soon as they have; in either state the password grant, which cannot do MFA, gets AADSTS50076 (AADSTS50079 while a method still has to be registered). Fix: `mfa.perUserMfa: disabled-for-app-users` (a security downgrade, docs/mfa.md), or turn per-user MFA off for these users in the admin center",
            users(enabled.len()),
            names(enabled)
        ),
    })
}

/// What cannot be read: whether an account has a password.
fn passwords_not_readable(n: usize) -> Note {
    let who = if n == 1 {
        "the 1 user who can sign in has".to_string()
    } else {
        format!("the {n} users who can sign in have")
    };
    Note {
        kind: NoteKind::Unmanaged,
        risks: Vec::new(),
        message: format!(
            "password sign-in: not checked whether {who} a password. An account without one (passwordless only, or a password scrambled for a passwordless rollout) cannot use the password grant (AADSTS50126), and Microsoft Graph does not say which accounts those are: it lists exactly one password method for every user. `entractl verify-signin` shows it for one account"
        ),
    }
}

#[cfg(test)]
#[path = "password_sign_in_tests.rs"]
mod tests;
