//! Undoing the application exclusions entractl added: Passport's app, once nothing needs
//! password sign-in any more (the mode is Web Login, or the spec has no `mfa` section): entractl
//! added the app's appId to policies' `excludeApplications` for Mac Login, and the appId says which
//! entry that is (entractl manages that app registration; no record is needed); Passport's app in
//! a policy a Mac Login spec no longer selects for `excludeApp` ([`super::ca_app_deselect`]); and
//! a placeholder app of "Customize behavior" entractl made for this app that the spec no longer
//! names (found by its link tag, [`super::placeholder_former`]). Taken out in the same PATCH as
//! the recorded identities ([`super::ca_restore`]); nothing else of the policy is touched, and
//! never a Microsoft-managed policy's applications (entractl never adds an app to them).

use entractl_graph::resource::conditional_access_policy::{
    ConditionalAccessPolicy as Policy, Exclusion,
};
use serde_json::json;

use super::ca_remedy::Remedy;
use super::ca_restore::{self, Removal};
use super::context::PlanContext;
use super::kind::PlanOut;
use crate::core::plan::{Action, Change, FieldChange, Note, NoteKind, ObjectKind, ObjectRef};

/// The appId to take out of policies' exclusions: the managed app's, when the spec no longer
/// needs password sign-in and entractl created the app. An app the spec adopts (`app.appId`)
/// may have been excluded by an administrator before entractl managed it: its exclusions are
/// only named in a note ([`adopted_notes`]).
pub fn unwanted_app<'a>(cx: &PlanContext<'a>) -> Option<&'a str> {
    if cx.desired.password_sign_in() || cx.desired.app.identity.adopt_app_id.is_some() {
        return None;
    }
    cx.app_id()
}

/// Which app an unwanted exclusion is, and why it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum What<'a> {
    /// Passport's app, once the spec no longer signs in with a password (or is destroyed).
    Passport,
    /// Passport's app, in a policy the (Mac Login) spec no longer selects for `excludeApp`;
    /// `instead`: the remedies the spec plans for that policy (none: it selects none).
    PassportNotSelected { instead: Vec<Remedy> },
    /// The placeholder app `destroy` deletes.
    Placeholder,
    /// A placeholder app entractl made for this app that the spec no longer names.
    FormerPlaceholder { display_name: &'a str },
}

impl What<'_> {
    /// The app in words (`Passport's app`).
    fn words(&self) -> String {
        match self {
            What::Passport | What::PassportNotSelected { .. } => "Passport's app".into(),
            What::Placeholder => "the placeholder app".into(),
            What::FormerPlaceholder { display_name } => {
                format!("the placeholder app \"{display_name}\"")
            }
        }
    }
}

/// An application whose exclusion the plan takes out of policies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unwanted<'a> {
    pub app_id: &'a str,
    pub what: What<'a>,
}

impl<'a> Unwanted<'a> {
    pub fn new(app_id: &'a str, what: What<'a>) -> Unwanted<'a> {
        Unwanted { app_id, what }
    }
}

/// The applications to take out of policies' exclusions: Passport's app ([`unwanted_app`]), the
/// placeholder apps the spec no longer names and, under `destroy`, the placeholder app it
/// deletes.
pub fn unwanted_apps<'a>(cx: &PlanContext<'a>) -> Vec<Unwanted<'a>> {
    let mut out: Vec<Unwanted<'a>> = unwanted_app(cx)
        .map(|app_id| Unwanted::new(app_id, What::Passport))
        .into_iter()
        .collect();
    if cx.desired.destroying()
        && let Some(app_id) = cx.placeholder_app_id()
    {
        out.push(Unwanted::new(app_id, What::Placeholder));
    }
    for a in cx.former_placeholders.iter().copied() {
        if !out.iter().any(|u| u.app_id.eq_ignore_ascii_case(&a.app_id)) {
            let what = What::FormerPlaceholder {
                display_name: &a.display_name,
            };
            out.push(Unwanted::new(&a.app_id, what));
        }
    }
    out
}

/// The applications to take out of each policy: those of every policy ([`unwanted_apps`]) and
/// those of some policies only (Passport's app where the spec no longer selects it), by policy id.
#[derive(Debug, Clone, Default)]
pub struct AppRestores<'a> {
    pub every: Vec<Unwanted<'a>>,
    pub some: Vec<(String, Unwanted<'a>)>,
}

impl<'a> AppRestores<'a> {
    /// The applications to take out of `policy`.
    pub fn of(&self, policy: &Policy) -> Vec<Unwanted<'a>> {
        let mut out = self.every.clone();
        for (id, u) in &self.some {
            if id.eq_ignore_ascii_case(policy.id())
                && !out.iter().any(|x| x.app_id.eq_ignore_ascii_case(u.app_id))
            {
                out.push(u.clone());
            }
        }
        out
    }
}

/// The apps of `apps` that `policy` excludes (none for a Microsoft-managed policy, whose
/// applications entractl never changes).
fn present<'u, 'a>(policy: &Policy, apps: &'u [Unwanted<'a>]) -> Vec<&'u Unwanted<'a>> {
    if policy.is_microsoft_managed() {
        return Vec::new();
    }
    let excluded = policy.applications(Exclusion::Applications.path().1);
    apps.iter()
        .filter(|u| excluded.iter().any(|x| x.eq_ignore_ascii_case(u.app_id)))
        .collect()
}

/// `excludeApplications` of `policy` without `apps` (`None`: none of them is there).
pub fn kept(policy: &Policy, apps: &[Unwanted<'_>]) -> Option<Vec<String>> {
    let present = present(policy, apps);
    if present.is_empty() {
        return None;
    }
    let excluded = policy.applications(Exclusion::Applications.path().1);
    Some(
        excluded
            .iter()
            .filter(|x| !present.iter().any(|u| x.eq_ignore_ascii_case(u.app_id)))
            .map(|x| x.to_string())
            .collect(),
    )
}

/// The policies without `apps` in their `excludeApplications` (the views a Mac Login plan's
/// remedies are planned on).
pub fn without(policies: &[Policy], apps: &[Unwanted<'_>]) -> Vec<Policy> {
    without_each(policies, |_| apps.to_vec())
}

/// The policies without their unwanted apps (`apps` of each) in their `excludeApplications`.
pub fn without_each<'a>(
    policies: &[Policy],
    apps: impl Fn(&Policy) -> Vec<Unwanted<'a>>,
) -> Vec<Policy> {
    policies
        .iter()
        .map(|p| match kept(p, &apps(p)) {
            Some(k) => {
                p.patched(&json!({"conditions": {"applications": {"excludeApplications": k}}}))
            }
            None => p.clone(),
        })
        .collect()
}

/// Why `policy` loses the apps it excludes, in words (`None`: it excludes none of them).
pub fn restore_text(policy: &Policy, apps: &[Unwanted<'_>], destroying: bool) -> Option<String> {
    let present = present(policy, apps);
    if present.is_empty() {
        return None;
    }
    Some(
        present
            .iter()
            .map(|u| why(u, destroying))
            .collect::<Vec<_>>()
            .join("; "),
    )
}

/// Notes for the policies that exclude an adopted app the spec no longer needs excluded.
pub fn adopted_notes(cx: &PlanContext<'_>, policies: &[&Policy], out: &mut PlanOut) {
    if cx.desired.password_sign_in() || cx.desired.app.identity.adopt_app_id.is_none() {
        return;
    }
    let Some(app) = cx.app_id() else {
        return;
    };
    for p in policies {
        let excluded = p.applications(Exclusion::Applications.path().1);
        if excluded.iter().any(|x| x.eq_ignore_ascii_case(app)) {
            out.notes.push(Note {
                kind: NoteKind::Unmanaged,
                risks: Vec::new(),
                message: format!(
                "conditional access policy \"{}\" ({}) excludes the app ({app}); the spec does not sign in with a password, so it needs no such exclusion, but the app was adopted and entractl cannot tell who excluded it: left as it is (remove it by hand if only Mac Login's password sign-in needed it)",
                p.display_name(),
                p.id()
            ),
            });
        }
    }
}

/// One policy's restore: the recorded identities and the apps' exclusions, in one change.
/// `destroying`: the words say why (the spec is decommissioned, not switched to Web Login).
pub fn restore(
    policy: &Policy,
    removals: &[Removal<'_>],
    apps: &[Unwanted<'_>],
    destroying: bool,
) -> Option<Change> {
    let identities = ca_restore::restore_only(policy, removals);
    let (Some(kept), Some(text)) = (kept(policy, apps), restore_text(policy, apps, destroying))
    else {
        return identities;
    };
    let excluded = policy.applications(Exclusion::Applications.path().1);
    let field = FieldChange {
        path: "conditions.applications.excludeApplications".into(),
        before: json!(excluded),
        after: json!(kept),
    };
    let mut c = identities.unwrap_or_else(|| {
        let object = ObjectRef {
            kind: ObjectKind::ConditionalAccessPolicy,
            key: policy.id().to_string(),
            display: policy.display_name().to_string(),
            id: Some(policy.id().to_string()),
        };
        let mut c = Change::new(object, Action::Update, String::new());
        c.payload = json!({"conditions": {}});
        c
    });
    c.reason = if c.reason.is_empty() {
        text
    } else {
        format!("{text}; and {}", c.reason)
    };
    c.fields.insert(0, field);
    c.payload["conditions"]["applications"] = json!({"excludeApplications": kept});
    Some(c)
}

/// Why an app's exclusion is taken out, in words.
fn why(u: &Unwanted<'_>, destroying: bool) -> String {
    let (what, app) = (u.what.words(), u.app_id);
    if destroying {
        return format!(
            "restore: {what} ({app}) is excluded from this policy for Mac Login; destroy decommissions the spec, so it is taken out and the policy applies as before; other exclusions are left as they are"
        );
    }
    match &u.what {
        What::FormerPlaceholder { .. } => format!(
            "restore: {what} ({app}) is excluded from this policy for \"Customize behavior\", a placeholder entractl made for this app that the spec no longer uses (it names no placeholder, or another), so it is taken out and the policy applies again to the sign-ins evaluated against it; other exclusions are left as they are"
        ),
        What::PassportNotSelected { instead } => format!(
            "restore: {what} ({app}) is excluded from this policy, but the spec no longer selects the policy for `excludeApp` ({}), so the app is taken out and the policy applies to Passport's app again; other exclusions are left as they are",
            instead_text(instead)
        ),
        What::Passport | What::Placeholder => format!(
            "restore: {what} ({app}) is excluded from this policy, which only Mac Login's password sign-in needed; the spec no longer signs in with a password (Web Login, or no `mfa` section), so the app is taken out and the policy applies to Passport's sign-in again; other exclusions are left as they are"
        ),
    }
}

/// What the spec uses for a policy instead of the app's exclusion, in words.
fn instead_text(instead: &[Remedy]) -> String {
    let words: Vec<&str> = instead
        .iter()
        .filter_map(|r| match r {
            Remedy::Identities => Some("`excludeUsers`: the app's users and groups"),
            Remedy::Placeholder => Some("`placeholder`: the placeholder app"),
            Remedy::App => None,
        })
        .collect();
    if words.is_empty() {
        "it selects no exclusion for this policy".to_string()
    } else {
        format!("it uses {} for this policy instead", words.join(" and "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// The fields a change writes.
    fn lists(c: &Change) -> Vec<&str> {
        c.fields.iter().map(|f| f.path.as_str()).collect()
    }

    fn policy(apps: Value) -> Policy {
        Policy(json!({
            "id": "p1",
            "displayName": "CA001",
            "conditions": {
                "applications": {"includeApplications": ["All"], "excludeApplications": apps},
                "users": {"includeUsers": ["All"], "excludeUsers": ["break-glass"]}
            }
        }))
    }

    #[test]
    fn only_the_apps_entry_comes_out_and_the_change_is_no_downgrade() {
        let p = policy(json!(["passport-app", "other-app"]));
        let app = [Unwanted::new("PASSPORT-APP", What::Passport)];
        let c = restore(&p, &[], &app, false).expect("a change");
        assert_eq!(lists(&c), ["conditions.applications.excludeApplications"]);
        assert_eq!(
            c.payload,
            json!({"conditions": {"applications": {"excludeApplications": ["other-app"]}}})
        );
        assert!(c.risks.is_empty());
        assert!(
            c.reason.starts_with("restore: Passport's app"),
            "{}",
            c.reason
        );
    }

    #[test]
    fn a_policy_without_the_app_is_left_alone() {
        let app = [Unwanted::new("passport-app", What::Passport)];
        assert!(restore(&policy(json!(["other-app"])), &[], &app, false).is_none());
        assert!(restore(&policy(json!(["passport-app"])), &[], &[], false).is_none());
    }

    #[test]
    fn destroy_takes_out_the_app_and_the_placeholder_in_one_patch() {
        let p = policy(json!(["passport-app", "placeholder-app", "other-app"]));
        let apps = [
            Unwanted::new("passport-app", What::Passport),
            Unwanted::new("placeholder-app", What::Placeholder),
        ];
        let c = restore(&p, &[], &apps, true).expect("a change");
        assert_eq!(
            c.payload,
            json!({"conditions": {"applications": {"excludeApplications": ["other-app"]}}})
        );
        assert!(c.reason.contains("destroy decommissions"), "{}", c.reason);
        assert!(
            c.reason.contains("the placeholder app (placeholder-app)"),
            "{}",
            c.reason
        );
    }

    fn former(app_id: &str) -> Unwanted<'_> {
        Unwanted::new(
            app_id,
            What::FormerPlaceholder {
                display_name: "Old placeholder",
            },
        )
    }

    #[test]
    fn a_former_placeholder_comes_out_with_its_own_words_and_nothing_else_changes() {
        let p = policy(json!(["other-app", "OLD-PLACEHOLDER"]));
        let apps = [former("old-placeholder")];
        let c = restore(&p, &[], &apps, false).expect("a change");
        assert_eq!(lists(&c), ["conditions.applications.excludeApplications"]);
        assert_eq!(
            c.payload,
            json!({"conditions": {"applications": {"excludeApplications": ["other-app"]}}})
        );
        assert!(c.risks.is_empty());
        assert!(
            c.reason.starts_with(
                "restore: the placeholder app \"Old placeholder\" (old-placeholder) is excluded from this policy for \"Customize behavior\""
            ),
            "{}",
            c.reason
        );
        // The views a Mac Login plan starts from: only that entry is gone.
        let views = without(std::slice::from_ref(&p), &apps);
        assert_eq!(views[0].applications("excludeApplications"), ["other-app"]);
        assert_eq!(views[0].users("excludeUsers"), ["break-glass"]);
    }

    #[test]
    fn a_microsoft_managed_policys_applications_are_never_changed() {
        let mut p = policy(json!(["old-placeholder", "passport-app"]));
        p.0["displayName"] = json!("Microsoft-managed: Multifactor authentication for all users");
        let apps = [
            former("old-placeholder"),
            Unwanted::new("passport-app", What::Passport),
        ];
        assert!(restore(&p, &[], &apps, false).is_none());
        assert!(restore(&p, &[], &apps, true).is_none());
        assert!(kept(&p, &apps).is_none());
        assert_eq!(without(std::slice::from_ref(&p), &apps)[0], p);
    }
}
