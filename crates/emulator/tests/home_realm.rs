//! Domains, users' `userType` and home realm discovery policies over Graph, with their permissions;
//! and the password grant of a federated user following the policy in effect for the client (a
//! policy assigned to its service principal, else the organization's default).

use graph_emulator::scenarios::GRAPH_APP_ID;
use graph_emulator::{EmulatorConfig, Record, RunningEmulator, TenantSource, start};
use serde_json::{Value, json};

const TENANT: &str = "7d7d7d7d-0000-4000-8000-000000000001";
const ADMIN: &str = "7d7d7d7d-0000-4000-8000-00000000a001";
const NARROW: &str = "7d7d7d7d-0000-4000-8000-00000000a002";
const PASSPORT: &str = "7d7d7d7d-0000-4000-8000-00000000a003";
const PASSPORT_SP: &str = "7d7d7d7d-0000-4000-8000-00000000c003";
const GROUP: &str = "7d7d7d7d-0000-4000-8000-00000000e001";

/// A tenant with a federated domain, a guest, a group of both; an organization-default policy
/// allowing cloud passwords, one accelerating to the federated domain (assigned to nothing), one
/// assigned to the admin client; Passport as a public client with consent.
fn emulator() -> RunningEmulator {
    let fixture = format!(
        r#"tenant:
  id: {TENANT}
  displayName: Realm
  license: p1
  domains:
    - {{name: realm.onmicrosoft.com, initial: true}}
    - {{name: realm.example, default: true}}
    - {{name: corp.realm.example, federated: true}}
users:
  - {{upn: fed@corp.realm.example, displayName: Fed}}
  - {{upn: guest@realm.example, displayName: Guest, userType: Guest}}
groups:
  - {{displayName: Mac Users, id: {GROUP}, members: [fed@corp.realm.example, guest@realm.example]}}
automationClients:
  - displayName: admin
    appId: {ADMIN}
    secret: admin-secret
    roles: [Domain.Read.All, Policy.Read.All, Application.ReadWrite.All, Application.Read.All, User.Read.All, GroupMember.Read.All, Policy.ReadWrite.ApplicationConfiguration]
  - displayName: narrow
    appId: {NARROW}
    secret: narrow-secret
    roles: [Organization.Read.All, Policy.Read.All]
homeRealmDiscoveryPolicies:
  - displayName: Cloud passwords
    definition: {{HomeRealmDiscoveryPolicy: {{AllowCloudPasswordValidation: true}}}}
    isOrganizationDefault: true
  - displayName: Accelerate to AD FS
    definition: {{HomeRealmDiscoveryPolicy: {{AccelerateToFederatedDomain: true, PreferredDomain: corp.realm.example}}}}
  - displayName: For the admin
    definition: {{HomeRealmDiscoveryPolicy: {{AllowCloudPasswordValidation: true}}}}
    appliesTo: [{ADMIN}]
"#
    );
    let mut cfg = EmulatorConfig::scenario("empty");
    cfg.sources = vec![TenantSource::FixtureText {
        name: "realm".into(),
        text: fixture,
    }];
    let emu = start(cfg).expect("fixture loads");
    emu.with_tenant(|t| {
        let graph = t
            .service_principal_by_app_id(GRAPH_APP_ID)
            .unwrap()
            .id()
            .to_string();
        let obj = |v: Value| v.as_object().cloned().unwrap();
        t.applications.insert(Record::new(obj(json!({
            "id": "7d7d7d7d-0000-4000-8000-00000000b003", "appId": PASSPORT,
            "displayName": "Passport", "isFallbackPublicClient": true}))));
        t.service_principals.insert(Record::new(obj(json!({
            "id": PASSPORT_SP, "appId": PASSPORT, "displayName": "Passport"}))));
        t.oauth2_permission_grants.insert(Record::new(obj(json!({
            "id": "g", "clientId": PASSPORT_SP, "consentType": "AllPrincipals",
            "principalId": null, "resourceId": graph, "scope": "openid profile"}))));
        t.reindex();
    });
    emu
}

async fn token(emu: &RunningEmulator, form: &[(&str, &str)]) -> Value {
    reqwest::Client::new()
        .post(format!("{}/{TENANT}/oauth2/v2.0/token", emu.base_url()))
        .form(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// An app-only token of `client`.
async fn app_token(emu: &RunningEmulator, client: &str, secret: &str) -> String {
    token(
        emu,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", client),
            ("client_secret", secret),
            ("scope", "https://graph.microsoft.com/.default"),
        ],
    )
    .await["access_token"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Passport's password sign-in of `upn`: the AADSTS code, or 0 for a token.
async fn ropc(emu: &RunningEmulator, upn: &str) -> u64 {
    let r = token(
        emu,
        &[
            ("grant_type", "password"),
            ("client_id", PASSPORT),
            ("scope", "openid profile"),
            ("username", upn),
            ("password", graph_emulator::scenarios::SANDBOX_PASSWORD),
        ],
    )
    .await;
    if r["access_token"].is_string() {
        0
    } else {
        r["error_codes"][0].as_u64().unwrap()
    }
}

async fn call(
    emu: &RunningEmulator,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let url = format!("{}/v1.0{path}", emu.base_url());
    let mut req = reqwest::Client::new()
        .request(method.parse().unwrap(), url)
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn domains_user_types_and_policies_are_served_with_their_permissions() {
    let emu = emulator();
    let admin = app_token(&emu, ADMIN, "admin-secret").await;
    let narrow = app_token(&emu, NARROW, "narrow-secret").await;

    let (s, v) = call(&emu, &admin, "GET", "/domains", None).await;
    assert_eq!(s, 200, "{v}");
    let kinds: Vec<(String, String)> = v["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["id"].as_str().unwrap().to_string(),
                d["authenticationType"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("realm.onmicrosoft.com".into(), "Managed".into()),
            ("realm.example".into(), "Managed".into()),
            ("corp.realm.example".into(), "Federated".into())
        ]
    );
    assert_eq!(v["value"][2]["isVerified"], true, "{v}");
    let (s, v) = call(
        &emu,
        &admin,
        "GET",
        "/domains?$select=authenticationType",
        None,
    )
    .await;
    assert_eq!(
        (s, v["value"][0].as_object().unwrap().len()),
        (200, 2),
        "{v}"
    );
    let (s, v) = call(&emu, &admin, "GET", "/domains/Corp.Realm.Example", None).await;
    assert_eq!(
        (s, &v["authenticationType"]),
        (200, &json!("Federated")),
        "{v}"
    );
    let (s, _) = call(&emu, &admin, "GET", "/domains/nowhere.example", None).await;
    assert_eq!(s, 404);
    let (s, v) = call(&emu, &narrow, "GET", "/domains", None).await;
    assert_eq!(s, 403, "Organization.Read.All does not read domains: {v}");

    // userType: on a user with $select, and on group members with $select (not by default).
    let (_, v) = call(
        &emu,
        &admin,
        "GET",
        "/users/guest@realm.example?$select=id,userType",
        None,
    )
    .await;
    assert_eq!(v["userType"], "Guest", "{v}");
    let path = format!("/groups/{GROUP}/members?$select=id,userPrincipalName,userType");
    let (s, v) = call(&emu, &admin, "GET", &path, None).await;
    assert_eq!(s, 200, "{v}");
    let mut types: Vec<&str> = v["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["userType"].as_str().unwrap())
        .collect();
    types.sort();
    assert_eq!(types, ["Guest", "Member"]);
    let (_, v) = call(
        &emu,
        &admin,
        "GET",
        &format!("/groups/{GROUP}/members"),
        None,
    )
    .await;
    assert!(v["value"][0].get("userType").is_none(), "{v}");

    // The policies: definition as the JSON string Graph holds, the default, appliesTo.
    let (s, v) = call(
        &emu,
        &admin,
        "GET",
        "/policies/homeRealmDiscoveryPolicies",
        None,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let policies = v["value"].as_array().unwrap();
    assert_eq!(policies.len(), 3);
    let default = policies
        .iter()
        .find(|p| p["isOrganizationDefault"] == true)
        .unwrap();
    let definition: Value =
        serde_json::from_str(default["definition"][0].as_str().unwrap()).unwrap();
    assert_eq!(
        definition,
        json!({"HomeRealmDiscoveryPolicy": {"AllowCloudPasswordValidation": true}})
    );
    let for_admin = policies
        .iter()
        .find(|p| p["displayName"] == "For the admin")
        .unwrap();
    let path = format!(
        "/policies/homeRealmDiscoveryPolicies/{}/appliesTo",
        for_admin["id"].as_str().unwrap()
    );
    let (s, v) = call(&emu, &admin, "GET", &path, None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["value"][0]["appId"], ADMIN, "{v}");
    assert_eq!(
        v["value"][0]["@odata.type"],
        "#microsoft.graph.servicePrincipal"
    );
    let (s, _) = call(&emu, &narrow, "GET", &path, None).await;
    assert_eq!(s, 403, "appliesTo needs Application.Read.All too");
    let (s, _) = call(
        &emu,
        &narrow,
        "GET",
        "/policies/homeRealmDiscoveryPolicies",
        None,
    )
    .await;
    assert_eq!(s, 200, "Policy.Read.All lists the policies");

    // Creating one needs Policy.ReadWrite.ApplicationConfiguration; a second default is refused.
    let body = json!({"displayName": "New", "definition": ["{}"], "isOrganizationDefault": true});
    let (s, v) = call(
        &emu,
        &admin,
        "POST",
        "/policies/homeRealmDiscoveryPolicies",
        Some(body),
    )
    .await;
    assert_eq!(s, 400, "{v}");
    let body = json!({"displayName": "New", "definition": ["{}"]});
    let (s, v) = call(
        &emu,
        &admin,
        "POST",
        "/policies/homeRealmDiscoveryPolicies",
        Some(body),
    )
    .await;
    assert_eq!(
        (s, &v["isOrganizationDefault"]),
        (201, &json!(false)),
        "{v}"
    );
    let body = json!({"displayName": "Nope", "definition": ["{}"]});
    let (s, _) = call(
        &emu,
        &narrow,
        "POST",
        "/policies/homeRealmDiscoveryPolicies",
        Some(body),
    )
    .await;
    assert_eq!(s, 403);
    emu.shutdown();
}

#[tokio::test]
async fn the_password_grant_follows_the_policy_in_effect_for_the_client() {
    let emu = emulator();
    let admin = app_token(&emu, ADMIN, "admin-secret").await;
    // No policy assigned to Passport: the organization's default allows cloud passwords.
    assert_eq!(ropc(&emu, "fed@corp.realm.example").await, 0);
    // Guests are refused whatever the policy.
    assert_eq!(ropc(&emu, "guest@realm.example").await, 50126);

    let (_, v) = call(
        &emu,
        &admin,
        "GET",
        "/policies/homeRealmDiscoveryPolicies",
        None,
    )
    .await;
    let id_of = |name: &str| {
        v["value"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["displayName"] == name)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (accelerate, for_admin) = (id_of("Accelerate to AD FS"), id_of("For the admin"));
    let refs = format!("/servicePrincipals/{PASSPORT_SP}/homeRealmDiscoveryPolicies/$ref");
    let body = |id: &str| json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/policies/homeRealmDiscoveryPolicies/{id}")});
    // A policy assigned to Passport takes precedence, and this one does not allow cloud passwords.
    let (s, v) = call(&emu, &admin, "POST", &refs, Some(body(&accelerate))).await;
    assert_eq!(s, 204, "{v}");
    assert_eq!(ropc(&emu, "fed@corp.realm.example").await, 50126);
    let list = format!("/servicePrincipals(appId='{PASSPORT}')/homeRealmDiscoveryPolicies");
    let (s, v) = call(&emu, &admin, "GET", &list, None).await;
    assert_eq!(
        (s, &v["value"][0]["displayName"]),
        (200, &json!("Accelerate to AD FS")),
        "{v}"
    );
    // One policy per service principal.
    let (s, _) = call(&emu, &admin, "POST", &refs, Some(body(&for_admin))).await;
    assert_eq!(s, 400);
    // Removed: the default applies again.
    let one =
        format!("/servicePrincipals/{PASSPORT_SP}/homeRealmDiscoveryPolicies/{accelerate}/$ref");
    let (s, _) = call(&emu, &admin, "DELETE", &one, None).await;
    assert_eq!(s, 204);
    assert_eq!(ropc(&emu, "fed@corp.realm.example").await, 0);
    let (s, _) = call(&emu, &admin, "DELETE", &one, None).await;
    assert_eq!(s, 404);
    emu.shutdown();
}
