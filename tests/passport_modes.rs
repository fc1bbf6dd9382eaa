//! Issue 17's acceptance matrix: both Passport modes on each kind of tenant the emulator models
//! (legacy behaviour, baseline-scope enforcement with Microsoft-managed policies in report-only,
//! the managed MFA policy switched on, a lapsed P1 licence). On each: apply, plan again (converged,
//! exit 0 — or 3 when the forecast says the password sign-in fails), and the forecast must agree
//! with the real password sign-in (`verify-signin` against the emulator's identity platform, the
//! oracle). The whole matrix is one snapshot; the agreement is asserted row by row.

use std::path::Path;

use entractl_graph::GraphRequest;
use graph_emulator::scenarios::{FREE_LAPSED_TENANT_ID, P1_TENANT_ID, SANDBOX_PASSWORD};
use serde_json::{Value, json};

use crate::util::{Sandbox, scratch, write_spec};

/// A tenant of the matrix: the emulator scenario, its tenant, an assigned user, and what to change
/// after it starts.
struct Tenant {
    name: &'static str,
    scenario: &'static str,
    id: &'static str,
    user: &'static str,
    managed_mfa_on: bool,
}

const TENANTS: [Tenant; 4] = [
    Tenant {
        name: "legacy (enforcement disabled)",
        scenario: "p1-legacy",
        id: P1_TENANT_ID,
        user: "alice@contoso.com",
        managed_mfa_on: false,
    },
    Tenant {
        name: "enforced, managed policies report-only",
        scenario: "p1",
        id: P1_TENANT_ID,
        user: "alice@contoso.com",
        managed_mfa_on: false,
    },
    Tenant {
        name: "enforced, managed MFA policy on",
        scenario: "p1",
        id: P1_TENANT_ID,
        user: "alice@contoso.com",
        managed_mfa_on: true,
    },
    Tenant {
        name: "P1 licence lapsed",
        scenario: "free-lapsed",
        id: FREE_LAPSED_TENANT_ID,
        user: "alice@tailspin.onmicrosoft.com",
        managed_mfa_on: false,
    },
];

/// Mac Login with every remedy that works on today's Entra: the app exclusion (legacy tenants)
/// and the identity exclusion (anywhere, Microsoft-managed policies included).
const MAC_LOGIN_MFA: &str = "mfa:
  conditionalAccess:
    excludeApp: from-policies-requiring-mfa
    excludeUsers: from-policies-requiring-mfa
";

fn spec(dir: &Path, t: &Tenant, mode: &str) -> String {
    let mfa = if mode == "mac-login" {
        MAC_LOGIN_MFA
    } else {
        ""
    };
    let text = format!(
        "version: 1
tenant: {}
preset: kandji-passport
passport:
  mode: {mode}
app:
  displayName: Kandji Passport
  uniqueName: kandji-passport
assignments:
  users: [{}]
{mfa}",
        t.id, t.user
    );
    let name = format!("{}-{mode}.yaml", t.scenario);
    write_spec(dir, &name, &text).display().to_string()
}

/// Switches "Microsoft-managed: Multifactor authentication for all users" on, as Microsoft may
/// (only its state changes, as managed policies allow).
fn switch_managed_mfa_on(emu: &Sandbox) {
    let list = emu.send(GraphRequest::get("/identity/conditionalAccess/policies"));
    let policy = list["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["displayName"] == "Microsoft-managed: Multifactor authentication for all users")
        .expect("p1 has the managed MFA policy");
    let id = policy["id"].as_str().unwrap();
    emu.send(
        GraphRequest::patch(format!("/identity/conditionalAccess/policies/{id}"))
            .json(json!({"state": "enabled"})),
    );
}

/// The forecast's verdict for `user` in a JSON plan: `works`, `needs-mfa`, …, or `no password
/// sign-in` (Web Login).
fn verdict(plan: &Value, user: &str) -> String {
    let f = &plan["sign_in_forecast"];
    if f["mode"] == "web-login" {
        return "no password sign-in".to_string();
    }
    f["users"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|u| u["user"] == user)
        .map(|u| u["verdict"]["kind"].as_str().unwrap_or("?").to_string())
        .unwrap_or_else(|| "absent".to_string())
}

/// The AADSTS code of a failed sign-in (`ok` when it worked).
fn sign_in(emu: &Sandbox, t: &Tenant, spec: &str) -> String {
    let out = emu.entractl_as(
        t.id,
        Some(SANDBOX_PASSWORD),
        &["verify-signin", spec, "--username", t.user],
    );
    if out.code == 0 {
        return "ok".to_string();
    }
    let text = format!("{}{}", out.stdout, out.stderr);
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .find(|w| w.starts_with("AADSTS"))
        .unwrap_or("failed without an AADSTS code")
        .to_string()
}

fn row(t: &Tenant, mode: &str) -> String {
    let emu = Sandbox::scenario(t.scenario, t.id);
    if t.managed_mfa_on {
        switch_managed_mfa_on(&emu);
    }
    let dir = scratch(&format!("passport_modes_{}_{mode}", t.scenario));
    let spec = spec(&dir, t, mode);
    let apply = emu.apply_as(t.id, &spec, &dir.join("journal"), true);
    assert_eq!(
        apply.code, 0,
        "{}: {}\n{}",
        t.name, apply.stdout, apply.stderr
    );
    let again = emu.entractl_as(t.id, None, &["plan", &spec, "--detailed-exitcode"]);
    let json = emu.entractl_as(t.id, None, &["plan", &spec, "--format", "json"]);
    assert_eq!(json.code, 0, "{}", json.stderr);
    let plan: Value = serde_json::from_str(&json.stdout).expect("JSON plan");
    assert_eq!(
        plan["has_changes"], false,
        "{}: not converged: {plan:#}",
        t.name
    );
    let forecast = verdict(&plan, t.user);
    let signed_in = sign_in(&emu, t, &spec);
    // The agreement: the forecast says it works exactly when the real sign-in works; Web Login
    // keeps the password grant off (AADSTS7000218: public client flows are off).
    match forecast.as_str() {
        "works" => assert_eq!(signed_in, "ok", "{}: {mode}", t.name),
        "no password sign-in" => assert_eq!(signed_in, "AADSTS7000218", "{}", t.name),
        _ => assert_ne!(signed_in, "ok", "{}: {mode}: forecast {forecast}", t.name),
    }
    assert_eq!(
        again.code == 3,
        forecast != "works" && forecast != "no password sign-in",
        "{}: {mode}: plan exit {} with forecast {forecast}",
        t.name,
        again.code
    );
    emu.shutdown();
    format!(
        "{:<40} {:<10} plan exit {}  forecast {:<20} sign-in {}",
        t.name, mode, again.code, forecast, signed_in
    )
}

#[test]
fn both_modes_converge_on_every_tenant_and_the_forecast_agrees_with_the_sign_in() {
    let mut rows = Vec::new();
    for t in &TENANTS {
        for mode in ["web-login", "mac-login"] {
            rows.push(row(t, mode));
        }
    }
    insta::assert_snapshot!("passport_modes_matrix", rows.join("\n"));
}
