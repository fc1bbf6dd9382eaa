//! The password sign-in (OAuth 2.0 resource owner password credentials, ROPC) that Kandji
//! Passport performs, for `entractl verify-signin`: same token endpoint, same public client, same
//! scopes. The password is a [`Secret`]: it goes on the wire and nowhere else; the tokens of a
//! successful sign-in are dropped after the ID token's claims are read.
//!
//! Protocol: entra-docs `identity-platform/v2-oauth-ropc.md` — `POST {authority}/{tenant}/oauth2/v2.0/token`
//! with `grant_type=password`, `client_id`, `scope`, `username`, `password` (no client secret:
//! Passport is a public client). An error answer carries `error`, `error_description` and
//! `error_codes` (the AADSTS numbers).

use base64::Engine as _;
use serde_json::{Map, Value};

use crate::config::GraphConfig;
use crate::secret::Secret;

/// The scopes Kandji Passport asks for.
pub const PASSPORT_SCOPES: &[&str] = &["openid", "profile", "email", "offline_access", "User.Read"];

/// A successful password sign-in: what the tokens said, never the tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct SignInSuccess {
    /// The ID token's payload (decoded, not verified: this is a diagnostic, not an authorisation).
    /// Empty when no ID token came back (the `openid` scope was not granted).
    pub id_token_claims: Map<String, Value>,
    /// The scopes the access token was granted (`scope` of the answer).
    pub granted_scopes: Vec<String>,
    /// Whether a refresh token came back (`offline_access`).
    pub refresh_token_issued: bool,
}

/// Why the sign-in failed.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// The identity platform refused the sign-in (an AADSTS error).
    #[error("the sign-in was refused ({error}, HTTP {status}): {description}")]
    Refused {
        status: u16,
        /// `invalid_grant`, `invalid_client`, …
        error: String,
        /// The AADSTS numbers, first the one that decided.
        error_codes: Vec<u32>,
        /// `error_description`, with the password scrubbed (should the server echo it).
        description: String,
        /// `suberror` (`basic_action`, `consent_required`, …), when sent.
        suberror: Option<String>,
    },
    /// No usable answer from the token endpoint.
    #[error(
        "could not reach the token endpoint {endpoint}: {reason}\n  hint: check the network, the cloud in the spec and --authority-url"
    )]
    Transport { endpoint: String, reason: String },
    /// The configuration does not give a token URL.
    #[error("{0}")]
    Config(String),
}

impl SignInError {
    /// The first AADSTS code, which decided the failure.
    pub fn code(&self) -> Option<u32> {
        match self {
            SignInError::Refused { error_codes, .. } => error_codes.first().copied(),
            _ => None,
        }
    }
}

/// Performs the password sign-in against `{authority}/{tenant}/oauth2/v2.0/token` of `cfg` (its
/// authority URL and tenant) as the public client `client_id`.
pub async fn password_sign_in(
    cfg: &GraphConfig,
    client_id: &str,
    username: &str,
    password: &Secret,
    scopes: &[&str],
) -> Result<SignInSuccess, SignInError> {
    let url = cfg
        .token_url(&cfg.tenant)
        .map_err(|e| SignInError::Config(e.to_string()))?;
    let http = crate::transport::build_http_client(cfg)
        .map_err(|e| SignInError::Config(format!("cannot build the HTTP client: {e}")))?;
    let scope = scopes.join(" ");
    let form = [
        ("grant_type", "password"),
        ("client_id", client_id),
        ("scope", scope.as_str()),
        ("username", username),
        ("password", password.expose()),
    ];
    let endpoint = url.to_string();
    let transport = |reason: String| SignInError::Transport {
        endpoint: endpoint.clone(),
        reason: password.scrub(&reason),
    };
    let resp = http
        .post(url.clone())
        .header("Accept", "application/json")
        .form(&form)
        .send()
        .await
        .map_err(|e| transport(e.without_url().to_string()))?;
    let status = resp.status().as_u16();
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| transport(e.without_url().to_string()))?;
    let body: Value = serde_json::from_slice(&bytes).map_err(|_| {
        transport(format!(
            "HTTP {status} with a body that is not JSON ({} bytes)",
            bytes.len()
        ))
    })?;
    if (200..300).contains(&status) {
        return Ok(success(&body));
    }
    Err(refused(status, &body, password))
}

fn success(body: &Value) -> SignInSuccess {
    let id_token_claims = body
        .get("id_token")
        .and_then(Value::as_str)
        .and_then(decode_jwt_payload)
        .unwrap_or_default();
    SignInSuccess {
        id_token_claims,
        granted_scopes: body
            .get("scope")
            .and_then(Value::as_str)
            .map(|s| s.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default(),
        refresh_token_issued: body.get("refresh_token").and_then(Value::as_str).is_some(),
    }
}

fn refused(status: u16, body: &Value, password: &Secret) -> SignInError {
    let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
    let description = password.scrub(&text("error_description").unwrap_or_default());
    let mut error_codes: Vec<u32> = body
        .get("error_codes")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|c| c.as_u64().and_then(|n| u32::try_from(n).ok()))
                .collect()
        })
        .unwrap_or_default();
    if error_codes.is_empty() {
        // Some answers carry the code only in the description (`AADSTS50076: …`).
        if let Some(i) = description.find("AADSTS") {
            let digits: String = description[i + 6..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if let Ok(n) = digits.parse() {
                error_codes.push(n);
            }
        }
    }
    SignInError::Refused {
        status,
        error: text("error").unwrap_or_else(|| "unknown_error".to_string()),
        error_codes,
        description,
        suberror: text("suberror"),
    }
}

/// The payload of a JWT (middle segment, base64url), without verifying it.
pub fn decode_jwt_payload(jwt: &str) -> Option<Map<String, Value>> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Cloud;
    use crate::testutil::{json, serve};
    use serde_json::json as j;

    const PASSWORD: &str = "Passw0rd!sandbox";

    fn jwt(claims: Value) -> String {
        let e = |v: &Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string().as_bytes())
        };
        format!("{}.{}.sig", e(&j!({"alg": "HS256"})), e(&claims))
    }

    fn cfg(base: &str) -> GraphConfig {
        GraphConfig::for_cloud(Cloud::Public, "contoso.onmicrosoft.com")
            .with_authority_url(base)
            .unwrap()
    }

    /// Passport's sign-in of `user` with [`PASSWORD`] against the test server at `base`.
    async fn sign_in(base: &str, client: &str, user: &str) -> Result<SignInSuccess, SignInError> {
        password_sign_in(
            &cfg(base),
            client,
            user,
            &Secret::new(PASSWORD),
            PASSPORT_SCOPES,
        )
        .await
    }

    #[tokio::test]
    async fn success_reads_the_id_token_claims_and_sends_the_password_grant() {
        let id =
            jwt(j!({"preferred_username": "alice@contoso.com", "groups": ["g1"], "oid": "u1"}));
        let server = serve(move |_, _| {
            json(
                200,
                j!({"token_type": "Bearer", "scope": "openid profile email User.Read",
                    "access_token": "at", "refresh_token": "rt", "id_token": id}),
            )
        })
        .await;
        let ok = sign_in(&server.base, "client-1", "alice@contoso.com")
            .await
            .expect("signed in");
        assert_eq!(
            ok.id_token_claims["preferred_username"],
            "alice@contoso.com"
        );
        assert_eq!(ok.id_token_claims["groups"], j!(["g1"]));
        assert!(ok.refresh_token_issued);
        assert_eq!(ok.granted_scopes.len(), 4);
        let seen = server.seen();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].method, "POST");
        assert_eq!(seen[0].target, "/contoso.onmicrosoft.com/oauth2/v2.0/token");
        assert_eq!(
            seen[0].form_value("grant_type").as_deref(),
            Some("password")
        );
        assert_eq!(seen[0].form_value("client_id").as_deref(), Some("client-1"));
        assert_eq!(
            seen[0].form_value("scope").as_deref(),
            Some("openid profile email offline_access User.Read")
        );
        assert_eq!(seen[0].form_value("password").as_deref(), Some(PASSWORD));
        assert_eq!(seen[0].form_value("client_secret"), None);
        // Nothing of the answer that is a token is kept.
        let debug = format!("{ok:?}");
        assert!(
            !debug.contains("\"at\"") && !debug.contains("\"rt\""),
            "{debug}"
        );
    }

    #[tokio::test]
    async fn refusal_gives_the_codes_and_scrubs_an_echoed_password() {
        let server = serve(|_, _| {
            json(
                400,
                j!({"error": "invalid_grant",
                    "error_description": format!("AADSTS50076: Due to a configuration change ... you must use multi-factor authentication. (password {PASSWORD})"),
                    "error_codes": [50076], "suberror": "basic_action"}),
            )
        })
        .await;
        let err = sign_in(&server.base, "client-1", "bob@contoso.com")
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some(50076));
        let text = err.to_string();
        assert!(!text.contains(PASSWORD), "{text}");
        assert!(text.contains("invalid_grant"), "{text}");
        match err {
            SignInError::Refused {
                suberror, status, ..
            } => {
                assert_eq!(suberror.as_deref(), Some("basic_action"));
                assert_eq!(status, 400);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[tokio::test]
    async fn code_only_in_the_description_is_found() {
        let server = serve(|_, _| {
            json(
                401,
                j!({"error": "invalid_client", "error_description": "AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'."}),
            )
        })
        .await;
        let err = sign_in(&server.base, "c", "u@contoso.com")
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some(7000218));
    }

    #[tokio::test]
    async fn a_non_json_answer_is_a_transport_error() {
        let server = serve(|_, _| crate::testutil::Reply::Empty(502)).await;
        let err = sign_in(&server.base, "c", "u@contoso.com")
            .await
            .unwrap_err();
        assert!(matches!(err, SignInError::Transport { .. }), "{err:?}");
        assert_eq!(err.code(), None);
    }

    #[test]
    fn jwt_payloads_decode_with_or_without_padding() {
        let t = jwt(j!({"a": 1}));
        assert_eq!(decode_jwt_payload(&t).unwrap()["a"], 1);
        assert_eq!(decode_jwt_payload("not-a-jwt"), None);
        assert_eq!(decode_jwt_payload("a.!!!.c"), None);
    }
}
