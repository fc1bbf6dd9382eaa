//! Tenant-wide policy behaviours: baseline-scope settings (Graph and control API), Microsoft-managed
//! policies, a lapsed licence, security defaults versus conditional access, per-user MFA
//! registration, and settling replication.

use graph_emulator::baseline_scopes::BaselineScopes;
use graph_emulator::scenarios::{
    CI_CLIENT_ID, CI_CLIENT_SECRET, FREE_LAPSED_TENANT_ID, P1_TENANT_ID, READONLY_CLIENT_ID,
    READONLY_CLIENT_SECRET,
};
use graph_emulator::{EmulatorConfig, Knobs, RunningEmulator, start};
use serde_json::{Value, json};

struct G {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl G {
    async fn new(emu: &RunningEmulator, client: &str, secret: &str) -> G {
        let http = reqwest::Client::new();
        let base = emu.base_url();
        let body: Value = http
            .post(format!("{base}/{}/oauth2/v2.0/token", emu.tenant_id()))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", client),
                ("client_secret", secret),
                ("scope", "https://graph.microsoft.com/.default"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = body["access_token"].as_str().expect("token").to_string();
        G { http, base, token }
    }
    async fn send(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut rb = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

fn policy_id(emu: &RunningEmulator, prefix: &str) -> String {
    emu.with_tenant(|t| {
        t.conditional_access_policies
            .iter()
            .find(|p| p.str("displayName").is_some_and(|n| n.starts_with(prefix)))
            .map(|p| p.id().to_string())
            .unwrap()
    })
}

#[tokio::test]
async fn conditional_access_settings_report_baseline_scopes_read_only() {
    let emu = start(EmulatorConfig::scenario("p1")).unwrap();
    let g = G::new(&emu, CI_CLIENT_ID, CI_CLIENT_SECRET).await;
    let path = "/beta/identity/conditionalAccess/settings";
    let (s, v) = g.send("GET", path, None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["advancedSettings"]["baselineScopes"]["resourceAppId"],
        "00000002-0000-0000-c000-000000000000"
    );
    assert_eq!(v["exclusions"], Value::Null);
    // v1.0 does not have it.
    assert_eq!(
        g.send("GET", "/v1.0/identity/conditionalAccess/settings", None)
            .await
            .0,
        400
    );
    // The documented property is writable, the undocumented one is not.
    let exclusions = json!({"excludedApplications": ["x"]});
    let (s, _) = g
        .send("PATCH", path, Some(json!({"exclusions": exclusions})))
        .await;
    assert_eq!(s, 204);
    assert_eq!(g.send("GET", path, None).await.1["exclusions"], exclusions);
    let (s, v) = g
        .send(
            "PATCH",
            path,
            Some(json!({"advancedSettings": {"baselineScopes": {"resourceAppId": "x"}}})),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    // Read with Policy.Read.All; writing needs Policy.ReadWrite.ConditionalAccess.
    let ro = G::new(&emu, READONLY_CLIENT_ID, READONLY_CLIENT_SECRET).await;
    assert_eq!(ro.send("GET", path, None).await.0, 200);
    assert_eq!(
        ro.send("PATCH", path, Some(json!({"exclusions": null})))
            .await
            .0,
        403
    );

    // Each setting as Graph reports it; set through the control API.
    let http = reqwest::Client::new();
    let control = format!(
        "{}/_emulator/tenants/{P1_TENANT_ID}/baseline-scopes",
        emu.base_url()
    );
    for (mode, reported) in [
        (json!("legacy"), Value::Null),
        (
            json!("disabled"),
            json!({"baselineScopes": {"resourceAppId": "00000000-0000-0000-0000-000000000000"}}),
        ),
        (
            json!({"custom": "5a5a5a5a-0000-4000-8000-00000000a0ff"}),
            json!({"baselineScopes": {"resourceAppId": "5a5a5a5a-0000-4000-8000-00000000a0ff"}}),
        ),
    ] {
        let r = http.put(&control).json(&mode).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(
            g.send("GET", path, None).await.1["advancedSettings"],
            reported
        );
    }
    let back: Value = http
        .get(&control)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        back,
        json!({"custom": "5a5a5a5a-0000-4000-8000-00000000a0ff"})
    );
    let bad = http
        .put(&control)
        .json(&json!("sometimes"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert_eq!(
        emu.with_tenant(|t| t.baseline_scopes.clone()),
        BaselineScopes::Custom("5a5a5a5a-0000-4000-8000-00000000a0ff".into())
    );
}

#[tokio::test]
async fn microsoft_managed_policies_change_only_state_and_exclusions() {
    let emu = start(EmulatorConfig::scenario("p1")).unwrap();
    let g = G::new(&emu, CI_CLIENT_ID, CI_CLIENT_SECRET).await;
    let id = policy_id(
        &emu,
        "Microsoft-managed: Multifactor authentication for all users",
    );
    let path = format!("/v1.0/identity/conditionalAccess/policies/{id}");
    let (s, v) = g
        .send(
            "PATCH",
            &path,
            Some(json!({"state": "disabled",
                        "conditions": {"users": {"excludeUsers": ["0e1c5f7a-0000-4000-8000-000000000001"]}}})),
        )
        .await;
    assert_eq!(s, 204, "{v}");
    for refused in [
        json!({"displayName": "Mine now"}),
        json!({"conditions": {"applications": {"excludeApplications": ["5a5a5a5a-0000-4000-8000-00000000a001"]}}}),
        json!({"grantControls": {"operator": "OR", "builtInControls": ["block"]}}),
    ] {
        let (s, v) = g.send("PATCH", &path, Some(refused.clone())).await;
        assert_eq!(s, 400, "{refused}: {v}");
        assert_eq!(v["error"]["code"], "BadRequest");
    }
    let (s, _) = g.send("DELETE", &path, None).await;
    assert_eq!(s, 400);
    let (_, got) = g.send("GET", &path, None).await;
    assert_eq!(got["state"], "disabled");
    assert_eq!(
        got["displayName"],
        "Microsoft-managed: Multifactor authentication for all users"
    );
    // An ordinary policy can still be renamed and deleted.
    let ca007 = policy_id(&emu, "CA007");
    let other = format!("/v1.0/identity/conditionalAccess/policies/{ca007}");
    assert_eq!(
        g.send(
            "PATCH",
            &other,
            Some(json!({"displayName": "CA007 renamed"}))
        )
        .await
        .0,
        204
    );
    assert_eq!(g.send("DELETE", &other, None).await.0, 204);

    // Microsoft turns the report-only ones on (the knob).
    let r = reqwest::Client::new()
        .post(format!(
            "{}/_emulator/tenants/{P1_TENANT_ID}/managed-policies/enable",
            emu.base_url()
        ))
        .send()
        .await
        .unwrap();
    let enabled: Value = r.json().await.unwrap();
    assert_eq!(enabled["enabled"].as_array().unwrap().len(), 3, "{enabled}");
    assert_eq!(g.send("GET", &path, None).await.1["state"], "disabled");
}

#[tokio::test]
async fn a_lapsed_licence_keeps_policies_enforced_and_read_only() {
    let emu = start(EmulatorConfig::scenario("free-lapsed")).unwrap();
    assert_eq!(emu.tenant_id(), FREE_LAPSED_TENANT_ID);
    let g = G::new(&emu, CI_CLIENT_ID, CI_CLIENT_SECRET).await;
    let (s, v) = g
        .send("GET", "/v1.0/identity/conditionalAccess/policies", None)
        .await;
    assert_eq!(s, 200);
    let policy = v["value"][0].clone();
    assert_eq!(policy["state"], "enabled");
    let (_, skus) = g.send("GET", "/v1.0/subscribedSkus", None).await;
    assert!(
        !skus.to_string().contains("AAD_PREMIUM"),
        "a Free tenant: {skus}"
    );
    let path = format!(
        "/v1.0/identity/conditionalAccess/policies/{}",
        policy["id"].as_str().unwrap()
    );
    let (s, v) = g
        .send("PATCH", &path, Some(json!({"state": "disabled"})))
        .await;
    assert_eq!(s, 400, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("premium P1"),
        "{v}"
    );
    let new = json!({"displayName": "x", "state": "disabled",
                     "conditions": {"applications": {"includeApplications": ["All"]},
                                    "users": {"includeUsers": ["All"]}},
                     "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}});
    assert_eq!(
        g.send(
            "POST",
            "/v1.0/identity/conditionalAccess/policies",
            Some(new)
        )
        .await
        .0,
        400
    );
    assert_eq!(g.send("GET", &path, None).await.1["state"], "enabled");
    // Sign-ins are still evaluated against it: the password grant of a public client asks for MFA.
    emu.with_tenant(|t| {
        let graph = t
            .service_principal_by_app_id(graph_emulator::scenarios::GRAPH_APP_ID)
            .unwrap()
            .id()
            .to_string();
        let obj = |v: Value| v.as_object().cloned().unwrap();
        t.applications
            .insert(graph_emulator::Record::new(obj(json!({
                "id": "6b6b6b6b-0000-4000-8000-00000000b001",
                "appId": "6b6b6b6b-0000-4000-8000-00000000a001",
                "displayName": "Passport", "isFallbackPublicClient": true}))));
        t.service_principals
            .insert(graph_emulator::Record::new(obj(json!({
                "id": "6b6b6b6b-0000-4000-8000-00000000c001",
                "appId": "6b6b6b6b-0000-4000-8000-00000000a001", "displayName": "Passport"}))));
        t.oauth2_permission_grants
            .insert(graph_emulator::Record::new(obj(json!({
                "id": "g1", "clientId": "6b6b6b6b-0000-4000-8000-00000000c001",
                "consentType": "AllPrincipals", "principalId": null, "resourceId": graph,
                "scope": "openid profile email User.Read"}))));
    });
    let r: Value = reqwest::Client::new()
        .post(format!(
            "{}/{FREE_LAPSED_TENANT_ID}/oauth2/v2.0/token",
            emu.base_url()
        ))
        .form(&[
            ("grant_type", "password"),
            ("client_id", "6b6b6b6b-0000-4000-8000-00000000a001"),
            ("scope", "openid profile email User.Read"),
            ("username", "alice@tailspin.onmicrosoft.com"),
            ("password", graph_emulator::scenarios::SANDBOX_PASSWORD),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["error_codes"][0], 50076, "{r}");
}

#[tokio::test]
async fn security_defaults_and_enabled_policies_exclude_each_other() {
    let emu = start(EmulatorConfig::scenario("p1")).unwrap();
    let g = G::new(&emu, CI_CLIENT_ID, CI_CLIENT_SECRET).await;
    let sd = "/v1.0/policies/identitySecurityDefaultsEnforcementPolicy";
    let (s, v) = g.send("PATCH", sd, Some(json!({"isEnabled": true}))).await;
    assert_eq!(s, 400, "p1 has enabled policies: {v}");
    assert_eq!(g.send("GET", sd, None).await.1["isEnabled"], false);
    // Without enabled policies it can be turned on; then no policy can be enabled.
    emu.with_tenant(|t| {
        for p in t.conditional_access_policies.iter_mut() {
            p.obj.insert("state".into(), json!("disabled"));
        }
    });
    assert_eq!(
        g.send("PATCH", sd, Some(json!({"isEnabled": true})))
            .await
            .0,
        204
    );
    let ca001 = policy_id(&emu, "CA001");
    let path = format!("/v1.0/identity/conditionalAccess/policies/{ca001}");
    let (s, v) = g
        .send("PATCH", &path, Some(json!({"state": "enabled"})))
        .await;
    assert_eq!(s, 400, "{v}");
    let (s, _) = g
        .send(
            "PATCH",
            &path,
            Some(json!({"state": "enabledForReportingButNotEnforced"})),
        )
        .await;
    assert_eq!(s, 204, "report-only is allowed");
}

/// A service principal can be a member of a security group (graph-docs
/// `concepts/includes/groups-allowed-member-types.md`, `group-post-members.md`): entractl's
/// security defaults record is the app's service principal in a record group.
#[tokio::test]
async fn a_service_principal_is_a_security_group_member_listed_with_its_type() {
    let emu = start(EmulatorConfig::scenario("free")).unwrap();
    let g = G::new(&emu, CI_CLIENT_ID, CI_CLIENT_SECRET).await;
    // Microsoft Graph's service principal, which every scenario has.
    let (s, sps) = g
        .send(
            "GET",
            "/v1.0/servicePrincipals?$filter=appId%20eq%20'00000003-0000-0000-c000-000000000000'",
            None,
        )
        .await;
    assert_eq!(s, 200, "{sps}");
    let sp_id = sps["value"][0]["id"].as_str().unwrap().to_string();
    let body = json!({"displayName": "record", "mailNickname": "entractl-record-securitydefaults-00000000",
        "mailEnabled": false, "securityEnabled": true});
    let (s, grp) = g.send("POST", "/v1.0/groups", Some(body)).await;
    assert_eq!(s, 201, "{grp}");
    let gid = grp["id"].as_str().unwrap();
    let member =
        json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{sp_id}")});
    let add = format!("/v1.0/groups/{gid}/members/$ref");
    let (s, v) = g.send("POST", &add, Some(member.clone())).await;
    assert_eq!(s, 204, "{v}");
    assert_eq!(
        g.send("POST", &add, Some(member)).await.0,
        400,
        "a member already"
    );
    let (s, members) = g
        .send("GET", &format!("/v1.0/groups/{gid}/members"), None)
        .await;
    assert_eq!(s, 200, "{members}");
    assert_eq!(members["value"].as_array().unwrap().len(), 1);
    assert_eq!(members["value"][0]["id"], sp_id.as_str());
    assert_eq!(
        members["value"][0]["@odata.type"],
        "#microsoft.graph.servicePrincipal"
    );
    let remove = format!("/v1.0/groups/{gid}/members/{sp_id}/$ref");
    assert_eq!(g.send("DELETE", &remove, None).await.0, 204);
    let (_, members) = g
        .send("GET", &format!("/v1.0/groups/{gid}/members"), None)
        .await;
    assert_eq!(members["value"], json!([]));
}

/// An app-only token of the CI client with exactly `roles`.
fn with_roles(emu: &RunningEmulator, roles: &[&str]) -> G {
    G {
        http: reqwest::Client::new(),
        base: emu.base_url(),
        token: emu.app_token(CI_CLIENT_ID, roles),
    }
}

/// graph-docs `api-reference/v1.0/api/group-post-members.md`, least privileged application
/// permissions per member type: a user needs GroupMember.ReadWrite.All, a service principal
/// "GroupMember.ReadWrite.All and Application.ReadWrite.All"; without it Graph answers 403
/// Authorization_RequestDenied and the group keeps its members.
#[tokio::test]
async fn adding_a_service_principal_member_needs_application_read_write_all_too() {
    let emu = start(EmulatorConfig::scenario("free")).unwrap();
    let ci = G::new(&emu, CI_CLIENT_ID, CI_CLIENT_SECRET).await;
    let body = json!({"displayName": "record", "mailNickname": "entractl-record-securitydefaults-00000001",
        "mailEnabled": false, "securityEnabled": true});
    let (s, grp) = ci.send("POST", "/v1.0/groups", Some(body)).await;
    assert_eq!(s, 201, "{grp}");
    let gid = grp["id"].as_str().unwrap().to_string();
    let (sp, user) = emu.with_tenant(|t| {
        let sp = t.service_principals.iter().next().unwrap().id().to_string();
        let user = t.users.iter().next().unwrap().id().to_string();
        (sp, user)
    });
    let members = || {
        emu.with_tenant(|t| {
            t.groups
                .iter()
                .find(|g| g.id() == gid)
                .unwrap()
                .internal
                .members
                .clone()
        })
    };
    let add = format!("/v1.0/groups/{gid}/members/$ref");
    let member = |id: &str| {
        Some(
            json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{id}")}),
        )
    };
    let members_only = with_roles(&emu, &["GroupMember.ReadWrite.All"]);
    let (s, v) = members_only.send("POST", &add, member(&sp)).await;
    assert_eq!(s, 403, "{v}");
    assert_eq!(v["error"]["code"], "Authorization_RequestDenied", "{v}");
    assert!(members().is_empty(), "nothing added");
    let (s, v) = members_only.send("POST", &add, member(&user)).await;
    assert_eq!(s, 204, "a user needs GroupMember.ReadWrite.All alone: {v}");
    assert_eq!(members(), vec![user.clone()]);

    let both = with_roles(
        &emu,
        &["GroupMember.ReadWrite.All", "Application.ReadWrite.All"],
    );
    let (s, v) = both.send("POST", &add, member(&sp)).await;
    assert_eq!(s, 204, "{v}");
    assert_eq!(members(), vec![user.clone(), sp.clone()]);
    // Releasing needs GroupMember.ReadWrite.All alone (`group-delete-members.md`).
    let remove = format!("/v1.0/groups/{gid}/members/{sp}/$ref");
    assert_eq!(members_only.send("DELETE", &remove, None).await.0, 204);
    assert_eq!(members(), vec![user]);
}

#[tokio::test]
async fn per_user_mfa_enabled_reads_enforced_once_registered() {
    let fixture =
        "tenant: {id: 6c6c6c6c-0000-4000-8000-000000000001, displayName: T, license: p1,\n  \
                   domains: [{name: t.example, initial: true, default: true}]}\n\
                   users:\n\
                   - {upn: a@t.example, displayName: A, perUserMfa: enabled}\n\
                   - {upn: b@t.example, displayName: B, perUserMfa: enabled, mfaRegistered: true}\n"
            .to_string()
            + graph_emulator::scenarios::text("empty")
                .unwrap()
                .split("automationClients:")
                .nth(1)
                .map(|c| format!("automationClients:{c}"))
                .unwrap()
                .as_str();
    let mut cfg = EmulatorConfig::scenario("empty");
    cfg.sources = vec![graph_emulator::TenantSource::FixtureText {
        name: "mfa".into(),
        text: fixture,
    }];
    let emu = start(cfg).unwrap();
    let g = G::new(&emu, CI_CLIENT_ID, CI_CLIENT_SECRET).await;
    let state = |upn: &'static str| {
        let g = &g;
        async move {
            g.send(
                "GET",
                &format!("/beta/users/{upn}/authentication/requirements"),
                None,
            )
            .await
            .1["perUserMfaState"]
                .clone()
        }
    };
    assert_eq!(state("a@t.example").await, "enabled");
    assert_eq!(state("b@t.example").await, "enforced");
    emu.with_tenant(|t| t.user_mut("a@t.example").unwrap().internal.mfa_registered = true);
    assert_eq!(state("a@t.example").await, "enforced");
}

#[tokio::test]
async fn settling_replication_makes_every_pending_write_visible() {
    let mut cfg = EmulatorConfig::scenario("empty");
    cfg.knobs = Knobs {
        replication_delay_ms: 600_000,
        ..Knobs::default()
    };
    let emu = start(cfg).unwrap();
    let g = G::new(&emu, CI_CLIENT_ID, CI_CLIENT_SECRET).await;
    let (s, app) = g
        .send(
            "POST",
            "/v1.0/applications",
            Some(json!({"displayName": "late"})),
        )
        .await;
    assert_eq!(s, 201);
    let path = format!("/v1.0/applications/{}", app["id"].as_str().unwrap());
    assert_eq!(g.send("GET", &path, None).await.0, 404, "still replicating");
    assert_eq!(emu.settle_replication(), 1);
    assert_eq!(g.send("GET", &path, None).await.0, 200);

    // The same over HTTP.
    let (_, app) = g
        .send(
            "POST",
            "/v1.0/applications",
            Some(json!({"displayName": "later"})),
        )
        .await;
    let path = format!("/v1.0/applications/{}", app["id"].as_str().unwrap());
    let r: Value = reqwest::Client::new()
        .post(format!("{}/_emulator/replication/settle", emu.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r, json!({"settled": 1}));
    assert_eq!(g.send("GET", &path, None).await.0, 200);
}
