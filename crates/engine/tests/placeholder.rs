//! "Customize behavior" end to end against graph-emulator's enforced `p1` tenant: one apply
//! creates the placeholder app and its service principal and excludes it from the "All resources"
//! MFA policies that are not Microsoft-managed; the plan prints the portal step and forecasts the
//! sign-in to fail until an admin picks the placeholder (the emulator's control API stands for
//! the settings page); then the plan converges, the forecast says who gets through, and the
//! password sign-in (the emulator's identity platform, the oracle) agrees for every user.

mod common;
use common::{get, tempdir};

use std::time::Duration;

use entractl_engine::core::desired::{CaSelection, DesiredMfa, DesiredPlaceholder, PassportMode};
use entractl_engine::core::plan::NoteKind;
use entractl_engine::{ApplyOptions, Desired, ObjectKind, apply, diff, fetch};
use entractl_graph::signin::password_sign_in;
use entractl_graph::{GraphClient, GraphRequest, Secret};
use graph_emulator::EmulatorConfig;
use graph_emulator::baseline_scopes::BaselineScopes;
use graph_emulator::scenarios::{P1_TENANT_ID, SANDBOX_PASSWORD};
use serde_json::Value;

const PLACEHOLDER: &str = "kandji-passport-baseline-scopes";

/// The seed spec in Mac Login, with per-user MFA off for the app's users and the placeholder as
/// the only conditional access remedy.
fn desired() -> Desired {
    let mut d = common::seed_spec();
    d.passport_mode = Some(PassportMode::MacLogin);
    d.mfa = Some(DesiredMfa {
        per_user_mfa_disabled: true,
        placeholder: Some(DesiredPlaceholder {
            display_name: "Kandji Passport baseline scopes".into(),
            unique_name: PLACEHOLDER.into(),
            exclude_from: CaSelection::FromPoliciesRequiringMfa,
        }),
        ..DesiredMfa::default()
    });
    d
}

/// The placeholder app as the tenant has it (the emulator's answer, not entractl's plan).
async fn placeholder_app(client: &GraphClient) -> Value {
    get(
        client,
        &format!("/applications(uniqueName='{PLACEHOLDER}')"),
    )
    .await
}

/// Display names of the policies whose `excludeApplications` lists `app_id`.
async fn excluding(client: &GraphClient, app_id: &str) -> Vec<String> {
    let policies = get(client, "/identity/conditionalAccess/policies").await;
    let mut names: Vec<String> = policies["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| {
            p.pointer("/conditions/applications/excludeApplications")
                .and_then(Value::as_array)
                .is_some_and(|a| a.iter().any(|x| x.as_str() == Some(app_id)))
        })
        .map(|p| p["displayName"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_placeholder_is_created_excluded_chosen_and_the_forecast_agrees_with_the_sign_in() {
    let emu = graph_emulator::start(EmulatorConfig::scenario("p1")).unwrap();
    let client = common::client_for(&emu, P1_TENANT_ID, Some(Duration::from_secs(30)));
    let d = desired();

    // Plan: the placeholder and its service principal created, excluded; the portal step; the
    // forecast failing.
    let (observed, _) = fetch(&client, &d).await.unwrap();
    let plan = diff(&d, &observed).unwrap();
    let kinds: Vec<ObjectKind> = plan.actionable().map(|c| c.object.kind).collect();
    assert!(
        kinds.contains(&ObjectKind::PlaceholderApplication),
        "{kinds:?}"
    );
    assert!(kinds.contains(&ObjectKind::PlaceholderServicePrincipal));
    assert_eq!(
        plan.notes
            .iter()
            .filter(|n| n.kind == NoteKind::PortalStep)
            .count(),
        1
    );
    assert!(plan.sign_in_forecast.as_ref().unwrap().fails());

    // Apply (with the downgrade allowed): converged.
    let mut o = ApplyOptions::new(tempdir("placeholder"));
    o.verify_interval = Duration::from_millis(50);
    o.verify_budget = Duration::from_secs(30);
    o.allow_security_downgrade = true;
    let report = apply(&client, &d, &plan, &observed, &o).await.unwrap();
    assert!(report.converged, "{:?}", report.final_plan.changes);

    // The tenant, as Graph answers: an inert single-tenant app with its notes and tag, its
    // service principal, excluded from the "All resources" MFA policies that are not
    // Microsoft-managed.
    let app = placeholder_app(&client).await;
    let app_id = app["appId"].as_str().unwrap().to_string();
    assert_eq!(app["signInAudience"], "AzureADMyOrg");
    assert_eq!(
        app["tags"],
        serde_json::json!([
            format!("entractl:{PLACEHOLDER}"),
            "entractl-placeholder-for:kandji-passport"
        ])
    );
    assert_eq!(app["web"]["redirectUris"], serde_json::json!([]));
    assert_eq!(app["publicClient"]["redirectUris"], serde_json::json!([]));
    assert_eq!(app["requiredResourceAccess"], serde_json::json!([]));
    assert_ne!(app["isFallbackPublicClient"], true);
    assert!(
        app["notes"]
            .as_str()
            .unwrap()
            .contains("Customize behavior")
    );
    let sps = client
        .send(
            GraphRequest::get("/servicePrincipals")
                .query("$filter", format!("appId eq '{app_id}'")),
        )
        .await
        .unwrap()
        .json()
        .clone();
    assert_eq!(sps["value"].as_array().unwrap().len(), 1);
    let excluded = excluding(&client, &app_id).await;
    insta::assert_debug_snapshot!("excluded_from", excluded);
    assert!(
        excluded
            .iter()
            .all(|n| !n.starts_with("Microsoft-managed:"))
    );

    // Applied, not chosen yet: nothing to change, the step still printed, the sign-in refused.
    let (observed, _) = fetch(&client, &d).await.unwrap();
    let plan = diff(&d, &observed).unwrap();
    assert!(!plan.has_changes(), "{:#?}", plan.changes);
    assert!(plan.notes.iter().any(|n| n.kind == NoteKind::PortalStep));
    let client_id = plan.outputs.client_id.clone().unwrap();
    agree(&client, &d, &plan, &client_id).await;
    assert!(plan.sign_in_forecast.as_ref().unwrap().fails());

    // The portal step, done (what an admin does on the Baseline scopes settings page).
    emu.set_baseline_scopes(P1_TENANT_ID, BaselineScopes::Custom(app_id.clone()))
        .unwrap();
    let (observed, _) = fetch(&client, &d).await.unwrap();
    let plan = diff(&d, &observed).unwrap();
    assert!(!plan.has_changes(), "{:#?}", plan.changes);
    assert!(plan.notes.iter().all(|n| n.kind != NoteKind::PortalStep));
    let f = plan.sign_in_forecast.as_ref().unwrap();
    let verdicts: Vec<(String, String)> = f
        .users
        .iter()
        .map(|u| (u.user.clone(), u.verdict.describe()))
        .collect();
    insta::assert_debug_snapshot!("verdicts_once_chosen", verdicts);
    agree(&client, &d, &plan, &client_id).await;
    emu.shutdown();
}

/// Every user of the forecast signs in with a password: the forecast's verdict and the answer of
/// the emulator's identity platform agree. The sign-in asks for the spec's declared scopes, as
/// `verify-signin` does.
async fn agree(client: &GraphClient, d: &Desired, plan: &entractl_engine::Plan, client_id: &str) {
    let f = plan.sign_in_forecast.as_ref().unwrap();
    let password = Secret::new(SANDBOX_PASSWORD);
    let scopes = d.app.passport_scopes();
    let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
    for u in &f.users {
        let answer =
            password_sign_in(client.config(), client_id, &u.user, &password, &scopes).await;
        assert_eq!(
            answer.is_ok(),
            u.verdict.works(),
            "{}: forecast {:?}, sign-in {:?}",
            u.user,
            u.verdict,
            answer.err()
        );
    }
}
