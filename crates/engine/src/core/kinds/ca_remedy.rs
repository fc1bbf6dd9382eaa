//! Which exclusions let Passport's password sign-in (Mac Login, which cannot do MFA) through each
//! conditional access policy, given how the tenant evaluates that sign-in ([`SignInTarget`]):
//!
//! - **the app** (`excludeApp`): Passport's app in `excludeApplications` — effective only under the
//!   legacy behaviour for baseline scopes; under enforcement the sign-in is evaluated against
//!   Windows Azure Active Directory, so it is not planned there (the plan says why);
//! - **the placeholder** (`placeholder`, Microsoft's "Customize behavior"): the managed
//!   placeholder app in `excludeApplications` of "All resources" policies — effective once the
//!   Baseline scopes setting picks that placeholder (a portal step);
//! - **the identities** (`excludeUsers`): the app's assigned users and groups in `excludeUsers` /
//!   `excludeGroups` — effective whatever the setting, and for every app those people use.
//!
//! Microsoft-managed policies accept only state and user/group exclusions: never an application
//! exclusion. A policy that still demands MFA of the sign-in after every remedy the spec allows
//! is reported, with the ways out. Pure.

use entractl_graph::resource::conditional_access_policy::{
    ConditionalAccessPolicy as Policy, Exclusion, list_contains as contains,
};

use crate::core::desired::CaSelection as Selection;
use crate::core::forecast::SignInTarget;
use crate::core::observed::UserScope;
use crate::core::policy::{PolicyDecision, Verdict, select_policies};

/// A way of excluding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Remedy {
    App,
    Placeholder,
    Identities,
}

/// The people to exclude: the app's assigned users and groups (object ids).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identities {
    pub users: Vec<String>,
    pub groups: Vec<String>,
}

/// What the spec allows, with the ids each remedy adds.
pub struct Remedies<'a> {
    /// Passport's appId (a sentinel when the same apply creates the app).
    pub passport: &'a str,
    pub app: Option<&'a Selection>,
    /// The selection and the placeholder's appId (a sentinel when the apply creates it).
    pub placeholder: Option<(&'a Selection, &'a str)>,
    pub identities: Option<(&'a Selection, &'a Identities)>,
}

/// The outcome for one policy.
#[derive(Debug, Clone)]
pub struct PolicyRemedy<'a> {
    pub policy: &'a Policy,
    /// Whether (and why) the policy demands MFA of the sign-in as the tenant evaluates it.
    pub demand: PolicyDecision,
    /// The spec's `excludeApp` decision for this policy, when the spec has one.
    pub app: Option<PolicyDecision>,
    /// The remedies this plan adds, with their ids.
    pub add: Vec<(Remedy, Exclusion, Vec<String>)>,
    /// Remedies already in place that let the sign-in through.
    pub in_place: Vec<Remedy>,
    /// Still demands MFA of the sign-in after this plan: why, in words.
    pub unresolved: Option<String>,
}

impl PolicyRemedy<'_> {
    /// The remedies added, once each.
    pub fn added(&self) -> Vec<Remedy> {
        let mut out: Vec<Remedy> = Vec::new();
        for (r, _, _) in &self.add {
            if !out.contains(r) {
                out.push(*r);
            }
        }
        out
    }
}

/// The decisions for every policy, in the order [`select_policies`] gives (by display name).
pub fn remedies<'a>(
    policies: &'a [Policy],
    target: &SignInTarget,
    scope: &UserScope,
    r: &Remedies<'_>,
) -> Vec<PolicyRemedy<'a>> {
    let evaluated = if target.app_exclusion_works() {
        r.passport
    } else {
        target.what_if_resource()
    };
    let every = Selection::FromPoliciesRequiringMfa;
    let demand = select_policies(policies, evaluated, scope, &every);
    let app = r
        .app
        .map(|s| select_policies(policies, r.passport, scope, s));
    let placeholder = r
        .placeholder
        .map(|(s, id)| select_policies(policies, id, scope, s));
    let identities = r
        .identities
        .map(|(s, _)| select_policies(policies, evaluated, scope, s));
    demand
        .into_iter()
        .enumerate()
        .map(|(i, d)| {
            let policy = policies
                .iter()
                .find(|p| p.id() == d.id && p.display_name() == d.display_name)
                .unwrap_or(&policies[0]);
            let mut out = PolicyRemedy {
                policy,
                demand: d,
                app: app.as_ref().map(|a| a[i].clone()),
                add: Vec::new(),
                in_place: Vec::new(),
                unresolved: None,
            };
            let choices = Choices {
                placeholder: placeholder.as_ref().map(|p| &p[i]),
                identities: identities.as_ref().map(|p| &p[i]),
            };
            decide(&mut out, target, r, choices);
            out
        })
        .collect()
}

/// The spec's other selections' decisions for the same policy.
struct Choices<'d> {
    placeholder: Option<&'d PolicyDecision>,
    identities: Option<&'d PolicyDecision>,
}

fn selected(d: Option<&PolicyDecision>) -> bool {
    d.is_some_and(|d| matches!(d.verdict, Verdict::Exclude | Verdict::AlreadyExcluded))
}

fn targets_all_resources(p: &Policy) -> bool {
    contains(&p.applications("includeApplications"), "All")
}

/// Fills in the remedies for one policy.
fn decide(out: &mut PolicyRemedy<'_>, target: &SignInTarget, r: &Remedies<'_>, c: Choices<'_>) {
    let managed = out.policy.is_microsoft_managed();
    let legacy = target.app_exclusion_works();
    // The placeholder's exclusion is prepared whenever the spec asks for it (it is what the
    // portal step needs), on "All resources" policies that accept it.
    if let Some((_, id)) = r.placeholder
        && selected(c.placeholder)
        && targets_all_resources(out.policy)
        && !managed
    {
        add(out, Remedy::Placeholder, Exclusion::Applications, &[id]);
    }
    // Under the legacy behaviour an "All resources" policy with any exclusion exempts the
    // sign-in already.
    let demands = out.demand.verdict == Verdict::Exclude && target.app_scope(out.policy).applies();
    if legacy {
        if let Some(app) = &out.app
            && !managed
        {
            match app.verdict {
                Verdict::Exclude => add(out, Remedy::App, Exclusion::Applications, &[r.passport]),
                Verdict::AlreadyExcluded => mark(out, Remedy::App),
                _ => {}
            }
        }
    } else if out.demand.verdict == Verdict::AlreadyExcluded {
        // The resource the sign-in is evaluated against is excluded: the placeholder.
        mark(out, Remedy::Placeholder);
    }
    let placeholder_works = target.placeholder().is_some_and(|p| {
        r.placeholder
            .is_some_and(|(_, id)| id.eq_ignore_ascii_case(p))
    });
    let covered = (legacy && out.app.is_some() && out.added().contains(&Remedy::App))
        || (legacy && out.in_place.contains(&Remedy::App))
        || (placeholder_works && out.added().contains(&Remedy::Placeholder));
    if !demands || covered {
        return;
    }
    if let Some((_, people)) = r.identities
        && selected(c.identities)
        && !(people.users.is_empty() && people.groups.is_empty())
    {
        let before = out.add.len();
        add_ids(out, Exclusion::Users, &people.users);
        add_ids(out, Exclusion::Groups, &people.groups);
        if out.add.len() == before {
            mark(out, Remedy::Identities);
        }
        return;
    }
    out.unresolved = Some(why_unresolved(out, target, r, managed));
}

/// Records a remedy already in place (once).
fn mark(out: &mut PolicyRemedy<'_>, remedy: Remedy) {
    if !out.in_place.contains(&remedy) {
        out.in_place.push(remedy);
    }
}

fn add(out: &mut PolicyRemedy<'_>, remedy: Remedy, list: Exclusion, ids: &[&str]) {
    let have = out.policy.applications("excludeApplications");
    let new: Vec<String> = ids
        .iter()
        .filter(|id| list != Exclusion::Applications || !contains(&have, id))
        .map(|s| s.to_string())
        .collect();
    if new.is_empty() {
        mark(out, remedy);
    } else {
        out.add.push((remedy, list, new));
    }
}

fn add_ids(out: &mut PolicyRemedy<'_>, list: Exclusion, ids: &[String]) {
    let (_, key) = list.path();
    let have = out.policy.users(key);
    let new: Vec<String> = ids
        .iter()
        .filter(|id| !contains(&have, id))
        .cloned()
        .collect();
    if !new.is_empty() {
        out.add.push((Remedy::Identities, list, new));
    }
}

/// Why a policy that demands MFA of the sign-in still does after this plan, and the ways out.
/// A Microsoft-managed policy takes no application exclusion: neither Passport's app nor a
/// placeholder is a way out there.
fn why_unresolved(
    out: &PolicyRemedy<'_>,
    target: &SignInTarget,
    r: &Remedies<'_>,
    managed: bool,
) -> String {
    let mut why: Vec<String> = Vec::new();
    if managed {
        why.push("it is Microsoft-managed: only its state and its user and group exclusions may be changed, so neither Passport's app nor a placeholder can be excluded from it".into());
    } else {
        if r.app.is_some() && !target.app_exclusion_works() {
            why.push("excluding Passport's app does not help: the tenant enforces baseline scopes, so the sign-in is evaluated against Windows Azure Active Directory".into());
        }
        if r.placeholder.is_some() && target.placeholder().is_none() {
            why.push("the placeholder is excluded, but the tenant's Baseline scopes setting does not choose it yet (the portal step the plan prints)".into());
        }
    }
    if why.is_empty() {
        why.push("the spec allows no exclusion that takes it off the sign-in".into());
    }
    let placeholder = if managed {
        ""
    } else {
        "; or a placeholder (mfa.conditionalAccess.placeholder, \"Customize behavior\")"
    };
    format!(
        "still requires MFA of Passport's password sign-in ({}): {}. Ways out: Web Login (passport.mode: web-login, MFA stays); exclude the app's users and groups (mfa.conditionalAccess.excludeUsers; they then lose MFA from this policy for every app){placeholder}; see docs/mfa.md",
        out.demand.reason_text(),
        why.join("; ")
    )
}

#[cfg(test)]
#[path = "ca_remedy_tests.rs"]
mod tests;
