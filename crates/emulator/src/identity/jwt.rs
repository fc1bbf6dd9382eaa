//! The emulator's tokens: RS256 JWTs signed with the emulator's key ([`super::keys`]), whose public
//! half is published at `jwks_uri`; Graph calls verify access tokens here.

use jsonwebtoken::{Algorithm, Validation};
use serde::{Deserialize, Serialize};

use crate::app::SharedState;

/// Claims of an access token issued by the emulator (v1 Graph access token shape).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// Tenant id.
    pub tid: String,
    /// Audience: `https://graph.microsoft.com` (or `00000003-0000-0000-c000-000000000000`).
    pub aud: String,
    /// Issuer: `https://sts.windows.net/{tid}/`.
    #[serde(default)]
    pub iss: String,
    /// Client application id.
    pub appid: String,
    /// Client application id (v2 name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azp: Option<String>,
    /// Object id of the signed-in user (delegated) or of the client's service principal (app-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oid: Option<String>,
    /// App roles (app-only tokens).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// Delegated scopes, space-separated (delegated tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scp: Option<String>,
    /// Expiry (seconds since epoch).
    pub exp: i64,
    /// Issued at (seconds since epoch).
    pub iat: i64,
}

/// Why a bearer token was refused (each maps to Graph's 401 `InvalidAuthenticationToken` message).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// No token in the request.
    #[error("Access token is empty.")]
    Missing,
    /// Not a JWT the emulator issued (bad structure or signature).
    #[error("IDX14100: JWT is not well formed, there are no dots (.).")]
    Malformed,
    /// Signature does not verify with this emulator's key.
    #[error("Access token validation failure. Invalid signature.")]
    BadSignature,
    /// Past `exp`.
    #[error("Lifetime validation failed, the token is expired.")]
    Expired,
    /// Audience is not Microsoft Graph.
    #[error("Access token validation failure. Invalid audience.")]
    WrongAudience,
}

/// The audiences Graph accepts.
pub fn is_graph_audience(aud: &str) -> bool {
    matches!(
        aud.trim_end_matches('/'),
        "https://graph.microsoft.com"
            | "https://graph.microsoft.us"
            | "https://dod-graph.microsoft.us"
            | "https://microsoftgraph.chinacloudapi.cn"
            | "00000003-0000-0000-c000-000000000000"
    )
}

/// Sign access-token claims with the emulator's RS256 key.
pub fn issue_access_token(state: &SharedState, claims: &AccessClaims) -> String {
    state.signing_key.sign(claims)
}

/// Sign ID-token claims with the emulator's RS256 key (verifiable with the key set at `jwks_uri`).
pub fn issue_id_token(
    state: &SharedState,
    claims: &serde_json::Map<String, serde_json::Value>,
) -> String {
    state.signing_key.sign(claims)
}

/// Mint a federated (workload identity) token as the emulator's test OIDC issuer, signed with the
/// emulator's key so the token endpoint can verify it.
pub fn issue_federated_token(
    state: &SharedState,
    issuer: &str,
    subject: &str,
    audience: &str,
    iat: i64,
    exp: i64,
    jti: &str,
) -> String {
    let claims = serde_json::json!({
        "iss": issuer, "sub": subject, "aud": audience,
        "iat": iat, "nbf": iat, "exp": exp, "jti": jti,
    });
    state.signing_key.sign(&claims)
}

/// Verify a bearer token issued by this emulator process and return its claims.
pub fn verify_access_token(state: &SharedState, token: &str) -> Result<AccessClaims, TokenError> {
    if token.is_empty() {
        return Err(TokenError::Missing);
    }
    if token.split('.').count() != 3 {
        return Err(TokenError::Malformed);
    }
    let mut v = Validation::new(Algorithm::RS256);
    v.validate_aud = false;
    v.leeway = 0;
    v.set_required_spec_claims(&["exp"]);
    let data = jsonwebtoken::decode::<AccessClaims>(token, &state.signing_key.decoding_key(), &v)
        .map_err(|e| match e.kind() {
        jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
        jsonwebtoken::errors::ErrorKind::InvalidSignature => TokenError::BadSignature,
        _ => TokenError::Malformed,
    })?;
    if !is_graph_audience(&data.claims.aud) {
        return Err(TokenError::WrongAudience);
    }
    Ok(data.claims)
}
