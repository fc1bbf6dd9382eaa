//! Client authentication at the token endpoint: client secret (form or HTTP Basic), certificate
//! assertion, federated assertion, or none for a public client.

use std::time::Instant;

use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use crate::identity::assertion::{
    self, AssertionKind, FederatedCredentialRef, RegisteredCertificate,
};
use crate::identity::errors::TokenError;
use crate::identity::request::{Form, Request};
use crate::identity::signin::{self, Client};
use crate::state::Tenant;

/// How the client authenticated itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientAuth {
    /// Public client (no credential).
    Public,
    /// A client secret (`azpacr` 1).
    Secret,
    /// A certificate client assertion (`azpacr` 2).
    Certificate,
    /// A federated assertion (`azpacr` 2).
    Federated,
}

/// The credential a request carries.
pub enum Presented<'a> {
    None,
    Secret(String),
    Assertion { kind: Option<&'a str>, jwt: &'a str },
}

pub fn presented<'a>(form: &'a Form, headers: &HeaderMap) -> Presented<'a> {
    if let Some(jwt) = form.get("client_assertion") {
        return Presented::Assertion {
            kind: form.get("client_assertion_type"),
            jwt,
        };
    }
    if let Some(s) = form.get("client_secret") {
        return Presented::Secret(s.to_string());
    }
    if let Some((_, secret)) = basic_auth(headers) {
        return Presented::Secret(secret);
    }
    Presented::None
}

/// `Authorization: Basic base64(urlencode(client_id):urlencode(secret))` (RFC 6749 §2.3.1).
pub fn basic_auth(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get("authorization")?.to_str().ok()?;
    let b64 = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))?;
    let decoded = String::from_utf8(STANDARD.decode(b64.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let dec = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some((dec(id), dec(secret)))
}

/// The URLs accepted as `aud` of a certificate assertion for this tenant.
pub fn token_endpoints(base_url: &str, segment: &str, tenant: &Tenant) -> Vec<String> {
    let mut names = vec![segment.to_string(), tenant.id.clone()];
    if let Some(ds) = tenant
        .organization
        .get("verifiedDomains")
        .and_then(Value::as_array)
    {
        names.extend(
            ds.iter()
                .filter_map(|d| d.get("name").and_then(Value::as_str))
                .map(str::to_string),
        );
    }
    let mut out = Vec::new();
    for host in [
        base_url.trim_end_matches('/'),
        "https://login.microsoftonline.com",
    ] {
        for n in &names {
            out.push(format!("{host}/{n}/oauth2/v2.0/token"));
            out.push(format!("{host}/{n}/oauth2/token"));
        }
    }
    out
}

/// Check a confidential client's credential (secret, certificate assertion or federated assertion).
pub fn authenticate_confidential(
    r: &Request<'_>,
    tenant: &Tenant,
    client: &Client<'_>,
    cred: &Presented<'_>,
) -> Result<ClientAuth, TokenError> {
    let app = client.app;
    match cred {
        Presented::None => Err(TokenError::credential_required()),
        Presented::Secret(s) => {
            let ok = app.is_some_and(|a| a.internal.secrets.iter().any(|x| x == s));
            if ok {
                Ok(ClientAuth::Secret)
            } else {
                Err(TokenError::invalid_client_secret(client.app_id))
            }
        }
        Presented::Assertion { kind, jwt } => {
            if *kind != Some(assertion::JWT_BEARER) {
                return Err(TokenError::malformed_assertion(&format!(
                    "The 'client_assertion_type' must be '{}'.",
                    assertion::JWT_BEARER
                )));
            }
            match assertion::classify(jwt, client.app_id)? {
                AssertionKind::Certificate => {
                    let certs: Vec<RegisteredCertificate<'_>> = app
                        .map(|a| {
                            a.internal
                                .certificates
                                .iter()
                                .map(|c| RegisteredCertificate {
                                    x5t_s256: &c.thumbprint_sha256,
                                    x5t: None,
                                    pem: &c.public_key_pem,
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    let endpoints = token_endpoints(&r.state.base_url, r.tenant_segment, tenant);
                    assertion::verify_certificate_assertion(
                        jwt,
                        client.app_id,
                        &endpoints,
                        &certs,
                        r.epoch,
                    )?;
                    Ok(ClientAuth::Certificate)
                }
                AssertionKind::Federated { .. } => {
                    let key = r.state.signing_key.decoding_key();
                    let claims = assertion::verify_federated_token(jwt, &key, r.epoch)?;
                    let creds: Vec<FederatedCredentialRef<'_>> = app
                        .map(|a| {
                            a.internal
                                .federated_credentials
                                .iter()
                                .map(|f| FederatedCredentialRef {
                                    issuer: &f.issuer,
                                    subject: &f.subject,
                                    audiences: &f.audiences,
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    assertion::match_federated_credential(&claims, &creds)?;
                    Ok(ClientAuth::Federated)
                }
            }
        }
    }
}

/// Public-client flows (ROPC, device code, refresh): a public client must not send a credential, a
/// confidential one must authenticate.
pub fn authenticate_for_user_flow(
    r: &Request<'_>,
    tenant: &Tenant,
    client: &Client<'_>,
) -> Result<ClientAuth, TokenError> {
    let cred = presented(r.form, r.headers);
    let has_credential = !matches!(cred, Presented::None);
    if client.is_public_client() {
        if has_credential {
            return Err(TokenError::public_client_with_credential());
        }
        return Ok(ClientAuth::Public);
    }
    authenticate_confidential(r, tenant, client, &cred)
}

pub fn client_id(r: &Request<'_>) -> Result<String, TokenError> {
    if let Some(id) = r.form.get("client_id") {
        return Ok(id.to_string());
    }
    if let Some((id, _)) = basic_auth(r.headers) {
        return Ok(id);
    }
    Err(TokenError::missing_parameter("client_id"))
}

pub fn find_client<'t>(
    tenant: &'t Tenant,
    client_id: &'t str,
    now: Instant,
) -> Result<Client<'t>, TokenError> {
    signin::find_client(tenant, client_id, now)
        .ok_or_else(|| TokenError::unknown_client(client_id, tenant.display_name()))
}
