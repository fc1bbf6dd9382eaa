//! Messages that are true: hints name what exists (the spec's `tenant:`, not a flag `plan` does
//! not have), and an `AZURE_TENANT_ID` that names another tenant than the spec is a warning that
//! says which one is used.

use graph_emulator::scenarios::{FREE_TENANT_ID, P1_TENANT_ID};

use crate::util::{Sandbox, scratch, write_spec};

#[test]
fn a_tenant_that_does_not_exist_points_at_the_specs_tenant() {
    let emu = Sandbox::scenario("p1", P1_TENANT_ID);
    let dir = scratch("messages-tenant");
    let spec = write_spec(
        &dir,
        "spec.yaml",
        "version: 1\ntenant: nosuch.onmicrosoft.com\napp:\n  displayName: X\n  uniqueName: x\n",
    );
    let out = emu.entractl(&["plan", &spec.display().to_string()]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    crate::assert_transcript!("unknown_tenant", out);
    emu.shutdown();
}

#[test]
fn azure_tenant_id_naming_another_tenant_is_a_warning_that_says_which_is_used() {
    let emu = Sandbox::scenario("p1", P1_TENANT_ID);
    let out = emu
        .command_for(FREE_TENANT_ID)
        .args(["plan", "tests/fixtures/kandji-passport-core.yaml"])
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    crate::assert_transcript!("azure_tenant_id_differs", out);
    emu.shutdown();
}
