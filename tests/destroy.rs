//! End to end (issue 17, item 4): `entractl destroy SPEC` after Mac Login on an enforced tenant
//! restores what entractl weakened and removes what the spec manages; `apply` then brings the
//! application back from deleted items. The emulator's state is the oracle.

use std::collections::BTreeMap;

use entractl_graph::GraphRequest;
use graph_emulator::Knobs;
use graph_emulator::scenarios::P1_TENANT_ID;
use serde_json::{Value, json};

use crate::util::{Sandbox, actionable, scratch, snapshot_settings, write_spec};

/// Mac Login on an enforced tenant: per-user MFA off for the app's users, the app's users and
/// groups excluded from the policies requiring MFA (security defaults as the preset says: off).
pub(crate) const MAC_LOGIN: &str = "version: 1
tenant: contoso.onmicrosoft.com
preset: kandji-passport
passport:
  mode: mac-login
app:
  displayName: Kandji Passport
  uniqueName: kandji-destroy
assignments:
  users: [alice@contoso.com, bob@contoso.com]
  groups: [Mac Users]
mfa:
  perUserMfa: disabled-for-app-users
  conditionalAccess:
    excludeApp: []
    excludeUsers: from-policies-requiring-mfa
";

/// The per-user MFA state of the app's users (alice, bob and the members of Mac Users), by UPN,
/// as the emulator holds it.
pub(crate) fn per_user_states(emu: &Sandbox) -> BTreeMap<String, String> {
    let groups =
        emu.send(GraphRequest::get("/groups").query("$filter", "displayName eq 'Mac Users'"));
    let mac_users = groups["value"][0]["id"].as_str().unwrap().to_string();
    let members = emu.send(GraphRequest::get(format!("/groups/{mac_users}/members")));
    let mut users: Vec<String> = vec!["alice@contoso.com".into(), "bob@contoso.com".into()];
    for m in members["value"].as_array().unwrap() {
        if let Some(upn) = m["userPrincipalName"].as_str() {
            users.push(upn.to_string());
        }
    }
    let mut out = BTreeMap::new();
    for upn in users {
        let v =
            emu.send(GraphRequest::get(format!("/users/{upn}/authentication/requirements")).beta());
        out.insert(upn, v["perUserMfaState"].as_str().unwrap().to_string());
    }
    assert!(out.len() > 2, "{out:?}");
    out
}

/// Each policy's name and exclusion lists, as the emulator holds them.
pub(crate) fn exclusions(emu: &Sandbox) -> BTreeMap<String, Value> {
    let policies = emu.send(GraphRequest::get("/identity/conditionalAccess/policies"));
    policies["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let c = &p["conditions"];
            (
                p["displayName"].as_str().unwrap().to_string(),
                json!([
                    c["users"]["excludeUsers"],
                    c["users"]["excludeGroups"],
                    c["applications"]["excludeApplications"]
                ]),
            )
        })
        .collect()
}

/// What is left of the app in the tenant: (live applications with its key, its service
/// principals, grants and app role assignments naming `sp`, entractl's record groups, deleted
/// applications with its appId).
/// The spec's app (`kandji-destroy`) as the tenant has it: its appId and its service
/// principal's object id.
pub(crate) fn app_and_sp(emu: &Sandbox) -> (String, String) {
    let app = emu.send(GraphRequest::get(
        "/applications(uniqueName='kandji-destroy')",
    ));
    let app_id = app["appId"].as_str().unwrap().to_string();
    let sp = emu.send(
        GraphRequest::get("/servicePrincipals").query("$filter", format!("appId eq '{app_id}'")),
    )["value"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    (app_id, sp)
}

pub(crate) fn left(emu: &Sandbox, app_id: &str, sp: &str) -> [usize; 6] {
    emu.with_tenant_id(P1_TENANT_ID, |t| {
        let is = |v: Option<&str>, want: &str| v.is_some_and(|x| x.eq_ignore_ascii_case(want));
        [
            t.applications
                .iter()
                .filter(|a| is(a.str("appId"), app_id))
                .count(),
            t.service_principals
                .iter()
                .filter(|s| is(s.str("appId"), app_id))
                .count(),
            t.oauth2_permission_grants
                .iter()
                .filter(|g| is(g.str("clientId"), sp))
                .count(),
            t.app_role_assignments
                .iter()
                .filter(|a| is(a.str("resourceId"), sp) || is(a.str("principalId"), sp))
                .count(),
            t.groups
                .iter()
                .filter(|g| {
                    g.str("mailNickname")
                        .is_some_and(|n| n.starts_with("entractl-record-"))
                })
                .count(),
            t.deleted_items
                .values()
                .filter(|d| d.kind == "applications" && is(d.record.str("appId"), app_id))
                .count(),
        ]
    })
    .expect("the p1 tenant")
}

#[test]
fn destroy_after_mac_login_restores_what_was_weakened_removes_the_app_and_apply_brings_it_back() {
    let emu = Sandbox::scenario("p1", P1_TENANT_ID);
    let dir = scratch("destroy");
    // An administrator's break-glass exclusion of alice from CA001, made by hand before.
    let alice = emu.send(GraphRequest::get("/users/alice@contoso.com"))["id"]
        .as_str()
        .unwrap()
        .to_string();
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
            .json(json!({"conditions": {"users": {"excludeUsers": [alice]}}})),
    );
    let states_before = per_user_states(&emu);
    let exclusions_before = exclusions(&emu);

    let spec = write_spec(&dir, "mac.yaml", MAC_LOGIN);
    let spec = spec.to_str().unwrap();
    let out = emu.apply_as(P1_TENANT_ID, spec, &dir.join("journal-a"), true);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_ne!(
        per_user_states(&emu),
        states_before,
        "per-user MFA turned off"
    );
    assert_ne!(exclusions(&emu), exclusions_before, "identities excluded");
    let (app_id, sp) = app_and_sp(&emu);
    let [apps, sps, grants, assignments, records, deleted] = left(&emu, &app_id, &sp);
    assert_eq!([apps, sps, deleted], [1, 1, 0]);
    assert!(grants > 0 && assignments > 0 && records > 0);

    // The plan first, in every format.
    let text = emu.entractl(&["plan", spec, "--destroy"]);
    assert_eq!(text.code, 0, "{}\n{}", text.stdout, text.stderr);
    crate::assert_transcript!("destroy_plan_text", text);
    let md = emu.entractl(&["plan", spec, "--destroy", "--format", "markdown"]);
    crate::assert_transcript!("destroy_plan_markdown", md);
    let plan = emu.entractl(&["plan", spec, "--destroy", "--format", "json"]);
    crate::assert_transcript!("destroy_plan_json", plan);
    let plan: Value = serde_json::from_str(&plan.stdout).unwrap();
    for c in actionable(&plan) {
        assert!(
            c.get("risks")
                .is_none_or(|r| !r.to_string().contains("security-downgrade")),
            "{c:#}"
        );
    }

    // Without a terminal and without --auto-approve: refused, nothing written.
    let writes = emu.writes().len();
    let refused = emu.entractl(&["destroy", spec]);
    assert_eq!(refused.code, 1, "{}\n{}", refused.stdout, refused.stderr);
    crate::assert_transcript!("destroy_without_a_terminal", refused);
    assert_eq!(emu.writes().len(), writes);

    // Another machine: a new journal directory.
    let journal = dir.join("journal-b");
    let out = emu.entractl(&[
        "destroy",
        spec,
        "--auto-approve",
        "--journal-dir",
        journal.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    snapshot_settings().bind(|| {
        insta::assert_snapshot!("destroy_stdout", out.stdout);
    });
    assert_eq!(per_user_states(&emu), states_before);
    // Every exclusion entractl added is gone; the break-glass exclusion of alice stays.
    assert_eq!(exclusions(&emu), exclusions_before);
    assert_eq!(left(&emu, &app_id, &sp), [0, 0, 0, 0, 0, 1]);
    assert!(journal.exists(), "journaled");
    let again = emu.entractl(&["plan", spec, "--destroy", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);

    // Within 30 days, apply brings the same application back.
    let out = emu.apply_as(P1_TENANT_ID, spec, &dir.join("journal-c"), true);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let back = emu.send(GraphRequest::get(
        "/applications(uniqueName='kandji-destroy')",
    ));
    assert_eq!(back["appId"].as_str(), Some(app_id.as_str()));
    // A new service principal (the old one stays in deleted items), its grants and assignments.
    let sp_back = emu.send(
        GraphRequest::get("/servicePrincipals").query("$filter", format!("appId eq '{app_id}'")),
    )["value"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(
        sp_back, sp,
        "Graph does not restore the service principal with its application"
    );
    let [apps, sps, grants, assignments, records, deleted] = left(&emu, &app_id, &sp_back);
    assert_eq!([apps, sps, deleted], [1, 1, 0]);
    assert!(grants > 0 && assignments > 0 && records > 0);
    assert_ne!(per_user_states(&emu), states_before, "Mac Login again");
    let again = emu.entractl(&["plan", spec]);
    assert!(again.stdout.contains("No changes"), "{}", again.stdout);
}

#[test]
fn permissions_lists_what_destroy_needs() {
    let out = crate::util::TestCommand::new(&[
        "permissions",
        "specs/kandji-passport-mac-login.yaml",
        "--destroy",
    ])
    .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    crate::assert_transcript!("permissions_destroy", out);
}

#[test]
fn destroy_takes_the_placeholder_out_of_the_policies_and_deletes_it() {
    let emu = Sandbox::scenario("p1", P1_TENANT_ID);
    let dir = scratch("destroy_placeholder");
    let spec = write_spec(
        &dir,
        "spec.yaml",
        "version: 1
tenant: contoso.onmicrosoft.com
preset: kandji-passport
passport:
  mode: mac-login
app:
  displayName: Kandji Passport
  uniqueName: kandji-destroy-placeholder
assignments:
  users: [alice@contoso.com]
mfa:
  securityDefaults: unmanaged
  conditionalAccess:
    excludeApp: []
    placeholder:
      displayName: Kandji Passport baseline scopes
      uniqueName: kandji-destroy-baseline-scopes
",
    );
    let spec = spec.to_str().unwrap();
    let before = exclusions(&emu);
    let out = emu.apply_as(P1_TENANT_ID, spec, &dir.join("journal-a"), true);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let placeholder = emu.send(GraphRequest::get(
        "/applications(uniqueName='kandji-destroy-baseline-scopes')",
    ));
    let placeholder_id = placeholder["appId"].as_str().unwrap().to_string();
    assert!(
        exclusions(&emu)
            .values()
            .any(|v| v.to_string().contains(&placeholder_id)),
        "the placeholder is excluded"
    );

    let journal = dir.join("journal-b");
    let out = emu.entractl(&[
        "destroy",
        spec,
        "--auto-approve",
        "--format",
        "json",
        "--journal-dir",
        journal.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["converged"], true, "{report:#}");
    assert_eq!(exclusions(&emu), before);
    let [apps, sps, ..] = left(&emu, &placeholder_id, "");
    assert_eq!(
        [apps, sps],
        [0, 0],
        "the placeholder app and its service principal are gone"
    );
    let deleted = emu.with_tenant_id(P1_TENANT_ID, |t| {
        t.deleted_items
            .values()
            .filter(|d| d.record.str("appId") == Some(placeholder_id.as_str()))
            .count()
    });
    assert!(deleted.expect("the p1 tenant") >= 1, "in deleted items");
}

#[test]
fn a_destroy_that_fails_hints_destroy_again_and_destroy_again_finishes() {
    let emu = Sandbox::scenario("p1", P1_TENANT_ID);
    let dir = scratch("destroy_fails");
    let spec = write_spec(
        &dir,
        "spec.yaml",
        "version: 1
tenant: contoso.onmicrosoft.com
preset: kandji-passport
passport:
  mode: web-login
app:
  displayName: Kandji Passport
  uniqueName: kandji-destroy-fails
assignments:
  users: [alice@contoso.com]
",
    );
    let spec = spec.to_str().unwrap();
    let out = emu.apply(spec, &dir.join("journal-a"));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let app = emu.send(GraphRequest::get(
        "/applications(uniqueName='kandji-destroy-fails')",
    ));
    let app_id = app["appId"].as_str().unwrap().to_string();

    // Deleting applications is down: destroy gives up on the application (its time budget) and
    // says to run destroy again, not apply (which would bring everything back).
    emu.set_knobs(Knobs {
        failing_writes: vec!["/applications/{id}".into()],
        ..Knobs::default()
    });
    let journal = dir.join("journal-b");
    let journal = journal.to_str().unwrap();
    let args = ["destroy", spec, "--auto-approve", "--journal-dir", journal];
    let failed = emu.entractl(&[&args[..], &["--timeout", "4"]].concat());
    assert_eq!(failed.code, 1, "{}\n{}", failed.stdout, failed.stderr);
    let error = &failed.stderr[failed.stderr.find("error: ").expect("an error")..];
    let mut settings = crate::util::snapshot_settings();
    settings.add_filter(r"after [0-9]+ attempts", "after [N] attempts");
    settings.bind(|| insta::assert_snapshot!("destroy_fails", error));
    assert_eq!(
        left(&emu, &app_id, "")[0],
        1,
        "the application is still there"
    );

    emu.set_knobs(Knobs::default());
    let again = emu.entractl(&args);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    assert_eq!(left(&emu, &app_id, "")[..2], [0, 0], "{}", again.stdout);
}
