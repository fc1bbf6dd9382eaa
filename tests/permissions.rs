//! The permission check before the first read and the first write: the token's `roles` against
//! what the spec needs (the table of `entractl permissions`); every missing permission at once,
//! nothing read or written.

use graph_emulator::scenarios::{P1_TENANT_ID, READONLY_CLIENT_ID, READONLY_CLIENT_SECRET};
use graph_emulator::{EmulatorConfig, TenantSource};

use crate::util::{Sandbox, TestCommand, scratch};

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
