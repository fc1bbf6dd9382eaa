//! The conditional access part of a plan: the remedies per policy ([`super::ca_remedy`]) as
//! changes (one PATCH per policy, only exclusion lists), no-ops and notes. What entractl added
//! and no longer needs (recorded identities, a placeholder app the spec no longer names) comes
//! out in the same PATCH.

use entractl_graph::resource::conditional_access_policy::{ConditionalAccessPolicy, Exclusion};
use serde_json::{Value, json};

use super::ca_app_deselect::{self, Planning};
use super::ca_app_restore::{self, AppRestores, Unwanted};
use super::ca_remedy::{Identities, PolicyRemedy, Remedies, Remedy, remedies};
use super::ca_restore::{self, Removal};
use super::context::PlanContext;
use super::kind::PlanOut;
use super::record::record;
use crate::core::desired::{CaSelection, DesiredMfa};
use crate::core::error::PlanError;
use crate::core::forecast::{BaselineRead, SignInTarget};
use crate::core::observed::{ObservedMfa, Purpose, RecordMember};
use crate::core::plan::{
    Action, Change, ChangeId, CreatedRef, FieldChange, Note, NoteKind, ObjectKind, ObjectRef, Risk,
};
use crate::core::policy::{PolicyDecision, Reason, Verdict, check_selection};

/// Stands for Passport's appId when the same apply creates the app (no policy lists it).
const PENDING_APP: &str = "\u{0}entractl-pending-app";
/// Stands for the placeholder's appId when the same apply creates it.
const PENDING_PLACEHOLDER: &str = "\u{0}entractl-pending-placeholder";
/// What the plan shows in place of the placeholder's appId before it exists.
pub const PLACEHOLDER_ID_AFTER_APPLY: &str = "(the placeholder app's appId, known after apply)";

/// The recorded identities a plan takes out, by policy id ([`ca_restore::unwanted`]).
type Removals<'a> = std::collections::BTreeMap<String, Vec<Removal<'a>>>;

/// One policy as read, and what its restore takes out of it: the recorded identities and the
/// apps.
type Restore<'r, 'a> = (
    &'r ConditionalAccessPolicy,
    &'r [Removal<'a>],
    &'r [Unwanted<'a>],
);

/// How the tenant evaluates Passport's sign-in, as fetch read it (not read: enforcement assumed).
pub fn sign_in_target(cx: &PlanContext<'_>) -> SignInTarget {
    let baseline = cx
        .observed
        .forecast
        .as_ref()
        .map(|f| f.baseline.clone())
        .unwrap_or(BaselineRead::Unreadable {
            reason: "not read".into(),
        });
    SignInTarget::new(baseline, &cx.desired.app.passport_scopes())
}

/// The app's assigned users and groups (object ids), as identity exclusions add them.
fn identities(cx: &PlanContext<'_>) -> Identities {
    let p = &cx.observed.principals;
    Identities {
        users: p.users.iter().map(|u| u.id.to_lowercase()).collect(),
        groups: p.groups.iter().map(|g| g.id.to_lowercase()).collect(),
    }
}

fn check(policies: &[ConditionalAccessPolicy], mfa: &DesiredMfa) -> Result<(), PlanError> {
    let mut errors = Vec::new();
    let selections: [(Option<&CaSelection>, &str); 3] = [
        (mfa.conditional_access.as_ref(), "excludeApp"),
        (mfa.exclude_identities.as_ref(), "excludeUsers"),
        (
            mfa.placeholder.as_ref().map(|p| &p.exclude_from),
            "placeholder.excludeFrom",
        ),
    ];
    for (sel, field) in selections {
        if let Some(sel) = sel {
            errors.extend(check_selection(policies, sel, field));
        }
    }
    if errors.is_empty() {
        return Ok(());
    }
    Err(PlanError::PolicySelection(
        errors.iter().map(ToString::to_string).collect(),
    ))
}

/// Plans every policy of a tenant with conditional access.
pub fn plan_policies(
    cx: &PlanContext<'_>,
    mfa: &DesiredMfa,
    policies: &[ConditionalAccessPolicy],
    observed: &ObservedMfa,
    out: &mut PlanOut,
) -> Result<(), PlanError> {
    check(policies, mfa)?;
    let target = sign_in_target(cx);
    let people = identities(cx);
    let placeholder_id = cx.placeholder_app_id().unwrap_or(PENDING_PLACEHOLDER);
    let r = Remedies {
        passport: cx.app_id().unwrap_or(PENDING_APP),
        app: mfa.conditional_access.as_ref(),
        placeholder: mfa
            .placeholder
            .as_ref()
            .map(|p| (&p.exclude_from, placeholder_id)),
        identities: mfa.exclude_identities.as_ref().map(|s| (s, &people)),
    };
    let scope = observed.user_scope();
    // What entractl added and no longer needs comes out first; the remedies are planned on the
    // policies as that leaves them. Needed: what the remedies would add to the policies without
    // anything entractl recorded (and without Passport's app where the spec no longer selects it).
    let recorded = ca_restore::unwanted(&cx.observed.records, |_, _| false);
    let every = ca_app_restore::unwanted_apps(cx);
    let stripped = ca_app_restore::without(&ca_restore::without(policies, &recorded), &every);
    let how = Planning {
        target: &target,
        scope: &scope,
        remedies: &r,
    };
    let apps = ca_app_deselect::app_restores(cx, every, (policies, &stripped), &how, out);
    let stripped = if apps.some.is_empty() {
        stripped
    } else {
        ca_app_restore::without_each(&stripped, |p| apps.of(p))
    };
    let first = remedies(&stripped, &target, &scope, &r);
    let wanted = |policy: &str, id: &str| {
        first.iter().any(|pr| {
            pr.policy.id().eq_ignore_ascii_case(policy)
                && pr.add.iter().any(|(remedy, _, ids)| {
                    *remedy == Remedy::Identities && ids.iter().any(|i| i.eq_ignore_ascii_case(id))
                })
        })
    };
    let removals = ca_restore::unwanted(&cx.observed.records, wanted);
    let views =
        ca_app_restore::without_each(&ca_restore::without(policies, &removals), |p| apps.of(p));
    let all = remedies(&views, &target, &scope, &r);
    super::placeholder_step::portal_notes(cx, &all, out);
    policy_parts(cx, &all, (policies, &removals, &apps), &target, out);
    ca_restore::release_all(out, &removals);
    Ok(())
}

/// Every policy's part of the plan; `restores`: the policies as read, the recorded identities
/// and the apps that come out.
fn policy_parts(
    cx: &PlanContext<'_>,
    all: &[PolicyRemedy<'_>],
    (policies, removals, apps): (&[ConditionalAccessPolicy], &Removals<'_>, &AppRestores<'_>),
    target: &SignInTarget,
    out: &mut PlanOut,
) {
    let mut legacy_app = Vec::new();
    for pr in all {
        if target.app_exclusion_works() && pr.added().contains(&Remedy::App) && all_resources(pr) {
            legacy_app.push(format!("\"{}\"", pr.demand.display_name));
        }
        let original = policies
            .iter()
            .find(|p| p.id() == pr.policy.id())
            .unwrap_or(pr.policy);
        let here = apps.of(original);
        let restore = (
            original,
            ca_restore::of(removals, original),
            here.as_slice(),
        );
        policy_part(cx, pr, restore, out);
    }
    if !legacy_app.is_empty() {
        out.notes.push(Note {
            kind: NoteKind::Warning,
            risks: Vec::new(),
            message: format!(
                "{} target(s) All resources: excluding the app works here only because {}; with enforcement on, it no longer lets Passport's sign-in through such a policy (docs/mfa.md)",
                legacy_app.join(", "),
                target.baseline.describe()
            ),
        });
    }
}

fn all_resources(pr: &PolicyRemedy<'_>) -> bool {
    pr.policy
        .applications("includeApplications")
        .iter()
        .any(|a| a.trim().eq_ignore_ascii_case("All"))
}

fn label(d: &PolicyDecision) -> String {
    format!(
        "conditional access policy \"{}\" ({})",
        d.display_name, d.id
    )
}

/// The decision whose reason and notes a reviewer sees: the spec's `excludeApp` decision under
/// the legacy behaviour (as always), else whether the policy demands MFA of the sign-in.
fn shown<'p>(pr: &'p PolicyRemedy<'_>, target_legacy: bool) -> &'p PolicyDecision {
    match &pr.app {
        Some(app) if target_legacy => app,
        _ => &pr.demand,
    }
}

/// One policy's change, no-op or notes; `restore`: the policy as read and what comes out of its
/// exclusions.
fn policy_part(
    cx: &PlanContext<'_>,
    pr: &PolicyRemedy<'_>,
    restore: Restore<'_, '_>,
    out: &mut PlanOut,
) {
    let legacy = sign_in_target(cx).app_exclusion_works();
    let d = shown(pr, legacy);
    let label = label(d);
    for n in &d.notes {
        out.notes.push(Note {
            kind: NoteKind::Warning,
            risks: Vec::new(),
            message: format!("{label}: {n}"),
        });
    }
    let object = ObjectRef {
        kind: ObjectKind::ConditionalAccessPolicy,
        key: d.id.clone(),
        display: d.display_name.clone(),
        id: Some(d.id.clone()),
    };
    let (original, removals, apps) = restore;
    if !pr.add.is_empty() {
        record_identities(cx, pr, out);
        out.changes.push(exclusion(cx, pr, d, object, restore));
    } else if let Some(c) = ca_app_restore::restore(original, removals, apps, false) {
        out.changes.push(c);
        // A restore may leave the policy demanding MFA of the sign-in: the reviewer is told.
        if let Some(why) = &pr.unresolved {
            out.notes.push(Note {
                kind: NoteKind::Warning,
                risks: Vec::new(),
                message: format!("{label}: {why}"),
            });
        }
    } else if !pr.in_place.is_empty() && pr.unresolved.is_none() {
        out.changes
            .push(Change::new(object, Action::NoOp, in_place_text(pr, d)));
    } else if let Some(why) = &pr.unresolved {
        out.notes.push(Note {
            kind: NoteKind::Warning,
            risks: Vec::new(),
            message: format!("{label}: {why}"),
        });
    } else if d.verdict == Verdict::Blocks {
        out.notes.push(Note {
            kind: NoteKind::Warning,
            risks: Vec::new(),
            message: format!("{label}: {}", d.reason_text()),
        });
    } else if d.verdict != Verdict::Exclude {
        out.notes.push(unmanaged(left_alone(pr, d, &label)));
    }
}

fn in_place_text(pr: &PolicyRemedy<'_>, d: &PolicyDecision) -> String {
    match pr.in_place.first() {
        Some(Remedy::Identities) => format!(
            "{}: the app's users and groups are already excluded",
            pr.demand.reason_text()
        ),
        Some(Remedy::Placeholder) if pr.app.is_none() => {
            "the placeholder app is already excluded".to_string()
        }
        _ => d.reason_text(),
    }
}

fn left_alone(pr: &PolicyRemedy<'_>, d: &PolicyDecision, label: &str) -> String {
    let mut message = format!("{label}: left alone: {}", d.reason_text());
    if let Reason::UsersNotCovered { .. } = &d.reason
        && !pr.policy.users("includeRoles").is_empty()
    {
        message.push_str(
            "; it targets directory roles, and entractl does not read which roles the app's users hold: if one of them holds such a role, name the policy in mfa.conditionalAccess.excludeApp",
        );
    }
    message
}

/// The words for each remedy a change adds.
fn remedy_text(r: Remedy) -> &'static str {
    match r {
        Remedy::App => {
            "exclude the app so Passport's password sign-in (which cannot do MFA) gets through; the policy keeps applying to every other app, and only excludeApplications changes"
        }
        Remedy::Placeholder => {
            "exclude the placeholder app (Microsoft's \"Customize behavior\"): once the Baseline scopes setting picks it, sign-ins that ask only for baseline scopes — of every public client in the tenant, not just Passport — are evaluated against the placeholder, which this policy then leaves alone"
        }
        Remedy::Identities => {
            "exclude the app's assigned users and groups so their password sign-in gets through; they then lose MFA from this policy for every app they use, not just Passport"
        }
    }
}

/// The change adding the remedies' ids to the policy's exclusion lists; an appId that the same
/// apply creates is `null` in the payload and named in `refs`.
fn exclusion(
    cx: &PlanContext<'_>,
    pr: &PolicyRemedy<'_>,
    d: &PolicyDecision,
    object: ObjectRef,
    restore: Restore<'_, '_>,
) -> Change {
    let (original, removals, apps) = restore;
    let additions: Vec<(Exclusion, Vec<&str>)> = pr
        .add
        .iter()
        .map(|(_, list, ids)| (*list, ids.iter().map(String::as_str).collect()))
        .collect();
    let mut payload = pr
        .policy
        .exclusions_patch(&additions)
        .unwrap_or(Value::Null);
    // Lists the restore shortens and the additions leave alone: as the restore leaves them.
    if let Some(restored) = ca_restore::removal_patch(original, removals) {
        for key in ["excludeUsers", "excludeGroups"] {
            let pointer = format!("/conditions/users/{key}");
            if let (Some(list), None) = (restored.pointer(&pointer), payload.pointer(&pointer)) {
                payload["conditions"]["users"][key] = list.clone();
            }
        }
    }
    // The apps the restore takes out, when the additions leave `excludeApplications` alone.
    if let Some(kept) = ca_app_restore::kept(original, apps)
        && payload
            .pointer("/conditions/applications/excludeApplications")
            .is_none()
    {
        payload["conditions"]["applications"]["excludeApplications"] = json!(kept);
    }
    let mut refs = Vec::new();
    let mut fields = Vec::new();
    for list in [Exclusion::Applications, Exclusion::Users, Exclusion::Groups] {
        let (section, key) = list.path();
        let pointer = format!("/conditions/{section}/{key}");
        let Some(items) = payload.pointer_mut(&pointer).and_then(Value::as_array_mut) else {
            continue;
        };
        let before: Vec<Value> = original.users(key).iter().map(|s| json!(s)).collect();
        let before = if list == Exclusion::Applications {
            original
                .applications(key)
                .iter()
                .map(|s| json!(s))
                .collect()
        } else {
            before
        };
        let mut after = Vec::new();
        for (i, item) in items.iter_mut().enumerate() {
            let shown = pending(cx, item, &pointer, i, &mut refs);
            after.push(shown);
        }
        fields.push(FieldChange {
            path: format!("conditions.{section}.{key}"),
            before: json!(before),
            after: json!(after),
        });
    }
    let what: Vec<&str> = pr.added().into_iter().map(remedy_text).collect();
    let mut reason = format!("{}: {}", d.reason_text(), what.join("; and "));
    let present = |r: &Removal<'_>| ca_restore::list_has(original, r.list(), &r.member.id);
    if removals.iter().any(present) {
        reason.push_str("; and ");
        reason.push_str(&ca_restore::restore_text(removals, present));
    }
    if let Some(text) = ca_app_restore::restore_text(original, apps, false) {
        reason.push_str("; and ");
        reason.push_str(&text);
    }
    let mut c = Change::new(object, Action::Update, reason);
    c.fields = fields;
    c.risks = vec![Risk::SecurityDowngrade];
    c.payload = payload;
    c.refs = refs;
    c
}

/// Records, before the change, every user and group the identity remedy adds to the policy.
fn record_identities(cx: &PlanContext<'_>, pr: &PolicyRemedy<'_>, out: &mut PlanOut) {
    let purpose = Purpose::CaExclusion(pr.policy.id().to_lowercase());
    let p = &cx.observed.principals;
    for (remedy, list, ids) in &pr.add {
        if *remedy != Remedy::Identities {
            continue;
        }
        for id in ids {
            let label = match list {
                Exclusion::Groups => p
                    .groups
                    .iter()
                    .find(|g| g.id.eq_ignore_ascii_case(id))
                    .map(|g| format!("group {}", g.display_name)),
                _ => p
                    .users
                    .iter()
                    .find(|u| u.id.eq_ignore_ascii_case(id))
                    .map(|u| u.user_principal_name.clone()),
            };
            let member = RecordMember {
                id: id.to_lowercase(),
                label: label.unwrap_or_else(|| id.clone()),
                is_group: *list == Exclusion::Groups,
            };
            record(cx, out, &purpose, &member);
        }
    }
}

/// Replaces a sentinel for an app the same apply creates by `null` and a typed reference; the
/// value the plan shows.
fn pending(
    cx: &PlanContext<'_>,
    item: &mut Value,
    pointer: &str,
    index: usize,
    refs: &mut Vec<CreatedRef>,
) -> Value {
    let (kind, key, shown) = match item.as_str() {
        Some(PENDING_APP) => (ObjectKind::Application, cx.key(), APP_ID_AFTER_APPLY),
        Some(PENDING_PLACEHOLDER) => (
            ObjectKind::PlaceholderApplication,
            cx.placeholder_key().unwrap_or_default(),
            PLACEHOLDER_ID_AFTER_APPLY,
        ),
        _ => return item.clone(),
    };
    *item = Value::Null;
    refs.push(CreatedRef {
        at: format!("{pointer}/{index}"),
        created_by: ChangeId { kind, key },
        property: "appId".into(),
    });
    json!(shown)
}

/// A tenant without P1/P2: its policies cannot be changed, and enabled ones are still enforced.
pub fn unlicensed(
    cx: &PlanContext<'_>,
    policies: &[ConditionalAccessPolicy],
    observed: &ObservedMfa,
    out: &mut PlanOut,
) {
    if policies.is_empty() {
        out.notes.push(unmanaged("conditional access skipped: the tenant has no Entra ID P1 or P2 licence, so it has no conditional access: nothing to exclude the app from".to_string()));
        return;
    }
    let target = sign_in_target(cx);
    let r = Remedies {
        passport: cx.app_id().unwrap_or(PENDING_APP),
        app: None,
        placeholder: None,
        identities: None,
    };
    let mut blocking = 0;
    for pr in remedies(policies, &target, &observed.user_scope(), &r) {
        let enabled = pr
            .policy
            .state()
            .is_some_and(|s| s.eq_ignore_ascii_case("enabled"));
        if pr.unresolved.is_some() && enabled {
            blocking += 1;
            out.notes.push(Note {
                kind: NoteKind::Warning,
                risks: Vec::new(),
                message: format!(
                    "{}: {}; it is still enforced although the tenant has no Entra ID P1 or P2 licence (a lapsed licence leaves policies enforced), and it cannot be changed without one: Passport's password sign-in will fail for the users it covers. Fix: Web Login (passport.mode: web-login), or turn the policy off or exclude the users after re-licensing",
                    label(&pr.demand),
                    pr.demand.reason_text()
                ),
            });
        }
    }
    if blocking == 0 {
        out.notes.push(unmanaged("conditional access: the tenant has no Entra ID P1 or P2 licence, and none of its policies would ask Passport's sign-in for MFA; nothing to exclude the app from".to_string()));
    }
}

/// What the plan shows in place of Passport's appId before the app exists.
pub const APP_ID_AFTER_APPLY: &str = "(the app's appId, known after apply)";

/// A note of a policy (or the part) left alone.
pub(super) fn unmanaged(message: String) -> Note {
    Note {
        kind: NoteKind::Unmanaged,
        risks: Vec::new(),
        message,
    }
}
