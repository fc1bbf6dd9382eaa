//! End-to-end tests of `assignments` (issue 6) against graph-emulator on loopback: sign-in before
//! and after apply (ROPC, AADSTS50105), prune, the free tier, one report for unknown and
//! ambiguous principals, and the request count of 5,000 users and 200 groups.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use graph_emulator::scenarios::SANDBOX_PASSWORD;
use graph_emulator::{EmulatorConfig, LogEntry, RunningEmulator, TenantSource};
use serde_json::Value;

use crate::util::{Sandbox, TestOutput, scratch, write_spec};

const TENANT_ID: &str = "2a551900-0000-4000-8000-000000000006";
const DOMAIN: &str = "assign.onmicrosoft.com";

/// A tenant without conditional access (so a password sign-in is decided by the assignment),
/// with the scenarios' automation clients.
fn fixture(license: &str, extra: &str) -> String {
    let clients = graph_emulator::scenarios::text("empty").expect("empty scenario");
    let clients = &clients[clients
        .find("automationClients:")
        .expect("automation clients")..];
    format!(
        r#"tenant:
  id: {TENANT_ID}
  displayName: Assignment Tests
  domains:
    - {{name: {DOMAIN}, initial: true, default: true}}
  license: {license}
  securityDefaults: false
users:
  - {{upn: alice@{DOMAIN}, displayName: Alice Anderson}}
  - {{upn: bob@{DOMAIN}, displayName: Bob Brown}}
  - {{upn: carol@{DOMAIN}, displayName: Carol Chen}}
  - {{upn: dave@{DOMAIN}, displayName: Dave Davis, accountEnabled: false}}
  - {{upn: erin@{DOMAIN}, displayName: Erin Evans}}
  - {{upn: "$svc@{DOMAIN}", displayName: Service Desk}}
  - {{upn: "o#neil@{DOMAIN}", displayName: Pat ONeil}}
groups:
  - {{displayName: Mac Users, members: [carol@{DOMAIN}]}}
  - {{displayName: Engineering, description: Seattle, members: [bob@{DOMAIN}]}}
  - {{displayName: Engineering, description: Berlin, members: [erin@{DOMAIN}]}}
  - {{displayName: Designers, members: [alice@{DOMAIN}]}}
  - {{displayName: All Creatives, members: ["group:Designers"]}}
{extra}
{clients}"#
    )
}

fn start(license: &str, extra: &str) -> Sandbox {
    let mut cfg = EmulatorConfig::scenario("empty");
    cfg.sources = vec![TenantSource::FixtureText {
        name: "assignments test".into(),
        text: fixture(license, extra),
    }];
    Sandbox::start(cfg, TENANT_ID)
}

/// A spec without `mfa` (the tenant has no MFA requirement) and with the given `assignments`.
fn spec(dir: &Path, name: &str, assignments: &str) -> PathBuf {
    let text = format!(
        r#"version: 1
tenant: {DOMAIN}
app:
  displayName: Kandji Passport
  uniqueName: kandji-passport
  audience: single-tenant
  publicClientFlows: true
  redirectUris:
    web: [http://localhost]
  tokens:
    id:
      optionalClaims: [preferred_username]
    groupsClaim: all
  apiPermissions:
    Microsoft Graph:
      delegated: [openid, email, profile, User.Read]
  adminConsent: true
assignments:
{assignments}"#
    );
    write_spec(dir, name, &text)
}

fn apply(emu: &Sandbox, spec: &Path, journal: &Path) -> TestOutput {
    let out = emu.apply(&spec.display().to_string(), journal);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    out
}

fn json_plan(emu: &Sandbox, spec: &Path) -> Value {
    emu.json_plan(&spec.display().to_string())
}

/// The password (ROPC) sign-in Kandji Passport performs, over plain HTTP on loopback. Returns
/// the token endpoint's JSON answer.
fn ropc(emu: &RunningEmulator, client_id: &str, upn: &str) -> Value {
    let base = emu.base_url();
    let host = base.trim_start_matches("http://");
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    let body = format!(
        "grant_type=password&client_id={}&scope={}&username={}&password={}",
        enc(client_id),
        enc("openid profile email User.Read"),
        enc(upn),
        enc(SANDBOX_PASSWORD)
    );
    let mut s = std::net::TcpStream::connect(host).expect("connect to the emulator");
    write!(
        s,
        "POST /{TENANT_ID}/oauth2/v2.0/token HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("read the answer");
    let json = &raw[raw.find('{').expect("a JSON body")..raw.rfind('}').expect("a JSON body") + 1];
    serde_json::from_str(json).expect("token endpoint JSON")
}

fn aadsts(answer: &Value) -> Option<u64> {
    answer["error_codes"].as_array()?.first()?.as_u64()
}

/// `(principalDisplayName, principalType)` of every assignment of the app, sorted.
fn assigned(emu: &RunningEmulator, client_id: &str) -> Vec<(String, String)> {
    emu.with_tenant(|t| {
        let sp = t
            .service_principal_by_app_id(client_id)
            .map(|r| r.id().to_string())
            .expect("the app's service principal");
        let mut v: Vec<(String, String)> = t
            .app_role_assignments
            .iter()
            .filter(|a| a.str("resourceId") == Some(sp.as_str()))
            .map(|a| {
                (
                    a.str("principalDisplayName").unwrap_or("").to_string(),
                    a.str("principalType").unwrap_or("").to_string(),
                )
            })
            .collect();
        v.sort();
        v
    })
}

#[test]
fn a_password_sign_in_fails_with_50105_before_the_user_is_assigned_and_works_after() {
    let emu = start("p1", "");
    let dir = scratch("assignments_ropc");
    let only_bob = spec(
        &dir,
        "bob.yaml",
        &format!("  required: true\n  users: [bob@{DOMAIN}]\n"),
    );
    apply(&emu, &only_bob, &dir.join("journal"));
    let client_id = json_plan(&emu, &only_bob)["outputs"]["client_id"]
        .as_str()
        .expect("client id")
        .to_string();
    let ok = ropc(&emu, &client_id, &format!("bob@{DOMAIN}"));
    assert!(ok["access_token"].is_string(), "{ok}");
    let before = ropc(&emu, &client_id, &format!("alice@{DOMAIN}"));
    assert_eq!(aadsts(&before), Some(50105), "{before}");
    let carol = ropc(&emu, &client_id, &format!("carol@{DOMAIN}"));
    assert_eq!(aadsts(&carol), Some(50105), "{carol}");

    let full = spec(
        &dir,
        "full.yaml",
        &format!(
            "  required: true\n  users: [alice@{DOMAIN}, bob@{DOMAIN}]\n  groups: [Mac Users]\n"
        ),
    );
    let plan = emu.entractl(&["plan", &full.display().to_string()]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    // Alice and Mac Users are added; bob is assigned already.
    crate::assert_transcript!("full_plan", plan);
    // The group's object id is an output (Kandji: "Specify per identity provider group").
    let mac_id = emu.with_tenant(|t| {
        t.groups
            .iter()
            .find(|g| g.str("displayName") == Some("Mac Users"))
            .map(|g| g.id().to_string())
            .expect("Mac Users")
    });
    assert!(
        plan.stdout.contains("Assigned groups") && plan.stdout.contains(&mac_id),
        "{}",
        plan.stdout
    );
    let md = emu.entractl(&["plan", &full.display().to_string(), "--format", "markdown"]);
    crate::assert_transcript!("full_plan_markdown", md);
    assert!(
        md.stdout.contains(&format!("| Mac Users | `{mac_id}` |")),
        "{}",
        md.stdout
    );

    apply(&emu, &full, &dir.join("journal"));
    let after = ropc(&emu, &client_id, &format!("alice@{DOMAIN}"));
    assert!(after["access_token"].is_string(), "{after}");
    // Through a direct group membership.
    let carol = ropc(&emu, &client_id, &format!("carol@{DOMAIN}"));
    assert!(carol["access_token"].is_string(), "{carol}");
    // Still not assigned.
    let erin = ropc(&emu, &client_id, &format!("erin@{DOMAIN}"));
    assert_eq!(aadsts(&erin), Some(50105), "{erin}");

    // Converged: the second apply writes nothing, and the JSON outputs carry the group id.
    emu.clear_log();
    let again = apply(&emu, &full, &dir.join("journal"));
    crate::assert_transcript!("full_second_apply", again);
    assert!(emu.writes().is_empty(), "{:#?}", emu.writes());
    let json = json_plan(&emu, &full);
    assert_eq!(json["has_changes"], false);
    assert_eq!(
        json["outputs"]["assigned_groups"],
        serde_json::json!([{"display_name": "Mac Users", "id": mac_id}])
    );
    emu.shutdown();
}

#[test]
fn prune_removes_only_what_the_spec_no_longer_lists_and_only_with_prune_on() {
    let emu = start("p1", "");
    let dir = scratch("assignments_prune");
    let journal = dir.join("journal");
    let full = spec(
        &dir,
        "full.yaml",
        &format!(
            "  required: true\n  users: [alice@{DOMAIN}, bob@{DOMAIN}]\n  groups: [Mac Users]\n"
        ),
    );
    apply(&emu, &full, &journal);
    let client_id = json_plan(&emu, &full)["outputs"]["client_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        assigned(&emu, &client_id),
        [
            ("Alice Anderson".to_string(), "User".to_string()),
            ("Bob Brown".to_string(), "User".to_string()),
            ("Mac Users".to_string(), "Group".to_string()),
        ]
    );

    // Bob and Mac Users leave the spec; prune is off: nothing is removed, and the plan says so.
    let keep = spec(
        &dir,
        "keep.yaml",
        &format!("  required: true\n  users: [alice@{DOMAIN}]\n"),
    );
    let plan = emu.entractl(&["plan", &keep.display().to_string()]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    // Kept, and said: `prune` is off.
    crate::assert_transcript!("unlisted_kept_without_prune", plan);
    emu.clear_log();
    apply(&emu, &keep, &journal);
    assert!(emu.writes().is_empty(), "{:#?}", emu.writes());

    // With prune: exactly those two go, each a visible removal.
    let prune = spec(
        &dir,
        "prune.yaml",
        &format!("  required: true\n  users: [alice@{DOMAIN}]\n  prune: true\n"),
    );
    let json = json_plan(&emu, &prune);
    let deletes: Vec<(String, Value)> = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] == "delete")
        .map(|c| {
            (
                c["object"]["display"].as_str().unwrap().to_string(),
                c["risks"].clone(),
            )
        })
        .collect();
    assert_eq!(
        deletes,
        [
            (
                "group Mac Users".to_string(),
                serde_json::json!(["removal"])
            ),
            ("user Bob Brown".to_string(), serde_json::json!(["removal"])),
        ]
    );
    emu.clear_log();
    apply(&emu, &prune, &journal);
    let w: Vec<String> = emu
        .writes()
        .iter()
        .map(|e| format!("{} {}", e.method, e.template))
        .collect();
    assert_eq!(
        w,
        [
            "DELETE /v1.0/servicePrincipals/{id}/appRoleAssignedTo/{id}",
            "DELETE /v1.0/servicePrincipals/{id}/appRoleAssignedTo/{id}",
        ]
    );
    assert_eq!(
        assigned(&emu, &client_id),
        [("Alice Anderson".to_string(), "User".to_string())]
    );
    emu.shutdown();
}

#[test]
fn a_group_on_the_free_tier_is_refused_at_plan_time_with_no_write() {
    let emu = start("free", "");
    let dir = scratch("assignments_free");
    let s = spec(
        &dir,
        "free.yaml",
        &format!("  required: true\n  users: [alice@{DOMAIN}]\n  groups: [Mac Users]\n"),
    );
    let plan = emu.entractl(&["plan", &s.display().to_string()]);
    assert_eq!(plan.code, 1, "{}", plan.stdout);
    crate::assert_transcript!("groups_on_free", plan);
    let out = emu.entractl(&[
        "apply",
        &s.display().to_string(),
        "--auto-approve",
        "--journal-dir",
        &dir.join("journal").display().to_string(),
    ]);
    assert_eq!(out.code, 1);
    assert!(emu.writes().is_empty(), "{:#?}", emu.writes());
    // Users only: fine on the free tier.
    let users = spec(
        &dir,
        "users.yaml",
        &format!("  required: true\n  users: [alice@{DOMAIN}]\n"),
    );
    apply(&emu, &users, &dir.join("journal"));
    emu.shutdown();
}

#[test]
fn unknown_and_ambiguous_principals_are_one_report() {
    let emu = start("p1", "");
    let dir = scratch("assignments_unknown");
    let s = spec(
        &dir,
        "unknown.yaml",
        &format!(
            "  required: true\n  users:\n    - alice@{DOMAIN}\n    - zed@{DOMAIN}\n    - 0badc0de-0000-4000-8000-000000000000\n  groups:\n    - Engineering\n    - Nobody\n    - Mac Users\n"
        ),
    );
    let out = emu.entractl(&["plan", &s.display().to_string()]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    let dir_text = dir.display().to_string();
    let report = out.stderr.replace(&dir_text, "<dir>");
    insta::assert_snapshot!("unknown_and_ambiguous_principals", report);
    emu.shutdown();
}

#[test]
fn five_thousand_users_and_two_hundred_groups_plan_in_batched_rounds() {
    // 5,000 users; 198 small groups and 2 of 1,500 members (two pages each).
    let mut extra = format!("generate:\n  users: {{count: 5000, domain: {DOMAIN}}}\n  groups:\n");
    for i in 0..198 {
        extra.push_str(&format!(
            "    - {{displayName: Team {i:03}, memberCount: 10}}\n"
        ));
    }
    extra.push_str("    - {displayName: Big A, memberCount: 1500}\n");
    extra.push_str("    - {displayName: Big B, memberCount: 1500}\n");
    let emu = start("p1", &extra);
    let upns: Vec<String> = emu.with_tenant(|t| {
        t.users
            .iter()
            .filter_map(|u| u.str("userPrincipalName").map(str::to_string))
            .filter(|u| u.split('@').next().is_some_and(|n| n.contains('.')))
            .collect()
    });
    assert_eq!(upns.len(), 5000);
    let mut a = String::from("  required: true\n  users:\n");
    for u in &upns {
        a.push_str(&format!("    - {u}\n"));
    }
    a.push_str("  groups:\n");
    for i in 0..198 {
        a.push_str(&format!("    - Team {i:03}\n"));
    }
    a.push_str("    - Big A\n    - Big B\n");
    let dir = scratch("assignments_large");
    let s = spec(&dir, "large.yaml", &a);
    // The same spec without users and groups: the reads that do not depend on them.
    let base = spec(&dir, "base.yaml", "  required: true\n");

    let count = |spec: &Path| -> (Value, Vec<LogEntry>, usize) {
        emu.clear_log();
        let json = json_plan(&emu, spec);
        let round_trips = emu
            .request_log()
            .iter()
            .filter(|e| e.batch_id.is_none() && e.path.starts_with("/v1.0/"))
            .count();
        (json, emu.graph_log(), round_trips)
    };
    let (_, base_log, base_trips) = count(&base);
    let (json, log, trips) = count(&s);
    let creates = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["object"]["kind"] == "appRoleAssignment")
        .count();
    assert_eq!(creates, 5200);
    assert_eq!(
        json["outputs"]["assigned_groups"].as_array().unwrap().len(),
        200
    );

    // The app does not exist yet. For the assignments: 5,000 users + 200 groups +
    // subscribedSkus; 200 member lists; 2 next pages (the two groups of 1,500 members). Both
    // specs also list entractl's record groups (one filtered `/groups` read, in the first wave's
    // `$batch`: no round trip or wave of its own; none exists here).
    let assignment_reads = |log: &[LogEntry]| {
        log.iter()
            .filter(|e| {
                e.template.starts_with("/v1.0/users")
                    || e.template.starts_with("/v1.0/groups")
                    || e.template == "/v1.0/subscribedSkus"
            })
            .count()
    };
    assert_eq!(assignment_reads(&base_log), 1 + 1);
    assert_eq!(
        assignment_reads(&log),
        5201 + 200 + 2 + 1,
        "{} requests",
        log.len()
    );
    // Nothing else depends on the number of users and groups.
    assert_eq!(log.len() - base_log.len(), 5000 + 200 + 200 + 2);
    // No user or group is read on its own: they all go in `$batch`es of 20. Only a next page of
    // members may go alone: it is sent as soon as its page is answered (it leads to more reads).
    let next_page = |e: &LogEntry| e.path.contains("skiptoken");
    let alone: Vec<&LogEntry> = log
        .iter()
        .filter(|e| e.batch_id.is_none() && !next_page(e))
        .filter(|e| e.template.contains("/users") || e.template.contains("/groups"))
        .collect();
    assert!(alone.is_empty(), "{alone:#?}");
    // HTTP round trips for the assignments: 260 `$batch`es + 1 lone request (5,201 = 260 × 20 +
    // 1); 10 `$batch`es of member lists; the 2 next pages, together or each alone (as their
    // first pages are answered together or not). The base spec has 1 (the lone subscribedSkus
    // read).
    let extra = trips - base_trips;
    assert!(
        (261 + 10 + 1 - 1..=261 + 10 + 2 - 1).contains(&extra),
        "{extra} round trips"
    );
    emu.shutdown();
}

#[test]
fn a_deleted_user_and_a_disabled_user_are_warnings_not_errors() {
    let emu = start("p1", "");
    let erin = emu.with_tenant(|t| {
        let id = t
            .user(&format!("erin@{DOMAIN}"))
            .map(|r| r.id().to_string())
            .expect("erin");
        let record = t.users.remove(&id).expect("erin's record");
        t.deleted_items.insert(
            id.clone(),
            graph_emulator::state::DeletedItem {
                kind: "users".into(),
                record,
            },
        );
        id
    });
    let dir = scratch("assignments_deleted");
    let s = spec(
        &dir,
        "deleted.yaml",
        &format!("  required: true\n  users: [alice@{DOMAIN}, dave@{DOMAIN}, {erin}]\n"),
    );
    let plan = emu.entractl(&["plan", &s.display().to_string()]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    crate::assert_transcript!("deleted_user", plan);
    assert!(
        plan.stdout
            .contains(&format!("user dave@{DOMAIN} (Dave Davis) is disabled")),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("Plan: 5 to add, 0 to change, 0 to destroy"),
        "application, service principal, grant, alice and dave: {}",
        plan.stdout
    );
    emu.shutdown();
}

#[test]
fn three_hundred_assignments_are_written_in_batches_and_a_second_apply_writes_nothing() {
    let emu = start(
        "p1",
        &format!("generate:\n  users: {{count: 300, domain: {DOMAIN}}}\n"),
    );
    let upns: Vec<String> = emu.with_tenant(|t| {
        t.users
            .iter()
            .filter_map(|u| u.str("userPrincipalName").map(str::to_string))
            .filter(|u| u.split('@').next().is_some_and(|n| n.contains('.')))
            .collect()
    });
    assert_eq!(upns.len(), 300);
    let dir = scratch("assignments_apply_many");
    let s = spec(
        &dir,
        "many.yaml",
        &format!("  required: true\n  users: [{}]\n", upns.join(", ")),
    );
    emu.clear_log();
    apply(&emu, &s, &dir.join("journal"));
    let posts: Vec<LogEntry> = emu
        .writes()
        .into_iter()
        .filter(|e| e.template == "/v1.0/servicePrincipals/{id}/appRoleAssignedTo")
        .collect();
    assert_eq!(posts.len(), 300);
    assert!(posts.iter().all(|e| e.status == 201));
    // The first goes alone (the service principal was just created), the others in `$batch`es.
    assert_eq!(posts.iter().filter(|e| e.batch_id.is_none()).count(), 1);
    // Every one is journaled.
    let run = std::fs::read_dir(dir.join("journal"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let journaled = std::fs::read_dir(run)
        .unwrap()
        .filter(|f| {
            f.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains("appRoleAssignment")
        })
        .count();
    assert_eq!(journaled, 300);
    emu.clear_log();
    let again = apply(&emu, &s, &dir.join("journal"));
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(emu.writes().is_empty());
    emu.shutdown();
}

#[test]
fn user_principal_names_with_dollar_and_hash_are_found() {
    let emu = start("p1", "");
    let dir = scratch("assignments_odd_upns");
    let s = spec(
        &dir,
        "odd.yaml",
        &format!("  required: true\n  users: [\"$svc@{DOMAIN}\", \"o#neil@{DOMAIN}\"]\n"),
    );
    let plan = emu.entractl(&["plan", &s.display().to_string()]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    crate::assert_transcript!("odd_user_principal_names", plan);
    let paths: Vec<String> = emu
        .graph_log()
        .into_iter()
        .filter(|e| e.template.starts_with("/v1.0/users"))
        .map(|e| e.path)
        .collect();
    assert!(
        paths
            .iter()
            .any(|p| p.starts_with(&format!("/v1.0/users('$svc@{DOMAIN}')"))),
        "{paths:?}"
    );
    // `o#neil` was found at all only because `#` went as `%23` (a raw `#` starts the URL's
    // fragment: Graph would have seen `/users/o`); the emulator logs the decoded path.
    assert!(
        paths
            .iter()
            .any(|p| p.starts_with(&format!("/v1.0/users/o#neil@{DOMAIN}?"))),
        "{paths:?}"
    );
    emu.shutdown();
}
