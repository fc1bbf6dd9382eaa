//! A standard OpenID Connect relying-party library (the `openidconnect` crate) verifies the emulator's
//! ID tokens as it would Entra's: discovery → password grant → ID token signature (RS256, the key found
//! at `jwks_uri` by `kid`), `iss`, `aud` and `exp`. A tampered token and a token for another client are
//! refused by the same library, so the check can fail.

use std::str::FromStr;

use graph_emulator::scenarios::GRAPH_APP_ID;
use graph_emulator::{EmulatorConfig, Record, RunningEmulator, TenantSource, start};
use openidconnect::core::{CoreClient, CoreIdToken, CoreProviderMetadata};
use openidconnect::{
    ClientId, HttpRequest, HttpResponse, IssuerUrl, Nonce, ResourceOwnerPassword,
    ResourceOwnerUsername, Scope, TokenResponse,
};
use serde_json::{Value, json};

const TENANT: &str = "2b2b2b2b-0000-4000-8000-00000000aa01";
const APP: &str = "2b2b2b2b-0000-4000-8000-00000000ab01";
const OTHER_APP: &str = "2b2b2b2b-0000-4000-8000-00000000ab02";
const UPN: &str = "alice@rp.example";
const PASSWORD: &str = "test-only-Passw0rd";

/// A P1 tenant without conditional access or security defaults, one user, and a public client
/// consented for `openid profile email User.Read`.
fn emulator() -> RunningEmulator {
    let fixture = format!(
        "tenant: {{id: {TENANT}, displayName: RP Test, license: p1,\n  \
         domains: [{{name: rp.example, initial: true, default: true}}]}}\n\
         users: [{{upn: {UPN}, displayName: Alice Adams, password: {PASSWORD}}}]\n"
    );
    let mut cfg = EmulatorConfig::scenario("empty");
    cfg.sources = vec![TenantSource::FixtureText {
        name: "rp".into(),
        text: fixture,
    }];
    let emu = start(cfg).expect("emulator starts");
    emu.with_tenant(|t| {
        let graph = t
            .service_principal_by_app_id(GRAPH_APP_ID)
            .expect("Graph service principal")
            .id()
            .to_string();
        let obj = |v: Value| v.as_object().cloned().expect("object");
        t.applications.insert(Record::new(obj(json!({
            "id": "2b2b2b2b-0000-4000-8000-00000000ac01", "appId": APP,
            "displayName": "RP test client", "isFallbackPublicClient": true
        }))));
        t.service_principals.insert(Record::new(obj(json!({
            "id": "2b2b2b2b-0000-4000-8000-00000000ad01", "appId": APP,
            "displayName": "RP test client", "appRoleAssignmentRequired": false
        }))));
        t.oauth2_permission_grants.insert(Record::new(obj(json!({
            "id": "rp-grant", "clientId": "2b2b2b2b-0000-4000-8000-00000000ad01",
            "consentType": "AllPrincipals", "principalId": null, "resourceId": graph,
            "scope": "openid profile email User.Read"
        }))));
    });
    emu
}

/// The HTTP client the library is given: reqwest, on loopback.
async fn http(request: HttpRequest) -> Result<HttpResponse, reqwest::Error> {
    let (parts, body) = request.into_parts();
    let response = reqwest::Client::new()
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await?;
    let mut out = http::Response::builder().status(response.status());
    for (name, value) in response.headers() {
        out = out.header(name, value);
    }
    let bytes = response.bytes().await?;
    Ok(out.body(bytes.to_vec()).expect("a valid response"))
}

fn no_nonce(_: Option<&Nonce>) -> Result<(), String> {
    // The password grant has no nonce.
    Ok(())
}

#[tokio::test]
async fn an_oidc_library_discovers_the_emulator_and_verifies_its_id_tokens() {
    let emu = emulator();
    let issuer = IssuerUrl::new(format!("{}/{TENANT}/v2.0", emu.base_url())).unwrap();
    let metadata = CoreProviderMetadata::discover_async(issuer.clone(), &http)
        .await
        .expect("discovery document and key set");
    let jwks = metadata.jwks().clone();
    let client = CoreClient::from_provider_metadata(metadata, ClientId::new(APP.into()), None);
    let response = client
        .exchange_password(
            &ResourceOwnerUsername::new(UPN.into()),
            &ResourceOwnerPassword::new(PASSWORD.into()),
        )
        .expect("the discovery document names a token endpoint")
        .add_scope(Scope::new("openid".into()))
        .add_scope(Scope::new("profile".into()))
        .request_async(&http)
        .await
        .expect("password grant");
    let id_token = response.id_token().expect("an ID token for `openid`");
    let claims = id_token
        .claims(&client.id_token_verifier(), no_nonce)
        .expect("signature, iss, aud and exp verify");
    assert_eq!(claims.issuer(), &issuer);
    assert_eq!(
        claims.audiences(),
        &[openidconnect::Audience::new(APP.into())]
    );
    assert!(claims.expiration() > chrono::Utc::now());
    // v2.0 ID tokens carry preferred_username when `profile` is granted.
    assert_eq!(claims.preferred_username().map(|u| u.as_str()), Some(UPN));

    // The same library refuses a token whose payload was changed after signing ...
    let raw = id_token.to_string();
    let mut parts: Vec<String> = raw.split('.').map(str::to_string).collect();
    let payload = decode(&parts[1]);
    let mut payload: Value = serde_json::from_slice(&payload).unwrap();
    payload["preferred_username"] = json!("mallory@rp.example");
    parts[1] = encode(&serde_json::to_vec(&payload).unwrap());
    let tampered = CoreIdToken::from_str(&parts.join(".")).unwrap();
    assert!(
        tampered
            .claims(&client.id_token_verifier(), no_nonce)
            .is_err()
    );
    // ... and a token meant for another client (aud).
    let other = CoreClient::new(ClientId::new(OTHER_APP.into()), issuer, jwks);
    assert!(
        id_token
            .claims(&other.id_token_verifier(), no_nonce)
            .is_err()
    );
}

fn decode(part: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap()
}

fn encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
