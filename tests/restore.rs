//! End-to-end: a managed application deleted in the portal is restored from deleted items (same
//! client id) instead of being created anew. Also the helpers the `export` tests share.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use entractl_graph::{AuthOptions, Cloud, GraphClient, GraphConfig, GraphRequest};
use graph_emulator::scenarios::{CI_CLIENT_ID, CI_CLIENT_SECRET, P1_TENANT_ID};
use graph_emulator::{EmulatorConfig, LogEntry, RunningEmulator};
use serde_json::Value;

use crate::util::{TestOutput, root, scratch};

/// Runs entractl against the emulator with the scenario's automation client.
pub(crate) fn entractl(emu: &RunningEmulator, args: &[&str]) -> TestOutput {
    let base = emu.base_url();
    let mut cmd = assert_cmd::Command::cargo_bin("entractl").expect("entractl binary");
    for (k, _) in std::env::vars() {
        if k.starts_with("AZURE_") || k.starts_with("ACTIONS_") || k.starts_with("ENTRACTL_") {
            cmd.env_remove(k);
        }
    }
    cmd.current_dir(root())
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .env("AZURE_TENANT_ID", P1_TENANT_ID)
        .env("AZURE_CLIENT_ID", CI_CLIENT_ID)
        .env("AZURE_CLIENT_SECRET", CI_CLIENT_SECRET)
        .args([
            "--color",
            "never",
            "--graph-url",
            &base,
            "--authority-url",
            &base,
        ])
        .args(args);
    let out = cmd.output().expect("run entractl");
    let out = TestOutput {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    };
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    assert!(
        !out.stdout.contains(CI_CLIENT_SECRET) && !out.stderr.contains(CI_CLIENT_SECRET),
        "the client secret leaked"
    );
    out
}

/// The `p1` scenario with no replication delay.
pub(crate) fn start_p1() -> RunningEmulator {
    graph_emulator::start(EmulatorConfig::scenario("p1")).expect("emulator starts")
}

/// Sends one request as the test itself ("behind entractl's back").
pub(crate) fn send(emu: &RunningEmulator, req: GraphRequest) -> Value {
    let base = emu.base_url();
    let mut cfg = GraphConfig::for_cloud(Cloud::Public, P1_TENANT_ID)
        .with_graph_url(&base)
        .unwrap()
        .with_authority_url(&base)
        .unwrap();
    cfg.backoff_base = Duration::from_millis(20);
    cfg.backoff_cap = Duration::from_millis(200);
    let env: BTreeMap<String, String> = [
        ("AZURE_TENANT_ID", P1_TENANT_ID),
        ("AZURE_CLIENT_ID", CI_CLIENT_ID),
        ("AZURE_CLIENT_SECRET", CI_CLIENT_SECRET),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let creds =
        entractl_graph::credential_from_env(&env, None, &cfg, &AuthOptions::default()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = GraphClient::new(cfg, creds).unwrap();
    rt.block_on(client.send(req))
        .expect("graph call")
        .json()
        .clone()
}

/// Graph write requests in the emulator's log (inner `$batch` requests included).
pub(crate) fn writes(emu: &RunningEmulator) -> Vec<LogEntry> {
    emu.request_log()
        .into_iter()
        .filter(|e| e.path.starts_with("/v1.0/") || e.path.starts_with("/beta/"))
        .filter(|e| !e.path.starts_with("/v1.0/$batch"))
        .filter(|e| e.method != "GET")
        .collect()
}

pub(crate) fn apply(emu: &RunningEmulator, spec: &str, journal: &Path) -> TestOutput {
    entractl(
        emu,
        &[
            "apply",
            spec,
            "--auto-approve",
            "--journal-dir",
            &journal.display().to_string(),
        ],
    )
}

pub(crate) fn json_plan(emu: &RunningEmulator, spec: &str) -> Value {
    let out = entractl(emu, &["plan", spec, "--format", "json"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    serde_json::from_str(&out.stdout).expect("JSON plan")
}

pub(crate) fn actionable(plan: &Value) -> Vec<Value> {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "no-op")
        .cloned()
        .collect()
}

pub(crate) fn write_spec(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// The application with `uniqueName`, as Graph returns it.
fn app_by_unique_name(emu: &RunningEmulator, unique_name: &str) -> Value {
    send(
        emu,
        GraphRequest::get(format!("/applications(uniqueName='{unique_name}')")),
    )
}

const SPEC: &str = "\
version: 1
tenant: contoso.onmicrosoft.com
preset: kandji-passport
app:
  displayName: Kandji Passport
  uniqueName: kandji-restore
assignments:
  users: [alice@contoso.com]
mfa:
  securityDefaults: unmanaged
  perUserMfa: unmanaged
  conditionalAccess:
    excludeApp: unmanaged
";

#[test]
fn a_deleted_managed_app_is_restored_with_the_same_client_id_then_the_plan_is_empty() {
    let emu = start_p1();
    let dir = scratch("restore_e2e");
    let spec = write_spec(&dir, "spec.yaml", SPEC);
    let spec = spec.to_str().unwrap();

    let out = apply(&emu, spec, &dir.join("journal"));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let before = app_by_unique_name(&emu, "kandji-restore");
    let app_id = before["appId"].as_str().unwrap().to_string();
    let object_id = before["id"].as_str().unwrap().to_string();

    // Someone deletes the app registration in the portal (its service principal goes with it).
    send(
        &emu,
        GraphRequest::delete(format!("/applications/{object_id}")),
    );

    let plan = json_plan(&emu, spec);
    let changes = actionable(&plan);
    let app = changes
        .iter()
        .find(|c| c["object"]["kind"] == "application")
        .expect("an application change");
    assert_eq!(app["action"], "restore", "{app:#}");
    assert_eq!(app["object"]["id"], object_id.as_str());
    assert!(
        app["reason"].as_str().unwrap().contains(&app_id),
        "the plan says which client id is kept: {app:#}"
    );
    assert_eq!(plan["outputs"]["client_id"], app_id.as_str());
    assert!(
        !changes
            .iter()
            .any(|c| c["object"]["kind"] == "application" && c["action"] == "create")
    );
    let text = entractl(&emu, &["plan", spec]);
    assert!(
        text.stdout.contains(
            "<+ application \"Kandji Passport\" (kandji-restore) [restore from deleted items]"
        ),
        "{}",
        text.stdout
    );

    emu.clear_log();
    let out = apply(&emu, spec, &dir.join("journal"));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("converged"), "{}", out.stdout);
    let w = writes(&emu);
    assert!(
        w.iter().any(|e| e.method == "POST"
            && e.path == format!("/v1.0/directory/deletedItems/{object_id}/restore")),
        "{w:#?}"
    );
    assert!(
        !w.iter()
            .any(|e| e.method == "POST" && e.template == "/v1.0/applications"),
        "no application was created: {w:#?}"
    );
    let after = app_by_unique_name(&emu, "kandji-restore");
    assert_eq!(after["appId"], app_id.as_str(), "same client id");
    assert_eq!(after["id"], object_id.as_str(), "same object id");

    let again = entractl(&emu, &["plan", spec, "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
}

#[test]
fn two_deleted_candidates_are_an_error_naming_both() {
    let emu = start_p1();
    let dir = scratch("restore_two");
    let spec = write_spec(&dir, "spec.yaml", SPEC);
    let spec = spec.to_str().unwrap();
    let out = apply(&emu, spec, &dir.join("journal"));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let first = app_by_unique_name(&emu, "kandji-restore");
    let first_id = first["id"].as_str().unwrap().to_string();
    send(
        &emu,
        GraphRequest::delete(format!("/applications/{first_id}")),
    );
    // Recreated (not restored) by someone, then deleted again: two deleted copies.
    let second = send(
        &emu,
        GraphRequest::post("/applications").json(serde_json::json!({
            "displayName": "Kandji Passport (copy)",
            "tags": ["entractl:kandji-restore"],
        })),
    );
    let second_id = second["id"].as_str().unwrap().to_string();
    send(
        &emu,
        GraphRequest::delete(format!("/applications/{second_id}")),
    );

    let out = entractl(&emu, &["plan", spec]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains(&first_id) && out.stderr.contains(&second_id),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("more than one deleted application"),
        "{}",
        out.stderr
    );
    assert!(
        writes(&emu)
            .iter()
            .all(|e| e.method != "POST" || !e.path.contains("restore"))
    );
}
