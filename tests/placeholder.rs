//! "Customize behavior" through the CLI on graph-emulator's enforced `p1` tenant (issue 17): the
//! plan creates the placeholder app and its service principal, excludes it, prints the portal
//! step and forecasts the sign-in to fail (exit 3); apply needs `--allow-security-downgrade`;
//! the portal step is done through the emulator's control API (what an admin does on the
//! Baseline scopes settings page); then the plan converges without the step, `verify` passes and
//! `verify-signin` agrees with the forecast. The oracle is the emulator: its state, its sign-in.

use graph_emulator::baseline_scopes::BaselineScopes;
use graph_emulator::scenarios::{P1_TENANT_ID, SANDBOX_PASSWORD};
use serde_json::Value;

use entractl_graph::GraphRequest;

use crate::util::{Sandbox, actionable, scratch, write_spec};

const SPEC: &str = "version: 1
tenant: contoso.onmicrosoft.com
preset: kandji-passport
passport:
  mode: mac-login
app:
  displayName: Kandji Passport
  uniqueName: kandji-passport
assignments:
  users: [alice@contoso.com, bob@contoso.com]
  groups: [Mac Users]
  prune: false
mfa:
  conditionalAccess:
    excludeApp: []
    placeholder:
      displayName: Kandji Passport baseline scopes
      uniqueName: kandji-passport-baseline-scopes
";

/// The placeholder app as the emulator has it.
fn placeholder_app(emu: &Sandbox) -> Value {
    emu.send(GraphRequest::get(
        "/applications(uniqueName='kandji-passport-baseline-scopes')",
    ))
}

#[test]
fn the_placeholder_plan_apply_portal_step_and_sign_in_agree() {
    let emu = Sandbox::scenario("p1", P1_TENANT_ID);
    let dir = scratch("placeholder_cli");
    let spec = write_spec(&dir, "spec.yaml", SPEC);
    let spec = spec.display().to_string();
    let plan_args = ["plan", spec.as_str(), "--detailed-exitcode"];

    // Plan: exit 3 (the forecast fails until the portal step), the step and its warning.
    let plan = emu.entractl_as(P1_TENANT_ID, None, &plan_args);
    assert_eq!(plan.code, 3, "{}\n{}", plan.stdout, plan.stderr);
    crate::assert_transcript!("placeholder_plan", plan);
    let json = emu.json_plan(&spec);
    let kinds: Vec<Value> = actionable(&json)
        .iter()
        .map(|c| c["object"]["kind"].clone())
        .collect();
    assert!(
        kinds.contains(&Value::from("placeholderApplication")),
        "{kinds:?}"
    );
    assert!(kinds.contains(&Value::from("placeholderServicePrincipal")));
    let md = emu.entractl_as(P1_TENANT_ID, None, &["plan", &spec, "--format", "markdown"]);
    assert!(md.stdout.contains("**portal step**"), "{}", md.stdout);

    // Apply: refused without the flag, done with it.
    let journal = dir.join("journal");
    let refused = emu.apply_as(P1_TENANT_ID, &spec, &journal, false);
    assert_ne!(refused.code, 0, "{}", refused.stdout);
    let out = emu.apply_as(P1_TENANT_ID, &spec, &journal, true);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let app = placeholder_app(&emu);
    let app_id = app["appId"].as_str().unwrap().to_string();

    // Applied, the step not done: `verify` says so and exits 3; the sign-in is refused.
    let verify = emu.entractl_as(P1_TENANT_ID, None, &["verify", &spec]);
    assert_eq!(verify.code, 3, "{}\n{}", verify.stdout, verify.stderr);
    assert!(verify.stdout.contains("Portal step still to take"));
    let signin = |upn: &str| {
        emu.entractl_as(
            P1_TENANT_ID,
            Some(SANDBOX_PASSWORD),
            &["verify-signin", &spec, "--username", upn],
        )
    };
    let refused = signin("alice@contoso.com");
    assert_eq!(refused.code, 1, "{}\n{}", refused.stdout, refused.stderr);
    assert!(refused.stderr.contains("AADSTS50076"), "{}", refused.stderr);

    // The portal step, done: converged, no step, the forecast and the sign-ins agree.
    emu.set_baseline_scopes(P1_TENANT_ID, BaselineScopes::Custom(app_id))
        .unwrap();
    let plan = emu.entractl_as(P1_TENANT_ID, None, &plan_args);
    crate::assert_transcript!("placeholder_plan_once_chosen", plan);
    assert!(!plan.stdout.contains("portal step"), "{}", plan.stdout);
    let json = emu.json_plan(&spec);
    assert_eq!(json["has_changes"], false);
    for u in json["sign_in_forecast"]["users"].as_array().unwrap() {
        let upn = u["user"].as_str().unwrap();
        let works = u["verdict"]["kind"] == "works";
        let out = signin(upn);
        assert_eq!(
            out.code == 0,
            works,
            "{upn}: {}\n{}",
            out.stdout,
            out.stderr
        );
    }
    let verify = emu.entractl_as(P1_TENANT_ID, None, &["verify", &spec]);
    crate::assert_transcript!("placeholder_verify_once_chosen", verify);
    emu.shutdown();
}
