//! Shared setup of the identity tests: an emulator on loopback with a test tenant whose apps, users,
//! groups, grants and policies are set directly through `RunningEmulator::with_tenant`.

#![allow(dead_code)]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use graph_emulator::identity::assertion::{pem_to_der, thumbprints};
use graph_emulator::state::{CertificateCredential, FederatedCredential, GRAPH_APP_ID};
use graph_emulator::{EmulatorConfig, Record, RunningEmulator, Tenant};
use serde_json::{Map, Value, json};

pub const CERT_PEM: &str = include_str!("../../testdata/entractl-test-cert.pem");
pub const KEY_PEM: &str = include_str!("../../testdata/entractl-test-key.pem");
pub const PUBKEY_PEM: &str = include_str!("../../testdata/entractl-test-pubkey.pem");

/// The Kandji-Passport-like public client.
pub const PASSPORT: &str = "7a1b2c3d-0000-4000-8000-00000000a001";
pub const PASSPORT_SP: &str = "7a1b2c3d-0000-4000-8000-00000000b001";
/// A confidential automation client (secret, certificate, federated credential).
pub const AUTOMATION: &str = "7a1b2c3d-0000-4000-8000-00000000a002";
pub const AUTOMATION_SP: &str = "7a1b2c3d-0000-4000-8000-00000000b002";
pub const AUTOMATION_SECRET: &str = "test-only-automation-secret";
pub const FED_SUBJECT: &str = "repo:contoso/entra-config:ref:refs/heads/main";
pub const FED_AUDIENCE: &str = "api://AzureADTokenExchange";

pub const ALICE: &str = "7a1b2c3d-0000-4000-8000-0000000000a1";
pub const BOB: &str = "7a1b2c3d-0000-4000-8000-0000000000b0";
pub const DAVE: &str = "7a1b2c3d-0000-4000-8000-0000000000d0";
pub const ALICE_UPN: &str = "test.alice@idtest.example";
pub const BOB_UPN: &str = "test.bob@idtest.example";
pub const DAVE_UPN: &str = "test.dave@idtest.example";
pub const PASSWORD: &str = "test-only-Passw0rd";

/// Security group with alice as a direct member.
pub const MAC_USERS: &str = "7a1b2c3d-0000-4000-8000-0000000000c1";
/// Security group containing MAC_USERS (alice is a nested member).
pub const ALL_STAFF: &str = "7a1b2c3d-0000-4000-8000-0000000000c2";
/// Microsoft 365 (non-security) group with alice.
pub const M365_GROUP: &str = "7a1b2c3d-0000-4000-8000-0000000000c3";

pub const PASSPORT_SCOPES: &str = "openid profile email offline_access User.Read";

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().expect("object literal")
}

fn record(v: Value) -> Record {
    Record::new(obj(v))
}

/// The Graph service principal's object id in this tenant (inserting a minimal one if the scenario
/// has none).
pub fn graph_sp_id(t: &mut Tenant) -> String {
    if let Some(sp) = t.service_principal_by_app_id(GRAPH_APP_ID) {
        return sp.id().to_string();
    }
    t.service_principals.insert(record(json!({
        "id": "7a1b2c3d-0000-4000-8000-00000000ffff",
        "appId": GRAPH_APP_ID,
        "displayName": "Microsoft Graph",
        "appRoles": [{"id": "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30", "value": "Application.Read.All"}],
        "oauth2PermissionScopes": [
            {"id": "37f7f235-527c-4136-accd-4a02d197296e", "value": "openid"},
            {"id": "64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0", "value": "email"},
            {"id": "14dad69e-099b-42c9-810b-d002981feec1", "value": "profile"},
            {"id": "7427e0e9-2fba-42fe-b0c0-848c9e6a8182", "value": "offline_access"},
            {"id": "e1fe6dd8-ba31-4d61-89e7-88639da4683d", "value": "User.Read"}
        ]
    })));
    "7a1b2c3d-0000-4000-8000-00000000ffff".to_string()
}

fn user(id: &str, upn: &str, name: &str, enabled: bool) -> Record {
    let mut r = record(json!({
        "id": id, "userPrincipalName": upn, "displayName": name, "mail": upn,
        "accountEnabled": enabled, "userType": "Member"
    }));
    r.internal.password = Some(PASSWORD.to_string());
    r
}

fn group(id: &str, name: &str, security: bool, members: &[&str]) -> Record {
    let mut r = record(json!({
        "id": id, "displayName": name, "securityEnabled": security,
        "mailEnabled": !security, "groupTypes": if security { json!([]) } else { json!(["Unified"]) }
    }));
    r.internal.members = members.iter().map(|m| m.to_string()).collect();
    r
}

/// Install the test tenant's objects.
pub fn setup(t: &mut Tenant, base_url: &str) {
    let graph_sp = graph_sp_id(t);
    t.security_defaults.insert("isEnabled".into(), json!(false));
    t.conditional_access_policies = Default::default();

    t.users.insert(user(ALICE, ALICE_UPN, "Test Alice", true));
    t.users.insert(user(BOB, BOB_UPN, "Test Bob", true));
    t.users.insert(user(DAVE, DAVE_UPN, "Test Dave", false));
    t.groups
        .insert(group(MAC_USERS, "Test Mac Users", true, &[ALICE]));
    t.groups
        .insert(group(ALL_STAFF, "Test All Staff", true, &[MAC_USERS]));
    t.groups
        .insert(group(M365_GROUP, "Test Team", false, &[ALICE]));

    t.applications.insert(record(json!({
        "id": "7a1b2c3d-0000-4000-8000-00000000e001",
        "appId": PASSPORT,
        "displayName": "Test Passport",
        "signInAudience": "AzureADMyOrg",
        "isFallbackPublicClient": true,
        "groupMembershipClaims": "SecurityGroup",
        "optionalClaims": {"idToken": [{"name": "preferred_username", "source": null,
                                        "essential": false, "additionalProperties": []}],
                           "accessToken": [], "saml2Token": []},
        "requiredResourceAccess": [{"resourceAppId": GRAPH_APP_ID, "resourceAccess": [
            {"id": "37f7f235-527c-4136-accd-4a02d197296e", "type": "Scope"},
            {"id": "14dad69e-099b-42c9-810b-d002981feec1", "type": "Scope"},
            {"id": "e1fe6dd8-ba31-4d61-89e7-88639da4683d", "type": "Scope"}]}]
    })));
    t.service_principals.insert(record(json!({
        "id": PASSPORT_SP, "appId": PASSPORT, "displayName": "Test Passport",
        "appRoleAssignmentRequired": false
    })));
    t.oauth2_permission_grants.insert(record(json!({
        "id": "grant-passport-all", "clientId": PASSPORT_SP, "consentType": "AllPrincipals",
        "principalId": null, "resourceId": graph_sp, "scope": PASSPORT_SCOPES
    })));

    let der = pem_to_der(CERT_PEM).expect("test certificate");
    let mut app = record(json!({
        "id": "7a1b2c3d-0000-4000-8000-00000000e002",
        "appId": AUTOMATION,
        "displayName": "Test Automation",
        "isFallbackPublicClient": null
    }));
    app.internal.secrets = vec![AUTOMATION_SECRET.to_string()];
    app.internal.certificates = vec![CertificateCredential {
        key_id: "7a1b2c3d-0000-4000-8000-00000000f001".into(),
        thumbprint_sha256: thumbprints(&der).x5t_s256,
        public_key_pem: PUBKEY_PEM.to_string(),
    }];
    app.internal.federated_credentials = vec![FederatedCredential {
        id: "7a1b2c3d-0000-4000-8000-00000000f002".into(),
        name: "github-main".into(),
        issuer: base_url.to_string(),
        subject: FED_SUBJECT.into(),
        audiences: vec![FED_AUDIENCE.into()],
    }];
    t.applications.insert(app);
    t.service_principals.insert(record(json!({
        "id": AUTOMATION_SP, "appId": AUTOMATION, "displayName": "Test Automation"
    })));
    t.app_role_assignments.insert(record(json!({
        "id": "assign-automation-app-read", "principalId": AUTOMATION_SP, "principalType": "ServicePrincipal",
        "resourceId": graph_sp, "appRoleId": "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30"
    })));
}

/// Start the emulator (scenario `empty`) and install the test tenant.
pub fn start() -> RunningEmulator {
    let emu = graph_emulator::start(EmulatorConfig::scenario("empty")).expect("emulator starts");
    let base = emu.base_url();
    emu.with_tenant(|t| setup(t, &base));
    emu
}

/// Decode a JWT's payload without verifying it.
pub fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("three parts");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("json")
}

/// A client for the emulator.
pub fn http() -> reqwest::Client {
    reqwest::Client::new()
}

/// POST a form to the emulator's token endpoint for `tenant`; returns (status, body).
pub async fn token(emu: &RunningEmulator, tenant: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let resp = http()
        .post(format!("{}/{tenant}/oauth2/v2.0/token", emu.base_url()))
        .form(form)
        .send()
        .await
        .expect("token request");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("json body"))
}

/// The AADSTS code of an error body.
pub fn code(body: &Value) -> u64 {
    body["error_codes"][0]
        .as_u64()
        .unwrap_or_else(|| panic!("no error_codes in {body}"))
}

/// ROPC for the Passport client.
pub async fn ropc(emu: &RunningEmulator, upn: &str, password: &str) -> (u16, Value) {
    let tid = emu.tenant_id();
    token(
        emu,
        &tid,
        &[
            ("grant_type", "password"),
            ("client_id", PASSPORT),
            ("scope", PASSPORT_SCOPES),
            ("username", upn),
            ("password", password),
        ],
    )
    .await
}

/// A conditional access policy in Graph's shape.
pub fn ca_policy(id: &str, state: &str, users: Value, apps: Value, grant: Value) -> Record {
    record(json!({
        "id": id, "displayName": format!("test policy {id}"), "state": state,
        "conditions": {
            "userRiskLevels": [], "signInRiskLevels": [], "clientAppTypes": ["all"],
            "platforms": null, "locations": null, "devices": null,
            "applications": apps, "users": users
        },
        "grantControls": grant, "sessionControls": null
    }))
}
