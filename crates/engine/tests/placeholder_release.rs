//! Issue 17 §4 against graph-emulator's enforced `p1` tenant: once the spec stops using the
//! placeholder of "Customize behavior" (Web Login, or another remedy), an apply from a fresh
//! journal takes the placeholder's appId out of every policy's `excludeApplications` — and nothing
//! else of the policies — and leaves the placeholder app in place; `destroy` then finds that
//! former placeholder by its tag and deletes it. The oracle is the emulator's state, read back
//! with plain Graph requests.

mod common;
use common::{apply_fresh, get};

use std::time::Duration;

use entractl_engine::core::desired::{CaSelection, DesiredMfa, DesiredPlaceholder, PassportMode};
use entractl_engine::core::plan::NoteKind;
use entractl_engine::{Desired, diff, fetch};
use entractl_graph::{GraphClient, GraphRequest};
use graph_emulator::EmulatorConfig;
use graph_emulator::scenarios::P1_TENANT_ID;
use serde_json::Value;

const PLACEHOLDER: &str = "kandji-passport-baseline-scopes";

/// The seed spec in Mac Login, per-user MFA off for the app's users, the placeholder as the only
/// conditional access remedy.
fn mac_login_with_placeholder() -> Desired {
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

/// Every policy's id and `excludeApplications`, as the emulator has them.
async fn app_exclusions(client: &GraphClient) -> Vec<(String, Vec<String>)> {
    let policies = get(client, "/identity/conditionalAccess/policies").await;
    let mut out: Vec<(String, Vec<String>)> = policies["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let apps = p
                .pointer("/conditions/applications/excludeApplications")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            (p["id"].as_str().unwrap().to_string(), apps)
        })
        .collect();
    out.sort();
    out
}

/// The same spec switched to Web Login (no `mfa` section).
fn web_login() -> Desired {
    let mut web = mac_login_with_placeholder();
    web.passport_mode = Some(PassportMode::WebLogin);
    web.mfa = None;
    web
}

/// Mac Login with the placeholder, applied: the placeholder's appId and the policies'
/// `excludeApplications` as they are then.
async fn placeholder_applied(client: &GraphClient) -> (String, Vec<(String, Vec<String>)>) {
    apply_fresh(client, &mac_login_with_placeholder(), "placeholder-on").await;
    let app = get(
        client,
        &format!("/applications(uniqueName='{PLACEHOLDER}')"),
    )
    .await;
    let app_id = app["appId"].as_str().unwrap().to_string();
    let before = app_exclusions(client).await;
    assert!(
        before.iter().any(|(_, apps)| apps.contains(&app_id)),
        "the placeholder is excluded: {before:#?}"
    );
    (app_id, before)
}

/// The exclusions as they should be once only the placeholder's entry is gone.
fn without(before: &[(String, Vec<String>)], app_id: &str) -> Vec<(String, Vec<String>)> {
    before
        .iter()
        .map(|(id, apps)| {
            let kept = apps.iter().filter(|a| *a != app_id).cloned().collect();
            (id.clone(), kept)
        })
        .collect()
}

/// The placeholder app and its service principal are still there.
async fn still_there(client: &GraphClient, app_id: &str) {
    let app = get(
        client,
        &format!("/applications(uniqueName='{PLACEHOLDER}')"),
    )
    .await;
    assert_eq!(app["appId"], app_id);
    let sps = client
        .send(
            GraphRequest::get("/servicePrincipals")
                .query("$filter", format!("appId eq '{app_id}'")),
        )
        .await
        .unwrap()
        .json()
        .clone();
    assert_eq!(sps["value"].as_array().unwrap().len(), 1, "{sps:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_to_web_login_takes_the_placeholder_out_of_the_policies_and_keeps_the_app() {
    let emu = graph_emulator::start(EmulatorConfig::scenario("p1")).unwrap();
    let client = common::client_for(&emu, P1_TENANT_ID, Some(Duration::from_secs(30)));
    let (app_id, before) = placeholder_applied(&client).await;

    let web = web_login();
    // The plan says what happens to the placeholder.
    let (observed, _) = fetch(&client, &web).await.unwrap();
    let plan = diff(&web, &observed).unwrap();
    assert!(
        plan.notes
            .iter()
            .any(|n| n.kind == NoteKind::Unmanaged && n.message.contains(&app_id)),
        "{:#?}",
        plan.notes
    );
    apply_fresh(&client, &web, "placeholder-web-login").await;

    assert_eq!(app_exclusions(&client).await, without(&before, &app_id));
    still_there(&client, &app_id).await;
    emu.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_to_identity_exclusion_takes_the_placeholder_out_in_the_same_apply() {
    let emu = graph_emulator::start(EmulatorConfig::scenario("p1")).unwrap();
    let client = common::client_for(&emu, P1_TENANT_ID, Some(Duration::from_secs(30)));
    let (app_id, before) = placeholder_applied(&client).await;
    let identities = |p: &Value| {
        ["excludeUsers", "excludeGroups"]
            .iter()
            .map(|k| p["conditions"]["users"][k].as_array().map_or(0, Vec::len))
            .sum::<usize>()
    };
    let earlier = get(&client, "/identity/conditionalAccess/policies").await;

    let mut users = mac_login_with_placeholder();
    let m = users.mfa.as_mut().unwrap();
    m.placeholder = None;
    m.exclude_identities = Some(CaSelection::FromPoliciesRequiringMfa);
    apply_fresh(&client, &users, "placeholder-exclude-users").await;

    assert_eq!(app_exclusions(&client).await, without(&before, &app_id));
    still_there(&client, &app_id).await;
    // The identity exclusion took its place: the policies that excluded the placeholder now
    // exclude more users or groups.
    let policies = get(&client, "/identity/conditionalAccess/policies").await;
    let find = |all: &Value, id: &str| {
        all["value"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id)
            .cloned()
            .unwrap()
    };
    for (id, apps) in before.iter().filter(|(_, apps)| apps.contains(&app_id)) {
        let (was, now) = (find(&earlier, id), find(&policies, id));
        assert!(
            identities(&now) > identities(&was),
            "{apps:?}\n{was:#}\n{now:#}"
        );
    }
    emu.shutdown();
}

/// How many live applications and service principals have `app_id`.
async fn live(client: &GraphClient, app_id: &str) -> [usize; 2] {
    let mut out = [0; 2];
    for (i, path) in ["/applications", "/servicePrincipals"].iter().enumerate() {
        let v = client
            .send(GraphRequest::get(*path).query("$filter", format!("appId eq '{app_id}'")))
            .await
            .unwrap()
            .json()
            .clone();
        out[i] = v["value"].as_array().unwrap().len();
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_deletes_a_former_placeholder_the_spec_no_longer_names() {
    let emu = graph_emulator::start(EmulatorConfig::scenario("p1")).unwrap();
    let client = common::client_for(&emu, P1_TENANT_ID, Some(Duration::from_secs(30)));
    let (app_id, before) = placeholder_applied(&client).await;
    let web = web_login();
    apply_fresh(&client, &web, "former-web-login").await;
    still_there(&client, &app_id).await;
    let passport = get(&client, "/applications(uniqueName='kandji-passport')").await;
    let passport = passport["appId"].as_str().unwrap().to_string();

    // The Web Login spec names no placeholder: destroy finds the former one by its tag and
    // deletes it (with its service principal), as well as the app.
    let destroy = web.for_destroy(false);
    let (observed, _) = fetch(&client, &destroy).await.unwrap();
    let plan = diff(&destroy, &observed).unwrap();
    assert!(
        plan.actionable().any(|c| c.object.id.is_some()
            && c.object.key == PLACEHOLDER
            && c.action == entractl_engine::core::plan::Action::Delete),
        "{:#?}",
        plan.changes
    );
    apply_fresh(&client, &destroy, "former-destroy").await;
    assert_eq!(
        live(&client, &app_id).await,
        [0, 0],
        "the placeholder is gone"
    );
    assert_eq!(live(&client, &passport).await, [0, 0], "the app is gone");
    assert_eq!(app_exclusions(&client).await, without(&before, &app_id));
    emu.shutdown();
}
