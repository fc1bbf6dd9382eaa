//! The permission check before the first read and the first write: the token's `roles` against
//! what the spec needs (the table of `entractl permissions`); every missing permission at once,
//! nothing read or written.

use graph_emulator::scenarios::{
    FREE_TENANT_ID, P1_TENANT_ID, READONLY_CLIENT_ID, READONLY_CLIENT_SECRET,
};
use graph_emulator::{EmulatorConfig, TenantSource};
use serde_json::Value;

use crate::util::{Sandbox, TestCommand, scratch, write_spec};

const WEAK_CLIENT_ID: &str = "0e1c5f7a-2b3d-4e6f-8a9b-c0d1e2f3a4c1";
const WEAK_CLIENT_SECRET: &str = "sandbox-weak-secret";

/// Scenario p1 with one more automation client that may only read applications.
fn p1_with_weak_client() -> Sandbox {
    let mut text = graph_emulator::scenarios::text("p1").expect("scenario p1");
    text.push_str(&format!(
        "  - displayName: entractl-weak\n    appId: {WEAK_CLIENT_ID}\n    secret: {WEAK_CLIENT_SECRET}\n    roles: [Application.Read.All]\n"
    ));
    let mut cfg = EmulatorConfig::scenario("p1");
    cfg.sources = vec![TenantSource::FixtureText {
        name: "p1 with a weak client".into(),
        text,
    }];
    Sandbox::start(cfg, P1_TENANT_ID)
}

fn as_client(emu: &Sandbox, id: &str, secret: &str) -> TestCommand {
    TestCommand::against(emu)
        .env("AZURE_TENANT_ID", P1_TENANT_ID)
        .env("AZURE_CLIENT_ID", id)
        .env("AZURE_CLIENT_SECRET", secret)
        .forbid(secret)
}

#[test]
fn plan_names_every_missing_read_permission_in_one_run_and_reads_nothing() {
    let emu = p1_with_weak_client();
    let out = as_client(&emu, WEAK_CLIENT_ID, WEAK_CLIENT_SECRET)
        .args(["plan", "specs/kandji-passport-mac-login.yaml"])
        .run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    crate::assert_transcript!("plan_missing_read_permissions", out);
    assert!(emu.graph_log().is_empty(), "{:#?}", emu.graph_log());
    emu.shutdown();
}

#[test]
fn apply_refuses_before_the_first_write_when_write_permissions_are_missing() {
    let emu = Sandbox::scenario("p1", P1_TENANT_ID);
    let journal = scratch("permissions-apply").join("journal");
    let out = as_client(&emu, READONLY_CLIENT_ID, READONLY_CLIENT_SECRET)
        .args([
            "apply",
            "tests/fixtures/kandji-passport-core.yaml",
            "--auto-approve",
        ])
        .arg("--journal-dir")
        .arg(&journal)
        .run();
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    crate::assert_transcript!("apply_missing_write_permissions", out);
    assert!(emu.writes().is_empty(), "{:#?}", emu.writes());
    assert!(!journal.exists());
    emu.shutdown();
}

/// A Mac Login spec on scenario `free` (Fabrikam: security defaults on): it turns security
/// defaults off and so records the app's service principal in a record group.
const SECURITY_DEFAULTS_OFF: &str = "version: 1
tenant: fabrikam.onmicrosoft.com
preset: kandji-passport
passport:
  mode: mac-login
app:
  displayName: Kandji Passport
  uniqueName: kandji-sp-member
assignments:
  users: [alice@fabrikam.onmicrosoft.com]
mfa:
  securityDefaults: disabled
  perUserMfa: unmanaged
  conditionalAccess:
    excludeApp: unmanaged
";

const SP_MEMBER_CLIENT_ID: &str = "0e1c5f7a-2b3d-4e6f-8a9b-c0d1e2f3a4c2";
const SP_MEMBER_CLIENT_SECRET: &str = "sandbox-sp-member-secret";

/// What `entractl permissions SPEC` lists (to plan, then to apply), without
/// DelegatedPermissionGrant.Read.All: the emulator's Microsoft Graph service principal does not
/// offer that app role, and DelegatedPermissionGrant.ReadWrite.All (listed too) covers it.
fn listed(spec: &str) -> Vec<String> {
    let out = TestCommand::new(&["permissions", spec, "--json"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).expect("JSON");
    ["plan", "apply"]
        .iter()
        .flat_map(|part| v[part].as_array().unwrap().clone())
        .map(|n| n["permission"].as_str().unwrap().to_string())
        .filter(|p| p != "DelegatedPermissionGrant.Read.All")
        .collect()
}

/// Scenario `free` with one more automation client holding exactly `roles`.
fn free_with_client(roles: &[String]) -> Sandbox {
    let mut text = graph_emulator::scenarios::text("free").expect("scenario free");
    text.push_str(&format!(
        "  - displayName: entractl-sp-member\n    appId: {SP_MEMBER_CLIENT_ID}\n    secret: {SP_MEMBER_CLIENT_SECRET}\n    roles: [{}]\n",
        roles.join(", ")
    ));
    let mut cfg = EmulatorConfig::scenario("free");
    cfg.sources = vec![TenantSource::FixtureText {
        name: "free with a client of chosen roles".into(),
        text,
    }];
    Sandbox::start(cfg, FREE_TENANT_ID)
}

fn apply_security_defaults_off(emu: &Sandbox, spec: &str, name: &str) -> crate::util::TestOutput {
    let journal = scratch(name).join("journal");
    as_client(emu, SP_MEMBER_CLIENT_ID, SP_MEMBER_CLIENT_SECRET)
        .env("AZURE_TENANT_ID", FREE_TENANT_ID)
        .args([
            "apply",
            spec,
            "--auto-approve",
            "--allow-security-downgrade",
        ])
        .arg("--journal-dir")
        .arg(&journal)
        .run()
}

/// A spec that turns security defaults off adds the app's service principal to a group, which
/// Graph allows only with Application.ReadWrite.All besides GroupMember.ReadWrite.All
/// (graph-docs `api-reference/v1.0/api/group-post-members.md`): `entractl permissions` lists it,
/// and apply refuses before the first write without it.
#[test]
fn recording_the_service_principal_needs_application_read_write_all() {
    let dir = scratch("permissions-sp-member");
    let spec = write_spec(&dir, "mac.yaml", SECURITY_DEFAULTS_OFF);
    let spec = spec.to_str().unwrap();
    let text = TestCommand::new(&["permissions", "specs/kandji-passport-mac-login.yaml"]).run();
    assert_eq!(text.code, 0, "{}", text.stderr);
    crate::assert_transcript!("permissions_mac_login", text);
    let json = TestCommand::new(&[
        "permissions",
        "specs/kandji-passport-mac-login.yaml",
        "--json",
    ])
    .run();
    assert_eq!(json.code, 0, "{}", json.stderr);
    crate::assert_transcript!("permissions_mac_login_json", json);
    let all = listed(spec);
    assert!(
        all.iter().any(|p| p == "Application.ReadWrite.All"),
        "{all:?}"
    );

    // Without it: refused before the first write; security defaults stay on, no record.
    let without: Vec<String> = all
        .iter()
        .filter(|p| *p != "Application.ReadWrite.All")
        .cloned()
        .collect();
    let emu = free_with_client(&without);
    let out = apply_security_defaults_off(&emu, spec, "permissions-sp-member-without");
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    crate::assert_transcript!("apply_missing_service_principal_member_permission", out);
    assert!(emu.writes().is_empty(), "{:#?}", emu.writes());
    assert_eq!(crate::security_defaults::tenant(&emu), (true, vec![]));
    emu.shutdown();

    // With exactly what `entractl permissions` lists: applied, and the emulator (which refuses a
    // service principal member without it) holds the record.
    let emu = free_with_client(&all);
    let out = apply_security_defaults_off(&emu, spec, "permissions-sp-member-with");
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let (on, records) = crate::security_defaults::tenant(&emu);
    assert!(!on, "security defaults turned off");
    let sp = emu.with_tenant_id(FREE_TENANT_ID, |t| {
        let app = t
            .applications
            .iter()
            .find(|a| a.str("uniqueName") == Some("kandji-sp-member"))
            .expect("the app")
            .str("appId")
            .unwrap()
            .to_string();
        t.service_principals
            .iter()
            .find(|s| s.str("appId") == Some(app.as_str()))
            .expect("its service principal")
            .id()
            .to_string()
    });
    assert_eq!(records, vec![vec![sp.unwrap()]]);
    emu.shutdown();
}
