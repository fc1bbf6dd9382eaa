//! The password sign-in preflight end to end (issue 17): on a tenant where Passport's password
//! sign-in fails for some users whatever the MFA posture (`tests/fixtures/emulator/password-sign-in.yaml`:
//! a federated domain, a guest, an account without a password, per-user MFA `enabled`), the plan
//! warns about each in text, JSON and Markdown, and `entractl verify-signin` as each user fails as
//! the warning says; assigning Passport a home realm discovery policy that allows cloud password
//! validation lets the federated user in, and the plan says so.

use std::path::Path;

use entractl_graph::GraphRequest;
use graph_emulator::scenarios::{CLIENTS, SANDBOX_PASSWORD};
use graph_emulator::{EmulatorConfig, TenantSource};
use serde_json::{Value, json};

use crate::util::{Sandbox, TestOutput, root, scratch, snapshot_settings_with, write_spec};

const TENANT: &str = "5a1e5a1e-0000-4000-8000-000000000017";

fn start() -> Sandbox {
    let fixture =
        std::fs::read_to_string(root().join("tests/fixtures/emulator/password-sign-in.yaml"))
            .expect("fixture");
    let mut cfg = EmulatorConfig::scenario("empty");
    cfg.sources = vec![TenantSource::FixtureText {
        name: "password-sign-in".into(),
        text: format!("{fixture}\n{CLIENTS}"),
    }];
    Sandbox::start(cfg, TENANT)
}

/// The seed app for the Mac Login setup with conditional access managed (so the spec needs
/// password sign-in) and per-user MFA left alone (so the preflight reads it).
fn spec(dir: &Path) -> String {
    let text = format!(
        "version: 1\ntenant: {TENANT}\npreset: kandji-passport\npassport:\n  mode: mac-login\napp:\n  displayName: Kandji Passport\n  uniqueName: kandji-passport\nassignments:\n  users: [alice@northwind.example]\n  groups: [Mac Users]\nmfa:\n  securityDefaults: unmanaged\n  perUserMfa: unmanaged\n  conditionalAccess:\n    excludeApp: from-policies-requiring-mfa\n"
    );
    write_spec(dir, "northwind.yaml", &text)
        .display()
        .to_string()
}

/// The repo's snapshot filters, the scratch directory, and Graph's opaque ids (an
/// oauth2PermissionGrant's).
fn settings(dir: &Path) -> insta::Settings {
    let mut s = snapshot_settings_with(&[(dir, "[SCRATCH]")]);
    s.add_filter(r"\b[A-Za-z0-9_-]{43}\b", "[OPAQUE]");
    s
}

fn verify(emu: &Sandbox, spec: &str, upn: &str) -> TestOutput {
    emu.entractl_as(
        TENANT,
        Some(SANDBOX_PASSWORD),
        &["verify-signin", spec, "--username", upn],
    )
}

/// `verify-signin` as `upn` fails with `code`, and the plan's warning about `upn` names it (UPNs
/// compare without regard to case).
fn fails_as_warned(emu: &Sandbox, spec: &str, warnings: &[String], upn: &str, code: &str) {
    let out = verify(emu, spec, upn);
    assert_eq!(out.code, 1, "{upn}: {}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains(code), "{upn}: {}", out.stderr);
    assert!(
        warnings
            .iter()
            .any(|w| w.to_lowercase().contains(&upn.to_lowercase()) && w.contains(code)),
        "no warning names {upn} with {code}: {warnings:#?}"
    );
}

#[test]
fn the_plan_warns_about_each_user_password_sign_in_will_fail_for_and_verify_signin_agrees() {
    let emu = start();
    let dir = scratch("password_sign_in");
    let spec = spec(&dir);
    let journal = dir.join("journal");
    let out = emu.apply(&spec, &journal);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);

    // The converged plan, in the three formats.
    let mut report = String::new();
    for format in ["text", "markdown", "json"] {
        let out = emu.entractl(&["plan", &spec, "--format", format]);
        assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
        report.push_str(&format!(
            "==== plan --format {format}\n{}\n",
            out.stdout.trim_end()
        ));
    }
    settings(&dir).bind(|| insta::assert_snapshot!("preflight_plan", report));

    // Each warning, and verify-signin failing as it says (the emulator is the oracle).
    let plan = emu.json_plan(&spec);
    let warnings: Vec<String> = plan["notes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "warning")
        .map(|n| n["message"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(warnings.len(), 3, "{warnings:#?}");
    fails_as_warned(
        &emu,
        &spec,
        &warnings,
        "dana@corp.northwind.example",
        "AADSTS50126",
    );
    let gus = "gus_fabrikam.example#EXT#@northwind.onmicrosoft.com";
    fails_as_warned(&emu, &spec, &warnings, gus, "AADSTS50126");
    fails_as_warned(
        &emu,
        &spec,
        &warnings,
        "pat@northwind.example",
        "AADSTS50076",
    );
    // The sign-in forecast agrees with each (the password is refused before conditional access).
    for (upn, kind) in [
        ("dana@corp.northwind.example", "refused"),
        (gus, "refused"),
        ("pat@northwind.example", "needs-mfa"),
        ("alice@northwind.example", "works"),
    ] {
        assert_eq!(forecast_of(&plan, upn), kind, "{upn}");
    }
    // An account without a password: the plan says it cannot tell, verify-signin shows it.
    let out = verify(&emu, &spec, "kiosk@northwind.example");
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("AADSTS50126"), "{}", out.stderr);
    let unknown = plan["notes"].as_array().unwrap().iter().any(|n| {
        n["kind"] == "unmanaged"
            && n["message"]
                .as_str()
                .unwrap()
                .contains("not checked whether the 5 users who can sign in have a password")
    });
    assert!(unknown, "{plan:#}");
    // alice is fine.
    let out = verify(&emu, &spec, "alice@northwind.example");
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);

    // A home realm discovery policy allowing cloud password validation, assigned to Passport's
    // service principal: dana signs in, and the plan's warning becomes a note.
    let sp = plan["outputs"]["service_principal_object_id"]
        .as_str()
        .unwrap()
        .to_string();
    let policies = emu.send(GraphRequest::get("/policies/homeRealmDiscoveryPolicies"));
    let policy = policies["value"][0]["id"].as_str().unwrap().to_string();
    let (rt, client) = emu.graph_for(TENANT);
    let assign = GraphRequest::post(format!("/servicePrincipals/{sp}/homeRealmDiscoveryPolicies/$ref"))
        .json(json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/policies/homeRealmDiscoveryPolicies/{policy}")}));
    rt.block_on(client.send(assign)).expect("assign the policy");
    let out = verify(&emu, &spec, "dana@corp.northwind.example");
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let after = emu.json_plan(&spec);
    assert_eq!(forecast_of(&after, "dana@corp.northwind.example"), "works");
    let out = emu.entractl(&["plan", &spec]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    settings(&dir).bind(|| insta::assert_snapshot!("preflight_plan_with_policy", out.stdout));
    let plan: Value = emu.json_plan(&spec);
    let federated = plan["notes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| {
            n["message"]
                .as_str()
                .unwrap()
                .contains("corp.northwind.example")
        })
        .map(|n| n["kind"].as_str().unwrap())
        .collect::<Vec<_>>();
    assert_eq!(federated, ["unmanaged"], "{plan:#}");
    emu.shutdown();
}

/// The kind of `upn`'s verdict in a JSON plan's sign-in forecast.
fn forecast_of(plan: &Value, upn: &str) -> String {
    plan["sign_in_forecast"]["users"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|u| {
            u["user"]
                .as_str()
                .is_some_and(|x| x.eq_ignore_ascii_case(upn))
        })
        .map(|u| u["verdict"]["kind"].as_str().unwrap_or("?").to_string())
        .unwrap_or_else(|| format!("{upn} not in the forecast"))
}
