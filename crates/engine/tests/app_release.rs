//! Issue 17 §4 against graph-emulator's legacy `p1-legacy` tenant: a Mac Login spec that still
//! signs in with a password but no longer selects a policy for `excludeApp` (the list shortened,
//! or the policy moved to `excludeUsers`) has Passport's appId taken out of that policy's
//! `excludeApplications` by an apply from a fresh journal — and nothing else of the policies; the
//! policy it still selects keeps the app; a plan afterwards has no changes. The oracle is the
//! emulator's state, read back with plain Graph requests.

mod common;
use common::{apply_fresh, get};

use std::time::Duration;

use entractl_engine::core::desired::{CaSelection, PassportMode};
use entractl_engine::{Desired, diff, fetch};
use entractl_graph::GraphClient;
use graph_emulator::EmulatorConfig;
use graph_emulator::scenarios::P1_LEGACY_TENANT_ID;
use serde_json::Value;

const CA001: &str = "CA001: Require multifactor authentication for all users";
const CA005: &str = "CA005: Require MFA authentication strength for Sales";

/// The seed spec (Mac Login) with `excludeApp` naming `names`.
fn mac_login(names: &[&str]) -> Desired {
    let mut d = common::seed_spec();
    assert_eq!(d.passport_mode, Some(PassportMode::MacLogin));
    let mfa = d.mfa.as_mut().expect("the seed spec manages MFA");
    mfa.conditional_access = Some(CaSelection::Named(
        names.iter().map(|n| n.to_string()).collect(),
    ));
    d
}

/// Every policy by display name, with its exclusion lists, as the emulator has them.
async fn exclusions(client: &GraphClient) -> Vec<(String, Value)> {
    let policies = get(client, "/identity/conditionalAccess/policies").await;
    let mut out: Vec<(String, Value)> = policies["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let c = &p["conditions"];
            let lists = serde_json::json!({
                "excludeApplications": c["applications"]["excludeApplications"],
                "excludeUsers": c["users"]["excludeUsers"],
                "excludeGroups": c["users"]["excludeGroups"],
            });
            (p["displayName"].as_str().unwrap().to_string(), lists)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn list<'v>(all: &'v [(String, Value)], policy: &str, key: &str) -> Vec<&'v str> {
    let (_, lists) = all.iter().find(|(name, _)| name == policy).unwrap();
    lists[key]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// `excludeApp: [CA001, CA005]` applied: Passport's appId and the policies' exclusions then.
async fn both_applied(client: &GraphClient) -> (String, Vec<(String, Value)>) {
    apply_fresh(client, &mac_login(&[CA001, CA005]), "app-both").await;
    let app = get(client, "/applications(uniqueName='kandji-passport')").await;
    let app_id = app["appId"].as_str().unwrap().to_string();
    let before = exclusions(client).await;
    for policy in [CA001, CA005] {
        assert!(
            list(&before, policy, "excludeApplications").contains(&app_id.as_str()),
            "{policy}: {before:#?}"
        );
    }
    (app_id, before)
}

/// A fresh plan of `d` has no changes.
async fn converged(client: &GraphClient, d: &Desired) {
    let (observed, _) = fetch(client, d).await.unwrap();
    let plan = diff(d, &observed).unwrap();
    assert!(!plan.has_changes(), "{:#?}", plan.changes);
}

/// Only CA005's entry for `app_id` (and, with `users`, CA005's user and group exclusions)
/// differ between `before` and `after`.
fn only_ca005_lost_the_app(
    before: &[(String, Value)],
    after: &[(String, Value)],
    app_id: &str,
    users: bool,
) {
    assert_eq!(before.len(), after.len());
    for ((name, was), (_, now)) in before.iter().zip(after) {
        if name != CA005 {
            assert_eq!(was, now, "{name}");
            continue;
        }
        let kept: Vec<&str> = list(before, name, "excludeApplications")
            .into_iter()
            .filter(|a| *a != app_id)
            .collect();
        assert_eq!(list(after, name, "excludeApplications"), kept, "{name}");
        if !users {
            assert_eq!(was["excludeUsers"], now["excludeUsers"], "{name}");
            assert_eq!(was["excludeGroups"], now["excludeGroups"], "{name}");
        }
    }
    assert!(list(after, CA001, "excludeApplications").contains(&app_id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shortened_exclude_app_takes_the_app_out_of_the_dropped_policy() {
    let emu = graph_emulator::start(EmulatorConfig::scenario("p1-legacy")).unwrap();
    let client = common::client_for(&emu, P1_LEGACY_TENANT_ID, Some(Duration::from_secs(30)));
    let (app_id, before) = both_applied(&client).await;

    let shorter = mac_login(&[CA001]);
    apply_fresh(&client, &shorter, "app-shorter").await;

    let after = exclusions(&client).await;
    only_ca005_lost_the_app(&before, &after, &app_id, false);
    converged(&client, &shorter).await;
    emu.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_moved_to_exclude_users_loses_the_app_and_gets_the_users() {
    let emu = graph_emulator::start(EmulatorConfig::scenario("p1-legacy")).unwrap();
    let client = common::client_for(&emu, P1_LEGACY_TENANT_ID, Some(Duration::from_secs(30)));
    let (app_id, before) = both_applied(&client).await;

    let mut users = mac_login(&[CA001]);
    users.mfa.as_mut().unwrap().exclude_identities = Some(CaSelection::Named(vec![CA005.into()]));
    apply_fresh(&client, &users, "app-exclude-users").await;

    let after = exclusions(&client).await;
    only_ca005_lost_the_app(&before, &after, &app_id, true);
    // The identity exclusion took its place: CA005 now excludes the app's users and groups.
    let count = |all: &[(String, Value)]| {
        list(all, CA005, "excludeUsers").len() + list(all, CA005, "excludeGroups").len()
    };
    assert!(count(&after) > count(&before), "{after:#?}");
    assert!(list(&after, CA005, "excludeUsers").contains(&"GuestsOrExternalUsers"));
    converged(&client, &users).await;
    emu.shutdown();
}
