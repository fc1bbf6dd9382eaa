//! End-to-end tests of the MFA posture (issue 7) and `verify-signin` against graph-emulator:
//! scenario `p1` (security defaults off, per-user MFA enforced for carol, several MFA policies)
//! and scenario `free` (security defaults on, per-user MFA for bob and carol, no conditional
//! access).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use entractl_graph::GraphRequest;
use graph_emulator::scenarios::{FREE_TENANT_ID, P1_TENANT_ID, SANDBOX_PASSWORD};
use serde_json::Value;

use crate::util::{Sandbox, TestOutput, scratch, write_spec};

fn start(scenario: &str) -> Sandbox {
    let tenant = if scenario == "free" {
        FREE_TENANT_ID
    } else {
        P1_TENANT_ID
    };
    Sandbox::scenario(scenario, tenant)
}

fn policies(emu: &Sandbox, tenant: &str) -> BTreeMap<String, Value> {
    let (rt, client) = emu.graph_for(tenant);
    rt.block_on(client.list_all(GraphRequest::get("/identity/conditionalAccess/policies")))
        .expect("read policies")
        .into_iter()
        .map(|p| (p["id"].as_str().unwrap().to_string(), p))
        .collect()
}

fn per_user_state(emu: &Sandbox, tenant: &str, upn: &str) -> String {
    let (rt, client) = emu.graph_for(tenant);
    let v = rt
        .block_on(
            client.send(
                GraphRequest::get(format!("/users/{upn}/authentication/requirements")).beta(),
            ),
        )
        .expect("read per-user MFA")
        .json()
        .clone();
    v["perUserMfaState"].as_str().unwrap().to_string()
}

fn security_defaults(emu: &Sandbox, tenant: &str) -> bool {
    let (rt, client) = emu.graph_for(tenant);
    rt.block_on(client.send(GraphRequest::get(
        "/policies/identitySecurityDefaultsEnforcementPolicy",
    )))
    .expect("read security defaults")
    .json()["isEnabled"]
        .as_bool()
        .unwrap()
}

/// Writes a spec for the test: the kandji-passport preset in Mac Login mode (password sign-in, the
/// mode that needs MFA weakened), the given tenant and assignments,
/// extra YAML under `app:` and an `mfa` section. The delegated permissions add `offline_access`
/// to the preset's openid, email, profile, User.Read, as a spec does when Passport on the Macs
/// asks for it; sign-ins ask for the spec's declared scopes, so they cover that case too.
fn spec(
    dir: &Path,
    name: &str,
    tenant: &str,
    assignments: &str,
    extra_app: &str,
    mfa: &str,
) -> PathBuf {
    let text = format!(
        "version: 1\ntenant: {tenant}\npreset: kandji-passport\npassport:\n  mode: mac-login\napp:\n  displayName: Kandji Passport\n  uniqueName: kandji-passport\n  apiPermissions:\n    Microsoft Graph:\n      delegated: [openid, email, profile, offline_access, User.Read]\n{extra_app}assignments:\n{assignments}{mfa}"
    );
    write_spec(dir, name, &text)
}

const MFA_UNMANAGED: &str = "mfa:\n  securityDefaults: unmanaged\n  perUserMfa: unmanaged\n  conditionalAccess:\n    excludeApp: unmanaged\n";
const PUBLIC_FLOWS_OFF: &str = "  publicClientFlows: false\n";

fn apply(emu: &Sandbox, tenant: &str, spec: &Path, journal: &Path, downgrade: bool) -> TestOutput {
    emu.apply_as(tenant, &spec.display().to_string(), journal, downgrade)
}

fn verify(emu: &Sandbox, tenant: &str, spec: &Path, upn: &str) -> TestOutput {
    let spec = spec.display().to_string();
    emu.entractl_as(
        tenant,
        Some(SANDBOX_PASSWORD),
        &["verify-signin", &spec, "--username", upn],
    )
}

#[test]
fn p1_verify_fails_until_mfa_is_applied_then_succeeds_and_only_exclusions_change() {
    // On p1-legacy on purpose: excluding the app makes the sign-in succeed only before baseline-scope
    // enforcement (p1 today answers 50076 whatever is excluded); entractl's side is issue 17.
    let emu = start("p1-legacy");
    let dir = scratch("mfa_p1");
    let journal = dir.join("journal");
    let assign = "  users: [alice@contoso.com, bob@contoso.com]\n  groups: [Mac Users]\n";

    // The app registered and assigned, public client flows off, MFA not managed: 7000218.
    let stage_a = spec(
        &dir,
        "a.yaml",
        "contoso.onmicrosoft.com",
        assign,
        PUBLIC_FLOWS_OFF,
        MFA_UNMANAGED,
    );
    let out = apply(&emu, P1_TENANT_ID, &stage_a, &journal, false);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let out = verify(&emu, P1_TENANT_ID, &stage_a, "alice@contoso.com");
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    crate::assert_transcript!("stage_a_verify_7000218", out);

    // Public client flows on, MFA still not managed: 50076 (CA001 requires MFA of everyone).
    let stage_b = spec(
        &dir,
        "b.yaml",
        "contoso.onmicrosoft.com",
        assign,
        "",
        MFA_UNMANAGED,
    );
    let out = apply(&emu, P1_TENANT_ID, &stage_b, &journal, false);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let out = verify(&emu, P1_TENANT_ID, &stage_b, "alice@contoso.com");
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    crate::assert_transcript!("stage_b_verify_50076", out);

    // The full spec: the plan flags every weakening change, in every format.
    let full = spec(&dir, "full.yaml", "contoso.onmicrosoft.com", assign, "", "");
    let full_s = full.display().to_string();
    let text = emu.entractl_as(P1_TENANT_ID, None, &["plan", &full_s]);
    assert_eq!(text.code, 0, "{}\n{}", text.stdout, text.stderr);
    crate::assert_transcript!("full_plan_text", text);
    let md = emu.entractl_as(
        P1_TENANT_ID,
        None,
        &["plan", &full_s, "--format", "markdown"],
    );
    crate::assert_transcript!("full_plan_markdown", md);
    let json = emu.entractl_as(P1_TENANT_ID, None, &["plan", &full_s, "--format", "json"]);
    let plan: Value = serde_json::from_str(&json.stdout).expect("json plan");
    let changes = plan["changes"].as_array().unwrap();
    let of_kind = |k: &str| -> Vec<&Value> {
        changes
            .iter()
            .filter(|c| c["object"]["kind"] == k && c["action"] != "no-op")
            .collect()
    };
    let ca = of_kind("conditionalAccessPolicy");
    let names: Vec<&str> = ca
        .iter()
        .map(|c| c["object"]["display"].as_str().unwrap())
        .collect();
    assert!(!ca.is_empty(), "{}", json.stdout);
    for c in ca.iter().chain(of_kind("perUserMfa").iter()) {
        assert_eq!(c["risks"], serde_json::json!(["security-downgrade"]), "{c}");
    }
    // Block legacy authentication, the disabled block policy: never excluded.
    assert!(
        !names
            .iter()
            .any(|n| n.starts_with("CA004") || n.starts_with("CA007")),
        "{names:?}"
    );
    let per_user: Vec<&str> = of_kind("perUserMfa")
        .iter()
        .map(|c| c["object"]["display"].as_str().unwrap())
        .collect();
    assert_eq!(
        per_user,
        ["carol@contoso.com"],
        "only carol has per-user MFA"
    );
    let text_notes = &text.stdout;
    assert!(
        !text_notes.contains("not applied by this version"),
        "{text_notes}"
    );

    // Apply without --allow-security-downgrade refuses, names the changes, writes nothing.
    let before = policies(&emu, P1_TENANT_ID);
    emu.clear_log();
    let out = apply(&emu, P1_TENANT_ID, &full, &journal, false);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    crate::assert_transcript!("full_apply_refused", out);
    for n in &names {
        assert!(out.stderr.contains(n), "{n} not named:\n{}", out.stderr);
    }
    assert_eq!(emu.writes().len(), 0);

    // With it: converges.
    let out = apply(&emu, P1_TENANT_ID, &full, &journal, true);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    crate::assert_transcript!("full_apply", out);
    let app_id = plan_client_id(&emu, &full_s);

    // Each touched policy: only excludeApplications differs, by exactly the appId appended.
    let after = policies(&emu, P1_TENANT_ID);
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>()
    );
    let mut touched = 0;
    for (id, b) in &before {
        let a = &after[id];
        if a == b {
            continue;
        }
        touched += 1;
        let name = b["displayName"].as_str().unwrap();
        assert!(names.contains(&name), "{name} changed but was not planned");
        let mut expected = b.clone();
        let list = expected["conditions"]["applications"]["excludeApplications"]
            .as_array_mut()
            .unwrap();
        list.push(Value::String(app_id.clone()));
        let mut a_cmp = a.clone();
        for v in [&mut expected, &mut a_cmp] {
            v.as_object_mut().unwrap().remove("modifiedDateTime");
        }
        assert_eq!(
            a_cmp, expected,
            "policy {name}: more than excludeApplications changed"
        );
        assert_eq!(a["state"], b["state"]);
    }
    assert_eq!(touched, names.len());
    assert_eq!(
        per_user_state(&emu, P1_TENANT_ID, "carol@contoso.com"),
        "disabled"
    );
    assert_eq!(
        per_user_state(&emu, P1_TENANT_ID, "dave@contoso.com"),
        "disabled"
    );

    // verify-signin now succeeds and shows the configured claims.
    for upn in ["alice@contoso.com", "carol@contoso.com"] {
        let out = verify(&emu, P1_TENANT_ID, &full, upn);
        assert_eq!(out.code, 0, "{upn}: {}\n{}", out.stdout, out.stderr);
        crate::assert_transcript!(
            format!("verify_signin_{}", &upn[..upn.find('@').unwrap()]),
            out
        );
    }

    // Second apply: nothing to do, zero writes; the journal holds each policy's prior state.
    emu.clear_log();
    let out = apply(&emu, P1_TENANT_ID, &full, &journal, false);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    crate::assert_transcript!("second_apply", out);
    assert_eq!(emu.writes().len(), 0);
    let journaled: Vec<Value> = walk(&journal)
        .into_iter()
        .filter_map(|p| serde_json::from_str(&std::fs::read_to_string(p).ok()?).ok())
        .collect();
    for (id, b) in &before {
        if after[id] != *b {
            assert!(
                journaled
                    .iter()
                    .any(|j| j.to_string().contains(&b["displayName"].to_string())
                        && j.to_string().contains(id)),
                "no journal entry for policy {id}"
            );
        }
    }
    emu.shutdown();
}

fn plan_client_id(emu: &Sandbox, spec: &str) -> String {
    let json = emu.entractl_as(P1_TENANT_ID, None, &["plan", spec, "--format", "json"]);
    let plan: Value = serde_json::from_str(&json.stdout).expect("json plan");
    plan["outputs"]["client_id"]
        .as_str()
        .or_else(|| plan["outputs"]["clientId"].as_str())
        .expect("client id in the outputs")
        .to_string()
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn free_tier_security_defaults_and_per_user_then_sign_in_works_and_ca_is_skipped() {
    let emu = start("free");
    let dir = scratch("mfa_free");
    let journal = dir.join("journal");
    let tenant = "fabrikam.onmicrosoft.com";
    let assign = "  users: [alice@fabrikam.onmicrosoft.com, bob@fabrikam.onmicrosoft.com, carol@fabrikam.onmicrosoft.com]\n";

    let stage_a = spec(
        &dir,
        "a.yaml",
        tenant,
        assign,
        PUBLIC_FLOWS_OFF,
        MFA_UNMANAGED,
    );
    let out = apply(&emu, FREE_TENANT_ID, &stage_a, &journal, false);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let out = verify(
        &emu,
        FREE_TENANT_ID,
        &stage_a,
        "alice@fabrikam.onmicrosoft.com",
    );
    assert_eq!(out.code, 1);
    crate::assert_transcript!("free_stage_a_verify_7000218", out);

    let stage_b = spec(&dir, "b.yaml", tenant, assign, "", MFA_UNMANAGED);
    assert_eq!(
        apply(&emu, FREE_TENANT_ID, &stage_b, &journal, false).code,
        0
    );
    let out = verify(
        &emu,
        FREE_TENANT_ID,
        &stage_b,
        "alice@fabrikam.onmicrosoft.com",
    );
    assert_eq!(out.code, 1);
    crate::assert_transcript!("free_stage_b_verify_50076", out);

    let full = spec(&dir, "full.yaml", tenant, assign, "", "");
    let full_s = full.display().to_string();
    let plan = emu.entractl_as(FREE_TENANT_ID, None, &["plan", &full_s]);
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
    crate::assert_transcript!("free_full_plan", plan);

    emu.clear_log();
    let out = apply(&emu, FREE_TENANT_ID, &full, &journal, false);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    crate::assert_transcript!("free_full_apply_refused", out);
    assert_eq!(emu.writes().len(), 0);
    assert!(security_defaults(&emu, FREE_TENANT_ID));

    let out = apply(&emu, FREE_TENANT_ID, &full, &journal, true);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(!security_defaults(&emu, FREE_TENANT_ID));
    for upn in [
        "bob@fabrikam.onmicrosoft.com",
        "carol@fabrikam.onmicrosoft.com",
    ] {
        assert_eq!(per_user_state(&emu, FREE_TENANT_ID, upn), "disabled");
    }
    // A user who cannot sign in to the app keeps per-user MFA.
    let (rt, client) = emu.graph_for(FREE_TENANT_ID);
    let enforced_elsewhere = rt
        .block_on(client.list_all(GraphRequest::get("/users").select(&["id", "userPrincipalName"])))
        .unwrap()
        .into_iter()
        .filter(|u| {
            let upn = u["userPrincipalName"].as_str().unwrap();
            !upn.starts_with("alice@") && !upn.starts_with("bob@") && !upn.starts_with("carol@")
        })
        .filter(|u| per_user_state(&emu, FREE_TENANT_ID, u["id"].as_str().unwrap()) == "enforced")
        .count();
    assert!(
        enforced_elsewhere > 0,
        "per-user MFA of other users must stay"
    );

    // No password and no terminal: refused before anything is sent, naming the variable.
    emu.clear_log();
    let out = emu.entractl_as(
        FREE_TENANT_ID,
        None,
        &[
            "verify-signin",
            &full_s,
            "--username",
            "alice@fabrikam.onmicrosoft.com",
        ],
    );
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    crate::assert_transcript!("verify_signin_without_password", out);
    let token_calls = emu
        .request_log()
        .iter()
        .filter(|e| e.template.contains("oauth2/v2.0/token"))
        .count();
    assert_eq!(
        token_calls, 1,
        "only entractl's own sign-in, no password sign-in"
    );

    for upn in [
        "alice@fabrikam.onmicrosoft.com",
        "bob@fabrikam.onmicrosoft.com",
    ] {
        let out = verify(&emu, FREE_TENANT_ID, &full, upn);
        assert_eq!(out.code, 0, "{upn}: {}\n{}", out.stdout, out.stderr);
        crate::assert_transcript!(
            format!("free_verify_signin_{}", &upn[..upn.find('@').unwrap()]),
            out
        );
    }

    emu.clear_log();
    let out = apply(&emu, FREE_TENANT_ID, &full, &journal, false);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(emu.writes().len(), 0);
    emu.shutdown();
}
