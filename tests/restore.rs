//! End-to-end: a managed application deleted in the portal is restored from deleted items (same
//! client id) instead of being created anew. Also the helpers the `export` tests share.

use entractl_graph::GraphRequest;
use graph_emulator::scenarios::P1_TENANT_ID;
use serde_json::Value;

use crate::util::{Sandbox, actionable, scratch, write_spec};

/// The `p1` scenario with no replication delay.
pub(crate) fn start_p1() -> Sandbox {
    Sandbox::scenario("p1", P1_TENANT_ID)
}

/// The application with `uniqueName`, as Graph returns it.
fn app_by_unique_name(emu: &Sandbox, unique_name: &str) -> Value {
    emu.send(GraphRequest::get(format!(
        "/applications(uniqueName='{unique_name}')"
    )))
}

const SPEC: &str = "\
version: 1
tenant: contoso.onmicrosoft.com
preset: kandji-passport
passport:
  mode: web-login
app:
  displayName: Kandji Passport
  uniqueName: kandji-restore
assignments:
  users: [alice@contoso.com]
";

#[test]
fn a_deleted_managed_app_is_restored_with_the_same_client_id_then_the_plan_is_empty() {
    let emu = start_p1();
    let dir = scratch("restore_e2e");
    let spec = write_spec(&dir, "spec.yaml", SPEC);
    let spec = spec.to_str().unwrap();

    let out = emu.apply(spec, &dir.join("journal"));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let before = app_by_unique_name(&emu, "kandji-restore");
    let app_id = before["appId"].as_str().unwrap().to_string();
    let object_id = before["id"].as_str().unwrap().to_string();

    // Someone deletes the app registration in the portal (its service principal goes with it).
    emu.send(GraphRequest::delete(format!("/applications/{object_id}")));

    let plan = emu.json_plan(spec);
    let changes = actionable(&plan);
    let app = changes
        .iter()
        .find(|c| c["object"]["kind"] == "application")
        .expect("an application change");
    assert_eq!(app["action"], "restore", "{app:#}");
    assert_eq!(app["object"]["id"], object_id.as_str());
    assert!(
        app["reason"].as_str().unwrap().contains(&app_id),
        "the plan says which client id is kept: {app:#}"
    );
    assert_eq!(plan["outputs"]["client_id"], app_id.as_str());
    assert!(
        !changes
            .iter()
            .any(|c| c["object"]["kind"] == "application" && c["action"] == "create")
    );
    let text = emu.entractl(&["plan", spec]);
    crate::assert_transcript!("restore_plan", text);

    emu.clear_log();
    let out = emu.apply(spec, &dir.join("journal"));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    crate::assert_transcript!("restore_apply", out);
    let w = emu.writes();
    assert!(
        w.iter().any(|e| e.method == "POST"
            && e.path == format!("/v1.0/directory/deletedItems/{object_id}/restore")),
        "{w:#?}"
    );
    assert!(
        !w.iter()
            .any(|e| e.method == "POST" && e.template == "/v1.0/applications"),
        "no application was created: {w:#?}"
    );
    let after = app_by_unique_name(&emu, "kandji-restore");
    assert_eq!(after["appId"], app_id.as_str(), "same client id");
    assert_eq!(after["id"], object_id.as_str(), "same object id");

    let again = emu.entractl(&["plan", spec, "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
}

#[test]
fn two_deleted_candidates_are_an_error_naming_both() {
    let emu = start_p1();
    let dir = scratch("restore_two");
    let spec = write_spec(&dir, "spec.yaml", SPEC);
    let spec = spec.to_str().unwrap();
    let out = emu.apply(spec, &dir.join("journal"));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let first = app_by_unique_name(&emu, "kandji-restore");
    let first_id = first["id"].as_str().unwrap().to_string();
    emu.send(GraphRequest::delete(format!("/applications/{first_id}")));
    // Recreated (not restored) by someone, then deleted again: two deleted copies.
    let second = emu.send(GraphRequest::post("/applications").json(serde_json::json!({
        "displayName": "Kandji Passport (copy)",
        "tags": ["entractl:kandji-restore"],
    })));
    let second_id = second["id"].as_str().unwrap().to_string();
    emu.send(GraphRequest::delete(format!("/applications/{second_id}")));

    let out = emu.entractl(&["plan", spec]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains(&first_id) && out.stderr.contains(&second_id),
        "{}",
        out.stderr
    );
    crate::assert_transcript!("two_deleted_candidates", out);
    assert!(
        emu.writes()
            .iter()
            .all(|e| e.method != "POST" || !e.path.contains("restore"))
    );
}
