//! End-to-end tests of `plan`, `apply` and `permissions` against graph-emulator on loopback.

use entractl_graph::GraphRequest;
use graph_emulator::EmulatorConfig;
use graph_emulator::scenarios::{CI_CLIENT_ID, CI_CLIENT_SECRET, P1_TENANT_ID};
use serde_json::{Value, json};

use crate::util::{Sandbox, actionable, root, scratch, write_spec};

/// The seed spec (Web Login: the app registration, no MFA changes; the MFA posture has its own
/// tests).
const SPEC: &str = "tests/fixtures/kandji-passport-core.yaml";

fn start(replication_delay_ms: u64) -> Sandbox {
    let mut cfg = EmulatorConfig::scenario("p1");
    cfg.knobs.replication_delay_ms = replication_delay_ms;
    Sandbox::start(cfg, P1_TENANT_ID)
}

#[test]
fn empty_tenant_apply_converges_then_plan_is_empty_and_a_second_apply_writes_nothing() {
    let emu = start(0);
    let dir = scratch("plan_apply_empty");

    // Application, service principal, grant and the 3 assignments (alice, bob, Mac Users).
    let plan = emu.entractl(&["plan", SPEC, "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}", plan.stderr);
    crate::assert_transcript!("empty_tenant_plan", plan);
    assert!(emu.writes().is_empty(), "plan wrote: {:?}", emu.writes());

    let out = emu.apply(SPEC, &dir);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    crate::assert_transcript!("empty_tenant_apply", out);

    // The journal: one file per change, the prior state of each object.
    let runs: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(runs.len(), 1);
    let run = runs.into_iter().next().unwrap().unwrap().path();
    let mut files: Vec<String> = std::fs::read_dir(&run)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files[..3],
        [
            "01-application-kandji-passport.json",
            "02-servicePrincipal-kandji-passport.json",
            "03-oauth2PermissionGrant-kandji-passport_Microsoft_Graph.json"
        ]
    );
    assert_eq!(files.len(), 6, "{files:#?}");
    assert!(
        files[3..]
            .iter()
            .all(|f| f.contains("-appRoleAssignment-kandji-passport")),
        "{files:#?}"
    );
    let entry: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join(&files[0])).unwrap()).unwrap();
    assert_eq!(entry["before"], Value::Null);
    assert!(entry["created"]["appId"].is_string());

    let again = emu.entractl(&["plan", SPEC, "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    crate::assert_transcript!("converged_plan", again);

    emu.clear_log();
    let second = emu.apply(SPEC, &dir);
    assert_eq!(second.code, 0, "{}", second.stderr);
    crate::assert_transcript!("converged_apply", second);
    assert!(
        emu.writes().is_empty(),
        "second apply wrote: {:?}",
        emu.writes()
    );
    // Two waves of reads on a converged tenant, one `$batch` each: wave 1 = the app by
    // uniqueName and by tag, the service principal by tag, Microsoft Graph's service principal,
    // alice, bob, Mac Users, subscribedSkus, entractl's record groups, the placeholder apps made
    // for the app (by their link tag, so that one the spec no longer names is taken out of the
    // policies: none here) (10); wave 2, keyed by ids of
    // wave 1 = the grants, the granted application permissions, the app's assignments, the
    // members of Mac Users (4), and beside that `$batch` the conditional access policies (paced,
    // alone: a Web Login spec reads them to take out the app's exclusions Mac Login added, once
    // the app exists). Three HTTP round trips after the token, in two waves.
    assert_eq!(emu.graph_log().len(), 15, "{:#?}", emu.graph_log());
    let mut round_trips: Vec<_> = emu
        .request_log()
        .into_iter()
        .filter(|e| e.batch_id.is_none() && e.path.starts_with("/v1.0/"))
        .map(|e| format!("{} {}", e.method, e.template))
        .collect();
    // The policies' read and the second `$batch` go out together: in either order.
    round_trips.sort();
    assert_eq!(
        round_trips,
        [
            "GET /v1.0/identity/conditionalAccess/policies",
            "POST /v1.0/$batch",
            "POST /v1.0/$batch"
        ],
        "{round_trips:#?}"
    );

    // The same tenant and spec give the same JSON plan, byte for byte.
    let a = emu.entractl(&["plan", SPEC, "--format", "json"]).stdout;
    let b = emu.entractl(&["plan", SPEC, "--format", "json"]).stdout;
    assert_eq!(a, b);
    emu.shutdown();
}

#[test]
fn drift_made_through_graph_shows_exactly_that_change_and_apply_repairs_it() {
    let emu = start(0);
    let dir = scratch("plan_apply_drift");
    assert_eq!(emu.apply(SPEC, &dir).code, 0);
    let app = &emu.send(
        GraphRequest::get("/applications").query("$filter", "uniqueName eq 'kandji-passport'"),
    )["value"][0];
    let id = app["id"].as_str().unwrap().to_string();
    emu.send(
        GraphRequest::patch(format!("/applications/{id}"))
            .json(json!({"isFallbackPublicClient": true})),
    );

    let plan = emu.json_plan(SPEC);
    assert_eq!(plan["format_version"], "1");
    let changes = actionable(&plan);
    assert_eq!(changes.len(), 1, "{changes:#?}");
    assert_eq!(changes[0]["object"]["kind"], "application");
    assert_eq!(changes[0]["action"], "update");
    assert_eq!(
        changes[0]["fields"],
        json!([{"path": "isFallbackPublicClient", "before": true, "after": false}])
    );
    let md = emu.entractl(&["plan", SPEC, "--format", "markdown"]);
    crate::assert_transcript!("drift_markdown", md);

    emu.clear_log();
    let out = emu.apply(SPEC, &dir);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let w = emu.writes();
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!((w[0].method.as_str(), w[0].status), ("PATCH", 204));
    emu.shutdown();
}

/// The application's redirect URIs per platform, as the emulator holds them (the oracle).
fn redirect_uris(emu: &Sandbox, id: &str) -> Value {
    let app = emu.send(GraphRequest::get(format!("/applications/{id}")));
    json!({
        "web": app["web"]["redirectUris"],
        "publicClient": app["publicClient"]["redirectUris"],
        "spa": app["spa"]["redirectUris"],
    })
}

#[test]
fn a_redirect_uri_added_by_hand_on_any_platform_is_drift_and_apply_removes_it() {
    let emu = start(0);
    let dir = scratch("plan_apply_redirect_drift");
    assert_eq!(emu.apply(SPEC, &dir).code, 0);
    let app = &emu.send(
        GraphRequest::get("/applications").query("$filter", "uniqueName eq 'kandji-passport'"),
    )["value"][0];
    let id = app["id"].as_str().unwrap().to_string();
    // What the Web Login preset asks for: the public client platform's https://localhost only.
    let wanted = json!({"web": [], "publicClient": ["https://localhost"], "spa": []});
    assert_eq!(redirect_uris(&emu, &id), wanted);

    for platform in ["spa", "web", "publicClient"] {
        // Someone adds a redirect URI in the portal.
        let mut uris = wanted[platform].as_array().unwrap().clone();
        uris.push(json!("https://evil.example/cb"));
        emu.send(
            GraphRequest::patch(format!("/applications/{id}"))
                .json(json!({ platform: {"redirectUris": uris} })),
        );

        let plan = emu.entractl(&["plan", SPEC, "--detailed-exitcode"]);
        assert_eq!(plan.code, 2, "{platform}: {}\n{}", plan.stdout, plan.stderr);
        let plan = emu.json_plan(SPEC);
        let changes = actionable(&plan);
        assert_eq!(changes.len(), 1, "{platform}: {changes:#?}");
        let mut before: Vec<&str> = uris.iter().filter_map(Value::as_str).collect();
        before.sort();
        assert_eq!(
            changes[0]["fields"],
            json!([{
                "path": format!("{platform}.redirectUris"),
                "before": before,
                "after": wanted[platform],
            }]),
            "{platform}"
        );

        let out = emu.apply(SPEC, &dir);
        assert_eq!(out.code, 0, "{platform}: {}\n{}", out.stdout, out.stderr);
        assert_eq!(redirect_uris(&emu, &id), wanted, "{platform}");
    }
    let again = emu.entractl(&["plan", SPEC, "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    emu.shutdown();
}

#[test]
fn an_app_made_in_the_portal_is_refused_until_adopted_by_app_id() {
    let emu = start(0);
    let dir = scratch("plan_apply_adopt");
    let made = emu.send(GraphRequest::post("/applications").json(json!({
        "displayName": "Kandji Passport", "uniqueName": "kandji-passport", "tags": ["HideApp"]
    })));
    let app_id = made["appId"].as_str().unwrap().to_string();

    // Same uniqueName, not managed, not adopted: refused, nothing written.
    emu.clear_log();
    let out = emu.entractl(&["plan", SPEC]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    crate::assert_transcript!("unmanaged_app", out);
    assert!(
        out.stderr.contains(&format!("appId: {app_id}")),
        "{}",
        out.stderr
    );
    assert!(emu.writes().is_empty());

    let spec = write_spec(
        &dir,
        "adopt.yaml",
        &format!(
            "version: 1\ntenant: contoso.onmicrosoft.com\npreset: kandji-passport\npassport:\n  mode: web-login\napp:\n  displayName: Kandji Passport\n  uniqueName: kandji-passport\n  appId: {app_id}\n"
        ),
    );
    let spec = spec.display().to_string();
    let plan = emu.json_plan(&spec);
    let changes = actionable(&plan);
    assert_eq!(changes[0]["action"], "adopt", "{changes:#?}");
    assert!(
        changes[0]["risks"]
            .as_array()
            .unwrap()
            .contains(&json!("adoption"))
    );
    let out = emu.apply(&spec, &dir);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let app = &emu
        .send(GraphRequest::get("/applications").query("$filter", format!("appId eq '{app_id}'")))
        ["value"][0];
    let tags = app["tags"].as_array().unwrap();
    assert!(tags.contains(&json!("HideApp")) && tags.contains(&json!("entractl:kandji-passport")));
    // Web Login keeps public client flows off (unset is Graph's default: off).
    assert_ne!(app["isFallbackPublicClient"], true);
    assert_eq!(
        app["publicClient"]["redirectUris"],
        json!(["https://localhost"])
    );
    let again = emu.entractl(&["plan", &spec, "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}", again.stdout);
    emu.shutdown();
}

#[test]
fn two_candidate_apps_are_an_error_naming_both() {
    let emu = start(0);
    let a = emu.send(GraphRequest::post("/applications").json(json!({
        "displayName": "Kandji Passport", "uniqueName": "kandji-passport",
        "tags": ["entractl:kandji-passport"]
    })));
    let b = emu.send(GraphRequest::post("/applications").json(json!({
        "displayName": "Kandji Passport (copy)", "tags": ["entractl:kandji-passport"]
    })));
    let out = emu.entractl(&["plan", SPEC, "--detailed-exitcode"]);
    assert_eq!(out.code, 1);
    for app in [&a, &b] {
        let id = app["appId"].as_str().unwrap();
        assert!(
            out.stderr.contains(id),
            "{} missing in:\n{}",
            id,
            out.stderr
        );
    }
    crate::assert_transcript!("two_candidate_apps", out);
    emu.shutdown();
}

#[test]
fn a_saved_plan_is_applied_exactly_and_refused_when_stale() {
    let emu = start(0);
    let dir = scratch("plan_apply_saved");
    let file = dir.join("plan.json").display().to_string();
    let out = emu.entractl(&["plan", SPEC, "--out", &file]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(saved["kind"], "entractl-saved-plan");
    assert!(
        saved["tenant_fingerprint"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );

    // The tenant changes after the plan was made: refused, nothing written.
    emu.send(GraphRequest::post("/applications").json(json!({
        "displayName": "Kandji Passport", "uniqueName": "kandji-passport",
        "tags": ["entractl:kandji-passport"]
    })));
    emu.clear_log();
    let out = emu.apply(&file, &dir.join("journal"));
    assert_eq!(out.code, 1, "{}", out.stdout);
    crate::assert_transcript!("stale_saved_plan", out);
    assert!(emu.writes().is_empty());

    // A fresh saved plan applies.
    let out = emu.entractl(&["plan", SPEC, "--out", &file]);
    assert_eq!(out.code, 0);
    let out = emu.apply(&file, &dir.join("journal"));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    crate::assert_transcript!("fresh_saved_plan_apply", out);
    emu.shutdown();
}

#[test]
fn a_saved_plan_is_refused_when_the_spec_changed() {
    let emu = start(0);
    let dir = scratch("plan_apply_saved_spec");
    let spec_text = std::fs::read_to_string(root().join(SPEC)).unwrap();
    let spec = write_spec(&dir, "spec.yaml", &spec_text)
        .display()
        .to_string();
    let file = dir.join("plan.json").display().to_string();
    assert_eq!(emu.entractl(&["plan", &spec, "--out", &file]).code, 0);
    std::fs::write(
        &spec,
        spec_text.replace("Kandji Passport", "Kandji Passport 2"),
    )
    .unwrap();
    let out = emu.apply(&file, &dir.join("journal"));
    assert_eq!(out.code, 1);
    crate::assert_transcript!("saved_plan_spec_changed", out);
    assert!(emu.writes().is_empty());
    emu.shutdown();
}

#[test]
fn apply_without_a_terminal_and_without_auto_approve_refuses() {
    let emu = start(0);
    let out = emu.entractl(&["apply", SPEC]);
    assert_eq!(out.code, 1);
    crate::assert_transcript!("apply_without_a_terminal", out);
    assert!(emu.writes().is_empty());
    emu.shutdown();
}

#[test]
fn replication_delay_on_every_create_converges_in_one_apply_without_duplicates() {
    let emu = start(400);
    let dir = scratch("plan_apply_delay");
    let out = emu.apply(SPEC, &dir);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    crate::assert_transcript!("replication_delay_apply", out);
    let created = |prefix: &str| {
        emu.writes()
            .iter()
            .filter(|e| e.method == "POST" && e.template == prefix && e.status == 201)
            .count()
    };
    assert_eq!(created("/v1.0/applications"), 1);
    assert_eq!(created("/v1.0/servicePrincipals"), 1);
    assert_eq!(created("/v1.0/oauth2PermissionGrants"), 1);
    // The delay was real: Graph refused the service principal at first.
    assert!(
        emu.writes()
            .iter()
            .any(|e| e.path.starts_with("/v1.0/servicePrincipals") && e.status == 400),
        "{:#?}",
        emu.writes()
    );
    emu.shutdown();
}

#[test]
fn unknown_permission_is_a_plan_error_with_the_closest_names() {
    let emu = start(0);
    let dir = scratch("plan_apply_unknown_perm");
    let spec = write_spec(
        &dir,
        "typo.yaml",
        "version: 1\ntenant: contoso.onmicrosoft.com\napp:\n  displayName: Typo\n  uniqueName: typo\n  apiPermissions:\n    Microsoft Graph:\n      delegated: [User.Raed]\n  adminConsent: true\n",
    );
    let out = emu.entractl(&["plan", &spec.display().to_string()]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    crate::assert_transcript!("unknown_permission", out);
    emu.shutdown();
}

#[test]
fn permissions_lists_what_plan_and_apply_need() {
    let out = crate::util::TestCommand::new(&["permissions", SPEC]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    crate::assert_transcript!("permissions", out);
}

#[test]
fn the_demo_script_signs_in_as_the_scenarios_automation_client() {
    let script = std::fs::read_to_string(root().join("scripts/demo.sh")).unwrap();
    for constant in [P1_TENANT_ID, CI_CLIENT_ID, CI_CLIENT_SECRET] {
        assert!(
            script.contains(constant),
            "scripts/demo.sh lacks {constant}"
        );
    }
    assert!(script.contains("--scenario p1-legacy"));
    assert!(script.contains("trap cleanup EXIT"));
}

#[test]
fn a_journal_that_cannot_be_written_stops_apply_before_any_change() {
    let emu = start(0);
    let dir = scratch("plan_apply_bad_journal");
    // A file where the journal directory should be.
    let journal = write_spec(&dir, "not-a-directory", "x");
    let out = emu.entractl(&[
        "apply",
        SPEC,
        "--auto-approve",
        "--journal-dir",
        &journal.display().to_string(),
    ]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    crate::assert_transcript!("journal_not_writable", out);
    assert!(emu.writes().is_empty(), "{:#?}", emu.writes());
    emu.shutdown();
}

#[test]
fn a_saved_plan_is_applied_without_a_terminal_it_was_reviewed_when_saved() {
    let emu = start(0);
    let dir = scratch("plan_apply_saved_no_tty");
    let file = dir.join("plan.json").display().to_string();
    assert_eq!(emu.entractl(&["plan", SPEC, "--out", &file]).code, 0);
    let journal = dir.join("journal").display().to_string();
    // No `--auto-approve`, and stdin is not a terminal.
    let out = emu.entractl(&["apply", &file, "--journal-dir", &journal]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let created = emu.writes().iter().filter(|w| w.status == 201).count();
    assert_eq!(created, 6, "{:#?}", emu.writes());
    emu.shutdown();
}
