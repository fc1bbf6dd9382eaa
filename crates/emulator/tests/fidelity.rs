//! Fidelity defects found when the emulator was tried as a new user would, each against Graph's
//! documented behaviour (graph-docs `api-reference/{v1.0,beta}/resources/*.md`).

use graph_emulator::scenarios::{CI_CLIENT_ID, CI_CLIENT_SECRET};
use graph_emulator::{EmulatorConfig, RunningEmulator, start};
use serde_json::{Value, json};

struct G {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl G {
    async fn new(emu: &RunningEmulator) -> G {
        let http = reqwest::Client::new();
        let body: Value = http
            .post(format!(
                "{}/{}/oauth2/v2.0/token",
                emu.base_url(),
                emu.tenant_id()
            ))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", CI_CLIENT_ID),
                ("client_secret", CI_CLIENT_SECRET),
                ("scope", "https://graph.microsoft.com/.default"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        G {
            http,
            base: emu.base_url(),
            token: body["access_token"].as_str().unwrap().to_string(),
        }
    }
    async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        prefer: Option<&str>,
    ) -> (u16, Value) {
        let mut rb = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(p) = prefer {
            rb = rb.header("Prefer", p);
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().await.unwrap();
        let s = r.status().as_u16();
        let text = r.text().await.unwrap();
        (s, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
    async fn get(&self, path: &str) -> (u16, Value) {
        self.send("GET", path, None, None).await
    }
}

fn policy(grant: Value, extra_conditions: Value) -> Value {
    let mut conditions = json!({
        "clientAppTypes": ["all"],
        "applications": {"includeApplications": ["All"]},
        "users": {"includeUsers": ["All"]}
    });
    if let (Value::Object(c), Value::Object(e)) = (&mut conditions, extra_conditions) {
        c.extend(e);
    }
    json!({"displayName": "fidelity", "state": "disabled", "conditions": conditions,
           "grantControls": grant})
}

#[tokio::test]
async fn service_principal_created_date_time_is_beta_only() {
    let emu = start(EmulatorConfig::scenario("p1")).unwrap();
    let g = G::new(&emu).await;
    let path = "/servicePrincipals(appId='00000003-0000-0000-c000-000000000000')";
    let (_, v1) = g.get(&format!("/v1.0{path}")).await;
    assert!(v1.get("createdDateTime").is_none(), "{v1}");
    assert!(v1.get("appId").is_some());
    let (_, beta) = g.get(&format!("/beta{path}")).await;
    assert!(beta["createdDateTime"].is_string(), "{beta}");
    let (s, _) = g
        .get("/v1.0/servicePrincipals?$select=createdDateTime")
        .await;
    assert_eq!(s, 400);
    let (_, list) = g.get("/v1.0/servicePrincipals").await;
    assert!(
        list["value"]
            .as_array()
            .unwrap()
            .iter()
            .all(|sp| sp.get("createdDateTime").is_none())
    );
}

#[tokio::test]
async fn deleted_items_answer_the_short_cast_sdks_send() {
    let emu = start(EmulatorConfig::scenario("p1")).unwrap();
    let g = G::new(&emu).await;
    let (_, app) = g
        .send(
            "POST",
            "/v1.0/applications",
            Some(json!({"displayName": "to delete"})),
            None,
        )
        .await;
    let id = app["id"].as_str().unwrap();
    assert_eq!(
        g.send("DELETE", &format!("/v1.0/applications/{id}"), None, None)
            .await
            .0,
        204
    );
    for cast in ["graph.application", "microsoft.graph.application"] {
        let (s, v) = g.get(&format!("/v1.0/directory/deletedItems/{cast}")).await;
        assert_eq!(s, 200, "{cast}: {v}");
        assert_eq!(v["value"][0]["id"], id, "{cast}");
    }
    let (s, _) = g
        .get("/v1.0/directory/deletedItems/graph.servicePrincipal")
        .await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn conditional_access_enums_follow_graph() {
    let emu = start(EmulatorConfig::scenario("p1")).unwrap();
    let g = G::new(&emu).await;
    let path = "/v1.0/identity/conditionalAccess/policies";
    let risk = policy(
        json!({"operator": "AND", "builtInControls": ["mfa", "riskRemediation"]}),
        json!({}),
    );
    // riskRemediation comes after unknownFutureValue: only with the Prefer header.
    let (s, v) = g.send("POST", path, Some(risk.clone()), None).await;
    assert_eq!(s, 400, "{v}");
    let (s, v) = g
        .send(
            "POST",
            path,
            Some(risk),
            Some("include-unknown-enum-members"),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let bogus = policy(
        json!({"operator": "OR", "builtInControls": ["mfa"]}),
        json!({"clientAppTypes": ["All", "Bogus"]}),
    );
    let (s, v) = g.send("POST", path, Some(bogus), None).await;
    assert_eq!(s, 400, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("Bogus"));
}

#[tokio::test]
async fn beta_has_its_own_conditional_access_schema() {
    let emu = start(EmulatorConfig::scenario("p1")).unwrap();
    let g = G::new(&emu).await;
    let body = policy(
        json!({"operator": "OR", "builtInControls": ["block"]}),
        json!({"agentIdRiskLevels": "high"}),
    );
    let (s, v) = g
        .send(
            "POST",
            "/v1.0/identity/conditionalAccess/policies",
            Some(body.clone()),
            None,
        )
        .await;
    assert_eq!(s, 400, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("'agentIdRiskLevels' does not exist on type 'microsoft.graph.conditionalAccessConditionSet'"),
        "{v}"
    );
    let (s, v) = g
        .send(
            "POST",
            "/beta/identity/conditionalAccess/policies",
            Some(body),
            None,
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["conditions"]["agentIdRiskLevels"], "high");
}

#[tokio::test]
async fn groups_and_organization_have_their_default_properties() {
    let emu = start(EmulatorConfig::scenario("p1")).unwrap();
    let g = G::new(&emu).await;
    let (_, groups) = g.get("/v1.0/groups?$top=1").await;
    let group = &groups["value"][0];
    for p in [
        "onPremisesLastSyncDateTime",
        "onPremisesProvisioningErrors",
        "onPremisesSecurityIdentifier",
        "preferredDataLocation",
        "preferredLanguage",
        "resourceBehaviorOptions",
        "resourceProvisioningOptions",
        "theme",
    ] {
        assert!(group.get(p).is_some(), "{p} missing: {group}");
    }
    let (_, org) = g.get("/v1.0/organization").await;
    assert!(org["value"][0].get("partnerTenantType").is_some(), "{org}");
}

#[tokio::test]
async fn group_membership_claims_is_one_value() {
    let emu = start(EmulatorConfig::scenario("p1")).unwrap();
    let g = G::new(&emu).await;
    let (s, v) = g
        .send(
            "POST",
            "/v1.0/applications",
            Some(json!({"displayName": "claims", "groupMembershipClaims": "SecurityGroup, DirectoryRole"})),
            None,
        )
        .await;
    assert_eq!(s, 400, "{v}");
    let (s, v) = g
        .send(
            "POST",
            "/v1.0/applications",
            Some(json!({"displayName": "claims", "groupMembershipClaims": "SecurityGroup"})),
            None,
        )
        .await;
    assert_eq!(s, 201, "{v}");
}
