//! Users and groups written through Graph as an admin would seed a tenant (the Microsoft Graph
//! service principal offers User.ReadWrite.All, Group.ReadWrite.All, GroupMember.ReadWrite.All and
//! Directory.ReadWrite.All), and the accounts the password grant cannot sign in (v2-oauth-ropc.md).

use graph_emulator::scenarios::GRAPH_APP_ID;
use graph_emulator::{EmulatorConfig, Record, RunningEmulator, TenantSource, start};
use serde_json::{Value, json};

const TENANT: &str = "7c7c7c7c-0000-4000-8000-000000000001";
const SEEDER: &str = "7c7c7c7c-0000-4000-8000-00000000a001";
const PASSPORT: &str = "7c7c7c7c-0000-4000-8000-00000000a002";

/// A P1 tenant without conditional access; a seeding client with the directory write roles; a
/// federated domain; a guest, a passwordless user and a password with a trailing space.
fn emulator(allow_cloud_password_validation: bool) -> RunningEmulator {
    let fixture = format!(
        "tenant:\n  id: {TENANT}\n  displayName: Seed\n  license: p1\n  \
         allowCloudPasswordValidation: {allow_cloud_password_validation}\n  domains:\n  \
         - {{name: seed.onmicrosoft.com, initial: true, default: true}}\n  \
         - {{name: corp.example, federated: true}}\n\
         users:\n\
         - {{upn: fed@corp.example, displayName: Fed User}}\n\
         - {{upn: guest@seed.onmicrosoft.com, displayName: Guest User, userType: Guest}}\n\
         - {{upn: nopass@seed.onmicrosoft.com, displayName: No Password, passwordless: true}}\n\
         - {{upn: spaced@seed.onmicrosoft.com, displayName: Spaced, password: \"spaced-Passw0rd \"}}\n\
         automationClients:\n\
         - displayName: seeder\n  appId: {SEEDER}\n  secret: seeder-secret\n  \
         roles: [User.ReadWrite.All, Group.ReadWrite.All, GroupMember.ReadWrite.All, Directory.ReadWrite.All]\n"
    );
    let mut cfg = EmulatorConfig::scenario("empty");
    cfg.sources = vec![TenantSource::FixtureText {
        name: "seed".into(),
        text: fixture,
    }];
    let emu = start(cfg).expect("a fixture client may ask for the directory write roles");
    emu.with_tenant(|t| {
        let graph = t
            .service_principal_by_app_id(GRAPH_APP_ID)
            .unwrap()
            .id()
            .to_string();
        let obj = |v: Value| v.as_object().cloned().unwrap();
        t.applications.insert(Record::new(obj(json!({
            "id": "7c7c7c7c-0000-4000-8000-00000000b002", "appId": PASSPORT,
            "displayName": "Passport", "isFallbackPublicClient": true}))));
        t.service_principals.insert(Record::new(obj(json!({
            "id": "7c7c7c7c-0000-4000-8000-00000000c002", "appId": PASSPORT,
            "displayName": "Passport"}))));
        t.oauth2_permission_grants.insert(Record::new(obj(json!({
            "id": "g", "clientId": "7c7c7c7c-0000-4000-8000-00000000c002",
            "consentType": "AllPrincipals", "principalId": null, "resourceId": graph,
            "scope": "openid profile email User.Read"}))));
    });
    emu
}

async fn token_form(emu: &RunningEmulator, segment: &str, form: &[(&str, &str)]) -> Value {
    reqwest::Client::new()
        .post(format!("{}/{segment}/oauth2/v2.0/token", emu.base_url()))
        .form(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn ropc_at(emu: &RunningEmulator, segment: &str, upn: &str, password: &str) -> Value {
    token_form(
        emu,
        segment,
        &[
            ("grant_type", "password"),
            ("client_id", PASSPORT),
            ("scope", "openid profile"),
            ("username", upn),
            ("password", password),
        ],
    )
    .await
}

async fn ropc(emu: &RunningEmulator, upn: &str, password: &str) -> Value {
    ropc_at(emu, TENANT, upn, password).await
}

#[tokio::test]
async fn an_admin_client_seeds_users_and_groups_and_the_new_user_signs_in() {
    let emu = emulator(false);
    let token = token_form(
        &emu,
        TENANT,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", SEEDER),
            ("client_secret", "seeder-secret"),
            ("scope", "https://graph.microsoft.com/.default"),
        ],
    )
    .await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let http = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        http.post(format!("{}/v1.0{path}", emu.base_url()))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let r = post(
        "/users",
        json!({"accountEnabled": true, "displayName": "New Hire", "mailNickname": "newhire",
               "userPrincipalName": "newhire@seed.onmicrosoft.com",
               "passwordProfile": {"forceChangePasswordNextSignIn": false,
                                   "password": "First-day-Passw0rd"}}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 201);
    let user: Value = r.json().await.unwrap();
    let r = post(
        "/groups",
        json!({"displayName": "New Hires", "mailEnabled": false, "mailNickname": "newhires",
               "securityEnabled": true}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 201);
    let group: Value = r.json().await.unwrap();
    let r = post(
        &format!("/groups/{}/members/$ref", group["id"].as_str().unwrap()),
        json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{}",
                                   user["id"].as_str().unwrap())}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 204);
    // The password set in passwordProfile is what the password grant checks.
    let ok = ropc(&emu, "newhire@seed.onmicrosoft.com", "First-day-Passw0rd").await;
    assert!(ok["access_token"].is_string(), "{ok}");
    let wrong = ropc(&emu, "newhire@seed.onmicrosoft.com", "Passw0rd!sandbox").await;
    assert_eq!(wrong["error_codes"][0], 50126, "{wrong}");
}

#[tokio::test]
async fn accounts_the_password_grant_cannot_sign_in() {
    let emu = emulator(false);
    let sandbox = graph_emulator::scenarios::SANDBOX_PASSWORD;
    for (upn, password, reason) in [
        ("fed@corp.example", sandbox, "federated"),
        ("guest@seed.onmicrosoft.com", sandbox, "guest"),
        ("nopass@seed.onmicrosoft.com", "anything", "no password"),
        ("spaced@seed.onmicrosoft.com", "spaced-Passw0rd ", "spaces"),
    ] {
        let r = ropc(&emu, upn, password).await;
        assert_eq!(r["error"], "invalid_grant", "{upn}: {r}");
        assert_eq!(r["error_codes"][0], 50126, "{upn}: {r}");
        assert!(
            r["error_description"].as_str().unwrap().contains(reason),
            "{upn}: {r}"
        );
    }
    // A home realm discovery policy with AllowCloudPasswordValidation lets federated users in.
    let emu = emulator(true);
    let r = ropc(&emu, "fed@corp.example", sandbox).await;
    assert!(r["access_token"].is_string(), "{r}");
    // The password grant works on `organizations` (tenant found from the username), not `common`.
    let r = ropc_at(&emu, "organizations", "fed@corp.example", sandbox).await;
    assert!(r["access_token"].is_string(), "{r}");
    let r = ropc_at(&emu, "common", "fed@corp.example", sandbox).await;
    assert_eq!(
        (r["error"].as_str(), r["error_codes"][0].as_u64()),
        (Some("invalid_request"), Some(9001023)),
        "{r}"
    );
}
