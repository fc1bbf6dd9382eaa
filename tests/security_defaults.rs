//! End to end (issue 17, item 4): security defaults that a Mac Login spec turned off are recorded
//! in the tenant (the app's service principal in a record group) and turned back on by a Web Login
//! spec, or by `destroy`, from a fresh journal directory, as on another machine. Scenario `free`
//! (Fabrikam: security defaults on, no conditional access policy). The emulator's state is the
//! oracle.

use entractl_graph::GraphRequest;
use graph_emulator::scenarios::FREE_TENANT_ID;
use serde_json::Value;

use crate::util::{Sandbox, actionable, scratch, write_spec};

fn spec(mode: &str, mfa: &str) -> String {
    format!(
        "version: 1
tenant: fabrikam.onmicrosoft.com
preset: kandji-passport
passport:
  mode: {mode}
app:
  displayName: Kandji Passport
  uniqueName: kandji-sd
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
fn tenant(emu: &Sandbox) -> (bool, Vec<Vec<String>>) {
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
