//! End-to-end tests of `plan`, `apply` and `permissions` against graph-emulator on loopback.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use entractl_graph::{AuthOptions, Cloud, GraphClient, GraphConfig, GraphRequest};
use graph_emulator::scenarios::{CI_CLIENT_ID, CI_CLIENT_SECRET, P1_TENANT_ID};
use graph_emulator::{EmulatorConfig, LogEntry, RunningEmulator};
use serde_json::{Value, json};

use crate::util::{TestOutput, root, scratch};

/// The seed spec with `mfa` unmanaged (the MFA posture has its own tests).
const SPEC: &str = "tests/fixtures/kandji-passport-core.yaml";

/// Runs entractl against the emulator with the scenario's automation client.
fn entractl(emu: &RunningEmulator, args: &[&str]) -> TestOutput {
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

fn start(replication_delay_ms: u64) -> RunningEmulator {
    let mut cfg = EmulatorConfig::scenario("p1");
    cfg.knobs.replication_delay_ms = replication_delay_ms;
    graph_emulator::start(cfg).expect("emulator starts")
}

/// A Graph client of the test itself, to change the tenant "behind entractl's back".
fn graph(emu: &RunningEmulator) -> (tokio::runtime::Runtime, GraphClient) {
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
    (rt, GraphClient::new(cfg, creds).unwrap())
}

fn send(emu: &RunningEmulator, req: GraphRequest) -> Value {
    let (rt, client) = graph(emu);
    rt.block_on(client.send(req))
        .expect("graph call")
        .json()
        .clone()
}

fn graph_log(emu: &RunningEmulator) -> Vec<LogEntry> {
    emu.request_log()
        .into_iter()
        .filter(|e| e.path.starts_with("/v1.0/") || e.path.starts_with("/beta/"))
        .filter(|e| !e.path.starts_with("/v1.0/$batch"))
        .collect()
}

fn writes(emu: &RunningEmulator) -> Vec<LogEntry> {
    graph_log(emu)
        .into_iter()
        .filter(|e| e.method != "GET")
        .collect()
}

fn journal_args(dir: &Path) -> [String; 2] {
    ["--journal-dir".into(), dir.display().to_string()]
}

fn apply(emu: &RunningEmulator, target: &str, journal: &Path) -> TestOutput {
    let j = journal_args(journal);
    entractl(emu, &["apply", target, "--auto-approve", &j[0], &j[1]])
}

fn json_plan(emu: &RunningEmulator, spec: &str) -> Value {
    let out = entractl(emu, &["plan", spec, "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    serde_json::from_str(&out.stdout).expect("JSON plan")
}

fn actionable(plan: &Value) -> Vec<Value> {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "no-op")
        .cloned()
        .collect()
}

fn write_spec(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn empty_tenant_apply_converges_then_plan_is_empty_and_a_second_apply_writes_nothing() {
    let emu = start(0);
    let dir = scratch("plan_apply_empty");

    let plan = entractl(&emu, &["plan", SPEC, "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}", plan.stderr);
    assert!(plan.stdout.contains("+ application \"Kandji Passport\""));
    // Application, service principal, grant and the 3 assignments (alice, bob, Mac Users).
    assert!(
        plan.stdout
            .contains("Plan: 6 to add, 0 to change, 0 to destroy"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("+ appRoleAssignment \"group Mac Users\""),
        "{}",
        plan.stdout
    );
    assert!(writes(&emu).is_empty(), "plan wrote: {:?}", writes(&emu));

    let out = apply(&emu, SPEC, &dir);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("Apply complete: 6 change(s) made; converged"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains(&format!(
        "/{P1_TENANT_ID}/v2.0/.well-known/openid-configuration"
    )));

    // The journal: one file per change, the prior state of each object.
    let runs: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(runs.len(), 1);
    let run = runs.into_iter().next().unwrap().unwrap().path();
    let mut files: Vec<String> = std::fs::read_dir(&run)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files[..3],
        [
            "01-application-kandji-passport.json",
            "02-servicePrincipal-kandji-passport.json",
            "03-oauth2PermissionGrant-kandji-passport_Microsoft_Graph.json"
        ]
    );
    assert_eq!(files.len(), 6, "{files:#?}");
    assert!(
        files[3..]
            .iter()
            .all(|f| f.contains("-appRoleAssignment-kandji-passport")),
        "{files:#?}"
    );
    let entry: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join(&files[0])).unwrap()).unwrap();
    assert_eq!(entry["before"], Value::Null);
    assert!(entry["created"]["appId"].is_string());

    let again = entractl(&emu, &["plan", SPEC, "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    assert!(again.stdout.contains("No changes"));

    emu.clear_log();
    let second = apply(&emu, SPEC, &dir);
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert!(second.stdout.contains("Nothing to apply"));
    assert!(
        writes(&emu).is_empty(),
        "second apply wrote: {:?}",
        writes(&emu)
    );
    // Two waves of reads on a converged tenant, one `$batch` each: wave 1 = the app by
    // uniqueName and by tag, the service principal by tag, Microsoft Graph's service principal,
    // alice, bob, Mac Users, subscribedSkus (8); wave 2, keyed by ids of wave 1 = the grants, the
    // app's assignments, the members of Mac Users (3). Two HTTP round trips after the token.
    assert_eq!(graph_log(&emu).len(), 11, "{:#?}", graph_log(&emu));
    let round_trips: Vec<_> = emu
        .request_log()
        .into_iter()
        .filter(|e| e.batch_id.is_none() && e.path.starts_with("/v1.0/"))
        .map(|e| format!("{} {}", e.method, e.template))
        .collect();
    assert_eq!(
        round_trips,
        ["POST /v1.0/$batch", "POST /v1.0/$batch"],
        "{round_trips:#?}"
    );

    // The same tenant and spec give the same JSON plan, byte for byte.
    let a = entractl(&emu, &["plan", SPEC, "--format", "json"]).stdout;
    let b = entractl(&emu, &["plan", SPEC, "--format", "json"]).stdout;
    assert_eq!(a, b);
    emu.shutdown();
}

#[test]
fn drift_made_through_graph_shows_exactly_that_change_and_apply_repairs_it() {
    let emu = start(0);
    let dir = scratch("plan_apply_drift");
    assert_eq!(apply(&emu, SPEC, &dir).code, 0);
    let app = &send(
        &emu,
        GraphRequest::get("/applications").query("$filter", "uniqueName eq 'kandji-passport'"),
    )["value"][0];
    let id = app["id"].as_str().unwrap().to_string();
    send(
        &emu,
        GraphRequest::patch(format!("/applications/{id}"))
            .json(json!({"isFallbackPublicClient": false})),
    );

    let plan = json_plan(&emu, SPEC);
    assert_eq!(plan["format_version"], "1");
    let changes = actionable(&plan);
    assert_eq!(changes.len(), 1, "{changes:#?}");
    assert_eq!(changes[0]["object"]["kind"], "application");
    assert_eq!(changes[0]["action"], "update");
    assert_eq!(
        changes[0]["fields"],
        json!([{"path": "isFallbackPublicClient", "before": false, "after": true}])
    );
    let md = entractl(&emu, &["plan", SPEC, "--format", "markdown"]);
    assert!(
        md.stdout
            .contains("| ✏️ | application \"Kandji Passport\" | update |"),
        "{}",
        md.stdout
    );
    assert!(md.stdout.contains("<details>"));

    emu.clear_log();
    let out = apply(&emu, SPEC, &dir);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let w = writes(&emu);
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!((w[0].method.as_str(), w[0].status), ("PATCH", 204));
    emu.shutdown();
}

#[test]
fn an_app_made_in_the_portal_is_refused_until_adopted_by_app_id() {
    let emu = start(0);
    let dir = scratch("plan_apply_adopt");
    let made = send(
        &emu,
        GraphRequest::post("/applications").json(json!({
            "displayName": "Kandji Passport", "uniqueName": "kandji-passport", "tags": ["HideApp"]
        })),
    );
    let app_id = made["appId"].as_str().unwrap().to_string();

    // Same uniqueName, not managed, not adopted: refused, nothing written.
    emu.clear_log();
    let out = entractl(&emu, &["plan", SPEC]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stderr.contains("is not managed by entractl"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(&format!("appId: {app_id}")),
        "{}",
        out.stderr
    );
    assert!(writes(&emu).is_empty());

    let spec = write_spec(
        &dir,
        "adopt.yaml",
        &format!(
            "version: 1\ntenant: contoso.onmicrosoft.com\npreset: kandji-passport\napp:\n  displayName: Kandji Passport\n  uniqueName: kandji-passport\n  appId: {app_id}\nmfa:\n  securityDefaults: unmanaged\n  perUserMfa: unmanaged\n  conditionalAccess:\n    excludeApp: unmanaged\n"
        ),
    );
    let spec = spec.display().to_string();
    let plan = json_plan(&emu, &spec);
    let changes = actionable(&plan);
    assert_eq!(changes[0]["action"], "adopt", "{changes:#?}");
    assert!(
        changes[0]["risks"]
            .as_array()
            .unwrap()
            .contains(&json!("adoption"))
    );
    let out = apply(&emu, &spec, &dir);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let app = &send(
        &emu,
        GraphRequest::get("/applications").query("$filter", format!("appId eq '{app_id}'")),
    )["value"][0];
    let tags = app["tags"].as_array().unwrap();
    assert!(tags.contains(&json!("HideApp")) && tags.contains(&json!("entractl:kandji-passport")));
    assert_eq!(app["isFallbackPublicClient"], true);
    let again = entractl(&emu, &["plan", &spec, "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}", again.stdout);
    emu.shutdown();
}

#[test]
fn two_candidate_apps_are_an_error_naming_both() {
    let emu = start(0);
    let a = send(
        &emu,
        GraphRequest::post("/applications").json(json!({
            "displayName": "Kandji Passport", "uniqueName": "kandji-passport",
            "tags": ["entractl:kandji-passport"]
        })),
    );
    let b = send(
        &emu,
        GraphRequest::post("/applications").json(json!({
            "displayName": "Kandji Passport (copy)", "tags": ["entractl:kandji-passport"]
        })),
    );
    let out = entractl(&emu, &["plan", SPEC, "--detailed-exitcode"]);
    assert_eq!(out.code, 1);
    for app in [&a, &b] {
        let id = app["appId"].as_str().unwrap();
        assert!(
            out.stderr.contains(id),
            "{} missing in:\n{}",
            id,
            out.stderr
        );
    }
    assert!(
        out.stderr.contains("more than one application"),
        "{}",
        out.stderr
    );
    emu.shutdown();
}

#[test]
fn a_saved_plan_is_applied_exactly_and_refused_when_stale() {
    let emu = start(0);
    let dir = scratch("plan_apply_saved");
    let file = dir.join("plan.json").display().to_string();
    let out = entractl(&emu, &["plan", SPEC, "--out", &file]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(saved["kind"], "entractl-saved-plan");
    assert!(
        saved["tenant_fingerprint"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );

    // The tenant changes after the plan was made: refused, nothing written.
    send(
        &emu,
        GraphRequest::post("/applications").json(json!({
            "displayName": "Kandji Passport", "uniqueName": "kandji-passport",
            "tags": ["entractl:kandji-passport"]
        })),
    );
    emu.clear_log();
    let out = apply(&emu, &file, &dir.join("journal"));
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(out.stderr.contains("is stale"), "{}", out.stderr);
    assert!(out.stderr.contains("tenant objects"), "{}", out.stderr);
    assert!(writes(&emu).is_empty());

    // A fresh saved plan applies.
    let out = entractl(&emu, &["plan", SPEC, "--out", &file]);
    assert_eq!(out.code, 0);
    let out = apply(&emu, &file, &dir.join("journal"));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("converged"));
    emu.shutdown();
}

#[test]
fn a_saved_plan_is_refused_when_the_spec_changed() {
    let emu = start(0);
    let dir = scratch("plan_apply_saved_spec");
    let spec_text = std::fs::read_to_string(root().join(SPEC)).unwrap();
    let spec = write_spec(&dir, "spec.yaml", &spec_text)
        .display()
        .to_string();
    let file = dir.join("plan.json").display().to_string();
    assert_eq!(entractl(&emu, &["plan", &spec, "--out", &file]).code, 0);
    std::fs::write(
        &spec,
        spec_text.replace("Kandji Passport", "Kandji Passport 2"),
    )
    .unwrap();
    let out = apply(&emu, &file, &dir.join("journal"));
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("changed since the plan was made"),
        "{}",
        out.stderr
    );
    assert!(writes(&emu).is_empty());
    emu.shutdown();
}

#[test]
fn apply_without_a_terminal_and_without_auto_approve_refuses() {
    let emu = start(0);
    let out = entractl(&emu, &["apply", SPEC]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("--auto-approve"), "{}", out.stderr);
    assert!(writes(&emu).is_empty());
    emu.shutdown();
}

#[test]
fn replication_delay_on_every_create_converges_in_one_apply_without_duplicates() {
    let emu = start(400);
    let dir = scratch("plan_apply_delay");
    let out = apply(&emu, SPEC, &dir);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("converged"));
    let created = |prefix: &str| {
        writes(&emu)
            .iter()
            .filter(|e| e.method == "POST" && e.template == prefix && e.status == 201)
            .count()
    };
    assert_eq!(created("/v1.0/applications"), 1);
    assert_eq!(created("/v1.0/servicePrincipals"), 1);
    assert_eq!(created("/v1.0/oauth2PermissionGrants"), 1);
    // The delay was real: Graph refused the service principal at first.
    assert!(
        writes(&emu)
            .iter()
            .any(|e| e.path.starts_with("/v1.0/servicePrincipals") && e.status == 400),
        "{:#?}",
        writes(&emu)
    );
    emu.shutdown();
}

#[test]
fn unknown_permission_is_a_plan_error_with_the_closest_names() {
    let emu = start(0);
    let dir = scratch("plan_apply_unknown_perm");
    let spec = write_spec(
        &dir,
        "typo.yaml",
        "version: 1\ntenant: contoso.onmicrosoft.com\napp:\n  displayName: Typo\n  uniqueName: typo\n  apiPermissions:\n    Microsoft Graph:\n      delegated: [User.Raed]\n  adminConsent: true\n",
    );
    let out = entractl(&emu, &["plan", &spec.display().to_string()]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(out.stderr.contains("`User.Raed`"), "{}", out.stderr);
    assert!(
        out.stderr.contains("did you mean `User.Read`"),
        "{}",
        out.stderr
    );
    emu.shutdown();
}

#[test]
fn permissions_lists_what_plan_and_apply_need() {
    let out = crate::util::TestCommand::new(&["permissions", SPEC]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let plan_part = out.stdout.split("To apply").next().unwrap();
    assert!(plan_part.contains("Application.Read.All"));
    assert!(plan_part.contains("DelegatedPermissionGrant.Read.All"));
    assert!(!plan_part.contains("ReadWrite"));
    assert!(out.stdout.contains("Application.ReadWrite.OwnedBy"));
    assert!(
        out.stdout
            .contains("DelegatedPermissionGrant.ReadWrite.All")
    );
    assert!(plan_part.contains("User.Read.All"), "{}", out.stdout);
    assert!(plan_part.contains("GroupMember.Read.All"), "{}", out.stdout);
    assert!(
        out.stdout.contains("AppRoleAssignment.ReadWrite.All"),
        "{}",
        out.stdout
    );
}

#[test]
fn the_demo_script_signs_in_as_the_scenarios_automation_client() {
    let script = std::fs::read_to_string(root().join("scripts/demo.sh")).unwrap();
    for constant in [P1_TENANT_ID, CI_CLIENT_ID, CI_CLIENT_SECRET] {
        assert!(
            script.contains(constant),
            "scripts/demo.sh lacks {constant}"
        );
    }
    assert!(script.contains("--scenario p1"));
    assert!(script.contains("trap cleanup EXIT"));
}
