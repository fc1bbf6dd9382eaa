//! End to end (issue 17, item 4): what entractl weakened is restored once the spec no longer
//! needs it, from the record it keeps in the tenant — with a new, empty journal directory, as on
//! another machine. The emulator's state is the oracle.

use entractl_graph::GraphRequest;
use graph_emulator::scenarios::P1_TENANT_ID;
use serde_json::Value;

use crate::util::{Sandbox, actionable, scratch, write_spec};

fn spec(groups: &str) -> String {
    format!(
        "version: 1
tenant: contoso.onmicrosoft.com
preset: kandji-passport
passport:
  mode: mac-login
app:
  displayName: Kandji Passport
  uniqueName: kandji-weakened
assignments:
  users: [alice@contoso.com]
{groups}  prune: true
mfa:
  securityDefaults: unmanaged
  perUserMfa: disabled-for-app-users
  conditionalAccess:
    excludeApp: unmanaged
"
    )
}

fn per_user_state(emu: &Sandbox, upn: &str) -> String {
    let v = emu.send(GraphRequest::get(format!("/users/{upn}/authentication/requirements")).beta());
    v["perUserMfaState"].as_str().unwrap().to_string()
}

/// The record groups' members (object ids), as the tenant holds them.
fn recorded(emu: &Sandbox) -> Vec<String> {
    let groups = emu.send(
        GraphRequest::get("/groups")
            .query("$filter", "startswith(mailNickname,'entractl-record-')"),
    );
    let mut out = Vec::new();
    for g in groups["value"].as_array().unwrap() {
        let id = g["id"].as_str().unwrap();
        let members = emu.send(GraphRequest::get(format!("/groups/{id}/members")));
        out.extend(
            members["value"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["id"].as_str().unwrap().to_string()),
        );
    }
    out
}

#[test]
fn a_group_leaving_the_spec_gets_its_members_per_user_mfa_back_from_a_fresh_journal() {
    let emu = Sandbox::scenario("p1", P1_TENANT_ID);
    let dir = scratch("weakened");
    let with_group = write_spec(&dir, "with.yaml", &spec("  groups: [Mac Users]\n"));
    let with_group = with_group.to_str().unwrap();
    let carol = emu.send(GraphRequest::get("/users/carol@contoso.com"))["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(per_user_state(&emu, "carol@contoso.com"), "enforced");

    let out = emu.apply_as(P1_TENANT_ID, with_group, &dir.join("journal-a"), true);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(per_user_state(&emu, "carol@contoso.com"), "disabled");
    assert_eq!(recorded(&emu), [carol.as_str()]);

    // Mac Users leaves the spec. Another machine: a new journal directory.
    let without = write_spec(&dir, "without.yaml", &spec(""));
    let without = without.to_str().unwrap();
    let text = emu.entractl(&["plan", without]);
    assert_eq!(text.code, 0, "{}\n{}", text.stdout, text.stderr);
    crate::assert_transcript!("weakened_restore_plan_text", text);
    let md = emu.entractl(&["plan", without, "--format", "markdown"]);
    crate::assert_transcript!("weakened_restore_plan_markdown", md);
    let plan = emu.json_plan(without);
    let changes = actionable(&plan);
    let restore: Vec<&Value> = changes
        .iter()
        .filter(|c| c["object"]["kind"] == "perUserMfa")
        .collect();
    assert_eq!(restore.len(), 1, "{changes:#?}");
    assert_eq!(restore[0]["object"]["display"], "carol@contoso.com");
    assert_eq!(restore[0]["fields"][0]["after"], "enforced");
    assert!(
        restore[0].get("risks").is_none(),
        "not a downgrade: {:#}",
        restore[0]
    );
    assert!(
        changes
            .iter()
            .any(|c| c["object"]["kind"] == "record" && c["action"] == "delete"),
        "{changes:#?}"
    );

    let out = emu.apply_as(P1_TENANT_ID, without, &dir.join("journal-b"), false);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(per_user_state(&emu, "carol@contoso.com"), "enforced");
    assert!(recorded(&emu).is_empty());
    // Nothing left to change (exit 3 would only say the forecast still sees MFA for alice: CA001).
    let again = emu.entractl(&["plan", without]);
    assert!(again.stdout.contains("No changes"), "{}", again.stdout);
}

/// Mac Login on an enforced tenant: per-user MFA off and the app's users and groups excluded
/// from the policies requiring MFA.
const MAC_LOGIN: &str = "version: 1
tenant: contoso.onmicrosoft.com
preset: kandji-passport
passport:
  mode: mac-login
app:
  displayName: Kandji Passport
  uniqueName: kandji-switch
assignments:
  users: [alice@contoso.com, bob@contoso.com]
  groups: [Mac Users]
mfa:
  securityDefaults: unmanaged
  perUserMfa: disabled-for-app-users
  conditionalAccess:
    excludeApp: []
    excludeUsers: from-policies-requiring-mfa
";

/// Each policy's name, `excludeUsers` and `excludeGroups`, as the emulator holds them.
fn identity_exclusions(emu: &Sandbox) -> Vec<(String, Value, Value)> {
    let policies = emu.send(GraphRequest::get("/identity/conditionalAccess/policies"));
    let mut out: Vec<(String, Value, Value)> = policies["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let u = &p["conditions"]["users"];
            (
                p["displayName"].as_str().unwrap().to_string(),
                u["excludeUsers"].clone(),
                u["excludeGroups"].clone(),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn mac_login_switched_to_web_login_restores_what_it_weakened_and_keeps_a_break_glass_exclusion() {
    let emu = Sandbox::scenario("p1", P1_TENANT_ID);
    let dir = scratch("weakened_switch");
    let id = |path: &str| {
        emu.send(GraphRequest::get(path))["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let alice = id("/users/alice@contoso.com");
    // An administrator excluded alice from CA001 by hand (a break-glass exclusion).
    let policies = emu.send(GraphRequest::get("/identity/conditionalAccess/policies"));
    let ca001 = policies["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["displayName"].as_str().unwrap().starts_with("CA001"))
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    emu.send(
        GraphRequest::patch(format!("/identity/conditionalAccess/policies/{ca001}"))
            .json(serde_json::json!({"conditions": {"users": {"excludeUsers": [alice.clone()]}}})),
    );
    let before = identity_exclusions(&emu);
    assert_eq!(per_user_state(&emu, "carol@contoso.com"), "enforced");

    let mac = write_spec(&dir, "mac.yaml", MAC_LOGIN);
    let mac = mac.to_str().unwrap();
    let out = emu.apply_as(P1_TENANT_ID, mac, &dir.join("journal-a"), true);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(per_user_state(&emu, "carol@contoso.com"), "disabled");
    assert_ne!(identity_exclusions(&emu), before, "identities excluded");
    assert!(!recorded(&emu).is_empty());

    // Web Login, applied from another machine (a new journal directory): nothing weakened stays.
    let web_text = MAC_LOGIN
        .split_once("mfa:")
        .unwrap()
        .0
        .replace("mode: mac-login", "mode: web-login");
    let web = write_spec(&dir, "web.yaml", &web_text);
    let web = web.to_str().unwrap();
    let plan = emu.json_plan(web);
    for c in actionable(&plan) {
        assert!(
            c.get("risks")
                .is_none_or(|r| !r.to_string().contains("security-downgrade")),
            "{c:#}"
        );
    }
    let out = emu.apply_as(P1_TENANT_ID, web, &dir.join("journal-b"), false);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(per_user_state(&emu, "carol@contoso.com"), "enforced");
    // Every policy's identity exclusions as before Mac Login: alice's (the admin's) still in CA001.
    assert_eq!(identity_exclusions(&emu), before);
    assert!(recorded(&emu).is_empty());
    let again = emu.entractl(&["plan", web, "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
}

/// Each policy's name and `excludeApplications`, as the emulator holds them.
fn app_exclusions(emu: &Sandbox) -> Vec<(String, Value)> {
    let policies = emu.send(GraphRequest::get("/identity/conditionalAccess/policies"));
    let mut out: Vec<(String, Value)> = policies["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["displayName"].as_str().unwrap().to_string(),
                p["conditions"]["applications"]["excludeApplications"].clone(),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn mac_login_switched_to_web_login_takes_the_apps_exclusions_out_again() {
    // p1-legacy on purpose: there the preset's app exclusion is what Mac Login plans.
    let emu = Sandbox::scenario("p1-legacy", P1_TENANT_ID);
    let dir = scratch("weakened_app_exclusion");
    let mac_text = "version: 1
tenant: contoso.onmicrosoft.com
preset: kandji-passport
passport:
  mode: mac-login
app:
  displayName: Kandji Passport
  uniqueName: kandji-app-exclusion
assignments:
  users: [alice@contoso.com, bob@contoso.com]
";
    let before = app_exclusions(&emu);
    let mac = write_spec(&dir, "mac.yaml", mac_text);
    let mac = mac.to_str().unwrap();
    let out = emu.apply_as(P1_TENANT_ID, mac, &dir.join("journal-a"), true);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let app_id = emu.send(GraphRequest::get(
        "/applications(uniqueName='kandji-app-exclusion')",
    ))["appId"]
        .as_str()
        .unwrap()
        .to_string();
    let excluded = |emu: &Sandbox| {
        app_exclusions(emu)
            .into_iter()
            .filter(|(_, apps)| apps.to_string().contains(&app_id))
            .count()
    };
    assert!(excluded(&emu) > 0, "{:#?}", app_exclusions(&emu));

    // Web Login from a new journal directory: the app's exclusions come out, nothing else.
    let web = write_spec(
        &dir,
        "web.yaml",
        &mac_text.replace("mode: mac-login", "mode: web-login"),
    );
    let web = web.to_str().unwrap();
    let text = emu.entractl(&["plan", web]);
    assert_eq!(text.code, 0, "{}\n{}", text.stdout, text.stderr);
    crate::assert_transcript!("weakened_app_exclusion_restore_plan_text", text);
    let json = emu.entractl(&["plan", web, "--format", "json"]);
    crate::assert_transcript!("weakened_app_exclusion_restore_plan_json", json);
    let md = emu.entractl(&["plan", web, "--format", "markdown"]);
    crate::assert_transcript!("weakened_app_exclusion_restore_plan_markdown", md);
    let out = emu.apply_as(P1_TENANT_ID, web, &dir.join("journal-b"), false);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(excluded(&emu), 0);
    assert_eq!(app_exclusions(&emu), before);
    let again = emu.entractl(&["plan", web, "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
}
