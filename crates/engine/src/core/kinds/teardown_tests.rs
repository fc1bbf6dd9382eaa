//! `destroy`: the spec's desired state with nothing present, planned by the same kinds.

use serde_json::json;

use crate::core::desired::Desired;
use crate::core::diff::diff;
use crate::core::observed::{AppRoleAssignment, Observed, Purpose, RecordGroup, RecordMember};
use crate::core::plan::{Action, ObjectKind, Plan, Risk, TEARDOWN};
use crate::core::render::{Format, render};
use crate::core::simulate::simulate_apply;
use crate::core::tests::{converged, kandji};

const CAROL: &str = "c0000000-0000-4000-8000-00000000000c";
const ALICE: &str = "a0000000-0000-4000-8000-00000000000a";

/// The converged seed app with an assigned user and a record of carol's per-user MFA, which
/// entractl turned off from `enforced`.
fn weakened() -> Observed {
    let mut o = converged();
    o.assignments.existing.push(AppRoleAssignment {
        id: "as-alice".into(),
        app_role_id: "00000000-0000-0000-0000-000000000000".into(),
        principal_id: ALICE.into(),
        principal_type: "User".into(),
        principal_display_name: "Alice".into(),
        resource_id: String::new(),
        resource_display_name: String::new(),
    });
    o.records.groups.push(RecordGroup {
        id: "rg-mfa".into(),
        purpose: Purpose::PerUserMfa("enforced".into()),
        members: vec![RecordMember {
            id: CAROL.into(),
            label: "carol@contoso.com".into(),
            is_group: false,
        }],
    });
    o.records.mfa_states.insert(CAROL.into(), "disabled".into());
    o
}

fn destroy_plan(d: &Desired, o: &Observed) -> Plan {
    diff(&d.for_destroy(false), o).expect("destroy plans")
}

fn actions(p: &Plan) -> Vec<(ObjectKind, Action)> {
    p.actionable().map(|c| (c.object.kind, c.action)).collect()
}

#[test]
fn destroy_restores_first_then_removes_the_app_and_deletes_the_record_last() {
    let plan = destroy_plan(&kandji(), &weakened());
    assert_eq!(
        actions(&plan),
        [
            (ObjectKind::OAuth2PermissionGrant, Action::Delete),
            (ObjectKind::AppRoleAssignment, Action::Delete),
            (ObjectKind::PerUserMfa, Action::Update),
            (ObjectKind::ServicePrincipal, Action::Delete),
            (ObjectKind::Application, Action::Delete),
            (ObjectKind::RecordGroup, Action::Delete),
        ]
    );
    let mfa = plan
        .actionable()
        .find(|c| c.object.kind == ObjectKind::PerUserMfa)
        .unwrap();
    assert_eq!(mfa.fields[0].after, json!("enforced"));
    assert!(mfa.risks.is_empty(), "a restore is no downgrade");
    // The record group goes whole: its entries are not released one by one.
    assert!(
        !plan
            .changes
            .iter()
            .any(|c| c.object.kind == ObjectKind::Record)
    );
    let ranks: Vec<u8> = plan.actionable().map(|c| c.rank()).collect();
    assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "{ranks:?}");
    assert!(ranks[3] >= TEARDOWN);
    for c in plan.actionable().filter(|c| c.action == Action::Delete) {
        assert_eq!(c.risks, [Risk::Removal], "{}", c.describe());
    }
    let app = plan
        .actionable()
        .find(|c| c.object.kind == ObjectKind::Application)
        .unwrap();
    assert!(
        app.reason.contains("deleted items for 30 days"),
        "{}",
        app.reason
    );
    assert!(plan.sign_in_forecast.is_none());
}

#[test]
fn after_destroy_a_fresh_destroy_plan_is_empty_and_apply_would_restore_the_app() {
    let o = weakened();
    let plan = destroy_plan(&kandji(), &o);
    let after = simulate_apply(&o, &plan).unwrap();
    assert!(after.candidates.is_empty() && after.service_principal.is_none());
    assert_eq!(after.deleted.applications.len(), 1);
    assert!(after.records.groups.is_empty());
    assert_eq!(after.records.mfa_states[CAROL], "enforced");
    let again = destroy_plan(&kandji(), &after);
    assert!(!again.has_changes(), "{:#?}", again.changes);
    // `apply` with the spec restores the application from deleted items.
    let back = diff(&kandji(), &after).unwrap();
    assert_eq!(back.changes[0].action, Action::Restore);
}

#[test]
fn an_adopted_app_is_left_with_a_note_but_what_was_weakened_is_restored() {
    let mut d = kandji();
    d.app.identity.adopt_app_id = Some("9b1f0000-2222-4333-8444-000000000002".into());
    let plan = destroy_plan(&d, &weakened());
    assert_eq!(
        actions(&plan),
        [
            (ObjectKind::PerUserMfa, Action::Update),
            (ObjectKind::RecordGroup, Action::Delete),
        ]
    );
    assert!(
        plan.notes
            .iter()
            .any(|n| n.message.contains("--delete-adopted-app")),
        "{:#?}",
        plan.notes
    );
    let all = diff(&d.for_destroy(true), &weakened()).unwrap();
    assert!(
        actions(&all).contains(&(ObjectKind::Application, Action::Delete)),
        "{:#?}",
        all.changes
    );
}

#[test]
fn security_defaults_the_spec_turned_off_are_named_not_guessed() {
    let mut d = kandji();
    d.mfa = Some(crate::core::desired::DesiredMfa {
        security_defaults: Some(false),
        ..Default::default()
    });
    let plan = destroy_plan(&d, &converged());
    assert!(
        !plan
            .changes
            .iter()
            .any(|c| c.object.kind == ObjectKind::SecurityDefaults)
    );
    assert!(
        plan.notes
            .iter()
            .any(|n| n.message.contains("security defaults") && n.message.contains("by hand")),
        "{:#?}",
        plan.notes
    );
}

#[test]
fn snapshot_text_destroy() {
    let plan = destroy_plan(&kandji(), &weakened());
    insta::assert_snapshot!(render(&plan, Format::Text, false));
}

#[test]
fn snapshot_json_destroy() {
    let plan = destroy_plan(&kandji(), &weakened());
    insta::assert_snapshot!(render(&plan, Format::Json, false));
}

#[test]
fn snapshot_markdown_destroy() {
    let plan = destroy_plan(&kandji(), &weakened());
    insta::assert_snapshot!(render(&plan, Format::Markdown, false));
}
