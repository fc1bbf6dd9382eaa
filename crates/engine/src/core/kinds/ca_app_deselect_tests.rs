//! Passport's app taken out of the policies a Mac Login spec no longer selects for `excludeApp`
//! (issue 17 §4), on a hand-made legacy tenant: `excludeApp` shortened, a policy moved to
//! `excludeUsers`; left alone: a policy the spec still selects (no flap), a Microsoft-managed
//! policy, an adopted app (a note), a policy that does not demand MFA, an app the same apply
//! creates. The three renderings of such a plan.

use entractl_graph::resource::conditional_access_settings::BaselineScopes;
use entractl_graph::resource::user::User;
use serde_json::{Value, json};

use super::super::placeholder_tests::{notes_of, policy, tenant};
use crate::core::desired::{CaSelection, Desired, DesiredMfa, PassportMode};
use crate::core::diff::diff;
use crate::core::observed::Observed;
use crate::core::plan::{Action, NoteKind, ObjectKind, Plan, Risk};
use crate::core::render::{Format, render};
use crate::core::simulate::simulate_apply;
use crate::core::tests::kandji;

/// Passport's appId in the converged tenant (as Graph spells it).
const APP_ID: &str = "9B1F0000-2222-4333-8444-000000000002";
const OTHER_APP_ID: &str = "6b6b6b6b-0000-4000-8000-00000000b0ff";
const ALICE: &str = "a11ce000-0000-4000-8000-000000000001";

/// Mac Login, per-user MFA off, `excludeApp` naming `names`.
fn mac_login(names: &[&str]) -> Desired {
    let mut d = kandji();
    d.passport_mode = Some(PassportMode::MacLogin);
    d.mfa = Some(DesiredMfa {
        per_user_mfa_disabled: true,
        conditional_access: Some(CaSelection::Named(
            names.iter().map(|n| n.to_string()).collect(),
        )),
        ..DesiredMfa::default()
    });
    d
}

/// The legacy tenant after `excludeApp: [CA001, CA002]` was applied: both policies exclude
/// Passport's app (CA001 next to an administrator's own exclusion), alice assigned.
fn legacy(mut policies: Vec<Value>) -> Observed {
    let mut all = vec![
        policy("p-1", "CA001", &[OTHER_APP_ID, APP_ID]),
        policy("p-2", "CA002", &[APP_ID]),
    ];
    all.append(&mut policies);
    let mut o = tenant(BaselineScopes::Disabled, all, vec![]);
    o.principals.users = vec![User {
        id: ALICE.into(),
        user_principal_name: "alice@contoso.com".into(),
        display_name: "Alice".into(),
        account_enabled: true,
        user_type: None,
    }];
    o
}

fn policy_changes(plan: &Plan) -> Vec<(&str, Action)> {
    plan.actionable()
        .filter(|c| c.object.kind == ObjectKind::ConditionalAccessPolicy)
        .map(|c| (c.object.key.as_str(), c.action))
        .collect()
}

/// The policy's `excludeApplications` after `plan` is applied (simulated).
fn excluded_after(o: &Observed, plan: &Plan, id: &str) -> Vec<String> {
    let after = simulate_apply(o, plan).unwrap();
    let policies = after.mfa.as_ref().unwrap().conditional_access.policies();
    let p = policies.iter().find(|p| p.id() == id).unwrap();
    p.applications("excludeApplications")
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// Applied (simulated), the plan after it has no changes.
fn converges(d: &Desired, o: &Observed, plan: &Plan) {
    let after = simulate_apply(o, plan).unwrap();
    let again = diff(d, &after).unwrap();
    assert!(!again.has_changes(), "{:#?}", again.changes);
}

#[test]
fn a_shortened_exclude_app_takes_the_app_out_of_the_dropped_policy_only() {
    let (d, o) = (mac_login(&["CA001"]), legacy(vec![]));
    let plan = diff(&d, &o).unwrap();
    assert_eq!(policy_changes(&plan), [("p-2", Action::Update)]);
    let c = plan.actionable().find(|c| c.object.key == "p-2").unwrap();
    assert_eq!(
        c.payload,
        json!({"conditions": {"applications": {"excludeApplications": []}}})
    );
    assert!(
        c.risks.is_empty(),
        "a restore is no downgrade: {:?}",
        c.risks
    );
    assert_eq!(
        c.reason,
        format!(
            "restore: Passport's app ({APP_ID}) is excluded from this policy, but the spec no longer selects the policy for `excludeApp` (it selects no exclusion for this policy), so the app is taken out and the policy applies to Passport's app again; other exclusions are left as they are"
        )
    );
    assert!(excluded_after(&o, &plan, "p-2").is_empty());
    assert_eq!(excluded_after(&o, &plan, "p-1"), [OTHER_APP_ID, APP_ID]);
    converges(&d, &o, &plan);
}

#[test]
fn a_policy_moved_to_exclude_users_loses_the_app_in_the_patch_that_adds_the_users() {
    let mut d = mac_login(&["CA001"]);
    d.mfa.as_mut().unwrap().exclude_identities = Some(CaSelection::Named(vec!["CA002".into()]));
    let o = legacy(vec![]);
    let plan = diff(&d, &o).unwrap();
    assert_eq!(policy_changes(&plan), [("p-2", Action::Update)]);
    let c = plan.actionable().find(|c| c.object.key == "p-2").unwrap();
    assert_eq!(
        c.payload,
        json!({"conditions": {
            "applications": {"excludeApplications": []},
            "users": {"excludeUsers": [ALICE]}
        }})
    );
    // Adding the users is the downgrade; taking the app out comes with it.
    assert_eq!(c.risks, [Risk::SecurityDowngrade]);
    assert!(
        c.reason.contains(&format!(
            "restore: Passport's app ({APP_ID}) is excluded from this policy, but the spec no longer selects the policy for `excludeApp` (it uses `excludeUsers`: the app's users and groups for this policy instead)"
        )),
        "{}",
        c.reason
    );
    assert!(excluded_after(&o, &plan, "p-2").is_empty());
    converges(&d, &o, &plan);
}

#[test]
fn a_policy_the_spec_still_selects_keeps_the_app_and_nothing_flaps() {
    let o = legacy(vec![]);
    for d in [mac_login(&["CA001", "CA002"]), {
        let mut d = mac_login(&[]);
        d.mfa.as_mut().unwrap().conditional_access = Some(CaSelection::FromPoliciesRequiringMfa);
        d
    }] {
        let plan = diff(&d, &o).unwrap();
        assert!(policy_changes(&plan).is_empty(), "{:#?}", plan.changes);
    }
    // Selected again after being dropped: added back, then converged.
    let mut o = legacy(vec![]);
    o = simulate_apply(&o, &diff(&mac_login(&["CA001"]), &o).unwrap()).unwrap();
    let d = mac_login(&["CA001", "CA002"]);
    let plan = diff(&d, &o).unwrap();
    assert_eq!(policy_changes(&plan), [("p-2", Action::Update)]);
    converges(&d, &o, &plan);
}

#[test]
fn a_microsoft_managed_policy_is_never_touched() {
    let mut managed = policy(
        "p-managed",
        "Microsoft-managed: Multifactor authentication for all users",
        &[APP_ID],
    );
    managed["state"] = json!("enabledForReportingButNotEnforced");
    let (d, o) = (mac_login(&["CA001", "CA002"]), legacy(vec![managed]));
    let plan = diff(&d, &o).unwrap();
    assert!(policy_changes(&plan).is_empty(), "{:#?}", plan.changes);
}

#[test]
fn an_adopted_app_is_left_in_the_policy_with_a_note() {
    let mut d = mac_login(&["CA001"]);
    d.app.identity.adopt_app_id = Some(APP_ID.into());
    let o = legacy(vec![]);
    let plan = diff(&d, &o).unwrap();
    assert!(policy_changes(&plan).is_empty(), "{:#?}", plan.changes);
    let notes = notes_of(&plan, NoteKind::Unmanaged);
    let note: Vec<&&str> = notes
        .iter()
        .filter(|n| n.contains("the app was adopted"))
        .collect();
    assert_eq!(note.len(), 1, "{notes:#?}");
    assert!(
        note[0].starts_with(&format!(
            "conditional access policy \"CA002\" (p-2) excludes the app ({APP_ID}), and the spec does not select it for `excludeApp`"
        )),
        "{}",
        note[0]
    );
}

#[test]
fn a_policy_that_does_not_demand_mfa_keeps_the_app() {
    let mut compliant = policy("p-3", "CA003: compliant device", &[APP_ID]);
    compliant["grantControls"]["builtInControls"] = json!(["compliantDevice"]);
    let (d, o) = (mac_login(&["CA001", "CA002"]), legacy(vec![compliant]));
    let plan = diff(&d, &o).unwrap();
    assert!(policy_changes(&plan).is_empty(), "{:#?}", plan.changes);
}

#[test]
fn the_app_the_same_apply_creates_has_nothing_to_take_out() {
    let d = mac_login(&["CA001"]);
    let mut o = legacy(vec![]);
    o.candidates.clear();
    o.service_principal = None;
    o.grants.clear();
    let plan = diff(&d, &o).unwrap();
    // CA001 gets the new app; CA002 (listing an appId that is not this app's) is left alone.
    assert_eq!(policy_changes(&plan), [("p-1", Action::Update)]);
}

#[test]
fn snapshot_text_app_not_selected() {
    let (d, o) = (mac_login(&["CA001"]), legacy(vec![]));
    insta::assert_snapshot!(render(&diff(&d, &o).unwrap(), Format::Text, false));
}

#[test]
fn snapshot_json_app_not_selected() {
    let (d, o) = (mac_login(&["CA001"]), legacy(vec![]));
    insta::assert_snapshot!(render(&diff(&d, &o).unwrap(), Format::Json, false));
}

#[test]
fn snapshot_markdown_app_not_selected() {
    let (d, o) = (mac_login(&["CA001"]), legacy(vec![]));
    insta::assert_snapshot!(render(&diff(&d, &o).unwrap(), Format::Markdown, false));
}

#[test]
fn a_mac_login_spec_that_no_longer_manages_conditional_access_takes_the_app_out_everywhere() {
    let mut d = mac_login(&[]);
    d.mfa.as_mut().unwrap().conditional_access = None;
    let mut compliant = policy("p-3", "CA003: compliant device", &[APP_ID]);
    compliant["grantControls"]["builtInControls"] = json!(["compliantDevice"]);
    let o = legacy(vec![compliant]);
    let plan = diff(&d, &o).unwrap();
    assert_eq!(
        policy_changes(&plan),
        [("p-1", Action::Update), ("p-2", Action::Update)]
    );
    let c = plan.actionable().find(|c| c.object.key == "p-1").unwrap();
    assert_eq!(
        c.payload,
        json!({"conditions": {"applications": {"excludeApplications": [OTHER_APP_ID]}}})
    );
    assert!(c.risks.is_empty(), "{:?}", c.risks);
    assert!(
        c.reason.contains("it selects no exclusion for this policy"),
        "{}",
        c.reason
    );
    assert_eq!(excluded_after(&o, &plan, "p-3"), [APP_ID]);
    converges(&d, &o, &plan);
}
