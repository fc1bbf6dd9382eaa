//! A placeholder app entractl made for this app that the spec no longer names: its exclusions
//! come out of the policies (only its appId entry, never a Microsoft-managed policy's), the app
//! stays with a note, `destroy` deletes it; a renamed placeholder's predecessor comes out in the
//! same PATCH that adds the new one. The three renderings of such a plan.

use entractl_graph::resource::conditional_access_settings::BaselineScopes;
use entractl_graph::resource::parse;
use serde_json::json;

use super::placeholder_tests::{
    PLACEHOLDER_APP_ID, PLACEHOLDER_KEY, mac_login_with_placeholder, notes_of, placeholder_app,
    policy, tenant,
};
use crate::core::desired::{Desired, PassportMode};
use crate::core::diff::diff;
use crate::core::observed::{
    Application, CaObserved, ConditionalAccessPolicy, Observed, ObservedMfa,
};
use crate::core::plan::{Action, NoteKind, ObjectKind, Plan};
use crate::core::render::{Format, render};
use crate::core::simulate::simulate_apply;
use crate::core::tests::{converged, kandji};

const OTHER_APP_ID: &str = "6b6b6b6b-0000-4000-8000-00000000b0ff";

fn former() -> Application {
    parse(&placeholder_app(json!({}))).unwrap()
}

/// The converged app, Web Login; its former placeholder excluded from CA001 (next to an
/// administrator's own exclusion) and named (impossibly) by a Microsoft-managed policy.
fn web_login_tenant() -> (Desired, Observed) {
    let mut d = kandji();
    d.passport_mode = Some(PassportMode::WebLogin);
    let mut managed = policy(
        "p-managed",
        "Microsoft-managed: Multifactor authentication for all users",
        &[PLACEHOLDER_APP_ID],
    );
    managed["state"] = json!("enabledForReportingButNotEnforced");
    let policies = [
        policy("p-1", "CA001", &[OTHER_APP_ID, PLACEHOLDER_APP_ID]),
        policy("p-2", "CA002", &[]),
        managed,
    ];
    let mut o = converged();
    o.mfa = Some(ObservedMfa {
        conditional_access: CaObserved::Read {
            policies: policies.into_iter().map(ConditionalAccessPolicy).collect(),
        },
        ..ObservedMfa::default()
    });
    o.linked_placeholders = vec![former()];
    (d, o)
}

fn actions(p: &Plan) -> Vec<(ObjectKind, Action, String)> {
    p.actionable()
        .map(|c| (c.object.kind, c.action, c.object.key.clone()))
        .collect()
}

#[test]
fn web_login_takes_out_only_the_former_placeholders_entry_and_leaves_the_app_with_a_note() {
    let (d, o) = web_login_tenant();
    let plan = diff(&d, &o).unwrap();
    assert_eq!(
        actions(&plan),
        [(
            ObjectKind::ConditionalAccessPolicy,
            Action::Update,
            "p-1".to_string()
        )]
    );
    let c = plan.actionable().next().unwrap();
    assert_eq!(
        c.payload,
        json!({"conditions": {"applications": {"excludeApplications": [OTHER_APP_ID]}}})
    );
    assert!(c.risks.is_empty(), "a restore is no downgrade");
    let notes = notes_of(&plan, NoteKind::Unmanaged);
    let note: Vec<&&str> = notes
        .iter()
        .filter(|n| n.contains("no longer used by the spec"))
        .collect();
    assert_eq!(note.len(), 1, "{notes:#?}");
    assert!(note[0].contains("may still name it"), "{}", note[0]);
    assert!(note[0].contains(PLACEHOLDER_APP_ID), "{}", note[0]);
    // Applying it needs the conditional access write permission, whatever the spec says.
    let apply = crate::permissions::for_plan(&d, &plan).apply;
    assert!(
        apply
            .iter()
            .any(|n| n.permission == "Policy.ReadWrite.ConditionalAccess"),
        "{apply:#?}"
    );
    // Applied: nothing left to change; the app stays, and so does the note.
    let after = simulate_apply(&o, &plan).unwrap();
    assert_eq!(after.linked_placeholders.len(), 1);
    let again = diff(&d, &after).unwrap();
    assert!(!again.has_changes(), "{:#?}", again.changes);
    assert_eq!(
        notes_of(&again, NoteKind::Unmanaged)
            .iter()
            .filter(|n| n.contains("no longer used by the spec"))
            .count(),
        1
    );
}

#[test]
fn the_note_says_so_when_the_setting_names_the_former_placeholder() {
    let (d, mut o) = web_login_tenant();
    o.forecast = tenant(
        BaselineScopes::Custom(PLACEHOLDER_APP_ID.into()),
        vec![],
        vec![],
    )
    .forecast;
    let plan = diff(&d, &o).unwrap();
    assert!(
        notes_of(&plan, NoteKind::Unmanaged)
            .iter()
            .any(|n| n.contains("names it today")),
        "{:#?}",
        plan.notes
    );
}

#[test]
fn the_spec_s_own_placeholder_is_not_a_former_one() {
    let d = mac_login_with_placeholder();
    let mut o = tenant(
        BaselineScopes::Custom(PLACEHOLDER_APP_ID.into()),
        vec![policy("p-mfa", "Require MFA", &[PLACEHOLDER_APP_ID])],
        vec![placeholder_app(json!({}))],
    );
    o.linked_placeholders = vec![former()];
    let plan = diff(&d, &o).unwrap();
    assert!(!plan.has_changes(), "{:#?}", plan.changes);
    assert!(
        plan.notes
            .iter()
            .all(|n| !n.message.contains("no longer used"))
    );
}

#[test]
fn a_renamed_placeholder_replaces_its_predecessor_in_one_patch() {
    let mut d = mac_login_with_placeholder();
    let p = d.mfa.as_mut().unwrap().placeholder.as_mut().unwrap();
    p.unique_name = format!("{PLACEHOLDER_KEY}-2");
    let mut o = tenant(
        BaselineScopes::Enforced,
        vec![policy(
            "p-mfa",
            "Require MFA",
            &[OTHER_APP_ID, PLACEHOLDER_APP_ID],
        )],
        vec![],
    );
    o.linked_placeholders = vec![former()];
    let plan = diff(&d, &o).unwrap();
    let kinds: Vec<(ObjectKind, Action)> = plan
        .actionable()
        .map(|c| (c.object.kind, c.action))
        .collect();
    assert_eq!(
        kinds,
        [
            (ObjectKind::PlaceholderApplication, Action::Create),
            (ObjectKind::PlaceholderServicePrincipal, Action::Create),
            (ObjectKind::ConditionalAccessPolicy, Action::Update),
        ]
    );
    let ca = plan.changes.last().unwrap();
    // The predecessor is gone, the new placeholder (its appId known after apply) added.
    assert_eq!(
        ca.payload["conditions"]["applications"]["excludeApplications"],
        json!([OTHER_APP_ID, null])
    );
    assert!(
        ca.reason
            .contains("a placeholder entractl made for this app that the spec no longer uses"),
        "{}",
        ca.reason
    );
    let after = simulate_apply(&o, &plan).unwrap();
    let excluded = after.mfa.as_ref().unwrap().conditional_access.policies()[0]
        .applications("excludeApplications")
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>();
    assert!(
        !excluded.iter().any(|x| x == PLACEHOLDER_APP_ID),
        "{excluded:?}"
    );
    assert!(excluded.iter().any(|x| x == OTHER_APP_ID), "{excluded:?}");
}

#[test]
fn destroy_takes_the_former_placeholder_out_then_deletes_it() {
    let (d, o) = web_login_tenant();
    let plan = diff(&d.for_destroy(false), &o).unwrap();
    let acts = actions(&plan);
    let ca = acts
        .iter()
        .position(|a| a.0 == ObjectKind::ConditionalAccessPolicy)
        .unwrap();
    let gone = acts
        .iter()
        .position(|a| {
            a == &(
                ObjectKind::PlaceholderApplication,
                Action::Delete,
                PLACEHOLDER_KEY.to_string(),
            )
        })
        .expect("the former placeholder is deleted");
    assert!(ca < gone, "{acts:#?}");
    let c = plan.actionable().nth(ca).unwrap();
    assert!(c.reason.contains("destroy decommissions"), "{}", c.reason);
    assert!(
        plan.notes
            .iter()
            .all(|n| !n.message.contains("no longer used"))
    );
    let apply = crate::permissions::for_plan(&d.for_destroy(false), &plan).apply;
    assert!(
        apply
            .iter()
            .any(|n| n.permission == "Application.ReadWrite.OwnedBy"),
        "{apply:#?}"
    );
    let after = simulate_apply(&o, &plan).unwrap();
    assert!(after.linked_placeholders.is_empty());
}

#[test]
fn snapshot_text_former_placeholder() {
    let (d, o) = web_login_tenant();
    insta::assert_snapshot!(render(&diff(&d, &o).unwrap(), Format::Text, false));
}

#[test]
fn snapshot_json_former_placeholder() {
    let (d, o) = web_login_tenant();
    insta::assert_snapshot!(render(&diff(&d, &o).unwrap(), Format::Json, false));
}

#[test]
fn snapshot_markdown_former_placeholder() {
    let (d, o) = web_login_tenant();
    insta::assert_snapshot!(render(&diff(&d, &o).unwrap(), Format::Markdown, false));
}
