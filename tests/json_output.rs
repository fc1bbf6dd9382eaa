//! `--format json` of every command that reports: validate, permissions (and `--json`), explain,
//! export, verify-signin and apply. Each prints one JSON document on stdout with no ANSI codes
//! (even with `--color always`) and no secret; the values are checked against the emulator's
//! state where there is one.

use entractl_graph::GraphRequest;
use graph_emulator::EmulatorConfig;
use graph_emulator::scenarios::{P1_TENANT_ID, SANDBOX_PASSWORD};
use serde_json::Value;

use crate::util::{Sandbox, TestCommand, TestOutput, scratch, snapshot_settings_with};

const SPEC: &str = "tests/fixtures/kandji-passport-core.yaml";

/// Scenario p1 without replication delay (no read-back waits in the output).
fn p1() -> Sandbox {
    let mut cfg = EmulatorConfig::scenario("p1");
    cfg.knobs.replication_delay_ms = 0;
    Sandbox::start(cfg, P1_TENANT_ID)
}

/// The document on stdout, checked to be plain JSON (no escape codes) with nothing else around it.
fn document(out: &TestOutput) -> Value {
    assert!(
        !out.stdout.contains('\x1b'),
        "ANSI codes in:\n{}",
        out.stdout
    );
    assert!(
        !out.stderr.contains('\x1b'),
        "ANSI codes in:\n{}",
        out.stderr
    );
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("not one JSON document ({e}):\n{}", out.stdout))
}

/// Snapshots a transcript with the per-change times of apply's JSON filtered too.
fn assert_json_transcript(name: &str, out: &TestOutput) {
    let mut settings = snapshot_settings_with(&[]);
    settings.add_filter(r#""elapsed_ms": [0-9]+"#, r#""elapsed_ms": "[MS]""#);
    settings.bind(|| insta::assert_snapshot!(name, out.transcript()));
}

#[test]
fn validate_json_lists_every_file_and_error() {
    let out = TestCommand::new(&[
        "validate",
        "--format",
        "json",
        "specs/kandji-passport.yaml",
        "tests/fixtures/invalid/unknown-field-redirect-uri.yaml",
        "tests/fixtures/invalid/duplicate-key.yaml",
    ])
    .run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    let v = document(&out);
    assert_eq!(v["valid"], false);
    assert_eq!(v["files"][0]["valid"], true);
    assert!(v["files"][1]["errors"][0]["line"].as_u64().is_some());
    crate::assert_transcript!("validate_json_invalid", out);

    let ok = TestCommand::new(&[
        "validate",
        "--format",
        "json",
        "--expanded",
        "tests/fixtures/valid/preset-minimal.yaml",
    ])
    .run();
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    let v = document(&ok);
    assert_eq!(v["valid"], true);
    // The expanded YAML is the same text `--expanded` prints (after its `# FILE` line).
    let text = TestCommand::new(&[
        "validate",
        "--expanded",
        "tests/fixtures/valid/preset-minimal.yaml",
    ])
    .run();
    let yaml = text.stdout.split_once('\n').unwrap().1;
    assert_eq!(v["files"][0]["expanded"], yaml);
}

#[test]
fn permissions_json_and_its_json_alias_agree() {
    let json = TestCommand::new(&[
        "permissions",
        "specs/kandji-passport.yaml",
        "--format",
        "json",
    ])
    .run();
    assert_eq!(json.code, 0, "{}", json.stderr);
    let alias = TestCommand::new(&["permissions", "specs/kandji-passport.yaml", "--json"]).run();
    assert_eq!(alias.stdout, json.stdout);
    let v = document(&json);
    // The same permissions, in the same order, as the text lists under each heading.
    let text = TestCommand::new(&["permissions", "specs/kandji-passport.yaml"]).run();
    let (plan_text, apply_text) = text.stdout.split_once("To apply").unwrap();
    for (part, listed) in [("plan", plan_text), ("apply", apply_text)] {
        let names: Vec<&str> = v[part]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["permission"].as_str().unwrap())
            .collect();
        let shown: Vec<&str> = listed
            .lines()
            .filter(|l| l.starts_with("  "))
            .filter_map(|l| l.split_whitespace().next())
            .collect();
        assert_eq!(names, shown, "{part}");
        assert!(
            v[part]
                .as_array()
                .unwrap()
                .iter()
                .all(|n| n["why"].is_string())
        );
    }
    let both = TestCommand::new(&[
        "permissions",
        "specs/kandji-passport.yaml",
        "--json",
        "--format",
        "text",
    ])
    .run();
    assert_eq!(both.code, 1, "--json and --format conflict");
}

#[test]
fn explain_json_of_one_code_and_of_the_list() {
    let out = TestCommand::new(&["explain", "50076", "--format", "json"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    document(&out);
    crate::assert_transcript!("explain_json_50076", out);
    let list = TestCommand::new(&["explain", "--list", "--format", "json"]).run();
    let v = document(&list);
    let codes: Vec<u64> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_u64().unwrap())
        .collect();
    let text = TestCommand::new(&["explain", "--list"]).run().stdout;
    for code in &codes {
        assert!(text.contains(&format!("AADSTS{code} ")), "{code}");
    }
}

#[test]
fn export_json_holds_the_spec_and_the_messages() {
    let emu = p1();
    let dir = scratch("json_export");
    let out = emu.apply(SPEC, &dir.join("journal"));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let app = emu.send(GraphRequest::get(
        "/applications(uniqueName='kandji-passport')",
    ));
    let app_id = app["appId"].as_str().unwrap();
    let text = emu.entractl(&["export", "--app-id", app_id]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    let json = emu.entractl(&["export", "--app-id", app_id, "--format", "json"]);
    assert_eq!(json.code, 0, "{}", json.stderr);
    assert_eq!(json.stderr, "");
    let v = document(&json);
    assert_eq!(v["yaml"], text.stdout.as_str());
    assert_eq!(v["app_id"], app_id);
    assert_eq!(
        v["messages"][0]["message"].as_str().unwrap(),
        text.stderr.trim_end()
    );
    assert_json_transcript("export_json", &json);
    emu.shutdown();
}

#[test]
fn verify_signin_json_shows_the_claims_or_the_error_never_a_token_or_the_password() {
    let emu = Sandbox::scenario("p1-legacy", P1_TENANT_ID);
    let dir = scratch("json_verify_signin");
    // Mac Login: Passport's password sign-in (Web Login leaves the password grant off).
    let spec = "specs/kandji-passport-mac-login.yaml";
    let out = emu.apply_as(P1_TENANT_ID, spec, &dir.join("journal"), true);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let args = [
        "verify-signin",
        spec,
        "--username",
        "alice@contoso.com",
        "--format",
        "json",
    ];
    // `entractl_as` fails the test if the password or a token (`eyJ…`) shows up anywhere.
    let ok = emu.entractl_as(P1_TENANT_ID, Some(SANDBOX_PASSWORD), &args);
    assert_eq!(ok.code, 0, "{}\n{}", ok.stdout, ok.stderr);
    let v = document(&ok);
    assert_eq!(v["succeeded"], true);
    let alice = emu.send(GraphRequest::get("/users/alice@contoso.com"));
    assert_eq!(v["claims"]["oid"], alice["id"]);
    assert_eq!(v["claims"]["preferred_username"], "alice@contoso.com");
    assert_json_transcript("verify_signin_json", &ok);

    let mut refused_args = args.to_vec();
    refused_args.extend(["--scope", "openid", "--scope", "offline_access"]);
    let refused = emu.entractl_as(P1_TENANT_ID, Some(SANDBOX_PASSWORD), &refused_args);
    assert_eq!(refused.code, 1, "{}\n{}", refused.stdout, refused.stderr);
    let v = document(&refused);
    assert_eq!(v["succeeded"], false);
    assert_eq!(v["error"]["code"], 65001);
    assert_json_transcript("verify_signin_json_refused", &refused);
    emu.shutdown();
}

#[test]
fn apply_json_reports_each_change_with_the_ids_the_tenant_has() {
    let emu = p1();
    let dir = scratch("json_apply");
    let journal = dir.join("journal").display().to_string();
    let args = [
        "apply",
        SPEC,
        "--auto-approve",
        "--journal-dir",
        &journal,
        "--format",
        "json",
    ];
    let out = emu.entractl(&args);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let v = document(&out);
    assert_eq!(v["converged"], true);
    let changes = v["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 6);
    assert!(changes.iter().all(|c| c["status"] == "made"), "{v:#}");
    // The ids are the tenant's (the emulator is the oracle).
    let app = emu.send(GraphRequest::get(
        "/applications(uniqueName='kandji-passport')",
    ));
    assert_eq!(changes[0]["id"], app["id"]);
    assert_eq!(v["outputs"]["client_id"], app["appId"]);
    let sps = emu.send(GraphRequest::get(format!(
        "/servicePrincipals?$filter=appId eq '{}'",
        app["appId"].as_str().unwrap()
    )));
    assert_eq!(changes[1]["id"], sps["value"][0]["id"]);
    let assignments = emu.send(GraphRequest::get(format!(
        "/servicePrincipals/{}/appRoleAssignedTo",
        sps["value"][0]["id"].as_str().unwrap()
    )));
    for c in &changes[3..] {
        assert!(
            assignments["value"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["id"] == c["id"]),
            "{c:#} not in {assignments:#}"
        );
    }
    assert_json_transcript("apply_json", &out);

    let again = emu.entractl(&args);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    let v = document(&again);
    assert_eq!(v["changes"], Value::Array(Vec::new()));
    assert_eq!(v["writes"], 0);
    emu.shutdown();
}

#[test]
fn apply_prints_one_line_per_change_in_text_and_quiet_leaves_them_out() {
    let emu = p1();
    let dir = scratch("apply_lines");
    let out = emu.apply(SPEC, &dir.join("journal"));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 6, "{}", out.stderr);
    assert!(
        lines[0].starts_with("application \"Kandji Passport\": created in "),
        "{}",
        out.stderr
    );
    crate::assert_transcript!("apply_lines", out);

    let emu2 = p1();
    let journal = dir.join("journal2").display().to_string();
    let quiet = emu2.entractl(&[
        "-q",
        "apply",
        SPEC,
        "--auto-approve",
        "--journal-dir",
        &journal,
    ]);
    assert_eq!(quiet.code, 0, "{}\n{}", quiet.stdout, quiet.stderr);
    assert_eq!(quiet.stderr, "");
    emu.shutdown();
    emu2.shutdown();
}
