//! End to end (issue 17, item 4): security defaults that a Mac Login spec turned off are recorded
//! in the tenant (the app's service principal in a record group) and turned back on by a Web Login
//! spec, or by `destroy`, from a fresh journal directory, as on another machine; left off, with a
//! note, while another app's record keeps them off or a conditional access policy is enabled.
//! Scenario `free` (Fabrikam: security defaults on, no conditional access policy). The emulator's
//! state is the oracle.

use std::path::Path;

use entractl_graph::GraphRequest;
use graph_emulator::scenarios::FREE_TENANT_ID;
use graph_emulator::state::LicenseTier;
use serde_json::{Value, json};

use crate::util::{Sandbox, TestOutput, actionable, scratch, write_spec};

fn spec(mode: &str, mfa: &str) -> String {
    spec_for("kandji-sd", mode, mfa)
}

/// The spec of the app `unique_name` in `mode`.
fn spec_for(unique_name: &str, mode: &str, mfa: &str) -> String {
    format!(
        "version: 1
tenant: fabrikam.onmicrosoft.com
preset: kandji-passport
passport:
  mode: {mode}
app:
  displayName: Kandji Passport
  uniqueName: {unique_name}
assignments:
  users: [alice@fabrikam.onmicrosoft.com]
{mfa}"
    )
}

const MAC_LOGIN_MFA: &str = "mfa:
  securityDefaults: disabled
  perUserMfa: unmanaged
  conditionalAccess:
    excludeApp: unmanaged
";

/// Whether security defaults are on, and the members of the security defaults record groups, as
/// the emulator holds them.
pub(crate) fn tenant(emu: &Sandbox) -> (bool, Vec<Vec<String>>) {
    emu.with_tenant_id(FREE_TENANT_ID, |t| {
        let records = t
            .groups
            .iter()
            .filter(|g| {
                g.str("mailNickname")
                    .is_some_and(|n| n.starts_with("entractl-record-securitydefaults-"))
            })
            .map(|g| g.internal.members.clone())
            .collect();
        (t.security_defaults_enabled(), records)
    })
    .expect("the free tenant")
}

/// The app's service principal (object id).
fn service_principal(emu: &Sandbox) -> String {
    let app = emu.send(GraphRequest::get("/applications(uniqueName='kandji-sd')"));
    let app_id = app["appId"].as_str().unwrap();
    emu.send(
        GraphRequest::get("/servicePrincipals").query("$filter", format!("appId eq '{app_id}'")),
    )["value"][0]["id"]
        .as_str()
        .unwrap()
        .to_lowercase()
}

/// Mac Login turns security defaults off on a first apply: the record names the service
/// principal the same apply created.
fn mac_login(emu: &Sandbox, dir: &std::path::Path) -> String {
    assert_eq!(
        tenant(emu),
        (true, vec![]),
        "security defaults on, no record"
    );
    let mac = write_spec(dir, "mac.yaml", &spec("mac-login", MAC_LOGIN_MFA));
    let mac = mac.to_str().unwrap();
    let out = emu.apply_as(FREE_TENANT_ID, mac, &dir.join("journal-a"), true);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let sp = service_principal(emu);
    assert_eq!(tenant(emu), (false, vec![vec![sp.clone()]]));
    sp
}

#[test]
fn web_login_after_mac_login_turns_security_defaults_back_on_from_a_fresh_journal() {
    let emu = Sandbox::scenario("free", FREE_TENANT_ID);
    let dir = scratch("security_defaults_web");
    mac_login(&emu, &dir);

    let web = write_spec(&dir, "web.yaml", &spec("web-login", ""));
    let web = web.to_str().unwrap();
    let text = emu.entractl(&["plan", web]);
    assert_eq!(text.code, 0, "{}\n{}", text.stdout, text.stderr);
    crate::assert_transcript!("security_defaults_restore_plan_text", text);
    let plan = emu.json_plan(web);
    let changes = actionable(&plan);
    let sd: Vec<&Value> = changes
        .iter()
        .filter(|c| c["object"]["kind"] == "securityDefaults")
        .collect();
    assert_eq!(sd.len(), 1, "{changes:#?}");
    assert_eq!(sd[0]["fields"][0]["after"], true);
    assert!(sd[0].get("risks").is_none(), "not a downgrade: {:#}", sd[0]);

    // Another machine: a new journal directory.
    let out = emu.apply_as(FREE_TENANT_ID, web, &dir.join("journal-b"), false);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        tenant(&emu),
        (true, vec![vec![]]),
        "on again, record released"
    );
    let again = emu.json_plan(web);
    assert!(actionable(&again).is_empty(), "{again:#}");
}

#[test]
fn destroy_after_mac_login_turns_security_defaults_back_on() {
    let emu = Sandbox::scenario("free", FREE_TENANT_ID);
    let dir = scratch("security_defaults_destroy");
    mac_login(&emu, &dir);
    let mac = dir.join("mac.yaml");
    let journal = dir.join("journal-b");
    let out = emu.entractl(&[
        "destroy",
        mac.to_str().unwrap(),
        "--auto-approve",
        "--journal-dir",
        journal.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        tenant(&emu),
        (true, vec![]),
        "on again, record group deleted"
    );
}

/// Switches the first spec to Web Login: the plan does not turn security defaults on, and its
/// notes say why (snapshot `name`); then applies it from a journal of its own. The spec's path
/// and the apply's output.
fn web_login_keeps_them_off(emu: &Sandbox, dir: &Path, name: &str) -> (String, TestOutput) {
    let web = write_spec(dir, "web.yaml", &spec("web-login", ""));
    let web = web.to_str().unwrap().to_string();
    let plan = emu.json_plan(&web);
    let sd: Vec<Value> = actionable(&plan)
        .into_iter()
        .filter(|c| c["object"]["kind"] == "securityDefaults")
        .collect();
    assert!(sd.is_empty(), "{sd:#?}");
    let notes = stay_off_notes(&plan);
    crate::util::snapshot_settings().bind(|| {
        insta::assert_snapshot!(name, notes.join("\n"));
    });
    let out = emu.apply_as(FREE_TENANT_ID, &web, &dir.join("journal-b"), false);
    (web, out)
}

/// The plan's notes (JSON) that say security defaults stay off.
fn stay_off_notes(plan: &Value) -> Vec<String> {
    plan["notes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["message"].as_str())
        .filter(|m| m.starts_with("security defaults stay off"))
        .map(str::to_string)
        .collect()
}

/// Two apps' records: Mac Login turned security defaults off for each (an administrator turned
/// them back on by hand in between). The first app's Web Login leaves them off, with a note, and
/// releases only its own record entry; the second's Web Login turns them back on.
#[test]
fn security_defaults_stay_off_while_another_apps_record_keeps_them_off() {
    let emu = Sandbox::scenario("free", FREE_TENANT_ID);
    let dir = scratch("security_defaults_two_apps");
    let first = mac_login(&emu, &dir);
    emu.send(
        GraphRequest::patch("/policies/identitySecurityDefaultsEnforcementPolicy")
            .json(json!({"isEnabled": true})),
    );
    let mac2 = write_spec(
        &dir,
        "mac2.yaml",
        &spec_for("kandji-sd2", "mac-login", MAC_LOGIN_MFA),
    );
    let mac2 = mac2.to_str().unwrap();
    let out = emu.apply_as(FREE_TENANT_ID, mac2, &dir.join("journal-a2"), true);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let (on, mut records) = tenant(&emu);
    records.sort();
    assert!(!on);
    assert_eq!(records.len(), 2, "one record per app: {records:?}");
    assert!(records.iter().all(|r| r.len() == 1) && records.concat().contains(&first));

    // The first app leaves Mac Login: they stay off, its record entry is released.
    let (_, out) = web_login_keeps_them_off(&emu, &dir, "security_defaults_another_apps_record");
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let (on, records) = tenant(&emu);
    assert!(!on, "still off");
    assert_eq!(
        records.concat().len(),
        1,
        "only the second app's entry: {records:?}"
    );
    assert!(!records.concat().contains(&first));

    // The second app leaves too: they are on again, no entry left.
    let web2 = write_spec(&dir, "web2.yaml", &spec_for("kandji-sd2", "web-login", ""));
    let out = emu.apply_as(
        FREE_TENANT_ID,
        web2.to_str().unwrap(),
        &dir.join("journal-c"),
        false,
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let (on, records) = tenant(&emu);
    assert!(on, "on again");
    assert!(records.concat().is_empty(), "{records:?}");
}

/// A conditional access policy enabled after Mac Login turned security defaults off (the tenant
/// bought P1): Web Login leaves them off with a warning and keeps the record; once no policy is
/// enabled, the next plan turns them back on.
#[test]
fn security_defaults_stay_off_while_a_conditional_access_policy_is_enabled() {
    let emu = Sandbox::scenario("free", FREE_TENANT_ID);
    let dir = scratch("security_defaults_ca");
    let sp = mac_login(&emu, &dir);
    emu.with_tenant_id(FREE_TENANT_ID, |t| t.license = LicenseTier::P1)
        .expect("the free tenant");
    let policy = emu.send(
        GraphRequest::post("/identity/conditionalAccess/policies").json(json!({
            "displayName": "Require MFA for all users",
            "state": "enabled",
            "conditions": {
                "clientAppTypes": ["all"],
                "applications": {"includeApplications": ["All"]},
                "users": {"includeUsers": ["All"]}
            },
            "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}
        })),
    );
    let policy = policy["id"].as_str().unwrap().to_string();

    let (web, out) = web_login_keeps_them_off(&emu, &dir, "security_defaults_policy_enabled");
    let web = web.as_str();
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        tenant(&emu),
        (false, vec![vec![sp]]),
        "off, the record kept"
    );

    // The policy is switched off: the next plan turns them back on and releases the record.
    emu.send(
        GraphRequest::patch(format!("/identity/conditionalAccess/policies/{policy}"))
            .json(json!({"state": "disabled"})),
    );
    let out = emu.apply_as(FREE_TENANT_ID, web, &dir.join("journal-c"), false);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        tenant(&emu),
        (true, vec![vec![]]),
        "on again, record released"
    );
}
