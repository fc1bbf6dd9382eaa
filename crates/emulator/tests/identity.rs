//! The emulator's identity platform over HTTP: every grant type's success and failures, every AADSTS
//! outcome of the password grant, ID token claims per app configuration, device code, discovery.

mod identity_support;

use identity_support::*;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use graph_emulator::baseline_scopes::BaselineScopes;
use graph_emulator::identity::IdentitySettings;
use graph_emulator::identity::assertion::{pem_to_der, thumbprints};

fn cc_secret<'a>(client: &'a str, secret: &'a str, scope: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "client_credentials"),
        ("client_id", client),
        ("client_secret", secret),
        ("scope", scope),
    ]
}

/// (form, tenant segment, HTTP status, AADSTS code, `error`).
type ErrorCase<'a> = (Vec<(&'a str, &'a str)>, &'a str, u16, u64, &'a str);

const GRAPH_DEFAULT: &str = "https://graph.microsoft.com/.default";

// ---- client credentials ----------------------------------------------------------------------

#[tokio::test]
async fn client_credentials_with_secret_issues_an_app_only_graph_token() {
    let emu = start();
    let tid = emu.tenant_id();
    let (status, body) = token(
        &emu,
        &tid,
        &cc_secret(AUTOMATION, AUTOMATION_SECRET, GRAPH_DEFAULT),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["expires_in"].as_i64().unwrap() > 0);
    assert!(body.get("refresh_token").is_none() && body.get("id_token").is_none());
    let c = claims(body["access_token"].as_str().unwrap());
    assert_eq!(c["aud"], "https://graph.microsoft.com");
    assert_eq!(c["tid"], tid);
    assert_eq!(c["appid"], AUTOMATION);
    assert_eq!(c["oid"], AUTOMATION_SP);
    assert_eq!(c["roles"], json!(["Application.Read.All"]));
    assert!(c.get("scp").is_none());
    assert!(c["exp"].as_i64().unwrap() > c["iat"].as_i64().unwrap());
    // The token is accepted by the emulator's own verifier (what the Graph side calls).
    let verified = graph_emulator::identity::jwt::verify_access_token(
        emu.state(),
        body["access_token"].as_str().unwrap(),
    )
    .unwrap();
    assert_eq!(verified.roles, vec!["Application.Read.All".to_string()]);

    // HTTP Basic client authentication, the emulator's own base URL as resource, tenant by domain.
    let resp = http()
        .post(format!("{}/{tid}/oauth2/v2.0/token", emu.base_url()))
        .basic_auth(AUTOMATION, Some(AUTOMATION_SECRET))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", &format!("{}/.default", emu.base_url())),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
}

#[tokio::test]
async fn client_credentials_failures_have_the_real_codes_and_shape() {
    let emu = start();
    let tid = emu.tenant_id();
    let cases: Vec<ErrorCase<'_>> = vec![
        (
            cc_secret(AUTOMATION, "wrong", GRAPH_DEFAULT),
            tid.as_str(),
            401,
            7000215,
            "invalid_client",
        ),
        (
            cc_secret("00000000-1111-2222-3333-444444444444", "x", GRAPH_DEFAULT),
            tid.as_str(),
            400,
            700016,
            "unauthorized_client",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", AUTOMATION),
                ("scope", GRAPH_DEFAULT),
            ],
            tid.as_str(),
            401,
            7000218,
            "invalid_client",
        ),
        (
            cc_secret(AUTOMATION, AUTOMATION_SECRET, "User.Read"),
            tid.as_str(),
            400,
            1002012,
            "invalid_scope",
        ),
        (
            cc_secret(
                AUTOMATION,
                AUTOMATION_SECRET,
                "https://vault.azure.net/.default",
            ),
            tid.as_str(),
            400,
            500011,
            "invalid_resource",
        ),
        (
            cc_secret(AUTOMATION, AUTOMATION_SECRET, GRAPH_DEFAULT),
            "nosuchtenant.example",
            400,
            90002,
            "invalid_request",
        ),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("client_id", AUTOMATION),
            ],
            tid.as_str(),
            400,
            70003,
            "unsupported_grant_type",
        ),
        (
            vec![("client_id", AUTOMATION)],
            tid.as_str(),
            400,
            900144,
            "invalid_request",
        ),
    ];
    for (form, tenant, status, aadsts, error) in cases {
        let (s, body) = token(&emu, tenant, &form).await;
        assert_eq!(
            (s, code(&body), body["error"].as_str().unwrap()),
            (status, aadsts, error),
            "{body}"
        );
        let d = body["error_description"].as_str().unwrap();
        assert!(d.starts_with(&format!("AADSTS{aadsts}: ")), "{d}");
        for key in ["timestamp", "trace_id", "correlation_id", "error_uri"] {
            assert!(body[key].is_string(), "{key} missing in {body}");
        }
    }
}

#[tokio::test]
async fn correlation_id_echoes_client_request_id() {
    let emu = start();
    let resp = http()
        .post(format!(
            "{}/{}/oauth2/v2.0/token",
            emu.base_url(),
            emu.tenant_id()
        ))
        .header("client-request-id", "11112222-3333-4444-5555-666677778888")
        .form(&cc_secret(AUTOMATION, "wrong", GRAPH_DEFAULT))
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["correlation_id"],
        "11112222-3333-4444-5555-666677778888"
    );
    assert!(
        !body.to_string().contains("wrong\""),
        "the secret must not be echoed"
    );
}

// ---- certificate assertions ------------------------------------------------------------------

fn assertion(alg: Algorithm, x5t_s256: Option<String>, aud: &str, exp_offset: i64) -> String {
    let now = chrono::Utc::now().timestamp();
    let mut h = Header::new(alg);
    h.x5t_s256 = x5t_s256;
    let claims = json!({"aud": aud, "iss": AUTOMATION, "sub": AUTOMATION,
                        "jti": format!("jti-{now}-{exp_offset}"), "nbf": now - 5, "exp": now + exp_offset});
    jsonwebtoken::encode(
        &h,
        &claims,
        &EncodingKey::from_rsa_pem(KEY_PEM.as_bytes()).unwrap(),
    )
    .unwrap()
}

fn cert_thumbprint() -> String {
    thumbprints(&pem_to_der(CERT_PEM).unwrap()).x5t_s256
}

async fn cc_assertion(emu: &graph_emulator::RunningEmulator, jwt: &str) -> (u16, Value) {
    let tid = emu.tenant_id();
    token(
        emu,
        &tid,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", AUTOMATION),
            ("scope", GRAPH_DEFAULT),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", jwt),
        ],
    )
    .await
}

#[tokio::test]
async fn certificate_assertion_succeeds_and_bad_ones_are_rejected() {
    let emu = start();
    let aud = format!("{}/{}/oauth2/v2.0/token", emu.base_url(), emu.tenant_id());
    for alg in [Algorithm::RS256, Algorithm::PS256] {
        let (s, body) =
            cc_assertion(&emu, &assertion(alg, Some(cert_thumbprint()), &aud, 600)).await;
        assert_eq!(s, 200, "{body}");
        assert_eq!(
            claims(body["access_token"].as_str().unwrap())["appid"],
            AUTOMATION
        );
    }
    let wrong_thumb = assertion(
        Algorithm::RS256,
        Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into()),
        &aud,
        600,
    );
    let (s, body) = cc_assertion(&emu, &wrong_thumb).await;
    assert_eq!((s, code(&body)), (401, 700027), "{body}");

    let wrong_aud = assertion(
        Algorithm::RS256,
        Some(cert_thumbprint()),
        "https://login.microsoftonline.com/other-tenant/oauth2/v2.0/token",
        600,
    );
    let (s, body) = cc_assertion(&emu, &wrong_aud).await;
    assert_eq!((s, code(&body)), (401, 700023), "{body}");

    let expired = assertion(Algorithm::RS256, Some(cert_thumbprint()), &aud, -3600);
    let (s, body) = cc_assertion(&emu, &expired).await;
    assert_eq!((s, code(&body)), (401, 700024), "{body}");
}

// ---- federated assertions --------------------------------------------------------------------

async fn mint(emu: &graph_emulator::RunningEmulator, body: Value) -> String {
    let resp = http()
        .post(format!("{}/_emulator/federated-token", emu.base_url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let v: Value = resp.json().await.unwrap();
    v["token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn federated_assertion_matches_issuer_subject_and_audience() {
    let emu = start();
    let good = mint(&emu, json!({"subject": FED_SUBJECT})).await;
    let c = claims(&good);
    assert_eq!(c["iss"], emu.base_url());
    assert_eq!(c["aud"], FED_AUDIENCE);
    let (s, body) = cc_assertion(&emu, &good).await;
    assert_eq!(s, 200, "{body}");

    let cases = [
        (
            json!({"subject": "repo:contoso/other:ref:refs/heads/main"}),
            700213,
        ),
        (
            json!({"subject": FED_SUBJECT, "issuer": "https://token.actions.githubusercontent.com"}),
            700211,
        ),
        (
            json!({"subject": FED_SUBJECT, "audience": "api://SomethingElse"}),
            700212,
        ),
        (
            json!({"subject": FED_SUBJECT, "lifetimeSecs": -3600}),
            700024,
        ),
    ];
    for (req, want) in cases {
        let jwt = mint(&emu, req.clone()).await;
        let (s, body) = cc_assertion(&emu, &jwt).await;
        assert_eq!((s, code(&body)), (401, want), "{req} → {body}");
    }
    let bad = http()
        .post(format!("{}/_emulator/federated-token", emu.base_url()))
        .json(&json!({"subjekt": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);
}

// ---- password grant (ROPC) -------------------------------------------------------------------

#[tokio::test]
async fn ropc_success_returns_tokens_whose_claims_follow_the_app_configuration() {
    let emu = start();
    let tid = emu.tenant_id();
    let (s, body) = ropc(&emu, ALICE_UPN, PASSWORD).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["scope"], PASSPORT_SCOPES);
    assert!(body["refresh_token"].is_string());
    let at = claims(body["access_token"].as_str().unwrap());
    assert_eq!(at["scp"], PASSPORT_SCOPES);
    assert_eq!(at["oid"], ALICE);
    assert_eq!(at["aud"], "https://graph.microsoft.com");
    assert!(at.get("roles").is_none());

    let id = claims(body["id_token"].as_str().unwrap());
    assert_eq!(id["aud"], PASSPORT);
    assert_eq!(id["iss"], format!("{}/{tid}/v2.0", emu.base_url()));
    assert_eq!(id["tid"], tid);
    assert_eq!(id["oid"], ALICE);
    assert_eq!(id["name"], "Test Alice");
    assert_eq!(id["preferred_username"], ALICE_UPN);
    assert!(
        id["sub"]
            .as_str()
            .is_some_and(|s| !s.is_empty() && s != ALICE)
    );
    // SecurityGroup: security groups, nested membership included, the Microsoft 365 group not.
    let mut groups: Vec<String> = serde_json::from_value(id["groups"].clone()).unwrap();
    groups.sort();
    assert_eq!(groups, vec![MAC_USERS.to_string(), ALL_STAFF.to_string()]);

    // The tenant id is matched case-insensitively.
    let (s, _) = token(
        &emu,
        &tid.to_uppercase(),
        &[
            ("grant_type", "password"),
            ("client_id", PASSPORT),
            ("scope", PASSPORT_SCOPES),
            ("username", ALICE_UPN),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(s, 200);
}

fn set_app(emu: &graph_emulator::RunningEmulator, app_id: &str, key: &str, value: Value) {
    emu.with_tenant(|t| {
        let id = t.application_by_app_id(app_id).unwrap().id().to_string();
        t.applications
            .get_mut(&id)
            .unwrap()
            .obj
            .insert(key.into(), value);
    });
}

#[tokio::test]
async fn id_token_claims_follow_optional_claims_and_group_membership_claims() {
    let emu = start();
    let id_token = |body: &Value| claims(body["id_token"].as_str().unwrap());

    set_app(&emu, PASSPORT, "optionalClaims", Value::Null);
    set_app(&emu, PASSPORT, "groupMembershipClaims", Value::Null);
    let (_, body) = ropc(&emu, ALICE_UPN, PASSWORD).await;
    let id = id_token(&body);
    // v2.0 ID tokens carry preferred_username whenever `profile` is granted, optional claim or not
    // (id-token-claims-reference.md) ...
    assert_eq!(id["preferred_username"], ALICE_UPN, "{id}");
    assert!(id.get("groups").is_none(), "{id}");
    // ... and not without it.
    let tid = emu.tenant_id();
    let (s, body) = token(
        &emu,
        &tid,
        &[
            ("grant_type", "password"),
            ("client_id", PASSPORT),
            ("scope", "openid email User.Read"),
            ("username", ALICE_UPN),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert!(id_token(&body).get("preferred_username").is_none());

    set_app(&emu, PASSPORT, "groupMembershipClaims", json!("None"));
    let (_, body) = ropc(&emu, ALICE_UPN, PASSWORD).await;
    assert!(id_token(&body).get("groups").is_none());

    set_app(&emu, PASSPORT, "groupMembershipClaims", json!("All"));
    let (_, body) = ropc(&emu, ALICE_UPN, PASSWORD).await;
    let mut all: Vec<String> = serde_json::from_value(id_token(&body)["groups"].clone()).unwrap();
    all.sort();
    assert_eq!(
        all,
        vec![
            MAC_USERS.to_string(),
            ALL_STAFF.to_string(),
            M365_GROUP.to_string()
        ]
    );

    // ApplicationGroup: only the user's groups that are assigned to the app.
    set_app(
        &emu,
        PASSPORT,
        "groupMembershipClaims",
        json!("ApplicationGroup"),
    );
    emu.with_tenant(|t| {
        t.app_role_assignments.insert(graph_emulator::Record::new(
            json!({"id": "assign-macusers", "principalId": MAC_USERS, "principalType": "Group",
                   "resourceId": PASSPORT_SP, "appRoleId": "00000000-0000-0000-0000-000000000000"})
            .as_object()
            .unwrap()
            .clone(),
        ));
    });
    let (_, body) = ropc(&emu, ALICE_UPN, PASSWORD).await;
    assert_eq!(id_token(&body)["groups"], json!([MAC_USERS]));

    // Bob is in no group: no claim at all.
    let (_, body) = ropc(&emu, BOB_UPN, PASSWORD).await;
    assert!(id_token(&body).get("groups").is_none());
}

#[tokio::test]
async fn ropc_client_errors_700016_700025_7000218() {
    let emu = start();
    let tid = emu.tenant_id();
    let base = [
        ("grant_type", "password"),
        ("scope", PASSPORT_SCOPES),
        ("username", ALICE_UPN),
        ("password", PASSWORD),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut v = base.to_vec();
        v.extend_from_slice(extra);
        v
    };
    let (s, b) = token(
        &emu,
        &tid,
        &with(&[("client_id", "00000000-1111-2222-3333-444444444444")]),
    )
    .await;
    assert_eq!((s, code(&b)), (400, 700016), "{b}");
    let (s, b) = token(
        &emu,
        &tid,
        &with(&[("client_id", PASSPORT), ("client_secret", "x")]),
    )
    .await;
    assert_eq!((s, code(&b)), (401, 700025), "{b}");
    set_app(&emu, PASSPORT, "isFallbackPublicClient", Value::Null);
    let (s, b) = token(&emu, &tid, &with(&[("client_id", PASSPORT)])).await;
    assert_eq!((s, code(&b)), (401, 7000218), "{b}");
    assert_eq!(b["error"], "invalid_client");
    set_app(&emu, PASSPORT, "isFallbackPublicClient", json!(false));
    let (s, b) = token(&emu, &tid, &with(&[("client_id", PASSPORT)])).await;
    assert_eq!((s, code(&b)), (401, 7000218), "{b}");
}

#[tokio::test]
async fn ropc_user_errors_50034_50126_50057() {
    let emu = start();
    let (s, b) = ropc(&emu, "nobody@idtest.example", PASSWORD).await;
    assert_eq!(
        (s, code(&b), b["error"].as_str()),
        (400, 50034, Some("invalid_grant")),
        "{b}"
    );
    let (s, b) = ropc(&emu, ALICE_UPN, "wrong-password").await;
    assert_eq!(
        (s, code(&b), b["error"].as_str()),
        (400, 50126, Some("invalid_grant")),
        "{b}"
    );
    let (s, b) = ropc(&emu, DAVE_UPN, PASSWORD).await;
    assert_eq!((s, code(&b)), (400, 50057), "{b}");
    // The evaluation reads the CURRENT state: re-enable dave and he signs in.
    emu.with_tenant(|t| {
        t.users
            .get_mut(DAVE)
            .unwrap()
            .obj
            .insert("accountEnabled".into(), json!(true));
    });
    let (s, b) = ropc(&emu, DAVE_UPN, PASSWORD).await;
    assert_eq!(s, 200, "{b}");
}

fn require_assignment(emu: &graph_emulator::RunningEmulator) {
    emu.with_tenant(|t| {
        t.service_principals
            .get_mut(PASSPORT_SP)
            .unwrap()
            .obj
            .insert("appRoleAssignmentRequired".into(), json!(true));
    });
}

fn assign(emu: &graph_emulator::RunningEmulator, id: &str, principal: &str, kind: &str) {
    emu.with_tenant(|t| {
        t.app_role_assignments.insert(graph_emulator::Record::new(
            json!({"id": id, "principalId": principal, "principalType": kind,
                   "resourceId": PASSPORT_SP, "appRoleId": "00000000-0000-0000-0000-000000000000"})
            .as_object()
            .unwrap()
            .clone(),
        ));
    });
}

#[tokio::test]
async fn ropc_assignment_required_50105_direct_groups_only() {
    let emu = start();
    require_assignment(&emu);
    let (s, b) = ropc(&emu, ALICE_UPN, PASSWORD).await;
    assert_eq!((s, code(&b)), (400, 50105), "{b}");
    assert!(b["error_description"].as_str().unwrap().contains(ALICE_UPN));
    // A group alice is only a nested member of does not count.
    assign(&emu, "a-allstaff", ALL_STAFF, "Group");
    let (_, b) = ropc(&emu, ALICE_UPN, PASSWORD).await;
    assert_eq!(code(&b), 50105, "{b}");
    // A group she is a direct member of does.
    assign(&emu, "a-macusers", MAC_USERS, "Group");
    let (s, b) = ropc(&emu, ALICE_UPN, PASSWORD).await;
    assert_eq!(s, 200, "{b}");
    // Direct user assignment works too.
    assign(&emu, "a-bob", BOB, "User");
    let (s, _) = ropc(&emu, BOB_UPN, PASSWORD).await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn ropc_consent_65001() {
    let emu = start();
    // The grant lacks one requested scope.
    emu.with_tenant(|t| {
        t.oauth2_permission_grants
            .get_mut("grant-passport-all")
            .unwrap()
            .obj
            .insert("scope".into(), json!("openid profile email User.Read"));
    });
    let (s, b) = ropc(&emu, ALICE_UPN, PASSWORD).await;
    assert_eq!((s, code(&b)), (400, 65001), "{b}");
    // Without offline_access it works.
    let tid = emu.tenant_id();
    let (s, b) = token(
        &emu,
        &tid,
        &[
            ("grant_type", "password"),
            ("client_id", PASSPORT),
            (
                "scope",
                "openid profile email https://graph.microsoft.com/User.Read",
            ),
            ("username", ALICE_UPN),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert!(b.get("refresh_token").is_none());
    // No grant at all.
    emu.with_tenant(|t| {
        t.oauth2_permission_grants.remove("grant-passport-all");
    });
    let (_, b) = ropc(&emu, ALICE_UPN, PASSWORD).await;
    assert_eq!(code(&b), 65001, "{b}");
    // A user's own (Principal) consent counts for that user only.
    emu.with_tenant(|t| {
        let graph = graph_sp_id(t);
        t.oauth2_permission_grants
            .insert(graph_emulator::Record::new(
                json!({"id": "grant-alice", "clientId": PASSPORT_SP, "consentType": "Principal",
                   "principalId": ALICE, "resourceId": graph, "scope": PASSPORT_SCOPES})
                .as_object()
                .unwrap()
                .clone(),
            ));
    });
    assert_eq!(ropc(&emu, ALICE_UPN, PASSWORD).await.0, 200);
    assert_eq!(code(&ropc(&emu, BOB_UPN, PASSWORD).await.1), 65001);
}

fn add_policy(emu: &graph_emulator::RunningEmulator, p: graph_emulator::Record) {
    emu.with_tenant(|t| t.conditional_access_policies.insert(p));
}

fn all_users() -> Value {
    json!({"includeUsers": ["All"], "excludeUsers": [], "includeGroups": [], "excludeGroups": [],
           "includeRoles": [], "excludeRoles": []})
}

fn all_apps(exclude: &[&str]) -> Value {
    json!({"includeApplications": ["All"], "excludeApplications": exclude, "includeUserActions": []})
}

#[tokio::test]
async fn ropc_conditional_access_block_53003() {
    let emu = start();
    let block =
        json!({"operator": "OR", "builtInControls": ["block"], "authenticationStrength": null});
    add_policy(
        &emu,
        ca_policy(
            "pol-block-ro",
            "enabledForReportingButNotEnforced",
            all_users(),
            all_apps(&[]),
            block.clone(),
        ),
    );
    add_policy(
        &emu,
        ca_policy(
            "pol-block-off",
            "disabled",
            all_users(),
            all_apps(&[]),
            block.clone(),
        ),
    );
    let mut legacy = ca_policy(
        "pol-legacy",
        "enabled",
        all_users(),
        all_apps(&[]),
        block.clone(),
    );
    legacy.obj["conditions"]["clientAppTypes"] = json!(["exchangeActiveSync", "other"]);
    add_policy(&emu, legacy);
    assert_eq!(
        ropc(&emu, ALICE_UPN, PASSWORD).await.0,
        200,
        "report-only, disabled and legacy-auth policies do not block"
    );

    add_policy(
        &emu,
        ca_policy(
            "pol-block",
            "enabled",
            json!({"includeUsers": [], "includeGroups": [MAC_USERS], "excludeUsers": []}),
            all_apps(&[]),
            block,
        ),
    );
    let (s, b) = ropc(&emu, ALICE_UPN, PASSWORD).await;
    assert_eq!(
        (s, code(&b), b["error"].as_str()),
        (400, 53003, Some("invalid_grant")),
        "{b}"
    );
    assert_eq!(
        ropc(&emu, BOB_UPN, PASSWORD).await.0,
        200,
        "bob is not in the blocked group"
    );
}

#[tokio::test]
async fn ropc_mfa_50076_security_defaults_and_per_user() {
    let emu = start();
    emu.with_tenant(|t| {
        t.security_defaults.insert("isEnabled".into(), json!(true));
    });
    let (s, b) = ropc(&emu, ALICE_UPN, PASSWORD).await;
    assert_eq!((s, code(&b)), (400, 50076), "{b}");
    assert_eq!(b["suberror"], "basic_action");
    emu.with_tenant(|t| {
        t.security_defaults.insert("isEnabled".into(), json!(false));
    });
    assert_eq!(ropc(&emu, ALICE_UPN, PASSWORD).await.0, 200);
    for state in ["enabled", "enforced"] {
        emu.with_tenant(|t| {
            t.users.get_mut(ALICE).unwrap().internal.per_user_mfa_state = Some(state.to_string());
        });
        assert_eq!(
            code(&ropc(&emu, ALICE_UPN, PASSWORD).await.1),
            50076,
            "{state}"
        );
    }
    emu.with_tenant(|t| {
        t.users.get_mut(ALICE).unwrap().internal.per_user_mfa_state = Some("disabled".into());
    });
    assert_eq!(ropc(&emu, ALICE_UPN, PASSWORD).await.0, 200);
}

#[tokio::test]
async fn ropc_mfa_50076_conditional_access_and_exclusions() {
    let emu = start();
    let mfa = json!({"operator": "OR", "builtInControls": ["mfa"], "authenticationStrength": null});
    // Report-only policies do not force MFA.
    add_policy(
        &emu,
        ca_policy(
            "pol-ro",
            "enabledForReportingButNotEnforced",
            all_users(),
            all_apps(&[]),
            mfa.clone(),
        ),
    );
    add_policy(
        &emu,
        ca_policy(
            "pol-or",
            "enabled",
            all_users(),
            all_apps(&[]),
            json!({"operator": "OR", "builtInControls": ["mfa", "compliantDevice"]}),
        ),
    );
    // A password sign-in carries no device, so `mfa OR compliantDevice` can only be met by MFA.
    let (s, b) = ropc(&emu, ALICE_UPN, PASSWORD).await;
    assert_eq!((s, code(&b)), (400, 50076), "{b}");
    emu.with_tenant(|t| {
        let p = t.conditional_access_policies.get_mut("pol-or").unwrap();
        p.obj["conditions"]["applications"]["excludeApplications"] = json!([PASSPORT]);
    });
    // Enforced baseline scopes (the default): Passport's scopes are evaluated against Windows Azure
    // Active Directory, which the policy does not exclude: excluding the app does not help.
    let (s, b) = ropc(&emu, ALICE_UPN, PASSWORD).await;
    assert_eq!((s, code(&b)), (400, 50076), "{b}");
    let challenge: Value = serde_json::from_str(b["claims"].as_str().unwrap()).unwrap();
    assert_eq!(
        challenge["access_token"]["capolids"]["values"],
        json!(["pol-or"])
    );
    // Legacy (before the rollout): an "All resources" policy with any resource exclusion is not
    // enforced for baseline scopes, so excluding the app (the seed's remediation) works.
    emu.set_baseline_scopes(&emu.tenant_id(), BaselineScopes::Legacy)
        .unwrap();
    assert_eq!(ropc(&emu, ALICE_UPN, PASSWORD).await.0, 200);

    // Also when the exclusion names another app; a scope beyond the baseline is evaluated against
    // Microsoft Graph, which no policy excludes.
    add_policy(
        &emu,
        ca_policy(
            "pol-mfa",
            "enabled",
            all_users(),
            all_apps(&["00000000-aaaa-bbbb-cccc-000000000000"]),
            mfa.clone(),
        ),
    );
    assert_eq!(ropc(&emu, ALICE_UPN, PASSWORD).await.0, 200);
    let tid = emu.tenant_id();
    let more = [
        ("grant_type", "password"),
        ("client_id", PASSPORT),
        ("scope", "openid Directory.Read.All"),
        ("username", ALICE_UPN),
        ("password", PASSWORD),
    ];
    emu.with_tenant(|t| {
        let g = t
            .oauth2_permission_grants
            .iter_mut()
            .find(|g| g.str("consentType") == Some("AllPrincipals"))
            .unwrap();
        let scope = format!("{} Directory.Read.All", g.str("scope").unwrap());
        g.obj.insert("scope".into(), json!(scope));
    });
    let (s, b) = token(&emu, &tid, &more).await;
    assert_eq!((s, code(&b)), (400, 50076), "{b}");
    let challenge: Value = serde_json::from_str(b["claims"].as_str().unwrap()).unwrap();
    assert_eq!(
        challenge["access_token"]["capolids"]["values"],
        json!(["pol-mfa", "pol-or"])
    );
    // A policy on All resources without any exclusion applies to baseline scopes in both modes.
    emu.with_tenant(|t| {
        let p = t.conditional_access_policies.get_mut("pol-mfa").unwrap();
        p.obj["conditions"]["applications"]["excludeApplications"] = json!([]);
    });
    let (s, b) = ropc(&emu, ALICE_UPN, PASSWORD).await;
    assert_eq!((s, code(&b)), (400, 50076), "{b}");
    // Customize behavior: baseline scopes are evaluated against a placeholder app; the policies that
    // exclude it keep the legacy behaviour, the others apply.
    let placeholder = "00000000-aaaa-bbbb-cccc-0000000000ff";
    emu.set_baseline_scopes(&tid, BaselineScopes::Custom(placeholder.into()))
        .unwrap();
    emu.with_tenant(|t| {
        let p = t.conditional_access_policies.get_mut("pol-mfa").unwrap();
        p.obj["conditions"]["applications"]["excludeApplications"] = json!([placeholder]);
    });
    let (s, b) = ropc(&emu, ALICE_UPN, PASSWORD).await;
    assert_eq!((s, code(&b)), (400, 50076), "{b}");
    let challenge: Value = serde_json::from_str(b["claims"].as_str().unwrap()).unwrap();
    assert_eq!(
        challenge["access_token"]["capolids"]["values"],
        json!(["pol-or"])
    );
    emu.with_tenant(|t| {
        let p = t.conditional_access_policies.get_mut("pol-or").unwrap();
        p.obj["conditions"]["applications"]["excludeApplications"] = json!([placeholder]);
    });
    assert_eq!(ropc(&emu, ALICE_UPN, PASSWORD).await.0, 200);
    emu.set_baseline_scopes(&tid, BaselineScopes::Legacy)
        .unwrap();

    // An authentication strength policy scoped to a group, honouring a user exclusion.
    add_policy(
        &emu,
        ca_policy(
            "pol-strength",
            "enabled",
            json!({"includeUsers": [], "includeGroups": [ALL_STAFF], "excludeUsers": [BOB]}),
            all_apps(&[]),
            json!({"operator": "OR", "builtInControls": [],
               "authenticationStrength": {"id": "00000000-0000-0000-0000-000000000002"}}),
        ),
    );
    assert_eq!(
        code(&ropc(&emu, ALICE_UPN, PASSWORD).await.1),
        50076,
        "alice is a nested member of All Staff"
    );
    emu.with_tenant(|t| {
        let p = t
            .conditional_access_policies
            .get_mut("pol-strength")
            .unwrap();
        p.obj["conditions"]["users"]["excludeUsers"] = json!([ALICE]);
    });
    assert_eq!(ropc(&emu, ALICE_UPN, PASSWORD).await.0, 200);
}

// ---- device code -----------------------------------------------------------------------------

async fn devicecode(emu: &graph_emulator::RunningEmulator, client: &str) -> (u16, Value) {
    let resp = http()
        .post(format!(
            "{}/{}/oauth2/v2.0/devicecode",
            emu.base_url(),
            emu.tenant_id()
        ))
        .form(&[("client_id", client), ("scope", PASSPORT_SCOPES)])
        .send()
        .await
        .unwrap();
    let s = resp.status().as_u16();
    (s, resp.json().await.unwrap())
}

async fn poll(emu: &graph_emulator::RunningEmulator, device_code: &str) -> (u16, Value) {
    let tid = emu.tenant_id();
    token(
        emu,
        &tid,
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("client_id", PASSPORT),
            ("device_code", device_code),
        ],
    )
    .await
}

#[tokio::test]
async fn device_code_pending_then_approved_then_redeemed_once() {
    let emu = start();
    let (s, dc) = devicecode(&emu, PASSPORT).await;
    assert_eq!(s, 200, "{dc}");
    for key in ["device_code", "user_code", "verification_uri", "message"] {
        assert!(dc[key].is_string(), "{key} in {dc}");
    }
    assert_eq!(dc["expires_in"], 900);
    assert_eq!(dc["interval"], 5);
    let device_code = dc["device_code"].as_str().unwrap();
    let user_code = dc["user_code"].as_str().unwrap();

    let (s, b) = poll(&emu, device_code).await;
    assert_eq!(
        (s, b["error"].as_str(), code(&b)),
        (400, Some("authorization_pending"), 70016)
    );

    // Approve through the control API (HTTP); MFA does not apply to an interactive sign-in.
    emu.with_tenant(|t| {
        t.users.get_mut(ALICE).unwrap().internal.per_user_mfa_state = Some("enforced".into());
    });
    let resp = http()
        .post(format!(
            "{}/_emulator/device-codes/{user_code}/approve",
            emu.base_url()
        ))
        .json(&json!({"upn": ALICE_UPN}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    let (s, b) = poll(&emu, device_code).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(claims(b["id_token"].as_str().unwrap())["oid"], ALICE);
    assert_eq!(
        claims(b["access_token"].as_str().unwrap())["scp"],
        PASSPORT_SCOPES
    );
    let (s, b) = poll(&emu, device_code).await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("invalid_grant")),
        "{b}"
    );

    // Unknown codes: control API 404, token endpoint bad_verification_code.
    let resp = http()
        .post(format!(
            "{}/_emulator/device-codes/NOPE/approve",
            emu.base_url()
        ))
        .json(&json!({"upn": ALICE_UPN}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    let (_, b) = poll(&emu, "no-such-device-code").await;
    assert_eq!(b["error"], "bad_verification_code");
}

#[tokio::test]
async fn device_code_decline_slow_down_expiry_and_rust_api() {
    let emu = start();
    let (_, dc) = devicecode(&emu, PASSPORT).await;
    graph_emulator::identity::decline_device_code(emu.state(), dc["user_code"].as_str().unwrap())
        .unwrap();
    let (_, b) = poll(&emu, dc["device_code"].as_str().unwrap()).await;
    assert_eq!(b["error"], "authorization_declined");

    emu.state().identity.set_settings(IdentitySettings {
        device_code_min_poll_interval: std::time::Duration::from_secs(3600),
        ..IdentitySettings::default()
    });
    let (_, dc) = devicecode(&emu, PASSPORT).await;
    let code_ = dc["device_code"].as_str().unwrap();
    assert_eq!(poll(&emu, code_).await.1["error"], "authorization_pending");
    assert_eq!(poll(&emu, code_).await.1["error"], "slow_down");
    // RunningEmulator::approve_device_code, with a user that is blocked by assignment.
    require_assignment(&emu);
    emu.approve_device_code(dc["user_code"].as_str().unwrap(), BOB_UPN)
        .unwrap();
    let (_, b) = poll(&emu, code_).await;
    assert_eq!(code(&b), 50105, "{b}");
    assert!(emu.approve_device_code("NOPE", BOB_UPN).is_err());

    emu.state().identity.set_settings(IdentitySettings {
        device_code_lifetime: std::time::Duration::ZERO,
        ..IdentitySettings::default()
    });
    let (_, dc) = devicecode(&emu, PASSPORT).await;
    let (_, b) = poll(&emu, dc["device_code"].as_str().unwrap()).await;
    assert_eq!(b["error"], "expired_token");

    let (s, b) = devicecode(&emu, "00000000-1111-2222-3333-444444444444").await;
    assert_eq!((s, code(&b)), (400, 700016));
}

// ---- refresh token ---------------------------------------------------------------------------

#[tokio::test]
async fn refresh_token_is_single_use_and_rechecks_the_account() {
    let emu = start();
    let tid = emu.tenant_id();
    let (_, b) = ropc(&emu, ALICE_UPN, PASSWORD).await;
    let rt = b["refresh_token"].as_str().unwrap().to_string();
    let refresh = |rt: String| {
        let emu = &emu;
        let tid = tid.clone();
        async move {
            token(
                emu,
                &tid,
                &[
                    ("grant_type", "refresh_token"),
                    ("client_id", PASSPORT),
                    ("refresh_token", &rt),
                ],
            )
            .await
        }
    };
    let (s, b2) = refresh(rt.clone()).await;
    assert_eq!(s, 200, "{b2}");
    assert!(b2["id_token"].is_string());
    let (s, b3) = refresh(rt).await;
    assert_eq!((s, b3["error"].as_str()), (400, Some("invalid_grant")));
    emu.with_tenant(|t| {
        t.users
            .get_mut(ALICE)
            .unwrap()
            .obj
            .insert("accountEnabled".into(), json!(false));
    });
    let (_, b4) = refresh(b2["refresh_token"].as_str().unwrap().to_string()).await;
    assert_eq!(code(&b4), 50057);
}

// ---- discovery -------------------------------------------------------------------------------

#[tokio::test]
async fn openid_configuration_by_id_and_unknown_tenant() {
    let emu = start();
    let tid = emu.tenant_id();
    let resp = http()
        .get(format!(
            "{}/{tid}/v2.0/.well-known/openid-configuration",
            emu.base_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let doc: Value = resp.json().await.unwrap();
    assert_eq!(doc["issuer"], format!("{}/{tid}/v2.0", emu.base_url()));
    assert_eq!(
        doc["token_endpoint"],
        format!("{}/{tid}/oauth2/v2.0/token", emu.base_url())
    );
    assert_eq!(
        doc["device_authorization_endpoint"],
        format!("{}/{tid}/oauth2/v2.0/devicecode", emu.base_url())
    );
    let jwks = http()
        .get(doc["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(jwks.status().as_u16(), 200);

    let resp = http()
        .get(format!(
            "{}/nosuchtenant.example/v2.0/.well-known/openid-configuration",
            emu.base_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        (body["error"].as_str(), code(&body)),
        (Some("invalid_tenant"), 90002)
    );

    // Identity requests are in the request log.
    assert!(emu.request_log().iter().any(|e| e.template
        == "/{tenant}/v2.0/.well-known/openid-configuration"
        && e.status == 400));
}

// ---- replication delay, overage, device-code-flow policies, the devicelogin page ---------------

#[tokio::test]
async fn a_client_not_yet_replicated_is_unknown() {
    let emu = start();
    emu.with_tenant(|t| {
        let later = std::time::Instant::now() + std::time::Duration::from_secs(3600);
        let id = t.application_by_app_id(PASSPORT).unwrap().id().to_string();
        t.applications.get_mut(&id).unwrap().visible_at = Some(later);
        t.service_principals
            .get_mut(PASSPORT_SP)
            .unwrap()
            .visible_at = Some(later);
    });
    let (s, b) = ropc(&emu, ALICE_UPN, PASSWORD).await;
    assert_eq!((s, code(&b)), (400, 700016), "{b}");
}

#[tokio::test]
async fn more_than_200_groups_become_the_overage_claim() {
    let emu = start();
    emu.with_tenant(|t| {
        for i in 0..201 {
            let mut g = graph_emulator::Record::new(
                json!({"id": format!("7a1b2c3d-0000-4000-8000-1{i:011}"), "displayName": format!("G{i}"),
                       "securityEnabled": true})
                .as_object()
                .unwrap()
                .clone(),
            );
            g.internal.members = vec![ALICE.to_string()];
            t.groups.insert(g);
        }
    });
    let (_, b) = ropc(&emu, ALICE_UPN, PASSWORD).await;
    let id = claims(b["id_token"].as_str().unwrap());
    assert!(id.get("groups").is_none(), "{id}");
    assert_eq!(id["_claim_names"]["groups"], "src1");
    assert!(
        id["_claim_sources"]["src1"]["endpoint"]
            .as_str()
            .unwrap()
            .contains(ALICE)
    );
}

#[tokio::test]
async fn device_code_flow_policy_blocks_only_device_code() {
    let emu = start();
    let mut p = ca_policy(
        "pol-dcf",
        "enabled",
        all_users(),
        all_apps(&[]),
        json!({"operator": "OR", "builtInControls": ["block"]}),
    );
    p.obj["conditions"]["authenticationFlows"] = json!({"transferMethods": "deviceCodeFlow"});
    add_policy(&emu, p);
    assert_eq!(ropc(&emu, ALICE_UPN, PASSWORD).await.0, 200);
    let (_, dc) = devicecode(&emu, PASSPORT).await;
    emu.approve_device_code(dc["user_code"].as_str().unwrap(), ALICE_UPN)
        .unwrap();
    let (s, b) = poll(&emu, dc["device_code"].as_str().unwrap()).await;
    assert_eq!((s, code(&b)), (400, 53003), "{b}");
}

#[tokio::test]
async fn devicelogin_page_and_device_code_listing() {
    let emu = start();
    let (_, dc) = devicecode(&emu, PASSPORT).await;
    let user_code = dc["user_code"].as_str().unwrap();
    assert_eq!(
        dc["verification_uri"],
        format!("{}/devicelogin", emu.base_url())
    );
    let page = http()
        .get(format!("{}/devicelogin", emu.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text().await.unwrap().contains("user_code"));

    let listed: Value = http()
        .get(format!("{}/_emulator/device-codes", emu.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["value"][0]["userCode"], user_code);
    assert_eq!(listed["value"][0]["status"], "pending");

    let bad = http()
        .post(format!("{}/devicelogin", emu.base_url()))
        .form(&[
            ("user_code", user_code),
            ("upn", "nobody@idtest.example"),
            ("action", "approve"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    let ok = http()
        .post(format!("{}/devicelogin", emu.base_url()))
        .form(&[
            ("user_code", user_code),
            ("upn", ALICE_UPN),
            ("action", "approve"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    let (s, b) = poll(&emu, dc["device_code"].as_str().unwrap()).await;
    assert_eq!(s, 200, "{b}");
}
