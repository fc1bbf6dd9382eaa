//! Restore instead of recreate: a managed application deleted less than 30 days ago comes back
//! with its client id.

use chrono::{DateTime, TimeZone, Utc};
use entractl_graph::resource::parse;
use serde_json::json;

use crate::core::diff::diff;
use crate::core::observed::{
    Application, Candidate, DeletedApplication, MatchedBy, Observed, ObservedDeleted,
};
use crate::core::plan::{Action, ObjectKind, Risk};
use crate::core::simulate::simulate_apply;
use crate::core::tests::{TENANT_ID, graph_lookup, kandji};

fn deleted(id: &str, app_id: &str, days_ago: i64, tags: &[&str]) -> DeletedApplication {
    let when = now() - chrono::Duration::days(days_ago);
    let raw = json!({
        "id": id, "appId": app_id, "displayName": "Kandji Passport",
        "uniqueName": "kandji-passport", "tags": tags,
        "signInAudience": "AzureADMyOrg", "isFallbackPublicClient": false,
        "web": {"redirectUris": ["http://localhost"]},
        "deletedDateTime": when.to_rfc3339(),
    });
    DeletedApplication {
        app: parse::<Application>(&raw).unwrap(),
        deleted_date_time: Some(when.to_rfc3339()),
        matched_by: vec![MatchedBy::UniqueName, MatchedBy::ManagedTag],
    }
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap()
}

fn tenant_with(apps: Vec<DeletedApplication>) -> Observed {
    Observed {
        tenant_id: Some(TENANT_ID.into()),
        resources: vec![graph_lookup()],
        deleted: ObservedDeleted {
            read_at: Some(now()),
            applications: apps,
        },
        ..Observed::default()
    }
}

const APP_ID: &str = "9b1f0000-2222-4333-8444-000000000002";

#[test]
fn a_recently_deleted_app_is_restored_not_created_and_keeps_its_client_id() {
    let o = tenant_with(vec![deleted(
        "app-1",
        APP_ID,
        3,
        &["entractl:kandji-passport"],
    )]);
    let plan = diff(&kandji(), &o).unwrap();
    let app = &plan.changes[0];
    assert_eq!(app.action, Action::Restore);
    assert_eq!(app.object.id.as_deref(), Some("app-1"));
    assert!(app.reason.contains(APP_ID), "{}", app.reason);
    assert!(app.reason.contains("3 day(s) ago"), "{}", app.reason);
    assert!(app.risks.is_empty(), "a managed app is not an adoption");
    // The update after the restore: only what differs from the spec.
    let paths: Vec<&str> = app.fields.iter().map(|f| f.path.as_str()).collect();
    assert!(paths.contains(&"isFallbackPublicClient"), "{paths:?}");
    assert!(!paths.contains(&"uniqueName"), "{paths:?}");
    assert!(!paths.contains(&"web.redirectUris"), "{paths:?}");
    assert!(
        !plan
            .changes
            .iter()
            .any(|c| c.action == Action::Create && c.object.kind == ObjectKind::Application)
    );
    // The service principal is created for the same client id.
    let sp = &plan.changes[1];
    assert_eq!(
        (sp.object.kind, sp.action),
        (ObjectKind::ServicePrincipal, Action::Create)
    );
    assert_eq!(sp.payload["appId"], json!(APP_ID));
    assert_eq!(plan.outputs.client_id.as_deref(), Some(APP_ID));
    assert_eq!(plan.summary().restore, 1);
    let text = crate::core::render::render(&plan, crate::core::render::Format::Text, false);
    assert!(
        text.contains("<+ application \"Kandji Passport\""),
        "{text}"
    );
    assert!(text.contains("1 to restore"), "{text}");

    // After the restore (simulated), a fresh plan has nothing left for the application.
    let after = simulate_apply(&o, &plan).unwrap();
    let again = diff(&kandji(), &after).unwrap();
    assert!(!again.has_changes(), "{:#?}", again.changes);
    assert_eq!(again.outputs.client_id.as_deref(), Some(APP_ID));
}

#[test]
fn two_deleted_candidates_is_an_error_naming_both() {
    let o = tenant_with(vec![
        deleted("app-1", APP_ID, 3, &["entractl:kandji-passport"]),
        deleted("app-2", "9b1f0000-2222-4333-8444-000000000099", 5, &[]),
    ]);
    let e = diff(&kandji(), &o).unwrap_err().to_string();
    assert!(e.contains("app-1") && e.contains("app-2"), "{e}");
    assert!(e.contains("9b1f0000-2222-4333-8444-000000000099"), "{e}");
    assert!(e.contains("appId:"), "the hint says how to choose: {e}");
}

#[test]
fn a_pinned_app_id_chooses_among_deleted_candidates() {
    let mut d = kandji();
    d.app.identity.adopt_app_id = Some(APP_ID.into());
    let o = tenant_with(vec![
        deleted("app-1", APP_ID, 3, &[]),
        deleted("app-2", "9b1f0000-2222-4333-8444-000000000099", 5, &[]),
    ]);
    let plan = diff(&d, &o).unwrap();
    assert_eq!(plan.changes[0].action, Action::Restore);
    assert_eq!(plan.changes[0].object.id.as_deref(), Some("app-1"));
    // Not tagged: restoring it also takes it under management.
    assert_eq!(plan.changes[0].risks, vec![Risk::Adoption]);
    assert!(plan.changes[0].fields.iter().any(|f| f.path == "tags"));
}

#[test]
fn an_app_deleted_30_days_ago_or_more_is_not_restored() {
    let o = tenant_with(vec![deleted(
        "app-1",
        APP_ID,
        30,
        &["entractl:kandji-passport"],
    )]);
    let plan = diff(&kandji(), &o).unwrap();
    assert_eq!(plan.changes[0].action, Action::Create);
}

#[test]
fn a_live_app_is_never_restored_over() {
    let mut o = tenant_with(vec![deleted(
        "app-1",
        APP_ID,
        1,
        &["entractl:kandji-passport"],
    )]);
    let live = deleted(
        "app-live",
        "9b1f0000-2222-4333-8444-000000000077",
        0,
        &["entractl:kandji-passport"],
    );
    o.candidates = vec![Candidate {
        app: live.app,
        matched_by: vec![MatchedBy::ManagedTag],
    }];
    let plan = diff(&kandji(), &o).unwrap();
    assert_ne!(plan.changes[0].action, Action::Restore);
    assert_eq!(plan.changes[0].object.id.as_deref(), Some("app-live"));
}
