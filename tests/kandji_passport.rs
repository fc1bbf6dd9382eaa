//! The whole Mac Login spec, `specs/kandji-passport-mac-login.yaml` (app, assignments and MFA
//! posture: the seed procedure), end to end on scenario `p1-legacy`; `verify-signin`'s scopes; and
//! `scripts/demo.sh` (`make demo`) run for real.

use std::path::{Path, PathBuf};
use std::process::Command;

use graph_emulator::baseline_scopes::BaselineScopes;
use graph_emulator::scenarios::{CI_CLIENT_SECRET, P1_TENANT_ID, SANDBOX_PASSWORD};
use serde_json::Value;

use crate::util::{Sandbox, TestOutput, root, scratch};

const SPEC: &str = "specs/kandji-passport-mac-login.yaml";

fn writes(emu: &Sandbox) -> Vec<String> {
    emu.writes()
        .into_iter()
        .map(|e| format!("{} {} {}", e.method, e.template, e.status))
        .collect()
}

fn count(lines: &[String], prefix: &str) -> usize {
    lines.iter().filter(|l| l.starts_with(prefix)).count()
}

fn apply(emu: &Sandbox, journal: &Path, downgrade: bool) -> TestOutput {
    emu.apply_as(P1_TENANT_ID, SPEC, journal, downgrade)
}

#[test]
fn the_seed_spec_on_p1_converges_only_with_the_downgrade_flag_and_passport_signs_in() {
    // On p1-legacy on purpose: the seed's remediation (exclude Passport from the MFA policies) only
    // lets Passport sign in before baseline-scope enforcement, and p1's Microsoft-managed policies
    // refuse the exclusion. entractl's handling of enforced tenants is issue 17.
    let emu = Sandbox::scenario("p1-legacy", P1_TENANT_ID);
    let journal = scratch("kandji_passport_full").join("journal");

    // The plan shows every weakening change and says apply needs the flag.
    let plan = emu.entractl_as(P1_TENANT_ID, None, &["plan", SPEC, "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}\n{}", plan.stdout, plan.stderr);
    // App, service principal, grant, 3 assignments; carol's per-user MFA and 4 policies.
    crate::assert_transcript!("seed_plan", plan);
    let json = emu.entractl_as(P1_TENANT_ID, None, &["plan", SPEC, "--format", "json"]);
    assert_eq!(json.code, 0, "{}", json.stderr);
    let json: Value = serde_json::from_str(&json.stdout).expect("JSON plan");
    let mut downgrades: Vec<String> = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["risks"]
                .as_array()
                .is_some_and(|r| r.contains(&Value::from("security-downgrade")))
        })
        .map(|c| {
            format!(
                "{} {}",
                c["object"]["kind"].as_str().unwrap(),
                &c["object"]["display"].as_str().unwrap()[..5]
            )
        })
        .collect();
    downgrades.sort();
    assert_eq!(
        downgrades,
        [
            "conditionalAccessPolicy CA001",
            "conditionalAccessPolicy CA003",
            "conditionalAccessPolicy CA005",
            "conditionalAccessPolicy CA006",
            "perUserMfa carol",
        ]
    );

    // Without --allow-security-downgrade: refused, the changes named, nothing written.
    emu.clear_log();
    let refused = apply(&emu, &journal, false);
    assert_eq!(refused.code, 1, "{}\n{}", refused.stdout, refused.stderr);
    crate::assert_transcript!("seed_apply_refused_without_downgrade_flag", refused);
    assert_eq!(writes(&emu), Vec::<String>::new());

    // With it: converges. 13 writes: application, service principal, grant, 3 assignments
    // (alice, bob, Mac Users), the record of carol's per-user MFA (its group and entry), carol's
    // per-user MFA state, 4 policy exclusions.
    let out = apply(&emu, &journal, true);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    crate::assert_transcript!("seed_apply", out);
    let w = writes(&emu);
    assert_eq!(w.len(), 13, "{w:#?}");
    assert_eq!(count(&w, "POST /v1.0/applications 201"), 1, "{w:#?}");
    assert_eq!(count(&w, "POST /v1.0/servicePrincipals 201"), 1, "{w:#?}");
    assert_eq!(
        count(&w, "POST /v1.0/oauth2PermissionGrants 201"),
        1,
        "{w:#?}"
    );
    assert_eq!(
        count(
            &w,
            "POST /v1.0/servicePrincipals/{id}/appRoleAssignedTo 201"
        ),
        3,
        "{w:#?}"
    );
    assert_eq!(count(&w, "PATCH /beta/users/"), 1, "{w:#?}");
    assert_eq!(
        count(&w, "PATCH /v1.0/identity/conditionalAccess/policies/{id}"),
        4,
        "{w:#?}"
    );

    let again = emu.entractl_as(P1_TENANT_ID, None, &["plan", SPEC, "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    crate::assert_transcript!("seed_converged_plan", again);

    // A second apply (no flag needed: nothing weakens any more) reads and writes nothing.
    emu.clear_log();
    let second = apply(&emu, &journal, false);
    assert_eq!(second.code, 0, "{}\n{}", second.stdout, second.stderr);
    crate::assert_transcript!("seed_second_apply", second);
    assert_eq!(writes(&emu), Vec::<String>::new());
    let reads: Vec<String> = emu
        .graph_log()
        .into_iter()
        .map(|e| format!("{} {}", e.method, e.template))
        .collect();
    // 22 = 12 for the app and the assignments (4 + 2 for the app, its grants and granted
    // application permissions; alice, bob, Mac Users, subscribedSkus and the app's assignments;
    // the members of Mac Users: as in plan_apply.rs) + the security defaults policy + the
    // conditional access policies (one list) + the per-user MFA state of the app's 3 users
    // (alice, bob; carol through Mac Users) + the sign-in forecast: the baseline-scope setting
    // and one What-If per user (3) + the domains (the password sign-in preflight; none is
    // federated) + entractl's record groups (one list) and the members of the one that keeps
    // carol's per-user MFA + the placeholder apps made for the app (one list, by their link tag;
    // none here) = 25.
    assert_eq!(reads.len(), 25, "{reads:#?}");
    assert_eq!(count(&reads, "GET /v1.0/domains"), 1);
    assert_eq!(
        count(
            &reads,
            "GET /v1.0/policies/identitySecurityDefaultsEnforcementPolicy"
        ),
        1
    );
    assert_eq!(
        count(&reads, "GET /v1.0/identity/conditionalAccess/policies"),
        1
    );
    assert_eq!(
        count(&reads, "GET /beta/users/{id}/authentication/requirements"),
        3
    );

    // Passport's sign-in now works, asking for exactly what the spec consents.
    let ok = emu.entractl_as(
        P1_TENANT_ID,
        Some(SANDBOX_PASSWORD),
        &["verify-signin", SPEC, "--username", "alice@contoso.com"],
    );
    assert_eq!(ok.code, 0, "{}\n{}", ok.stdout, ok.stderr);
    crate::assert_transcript!("verify_signin", ok);

    // --scope overrides the spec: asking also for offline_access, which the preset does not
    // consent, is refused by Entra (AADSTS65001), and the error says how to add it.
    let mut args = vec!["verify-signin", SPEC, "--username", "alice@contoso.com"];
    for s in ["openid", "profile", "email", "offline_access", "User.Read"] {
        args.extend(["--scope", s]);
    }
    let refused = emu.entractl_as(P1_TENANT_ID, Some(SANDBOX_PASSWORD), &args);
    assert_eq!(refused.code, 1, "{}\n{}", refused.stdout, refused.stderr);
    crate::assert_transcript!("verify_signin_unconsented_scope", refused);
    assert_eq!(writes(&emu), Vec::<String>::new());
    emu.shutdown();
}

/// The seed spec (Mac Login with `excludeApp` only) on tenants as Entra behaves today: entractl
/// tells the truth. Where the app exclusion stops working, the sign-in forecast fails (`verify` and
/// `plan --detailed-exitcode` exit 3), and the real sign-in agrees (AADSTS50076).
#[test]
fn on_todays_tenant_the_seed_remediation_is_forecast_to_fail_and_does() {
    let verify_signin = ["verify-signin", SPEC, "--username", "alice@contoso.com"];
    let verify = ["verify", SPEC];
    // Converge the seed spec where the app exclusion still works (enforcement disabled) ...
    let emu = Sandbox::scenario("p1-legacy", P1_TENANT_ID);
    let journal = scratch("kandji_passport_enforced").join("journal");
    let out = apply(&emu, &journal, true);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let ok = emu.entractl_as(P1_TENANT_ID, Some(SANDBOX_PASSWORD), &verify_signin);
    assert_eq!(ok.code, 0, "{}\n{}", ok.stdout, ok.stderr);
    let v = emu.entractl_as(P1_TENANT_ID, None, &verify);
    assert_eq!(v.code, 0, "{}\n{}", v.stdout, v.stderr);
    crate::assert_transcript!("verify_legacy_converged", v);
    // ... then enforcement is turned on: the forecast says the sign-in will fail, and it does.
    emu.set_baseline_scopes(P1_TENANT_ID, BaselineScopes::Enforced)
        .unwrap();
    let v = emu.entractl_as(P1_TENANT_ID, None, &verify);
    assert_eq!(v.code, 3, "{}\n{}", v.stdout, v.stderr);
    crate::assert_transcript!("verify_enforcement_turned_on", v);
    for (format, name) in [
        ("json", "verify_enforcement_turned_on_json"),
        ("markdown", "verify_enforcement_turned_on_markdown"),
    ] {
        let v = emu.entractl_as(P1_TENANT_ID, None, &["verify", SPEC, "--format", format]);
        assert_eq!(v.code, 3, "{}\n{}", v.stdout, v.stderr);
        crate::assert_transcript!(name, v);
    }
    let refused = emu.entractl_as(P1_TENANT_ID, Some(SANDBOX_PASSWORD), &verify_signin);
    assert_eq!(refused.code, 1, "{}\n{}", refused.stdout, refused.stderr);
    assert!(refused.stderr.contains("AADSTS50076"), "{}", refused.stderr);
    emu.shutdown();

    // On p1 (enforced, Microsoft-managed policies in report-only): no application exclusion is
    // planned (it would not help, and managed policies refuse it), the policies that still demand
    // MFA are named, and the forecast fails.
    let emu = Sandbox::scenario("p1", P1_TENANT_ID);
    let plan = emu.entractl_as(P1_TENANT_ID, None, &["plan", SPEC, "--detailed-exitcode"]);
    assert_eq!(plan.code, 3, "{}\n{}", plan.stdout, plan.stderr);
    crate::assert_transcript!("seed_plan_on_enforced_tenant", plan);
    let journal = scratch("kandji_passport_managed").join("journal");
    let out = apply(&emu, &journal, true);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let policy_writes: Vec<String> = writes(&emu)
        .into_iter()
        .filter(|w| w.contains("conditionalAccess"))
        .collect();
    assert_eq!(policy_writes, Vec::<String>::new());
    let v = emu.entractl_as(P1_TENANT_ID, None, &verify);
    assert_eq!(v.code, 3, "{}\n{}", v.stdout, v.stderr);
    let refused = emu.entractl_as(P1_TENANT_ID, Some(SANDBOX_PASSWORD), &verify_signin);
    assert_eq!(refused.code, 1, "{}\n{}", refused.stdout, refused.stderr);
    assert!(refused.stderr.contains("AADSTS50076"), "{}", refused.stderr);
    emu.shutdown();
}

/// graph-emulator's binary belongs to another package, so cargo gives this test no
/// `CARGO_BIN_EXE_graph-emulator`: `GRAPH_EMULATOR_BIN` when set (`make test` builds it and passes
/// it), else the one beside entractl's binary in this build's target directory, which
/// `cargo test --workspace` builds in the same invocation (for graph-emulator's own tests).
fn graph_emulator_bin() -> PathBuf {
    if let Some(path) = std::env::var_os("GRAPH_EMULATOR_BIN") {
        return PathBuf::from(path);
    }
    let entractl = PathBuf::from(env!("CARGO_BIN_EXE_entractl"));
    let sibling = entractl
        .parent()
        .expect("binary directory")
        .join(format!("graph-emulator{}", std::env::consts::EXE_SUFFIX));
    assert!(
        sibling.is_file(),
        "{} is not built: run `make test` (or `cargo test --workspace`), or set GRAPH_EMULATOR_BIN",
        sibling.display()
    );
    sibling
}

#[test]
fn the_demo_script_runs_end_to_end_and_leaves_nothing_running() {
    let script = std::fs::read_to_string(root().join("scripts/demo.sh")).unwrap();
    assert!(
        script.contains(SANDBOX_PASSWORD),
        "scripts/demo.sh lacks the scenario's sandbox password (graph_emulator::scenarios::SANDBOX_PASSWORD)"
    );
    let emulator = graph_emulator_bin();

    let mut cmd = Command::new("bash");
    for (k, _) in std::env::vars() {
        if k.starts_with("AZURE_") || k.starts_with("ACTIONS_") || k.starts_with("ENTRACTL_") {
            cmd.env_remove(k);
        }
    }
    let out = cmd
        .current_dir(root())
        .arg("scripts/demo.sh")
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .env("ENTRACTL_BIN", env!("CARGO_BIN_EXE_entractl"))
        .env("GRAPH_EMULATOR_BIN", &emulator)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run scripts/demo.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "demo failed:\n{stdout}\n{stderr}");
    // Web Login first: converged with no security downgrade; then the same app switched to
    // Mac Login, whose password sign-in works.
    let (web, mac) = stdout
        .split_once("==> Mac Login:")
        .unwrap_or_else(|| panic!("no Mac Login part:\n{stdout}"));
    for step in [
        "==> Web Login (recommended): entractl plan specs/kandji-passport.yaml",
        "Apply complete: 6 change(s) made; converged",
        "exit 0: the tenant matches the spec",
    ] {
        assert!(web.contains(step), "`{step}` missing:\n{stdout}");
    }
    assert!(!web.contains("security downgrade"), "{stdout}");
    for step in [
        " entractl plan specs/kandji-passport-mac-login.yaml",
        "5 security downgrade(s): apply needs --allow-security-downgrade",
        "because the tenant is a sandbox; in real use, review each",
        // The 6 of Mac Login, and entractl's record of carol's per-user MFA (group and entry).
        "Apply complete: 8 change(s) made; converged",
        "exit 0: the tenant matches the spec",
        "Sign-in succeeded: alice@contoso.com",
        "preferred_username  alice@contoso.com",
    ] {
        assert!(mac.contains(step), "`{step}` missing:\n{stdout}");
    }
    for leak in [CI_CLIENT_SECRET, SANDBOX_PASSWORD, "eyJ"] {
        assert!(
            !stdout.contains(leak) && !stderr.contains(leak),
            "the demo printed a secret or token"
        );
    }
    // The emulator the script started is gone (the script waited for it, so its pid is free).
    let pid: u32 = stdout
        .split("graph-emulator pid ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("the demo did not print the emulator's pid:\n{stdout}"));
    if Path::new("/proc/self").exists() {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "graph-emulator (pid {pid}) is still running after the demo"
        );
    }
}
