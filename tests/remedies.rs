//! Mac Login's remedies chosen in the spec drive the plan on a tenant with baseline-scope
//! enforcement (scenario `p1`), where excluding the app does not help: `excludeUsers` adds the
//! app's assigned users and groups to the policies' exclusions. The emulator's policies are the
//! oracle, and the real sign-in agrees with the forecast.

use entractl_graph::GraphRequest;
use graph_emulator::scenarios::{P1_TENANT_ID, SANDBOX_PASSWORD};
use serde_json::{Value, json};

use crate::util::{Sandbox, actionable, scratch, write_spec};

/// The Mac Login spec with the preset's app exclusion dropped and the assigned users and groups
/// excluded from every policy requiring MFA.
const EXCLUDE_USERS: &str = "version: 1\ntenant: contoso.onmicrosoft.com\npreset: kandji-passport\npassport:\n  mode: mac-login\napp:\n  displayName: Kandji Passport\n  uniqueName: kandji-passport\nassignments:\n  users: [alice@contoso.com, bob@contoso.com]\n  groups: [Mac Users]\nmfa:\n  conditionalAccess:\n    excludeApp: []\n    excludeUsers: from-policies-requiring-mfa\n";

fn id_of(emu: &Sandbox, path: &str) -> String {
    emu.send(GraphRequest::get(path))["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Display name → (excludeUsers, excludeGroups, excludeApplications) of every policy, as the
/// emulator holds them.
fn exclusions(emu: &Sandbox) -> Vec<(String, Value, Value, Value)> {
    let policies = emu.send(GraphRequest::get("/identity/conditionalAccess/policies"));
    let mut out: Vec<(String, Value, Value, Value)> = policies["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let c = &p["conditions"];
            (
                p["displayName"].as_str().unwrap().to_string(),
                c["users"]["excludeUsers"].clone(),
                c["users"]["excludeGroups"].clone(),
                c["applications"]["excludeApplications"].clone(),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn exclude_users_drives_identity_exclusions_and_the_sign_in_works_under_enforcement() {
    let emu = Sandbox::scenario("p1", P1_TENANT_ID);
    let dir = scratch("remedies_exclude_users");
    let spec = write_spec(&dir, "exclude-users.yaml", EXCLUDE_USERS);
    let spec = spec.display().to_string();
    let before = exclusions(&emu);

    // The plan adds the people, never the app, to the policies that demand MFA, each flagged.
    let plan = emu.entractl_as(P1_TENANT_ID, None, &["plan", &spec, "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}\n{}", plan.stdout, plan.stderr);
    let json = emu.entractl_as(P1_TENANT_ID, None, &["plan", &spec, "--format", "json"]);
    let json: Value = serde_json::from_str(&json.stdout).expect("JSON plan");
    let policy_changes: Vec<Value> = actionable(&json)
        .into_iter()
        .filter(|c| c["object"]["kind"] == "conditionalAccessPolicy")
        .collect();
    assert_eq!(policy_changes.len(), 6, "{policy_changes:#?}");
    for c in &policy_changes {
        let paths: Vec<&str> = c["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["path"].as_str().unwrap())
            .collect();
        assert_eq!(
            paths,
            [
                "conditions.users.excludeUsers",
                "conditions.users.excludeGroups"
            ],
            "{c:#}"
        );
        assert_eq!(c["risks"], json!(["security-downgrade"]), "{c:#}");
    }

    let out = emu.apply_as(P1_TENANT_ID, &spec, &dir.join("journal"), true);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);

    // The oracle: the emulator's policies. The six named in the plan exclude alice, bob and
    // Mac Users (and nothing else changed); the others are as they were.
    let (alice, bob) = (
        id_of(&emu, "/users/alice@contoso.com"),
        id_of(&emu, "/users/bob@contoso.com"),
    );
    let groups =
        emu.send(GraphRequest::get("/groups").query("$filter", "displayName eq 'Mac Users'"));
    let mac_users = groups["value"][0]["id"].as_str().unwrap().to_string();
    let changed: Vec<&str> = policy_changes
        .iter()
        .map(|c| c["object"]["display"].as_str().unwrap())
        .collect();
    let after = exclusions(&emu);
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(a.0, b.0);
        assert_eq!(a.3, b.3, "{}: excludeApplications unchanged", a.0);
        let list = |v: &Value| -> Vec<String> {
            v.as_array()
                .map(|l| l.iter().map(|s| s.as_str().unwrap().to_string()).collect())
                .unwrap_or_default()
        };
        if changed.contains(&a.0.as_str()) {
            let mut users = list(&b.1);
            users.extend([alice.clone(), bob.clone()]);
            let mut groups = list(&b.2);
            groups.push(mac_users.clone());
            assert_eq!(list(&a.1), users, "{}", a.0);
            assert_eq!(list(&a.2), groups, "{}", a.0);
        } else {
            assert_eq!((&a.1, &a.2), (&b.1, &b.2), "{}: untouched", a.0);
        }
    }

    // Converged; the forecast says the sign-in will work, and the real sign-in agrees.
    let again = emu.entractl_as(P1_TENANT_ID, None, &["plan", &spec, "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    let verify = emu.entractl_as(P1_TENANT_ID, None, &["verify", &spec]);
    assert_eq!(verify.code, 0, "{}\n{}", verify.stdout, verify.stderr);
    let signin = emu.entractl_as(
        P1_TENANT_ID,
        Some(SANDBOX_PASSWORD),
        &["verify-signin", &spec, "--username", "alice@contoso.com"],
    );
    assert_eq!(signin.code, 0, "{}\n{}", signin.stdout, signin.stderr);
    emu.shutdown();
}
