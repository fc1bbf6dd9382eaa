//! Security defaults entractl turns off are recorded (the app's service principal in a record
//! group) and turned back on once the spec no longer needs them off — unless another app's
//! record or an enabled conditional access policy keeps them off.

use serde_json::json;

use crate::core::desired::{Desired, DesiredMfa};
use crate::core::diff::diff;
use crate::core::observed::{
    CaObserved, ConditionalAccessPolicy, Observed, ObservedMfa, OtherRecord, Purpose, RecordGroup,
    RecordMember,
};
use crate::core::plan::{Action, ObjectKind, Plan, Risk, TEARDOWN};
use crate::core::render::{Format, render};
use crate::core::simulate::simulate_apply;
use crate::core::tests::{converged, empty_tenant, kandji};

/// The converged seed app's service principal.
const SP: &str = "22222222-aaaa-4bbb-8ccc-000000000003";

fn with_security_defaults(mut o: Observed, on: bool) -> Observed {
    o.mfa = Some(ObservedMfa {
        security_defaults: entractl_graph::resource::parse(
            &json!({"id": "00000000-0000-0000-0000-000000000005", "isEnabled": on}),
        ),
        ..ObservedMfa::default()
    });
    o
}

/// The seed spec with `mfa.securityDefaults` as given (`None`: no `mfa` section).
fn spec(security_defaults: Option<bool>) -> Desired {
    let mut d = kandji();
    d.mfa = security_defaults.map(|s| DesiredMfa {
        security_defaults: Some(s),
        ..DesiredMfa::default()
    });
    d
}

/// Security defaults off, and the record that entractl turned them off for the app.
fn recorded() -> Observed {
    let mut o = with_security_defaults(converged(), false);
    o.records.groups.push(RecordGroup {
        id: "rg-sd".into(),
        purpose: Purpose::SecurityDefaults,
        members: vec![RecordMember {
            id: SP.into(),
            label: SP.into(),
            is_group: false,
        }],
    });
    o
}

fn actions(p: &Plan) -> Vec<(ObjectKind, Action)> {
    p.actionable().map(|c| (c.object.kind, c.action)).collect()
}

fn notes(p: &Plan) -> String {
    p.notes
        .iter()
        .map(|n| n.message.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn turning_them_off_records_the_service_principal_first() {
    let o = with_security_defaults(converged(), true);
    let plan = diff(&spec(Some(false)), &o).unwrap();
    assert_eq!(
        actions(&plan),
        [
            (ObjectKind::RecordGroup, Action::Create),
            (ObjectKind::Record, Action::Create),
            (ObjectKind::SecurityDefaults, Action::Update),
        ]
    );
    let changes: Vec<_> = plan.actionable().collect();
    let record = changes[1];
    assert_eq!(record.payload["memberId"], SP);
    assert_eq!(record.refs.len(), 1, "only the group is created");
    assert_eq!(
        changes[0].payload["mailNickname"],
        Purpose::SecurityDefaults.mail_nickname("kandji-passport")
    );
    assert_eq!(changes[2].risks, [Risk::SecurityDowngrade]);
    // Applied, a fresh plan has nothing left to do.
    let after = simulate_apply(&o, &plan).unwrap();
    assert!(after.records.has(&Purpose::SecurityDefaults, SP));
    let again = diff(&spec(Some(false)), &after).unwrap();
    assert!(!again.has_changes(), "{:#?}", again.changes);
}

#[test]
fn on_a_first_apply_the_record_names_the_service_principal_the_apply_creates() {
    let o = with_security_defaults(empty_tenant(), true);
    let plan = diff(&spec(Some(false)), &o).unwrap();
    let record = plan
        .actionable()
        .find(|c| c.object.kind == ObjectKind::Record)
        .unwrap();
    let by: Vec<(ObjectKind, &str)> = record
        .refs
        .iter()
        .map(|r| (r.created_by.kind, r.at.as_str()))
        .collect();
    assert_eq!(
        by,
        [
            (ObjectKind::RecordGroup, "/groupId"),
            (ObjectKind::ServicePrincipal, "/memberId")
        ]
    );
    assert!(record.payload["memberId"].is_null());
    let after = simulate_apply(&o, &plan).unwrap();
    let sp = after.service_principal.as_ref().unwrap().id.clone();
    assert!(after.records.has(&Purpose::SecurityDefaults, &sp));
    assert!(!diff(&spec(Some(false)), &after).unwrap().has_changes());
}

#[test]
fn already_off_is_not_recorded() {
    let plan = diff(
        &spec(Some(false)),
        &with_security_defaults(converged(), false),
    )
    .unwrap();
    assert!(!plan.has_changes(), "{:#?}", plan.changes);
}

#[test]
fn a_spec_that_no_longer_needs_them_off_turns_them_back_on_then_releases_the_record() {
    for d in [spec(None), spec(Some(true)), {
        // `securityDefaults: unmanaged` in an `mfa` section, as per-user MFA's `unmanaged`.
        let mut d = kandji();
        d.mfa = Some(DesiredMfa {
            per_user_mfa_disabled: true,
            ..DesiredMfa::default()
        });
        d
    }] {
        let plan = diff(&d, &recorded()).unwrap();
        let sd: Vec<_> = plan
            .actionable()
            .filter(|c| c.object.kind != ObjectKind::PerUserMfa)
            .map(|c| (c.object.kind, c.action))
            .collect();
        assert_eq!(
            sd,
            [
                (ObjectKind::SecurityDefaults, Action::Update),
                (ObjectKind::Record, Action::Delete),
            ],
            "{d:?}"
        );
        let on = plan.actionable().next().unwrap();
        assert_eq!(on.fields[0].after, json!(true));
        assert!(on.risks.is_empty(), "a restore is no downgrade");
        let release = plan.actionable().last().unwrap();
        assert!(release.rank() > TEARDOWN, "released last");
        let after = simulate_apply(&recorded(), &plan).unwrap();
        assert!(
            after
                .records
                .group(&Purpose::SecurityDefaults)
                .unwrap()
                .members
                .is_empty()
        );
        let again = diff(&d, &after).unwrap();
        assert!(!again.has_changes(), "{:#?}", again.changes);
    }
}

#[test]
fn already_on_only_releases_the_record() {
    let mut o = recorded();
    o.mfa = with_security_defaults(Observed::default(), true).mfa;
    let plan = diff(&spec(None), &o).unwrap();
    assert_eq!(actions(&plan), [(ObjectKind::Record, Action::Delete)]);
    let release = plan.actionable().next().unwrap();
    assert!(
        release.reason.contains("on again already"),
        "{}",
        release.reason
    );
}

#[test]
fn another_apps_record_keeps_them_off_and_only_this_apps_entry_goes() {
    let mut o = recorded();
    o.records.other_security_defaults.push(OtherRecord {
        id: "rg-other".into(),
        display_name: "entractl record (kandji-lab): security defaults turned off".into(),
        members: 1,
    });
    let plan = diff(&spec(None), &o).unwrap();
    assert_eq!(actions(&plan), [(ObjectKind::Record, Action::Delete)]);
    assert!(
        notes(&plan).contains("\"entractl record (kandji-lab): security defaults turned off\""),
        "{}",
        notes(&plan)
    );
    // An empty record of another app keeps nothing off.
    o.records.other_security_defaults[0].members = 0;
    let plan = diff(&spec(None), &o).unwrap();
    assert_eq!(
        actions(&plan)[0],
        (ObjectKind::SecurityDefaults, Action::Update)
    );
}

#[test]
fn enabled_conditional_access_policies_keep_them_off_and_the_record() {
    let mut o = recorded();
    let policy = |name: &str, state: &str| {
        ConditionalAccessPolicy(json!({"id": name, "displayName": name, "state": state}))
    };
    o.mfa.as_mut().unwrap().conditional_access = CaObserved::Read {
        policies: vec![
            policy("CA001", "enabled"),
            policy("CA002", "enabledForReportingButNotEnforced"),
        ],
    };
    let plan = diff(&spec(None), &o).unwrap();
    assert!(!plan.has_changes(), "{:#?}", plan.changes);
    let n = notes(&plan);
    assert!(
        n.contains("(\"CA001\")") && n.contains("the record is kept"),
        "{n}"
    );
}

#[test]
fn destroy_turns_them_back_on_before_deleting_the_record() {
    let d = spec(Some(false));
    let plan = diff(&d.for_destroy(false), &recorded()).unwrap();
    let kinds = actions(&plan);
    assert_eq!(
        kinds[0],
        (ObjectKind::OAuth2PermissionGrant, Action::Delete)
    );
    assert!(kinds.contains(&(ObjectKind::SecurityDefaults, Action::Update)));
    assert_eq!(
        kinds.last(),
        Some(&(ObjectKind::RecordGroup, Action::Delete))
    );
    let on = plan
        .actionable()
        .find(|c| c.object.kind == ObjectKind::SecurityDefaults)
        .unwrap();
    assert!(on.rank() < TEARDOWN);
    assert!(on.reason.contains("destroy decommissions"), "{}", on.reason);
    assert!(!notes(&plan).contains("no record"), "{}", notes(&plan));
}

#[test]
fn destroy_without_a_record_leaves_them_with_a_note() {
    let plan = diff(
        &spec(Some(false)).for_destroy(false),
        &with_security_defaults(converged(), false),
    )
    .unwrap();
    assert!(
        !plan
            .actionable()
            .any(|c| c.object.kind == ObjectKind::SecurityDefaults)
    );
    assert!(
        notes(&plan).contains("no record says entractl did"),
        "{}",
        notes(&plan)
    );
}

fn off_plan() -> Plan {
    diff(
        &spec(Some(false)),
        &with_security_defaults(converged(), true),
    )
    .unwrap()
}

fn restore_plan() -> Plan {
    diff(&spec(None), &recorded()).unwrap()
}

fn kept_plan() -> Plan {
    let mut o = recorded();
    o.records.other_security_defaults.push(OtherRecord {
        id: "rg-other".into(),
        display_name: "entractl record (kandji-lab): security defaults turned off".into(),
        members: 1,
    });
    diff(&spec(None), &o).unwrap()
}

#[test]
fn snapshot_text_security_defaults() {
    for (name, plan) in [
        ("off", off_plan()),
        ("restore", restore_plan()),
        ("kept", kept_plan()),
    ] {
        insta::assert_snapshot!(format!("text_{name}"), render(&plan, Format::Text, false));
    }
}

#[test]
fn snapshot_json_security_defaults() {
    for (name, plan) in [
        ("off", off_plan()),
        ("restore", restore_plan()),
        ("kept", kept_plan()),
    ] {
        insta::assert_snapshot!(format!("json_{name}"), render(&plan, Format::Json, false));
    }
}

#[test]
fn snapshot_markdown_security_defaults() {
    for (name, plan) in [
        ("off", off_plan()),
        ("restore", restore_plan()),
        ("kept", kept_plan()),
    ] {
        insta::assert_snapshot!(
            format!("markdown_{name}"),
            render(&plan, Format::Markdown, false)
        );
    }
}
