//! Passport's app in a policy a Mac Login spec no longer selects for `excludeApp`: the spec still
//! signs in with a password, but `excludeApp` was shortened, or the policy moved to `excludeUsers`
//! (or the placeholder, or nothing). Passport's appId is then unwanted in a policy that demands MFA
//! of Passport's sign-in (as the remedies see the policy without the app's exclusion) whose
//! planned remedies do not include the app's exclusion: left there, it would keep MFA off for
//! Passport in that policy without the spec asking for it.
//!
//! Only for an app entractl created: an adopted app (`app.appId`) may have been excluded by an
//! administrator, so its exclusion is only named in a note. Left alone: Microsoft-managed
//! policies, and policies that do not demand MFA of Passport's sign-in (a device-compliance policy
//! an administrator excluded Passport from): entractl never added the app there. The app the same
//! apply creates has no exclusions yet. Pure.

use entractl_graph::resource::conditional_access_policy::{
    ConditionalAccessPolicy as Policy, Exclusion,
};

use super::ca_app_restore::{self, AppRestores, Unwanted, What};
use super::ca_remedy::{PolicyRemedy, Remedies, Remedy, remedies};
use super::context::PlanContext;
use super::kind::PlanOut;
use crate::core::forecast::SignInTarget;
use crate::core::observed::UserScope;
use crate::core::plan::{Note, NoteKind};
use crate::core::policy::{PolicyDecision, Verdict};

/// How the remedies are planned: the tenant's behaviour, the app's users and what the spec allows.
pub struct Planning<'p, 'r> {
    pub target: &'p SignInTarget,
    pub scope: &'p UserScope,
    pub remedies: &'p Remedies<'r>,
}

/// The apps to take out of each policy: `every` ([`ca_app_restore::unwanted_apps`]) and
/// Passport's app from the policies the spec does not select it for ([`not_selected`], planned on
/// `stripped`: the policies without what else entractl added and no longer needs). For an
/// adopted app, notes instead.
pub fn app_restores<'a>(
    cx: &PlanContext<'a>,
    every: Vec<Unwanted<'a>>,
    (policies, stripped): (&[Policy], &[Policy]),
    how: &Planning<'_, '_>,
    out: &mut PlanOut,
) -> AppRestores<'a> {
    let mut apps = AppRestores {
        every,
        some: Vec::new(),
    };
    let Some((app_id, adopted)) = passport(cx) else {
        return apps;
    };
    let bare = ca_app_restore::without(stripped, &everywhere(app_id));
    let planned = remedies(&bare, how.target, how.scope, how.remedies);
    let unwanted = not_selected(app_id, &planned);
    if adopted {
        adopted_notes(app_id, &unwanted, policies, out);
    } else {
        apps.some = unwanted;
    }
    apps
}

/// Passport's app when the spec still signs in with a password and the app exists: its appId,
/// and whether the spec adopts it (`app.appId`).
pub fn passport<'a>(cx: &PlanContext<'a>) -> Option<(&'a str, bool)> {
    if !cx.desired.password_sign_in() {
        return None;
    }
    let adopted = cx.desired.app.identity.adopt_app_id.is_some();
    cx.app_id().map(|id| (id, adopted))
}

/// Passport's app, to take out of every policy (the views [`not_selected`] decides on).
fn everywhere(app_id: &str) -> [Unwanted<'_>; 1] {
    [Unwanted::new(app_id, What::Passport)]
}

/// The policies (by id) whose exclusion of `app_id` is unwanted, from the remedies planned on
/// the policies without it: they demand MFA of Passport's sign-in, are not Microsoft-managed, and
/// neither the remedies nor the spec's `excludeApp` include the app's exclusion for them. Whether
/// a policy lists the app at all is for the restore to see.
pub fn not_selected<'a>(app_id: &'a str, bare: &[PolicyRemedy<'_>]) -> Vec<(String, Unwanted<'a>)> {
    bare.iter()
        .filter(|pr| unwanted_in(pr))
        .map(|pr| {
            let instead: Vec<Remedy> = remedies_of(pr)
                .into_iter()
                .filter(|r| *r != Remedy::App)
                .collect();
            let what = What::PassportNotSelected { instead };
            (pr.policy.id().to_string(), Unwanted::new(app_id, what))
        })
        .collect()
}

fn unwanted_in(pr: &PolicyRemedy<'_>) -> bool {
    !pr.policy.is_microsoft_managed()
        && pr.demand.verdict == Verdict::Exclude
        && !remedies_of(pr).contains(&Remedy::App)
        && !selected(pr.app.as_ref())
}

/// The remedies planned for a policy (added or already in place), once each.
fn remedies_of(pr: &PolicyRemedy<'_>) -> Vec<Remedy> {
    let mut out = pr.added();
    for r in &pr.in_place {
        if !out.contains(r) {
            out.push(*r);
        }
    }
    out
}

/// Whether the spec's `excludeApp` selects the policy (whether or not the tenant's behaviour lets
/// the exclusion work there: the spec still asks for it).
fn selected(d: Option<&PolicyDecision>) -> bool {
    d.is_some_and(|d| matches!(d.verdict, Verdict::Exclude | Verdict::AlreadyExcluded))
}

/// Notes for the policies that exclude an adopted app the spec no longer selects for them.
pub fn adopted_notes(
    app_id: &str,
    unwanted: &[(String, Unwanted<'_>)],
    policies: &[Policy],
    out: &mut PlanOut,
) {
    for (id, _) in unwanted {
        let Some(p) = policies.iter().find(|p| p.id().eq_ignore_ascii_case(id)) else {
            continue;
        };
        let excluded = p.applications(Exclusion::Applications.path().1);
        if excluded.iter().any(|x| x.eq_ignore_ascii_case(app_id)) {
            out.notes.push(Note {
                kind: NoteKind::Unmanaged,
                risks: Vec::new(),
                message: format!(
                    "conditional access policy \"{}\" ({}) excludes the app ({app_id}), and the spec does not select it for `excludeApp`, but the app was adopted and entractl cannot tell who excluded it: left as it is (remove it by hand if only an earlier `excludeApp` needed it; until then the policy's MFA does not apply to Passport's sign-in)",
                    p.display_name(),
                    p.id()
                ),
            });
        }
    }
}

#[cfg(test)]
#[path = "ca_app_deselect_tests.rs"]
mod tests;
