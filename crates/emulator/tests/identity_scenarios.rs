//! The identity platform against the built-in scenarios: the automation clients' three credential
//! kinds, and the Kandji Passport ROPC sign-in against Contoso's (p1) conditional access and
//! Fabrikam's (free) security defaults and per-user MFA.

mod identity_support;

use graph_emulator::scenarios::{
    CI_CLIENT_ID, CI_CLIENT_SECRET, CI_FEDERATED_SUBJECT, READONLY_CLIENT_ID,
    READONLY_CLIENT_SECRET, SANDBOX_PASSWORD,
};
use graph_emulator::{EmulatorConfig, Record, RunningEmulator, Tenant};
use identity_support::{PASSPORT, PASSPORT_SCOPES, claims, code, graph_sp_id, http, token};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

const GRAPH_DEFAULT: &str = "https://graph.microsoft.com/.default";

fn start(scenario: &str) -> RunningEmulator {
    graph_emulator::start(EmulatorConfig::scenario(scenario)).expect("scenario starts")
}

fn rec(v: Value) -> Record {
    Record::new(v.as_object().cloned().expect("object"))
}

/// What `entractl apply` sets up for Kandji Passport, done directly on the tenant.
fn add_passport(t: &mut Tenant) {
    let graph = graph_sp_id(t);
    t.applications.insert(rec(json!({
        "id": "9a000000-0000-4000-8000-000000000001", "appId": PASSPORT,
        "displayName": "Kandji Passport", "isFallbackPublicClient": true,
        "groupMembershipClaims": "SecurityGroup",
        "optionalClaims": {"idToken": [{"name": "preferred_username", "source": null,
                           "essential": false, "additionalProperties": []}]}
    })));
    t.service_principals.insert(rec(json!({
        "id": "9a000000-0000-4000-8000-000000000002", "appId": PASSPORT,
        "displayName": "Kandji Passport", "appRoleAssignmentRequired": false
    })));
    t.oauth2_permission_grants.insert(rec(json!({
        "id": "passport-grant", "clientId": "9a000000-0000-4000-8000-000000000002",
        "consentType": "AllPrincipals", "principalId": null, "resourceId": graph,
        "scope": PASSPORT_SCOPES
    })));
}

async fn ropc(emu: &RunningEmulator, upn: &str) -> (u16, Value) {
    let tid = emu.tenant_id();
    token(
        emu,
        &tid,
        &[
            ("grant_type", "password"),
            ("client_id", PASSPORT),
            ("scope", PASSPORT_SCOPES),
            ("username", upn),
            ("password", SANDBOX_PASSWORD),
        ],
    )
    .await
}

fn policy_id(emu: &RunningEmulator, prefix: &str) -> String {
    emu.with_tenant(|t| {
        t.conditional_access_policies
            .iter()
            .find(|p| p.str("displayName").is_some_and(|n| n.starts_with(prefix)))
            .map(|p| p.id().to_string())
            .unwrap_or_else(|| panic!("no policy {prefix} in the scenario"))
    })
}

/// The MFA challenge's policy ids (`capolids`), sorted.
fn capolids(b: &Value) -> Vec<String> {
    let challenge: Value = serde_json::from_str(b["claims"].as_str().unwrap()).unwrap();
    let mut ids: Vec<String> =
        serde_json::from_value(challenge["access_token"]["capolids"]["values"].clone()).unwrap();
    ids.sort();
    ids
}

fn policy_ids(emu: &RunningEmulator, prefixes: &[&str]) -> Vec<String> {
    let mut ids: Vec<String> = prefixes.iter().map(|p| policy_id(emu, p)).collect();
    ids.sort();
    ids
}

/// The remediation entractl applies: exclude the Passport app from the policies requiring MFA.
fn exclude_passport(emu: &RunningEmulator) {
    emu.with_tenant(|t| {
        for p in t.conditional_access_policies.iter_mut() {
            let name = p.str("displayName").unwrap_or("").to_string();
            if ["CA001", "CA005", "CA006"]
                .iter()
                .any(|p| name.starts_with(p))
            {
                p.obj["conditions"]["applications"]["excludeApplications"] = json!([PASSPORT]);
            }
        }
    });
}

#[tokio::test]
async fn contoso_before_june_2026_excluding_passport_lets_it_sign_in() {
    let emu = start("p1-legacy");
    emu.with_tenant(add_passport);

    // Legacy baseline scopes: CA001 (all users, mfa) and CA005 (authentication strength) target All
    // resources without exclusions and apply; CA006 (mfa OR compliant device) already has resource
    // exclusions, so Passport's baseline scopes are exempt from it; CA002 (admin roles), CA003
    // (report-only), CA004 (legacy auth), CA007 (disabled) do not apply or do not force MFA.
    let (s, b) = ropc(&emu, "alice@contoso.com").await;
    assert_eq!((s, code(&b)), (400, 50076), "{b}");
    assert_eq!(capolids(&b), policy_ids(&emu, &["CA001", "CA005"]));

    exclude_passport(&emu);
    let (s, b) = ropc(&emu, "alice@contoso.com").await;
    assert_eq!(s, 200, "{b}");
    let id = claims(b["id_token"].as_str().unwrap());
    assert_eq!(id["preferred_username"], "alice@contoso.com");
    let mac_users = emu.with_tenant(|t| {
        t.groups
            .find_by("displayName", "Mac Users")
            .unwrap()
            .id()
            .to_string()
    });
    assert!(
        id["groups"].as_array().unwrap().contains(&json!(mac_users)),
        "{id}"
    );

    // Per-user MFA and a disabled account still fail.
    assert_eq!(code(&ropc(&emu, "carol@contoso.com").await.1), 50076);
    assert_eq!(code(&ropc(&emu, "dave@contoso.com").await.1), 50057);
    assert_eq!(ropc(&emu, "bob@contoso.com").await.0, 200);
}

#[tokio::test]
async fn contoso_today_excluding_passport_no_longer_helps() {
    let emu = start("p1");
    emu.with_tenant(add_passport);
    // Enforced baseline scopes: evaluated against Windows Azure Active Directory, so CA006 (All
    // resources with exclusions) applies too, and excluding Passport changes nothing. The
    // Microsoft-managed policies are report-only and do not fail the sign-in.
    let want = policy_ids(&emu, &["CA001", "CA005", "CA006"]);
    let (s, b) = ropc(&emu, "alice@contoso.com").await;
    assert_eq!((s, code(&b)), (400, 50076), "{b}");
    assert_eq!(capolids(&b), want);
    exclude_passport(&emu);
    let (s, b) = ropc(&emu, "alice@contoso.com").await;
    assert_eq!((s, code(&b)), (400, 50076), "{b}");
    assert_eq!(capolids(&b), want);
    // Microsoft turns the managed policies on: the device-code block now applies to device-code
    // sign-ins (checked in identity.rs); MFA for all users joins the challenge.
    let enabled = emu.enable_managed_policies(&emu.tenant_id()).unwrap();
    assert_eq!(enabled.len(), 4);
    let (_, b) = ropc(&emu, "alice@contoso.com").await;
    assert_eq!(
        capolids(&b),
        policy_ids(
            &emu,
            &[
                "CA001",
                "CA005",
                "CA006",
                "Microsoft-managed: Multifactor authentication for all users"
            ]
        )
    );
}

#[tokio::test]
async fn fabrikam_security_defaults_and_per_user_mfa() {
    let emu = start("free");
    emu.with_tenant(add_passport);
    assert_eq!(
        code(&ropc(&emu, "alice@fabrikam.onmicrosoft.com").await.1),
        50076
    );
    emu.with_tenant(|t| {
        t.security_defaults.insert("isEnabled".into(), json!(false));
    });
    assert_eq!(ropc(&emu, "alice@fabrikam.onmicrosoft.com").await.0, 200);
    assert_eq!(
        code(&ropc(&emu, "bob@fabrikam.onmicrosoft.com").await.1),
        50076
    );
    assert_eq!(
        code(&ropc(&emu, "carol@fabrikam.onmicrosoft.com").await.1),
        50076
    );
    // The tenant's verified domain works as the tenant segment.
    let (s, _) = token(
        &emu,
        "fabrikam.onmicrosoft.com",
        &[
            ("grant_type", "password"),
            ("client_id", PASSPORT),
            ("scope", PASSPORT_SCOPES),
            ("username", "alice@fabrikam.onmicrosoft.com"),
            ("password", SANDBOX_PASSWORD),
        ],
    )
    .await;
    assert_eq!(s, 200);
}

async fn ci_token(emu: &RunningEmulator, form: &[(&str, &str)]) -> Value {
    let tid = emu.tenant_id();
    let (s, b) = token(emu, &tid, form).await;
    assert_eq!(s, 200, "{b}");
    claims(b["access_token"].as_str().unwrap())
}

#[tokio::test]
async fn automation_clients_get_their_roles_with_every_credential_kind() {
    let emu = start("p1");
    let secret = ci_token(
        &emu,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", CI_CLIENT_ID),
            ("client_secret", CI_CLIENT_SECRET),
            ("scope", GRAPH_DEFAULT),
        ],
    )
    .await;
    let roles: Vec<String> = serde_json::from_value(secret["roles"].clone()).unwrap();
    for r in [
        "Application.ReadWrite.OwnedBy",
        "DelegatedPermissionGrant.ReadWrite.All",
        "AppRoleAssignment.ReadWrite.All",
        "Policy.ReadWrite.ConditionalAccess",
        "Policy.Read.All",
        "User.Read.All",
        "Group.Read.All",
    ] {
        assert!(roles.iter().any(|x| x == r), "{r} missing from {roles:?}");
    }

    let ro = ci_token(
        &emu,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", READONLY_CLIENT_ID),
            ("client_secret", READONLY_CLIENT_SECRET),
            ("scope", GRAPH_DEFAULT),
        ],
    )
    .await;
    let ro_roles: Vec<String> = serde_json::from_value(ro["roles"].clone()).unwrap();
    assert!(
        !ro_roles.iter().any(|r| r.contains("ReadWrite")),
        "{ro_roles:?}"
    );

    // Certificate: the test-only certificate registered on entractl-ci.
    let now = chrono::Utc::now().timestamp();
    let mut h = Header::new(Algorithm::PS256);
    h.x5t_s256 = Some(
        graph_emulator::identity::assertion::thumbprints(
            &graph_emulator::identity::assertion::pem_to_der(identity_support::CERT_PEM).unwrap(),
        )
        .x5t_s256,
    );
    let aud = format!("{}/{}/oauth2/v2.0/token", emu.base_url(), emu.tenant_id());
    let jwt = jsonwebtoken::encode(
        &h,
        &json!({"aud": aud, "iss": CI_CLIENT_ID, "sub": CI_CLIENT_ID, "jti": "j-1",
                "nbf": now, "exp": now + 300}),
        &EncodingKey::from_rsa_pem(identity_support::KEY_PEM.as_bytes()).unwrap(),
    )
    .unwrap();
    let cert = ci_token(
        &emu,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", CI_CLIENT_ID),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", &jwt),
            ("scope", GRAPH_DEFAULT),
        ],
    )
    .await;
    assert_eq!(cert["roles"], secret["roles"]);

    // Federated: a token minted by the emulator acting as the CI system's OIDC issuer.
    let minted: Value = http()
        .post(format!("{}/_emulator/federated-token", emu.base_url()))
        .json(&json!({"subject": CI_FEDERATED_SUBJECT}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let fed = ci_token(
        &emu,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", CI_CLIENT_ID),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", minted["token"].as_str().unwrap()),
            ("scope", GRAPH_DEFAULT),
        ],
    )
    .await;
    assert_eq!(fed["appid"], CI_CLIENT_ID);

    // The token is accepted by the Graph surface.
    let tid = emu.tenant_id();
    let (_, b) = token(
        &emu,
        &tid,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", CI_CLIENT_ID),
            ("client_secret", CI_CLIENT_SECRET),
            ("scope", GRAPH_DEFAULT),
        ],
    )
    .await;
    let resp = http()
        .get(format!("{}/v1.0/organization", emu.base_url()))
        .bearer_auth(b["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
}
