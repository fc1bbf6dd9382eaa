//! Admin consent for application permissions, end to end against graph-emulator: the example
//! spec `specs/contoso-portal.yaml` plans and applies on the `p1` scenario as shipped, its
//! application permission is granted (checked in the emulator's state, and in the `roles` its
//! app-only tokens would carry), drift either way is a change, and `adminConsent: false` revokes.

use graph_emulator::scenarios::{GRAPH_APP_ID, P1_TENANT_ID};
use serde_json::Value;

use crate::util::{Sandbox, TestCommand, actionable, scratch, write_spec};

const SPEC: &str = "specs/contoso-portal.yaml";
const USER_READ_ALL: &str = "df021288-bdef-4463-88db-98f22de89214";
const GROUP_READ_ALL: &str = "5b567255-7703-4780-807c-7be8301ae99b";

/// What the emulator holds for the app `uniqueName`: its appId and service principal id.
fn app_of(emu: &Sandbox, unique_name: &str) -> (String, String) {
    emu.with_tenant(|t| {
        let app = t
            .applications
            .find_by("uniqueName", unique_name)
            .expect("the application exists");
        let app_id = app.str("appId").unwrap().to_string();
        let sp = t
            .service_principal_by_app_id(&app_id)
            .expect("its service principal");
        (app_id, sp.id().to_string())
    })
}

/// `(resourceId, appRoleId)` of every app role granted to the service principal `sp`.
fn granted(emu: &Sandbox, sp: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = emu.with_tenant(|t| {
        t.app_role_assignments
            .iter()
            .filter(|a| a.str("principalId") == Some(sp))
            .map(|a| {
                (
                    a.str("resourceId").unwrap().to_string(),
                    a.str("appRoleId").unwrap().to_ascii_lowercase(),
                )
            })
            .collect()
    });
    out.sort();
    out
}

fn graph_sp_id(emu: &Sandbox) -> String {
    emu.with_tenant(|t| {
        t.service_principal_by_app_id(GRAPH_APP_ID)
            .unwrap()
            .id()
            .to_string()
    })
}

/// The application permission changes of a JSON plan: `(action, key, risks)`.
fn permission_changes(plan: &Value) -> Vec<(String, String, Value)> {
    actionable(plan)
        .into_iter()
        .filter(|c| c["object"]["kind"] == "applicationPermissionGrant")
        .map(|c| {
            (
                c["action"].as_str().unwrap().to_string(),
                c["object"]["key"].as_str().unwrap().to_string(),
                c["risks"].clone(),
            )
        })
        .collect()
}

#[test]
fn contoso_portal_plans_and_applies_on_p1_as_shipped_then_plans_empty() {
    let emu = Sandbox::scenario("p1", P1_TENANT_ID);
    let dir = scratch("consent_contoso_portal");

    let plan = emu.json_plan(SPEC);
    assert_eq!(
        permission_changes(&plan),
        [(
            "create".to_string(),
            "contoso-portal → Microsoft Graph: User.Read.All".to_string(),
            serde_json::json!(["tenant-wide-consent"])
        )]
    );
    assert!(
        plan["notes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["kind"] != "not-yet-applied"),
        "{:#}",
        plan["notes"]
    );

    let out = emu.apply(SPEC, &dir);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("; converged"), "{}", out.stdout);

    // The oracle: the emulator's state.
    let (app_id, sp) = app_of(&emu, "contoso-portal");
    let graph = graph_sp_id(&emu);
    assert_eq!(
        granted(&emu, &sp),
        [(graph.clone(), USER_READ_ALL.to_string())]
    );
    assert_eq!(
        emu.with_tenant(|t| t.granted_app_roles(&app_id, GRAPH_APP_ID)),
        ["User.Read.All"],
        "the app's app-only tokens for Microsoft Graph carry the role"
    );
    let assigned: Vec<String> = emu.with_tenant(|t| {
        let mut v: Vec<String> = t
            .app_role_assignments
            .iter()
            .filter(|a| a.str("resourceId") == Some(sp.as_str()))
            .map(|a| {
                a.str("principalDisplayName")
                    .unwrap_or_default()
                    .to_string()
            })
            .collect();
        v.sort();
        v
    });
    assert_eq!(assigned, ["Portal Administrators", "Portal Users"]);
    let scope = emu.with_tenant(|t| {
        t.oauth2_permission_grants
            .iter()
            .find(|g| g.str("clientId") == Some(sp.as_str()))
            .and_then(|g| g.str("scope"))
            .map(str::to_string)
    });
    assert_eq!(scope.as_deref(), Some("openid profile email User.Read"));

    let again = emu.entractl(&["plan", SPEC, "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    assert!(again.stdout.contains("No changes"), "{}", again.stdout);
    emu.shutdown();
}

#[test]
fn consent_drift_either_way_is_a_change_and_admin_consent_false_revokes() {
    let emu = Sandbox::scenario("p1", P1_TENANT_ID);
    let dir = scratch("consent_drift");
    let out = emu.apply(SPEC, &dir);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let (_, sp) = app_of(&emu, "contoso-portal");
    let graph = graph_sp_id(&emu);

    // Behind entractl's back: the consent revoked, another application permission granted.
    let ids: Vec<String> = emu.with_tenant(|t| {
        t.app_role_assignments
            .iter()
            .filter(|a| a.str("principalId") == Some(sp.as_str()))
            .map(|a| a.id().to_string())
            .collect()
    });
    emu.with_tenant(|t| {
        for id in &ids {
            t.app_role_assignments.remove(id);
        }
    });
    let (rt, client) = emu.graph_for(P1_TENANT_ID);
    rt.block_on(
        client.send(entractl_graph::resource::app_role_assignment::create(
            entractl_graph::resource::app_role_assignment::application_permission_body(
                Some(&sp),
                &graph,
                GROUP_READ_ALL,
            ),
        )),
    )
    .expect("granted by hand");
    emu.settle_replication();

    let drift = emu.entractl(&["plan", SPEC, "--detailed-exitcode"]);
    assert_eq!(drift.code, 2, "{}\n{}", drift.stdout, drift.stderr);
    let plan = emu.json_plan(SPEC);
    let changes = permission_changes(&plan);
    assert_eq!(
        changes
            .iter()
            .map(|(a, k, r)| (a.as_str(), k.as_str(), r.clone()))
            .collect::<Vec<_>>(),
        [
            (
                "create",
                "contoso-portal → Microsoft Graph: User.Read.All",
                serde_json::json!(["tenant-wide-consent"])
            ),
            (
                "delete",
                "contoso-portal → Microsoft Graph: Group.Read.All",
                serde_json::json!(["removal"])
            ),
        ]
    );
    let out = emu.apply(SPEC, &dir);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        granted(&emu, &sp),
        [(graph.clone(), USER_READ_ALL.to_string())]
    );

    // `adminConsent: false`: every application permission revoked (and the delegated grant).
    let text = std::fs::read_to_string(crate::util::root().join(SPEC))
        .unwrap()
        .replace("adminConsent: true ", "adminConsent: false");
    let spec = write_spec(&dir, "no-consent.yaml", &text);
    let spec = spec.display().to_string();
    let out = emu.apply(&spec, &dir);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(granted(&emu, &sp).is_empty());
    let grants = emu.with_tenant(|t| {
        t.oauth2_permission_grants
            .iter()
            .filter(|g| g.str("clientId") == Some(sp.as_str()))
            .count()
    });
    assert_eq!(grants, 0);
    let again = emu.entractl(&["plan", &spec, "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    emu.shutdown();
}

#[test]
fn permissions_lists_what_granting_application_permissions_needs() {
    let out = TestCommand::new(&["permissions", SPEC, "--json"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    let apply = v["apply"].as_array().unwrap();
    let write = apply
        .iter()
        .find(|n| n["permission"] == "AppRoleAssignment.ReadWrite.All")
        .expect("AppRoleAssignment.ReadWrite.All to apply");
    assert!(
        write["why"]
            .as_str()
            .unwrap()
            .contains("application permissions"),
        "{write}"
    );
}
