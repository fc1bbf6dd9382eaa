//! Client assertions (`client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`).
//!
//! Two kinds reach the token endpoint in the same parameter, told apart as Entra does by the issuer:
//!
//! * **certificate credential** (entra-docs `identity-platform/certificate-credentials.md`): a JWT the
//!   client signs with the private key of a certificate registered on its application. Header `alg`
//!   `RS256` or `PS256`, and `x5t#S256` (base64url SHA-256 of the DER certificate) or the older `x5t`
//!   (base64url SHA-1). Claims: `aud` = the tenant's token endpoint, `iss` = `sub` = the client id,
//!   `exp`, optional `nbf`, and `jti`.
//! * **federated credential** (workload identity federation): a JWT from an external issuer whose
//!   `iss`/`sub`/`aud` must match one of the application's federated identity credentials. The emulator
//!   is the only OIDC issuer it trusts: such tokens are minted by `POST /_emulator/federated-token` and
//!   signed with the emulator's own key ([`super::jwt`]).
//!
//! Clock skew: `exp` and `nbf` are checked with [`CLOCK_SKEW_SECS`] of leeway (Entra tolerates a few
//! minutes of skew; the exact figure is not documented — this is a simplification).

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use super::errors::TokenError;

/// The only `client_assertion_type` Entra accepts.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Leeway applied to `exp`/`nbf` of assertions, in seconds.
pub const CLOCK_SKEW_SECS: i64 = 300;

/// The thumbprints of a DER certificate, as Graph and JWT headers spell them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thumbprints {
    /// SHA-1, upper-case hex (Graph `keyCredentials[].customKeyIdentifier`).
    pub sha1_hex: String,
    /// SHA-256, upper-case hex.
    pub sha256_hex: String,
    /// SHA-1, base64url without padding (JWT `x5t`).
    pub x5t: String,
    /// SHA-256, base64url without padding (JWT `x5t#S256`).
    pub x5t_s256: String,
}

/// Compute the thumbprints of a DER-encoded certificate.
pub fn thumbprints(der: &[u8]) -> Thumbprints {
    let sha1 = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, der);
    let sha256 = digest::digest(&digest::SHA256, der);
    Thumbprints {
        sha1_hex: hex_upper(sha1.as_ref()),
        sha256_hex: hex_upper(sha256.as_ref()),
        x5t: URL_SAFE_NO_PAD.encode(sha1.as_ref()),
        x5t_s256: URL_SAFE_NO_PAD.encode(sha256.as_ref()),
    }
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// Decode the first `CERTIFICATE` block of a PEM text into DER bytes.
pub fn pem_to_der(pem: &str) -> Option<Vec<u8>> {
    let start = pem.find("-----BEGIN CERTIFICATE-----")? + "-----BEGIN CERTIFICATE-----".len();
    let end = pem[start..].find("-----END CERTIFICATE-----")? + start;
    let b64: String = pem[start..end]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    STANDARD.decode(b64).ok()
}

/// Encode DER certificate bytes as a PEM `CERTIFICATE` block.
pub fn der_to_pem(der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

/// Which kind of assertion this is, decided from the (not yet verified) `iss` claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssertionKind {
    /// `iss` is the client id: a certificate credential.
    Certificate,
    /// `iss` is something else: a federated credential from that issuer.
    Federated {
        /// The `iss` claim.
        issuer: String,
    },
}

/// The unverified header and claims of a JWT.
#[derive(Debug, Clone)]
pub struct Unverified {
    /// Decoded header.
    pub header: Value,
    /// Decoded claims.
    pub claims: Value,
}

/// Split and base64url-decode a JWT without verifying it. Errors are AADSTS50027.
pub fn peek(jwt: &str) -> Result<Unverified, TokenError> {
    let parts: Vec<&str> = jwt.split('.').collect();
    if parts.len() != 3 {
        return Err(TokenError::malformed_assertion(
            "The client assertion must be a JWS compact serialization (three base64url parts).",
        ));
    }
    let part = |s: &str, what: &str| -> Result<Value, TokenError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(s.trim_end_matches('='))
            .map_err(|_| {
                TokenError::malformed_assertion(&format!("The {what} is not base64url."))
            })?;
        serde_json::from_slice::<Value>(&bytes)
            .ok()
            .filter(Value::is_object)
            .ok_or_else(|| {
                TokenError::malformed_assertion(&format!("The {what} is not a JSON object."))
            })
    };
    Ok(Unverified {
        header: part(parts[0], "JWT header")?,
        claims: part(parts[1], "JWT payload")?,
    })
}

/// Decide whether an assertion presented by `client_id` is a certificate or a federated one.
pub fn classify(jwt: &str, client_id: &str) -> Result<AssertionKind, TokenError> {
    let u = peek(jwt)?;
    match u.claims.get("iss").and_then(Value::as_str) {
        None => Err(TokenError::malformed_assertion(
            "The client assertion has no 'iss' claim.",
        )),
        Some(iss) if iss.eq_ignore_ascii_case(client_id) => Ok(AssertionKind::Certificate),
        Some(iss) => Ok(AssertionKind::Federated {
            issuer: iss.to_string(),
        }),
    }
}

/// The values of an `aud` claim (a string or an array of strings).
pub fn audiences(claims: &Value) -> Vec<String> {
    match claims.get("aud") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

fn check_times(claims: &Value, now: i64) -> Result<(), TokenError> {
    let exp = claims.get("exp").and_then(Value::as_i64).ok_or_else(|| {
        TokenError::malformed_assertion("The client assertion has no 'exp' claim.")
    })?;
    let nbf = claims.get("nbf").and_then(Value::as_i64);
    if exp + CLOCK_SKEW_SECS < now || nbf.is_some_and(|nbf| nbf - CLOCK_SKEW_SECS > now) {
        return Err(TokenError::assertion_time_range(now, nbf, exp));
    }
    Ok(())
}

fn signature_only_validation(alg: Algorithm) -> Validation {
    let mut v = Validation::new(alg);
    v.validate_exp = false;
    v.validate_nbf = false;
    v.validate_aud = false;
    v.required_spec_claims.clear();
    v
}

/// A certificate credential registered on an application.
#[derive(Debug, Clone, Copy)]
pub struct RegisteredCertificate<'a> {
    /// SHA-256 thumbprint of the DER certificate, base64url without padding (`x5t#S256`).
    pub x5t_s256: &'a str,
    /// SHA-1 thumbprint, base64url without padding (`x5t`), when known.
    pub x5t: Option<&'a str>,
    /// The RSA public key: a PEM `PUBLIC KEY`, `RSA PUBLIC KEY` or `CERTIFICATE` block.
    pub pem: &'a str,
}

/// What a verified certificate assertion proved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCertificateAssertion {
    /// `x5t#S256` thumbprint of the registered certificate that signed it.
    pub x5t_s256: String,
    /// The `jti` claim.
    pub jti: String,
}

/// Verify a certificate client assertion.
///
/// `token_endpoints` are the audiences accepted (the token endpoint URL for the tenant as id and as
/// domain); `certs` are the certificates registered on the client's application.
pub fn verify_certificate_assertion(
    jwt: &str,
    client_id: &str,
    token_endpoints: &[String],
    certs: &[RegisteredCertificate<'_>],
    now: i64,
) -> Result<VerifiedCertificateAssertion, TokenError> {
    let u = peek(jwt)?;
    let alg = match u.header.get("alg").and_then(Value::as_str) {
        Some("RS256") => Algorithm::RS256,
        Some("PS256") => Algorithm::PS256,
        Some(other) => {
            return Err(TokenError::malformed_assertion(&format!(
                "The client assertion algorithm '{other}' is not supported; use RS256 or PS256."
            )));
        }
        None => {
            return Err(TokenError::malformed_assertion(
                "The client assertion header has no 'alg'.",
            ));
        }
    };
    let x5t_s256 = u.header.get("x5t#S256").and_then(Value::as_str);
    let x5t = u.header.get("x5t").and_then(Value::as_str);
    if x5t_s256.is_none() && x5t.is_none() {
        return Err(TokenError::malformed_assertion(
            "No certificate thumbprint specified in token header: send 'x5t#S256' (or 'x5t').",
        ));
    }
    let presented = x5t_s256.or(x5t).unwrap_or_default().to_string();
    let cert = certs
        .iter()
        .find(|c| {
            x5t_s256.is_some_and(|h| h == c.x5t_s256)
                || x5t.is_some_and(|h| c.x5t.is_some_and(|r| r == h))
        })
        .ok_or_else(|| {
            // Entra prints the thumbprint the client used as upper-case hex.
            let hex = URL_SAFE_NO_PAD
                .decode(presented.as_bytes())
                .map(|b| hex_upper(&b))
                .unwrap_or(presented.clone());
            TokenError::assertion_key_not_found(client_id, &hex)
        })?;
    let key = DecodingKey::from_rsa_pem(cert.pem.as_bytes())
        .map_err(|_| TokenError::assertion_bad_signature())?;
    jsonwebtoken::decode::<Value>(jwt, &key, &signature_only_validation(alg))
        .map_err(|_| TokenError::assertion_bad_signature())?;

    let claims = &u.claims;
    let iss = claims
        .get("iss")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let sub = claims
        .get("sub")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !iss.eq_ignore_ascii_case(client_id) || !sub.eq_ignore_ascii_case(client_id) {
        return Err(TokenError::assertion_subject_mismatch(client_id));
    }
    let auds = audiences(claims);
    if !auds
        .iter()
        .any(|a| token_endpoints.iter().any(|e| e.eq_ignore_ascii_case(a)))
    {
        return Err(TokenError::assertion_audience());
    }
    check_times(claims, now)?;
    let jti = claims
        .get("jti")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            TokenError::malformed_assertion("The client assertion has no 'jti' claim.")
        })?;
    Ok(VerifiedCertificateAssertion {
        x5t_s256: cert.x5t_s256.to_string(),
        jti: jti.to_string(),
    })
}

/// The claims of a verified federated token that must match a federated identity credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FederatedClaims {
    /// `iss`.
    pub issuer: String,
    /// `sub`.
    pub subject: String,
    /// `aud` values.
    pub audiences: Vec<String>,
}

/// A federated identity credential of an application (Graph `federatedIdentityCredential`).
#[derive(Debug, Clone, Copy)]
pub struct FederatedCredentialRef<'a> {
    /// `issuer`.
    pub issuer: &'a str,
    /// `subject`.
    pub subject: &'a str,
    /// `audiences`.
    pub audiences: &'a [String],
}

/// Verify a federated token's signature (with the emulator's issuer key, RS256) and time range.
pub fn verify_federated_token(
    jwt: &str,
    key: &DecodingKey,
    now: i64,
) -> Result<FederatedClaims, TokenError> {
    let u = peek(jwt)?;
    jsonwebtoken::decode::<Value>(jwt, key, &signature_only_validation(Algorithm::RS256))
        .map_err(|_| TokenError::assertion_bad_signature())?;
    check_times(&u.claims, now)?;
    let issuer = u
        .claims
        .get("iss")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let subject = u
        .claims
        .get("sub")
        .and_then(Value::as_str)
        .unwrap_or_default();
    Ok(FederatedClaims {
        issuer: issuer.to_string(),
        subject: subject.to_string(),
        audiences: audiences(&u.claims),
    })
}

/// Find the federated credential that matches, as Entra does: issuer, then subject, then audience,
/// all case-sensitive (Entra switched to case-sensitive matching in 2025, see entra-docs
/// `identity-platform/reference-breaking-changes.md`). The error names the first part that matched
/// nothing (AADSTS700211 / 700213 / 700212).
pub fn match_federated_credential(
    claims: &FederatedClaims,
    creds: &[FederatedCredentialRef<'_>],
) -> Result<usize, TokenError> {
    let by_issuer: Vec<usize> = (0..creds.len())
        .filter(|&i| creds[i].issuer == claims.issuer)
        .collect();
    if by_issuer.is_empty() {
        return Err(TokenError::federated_issuer(&claims.issuer));
    }
    let by_subject: Vec<usize> = by_issuer
        .into_iter()
        .filter(|&i| creds[i].subject == claims.subject)
        .collect();
    if by_subject.is_empty() {
        return Err(TokenError::federated_subject(&claims.subject));
    }
    by_subject
        .into_iter()
        .find(|&i| {
            creds[i]
                .audiences
                .iter()
                .any(|a| claims.audiences.iter().any(|c| c == a))
        })
        .ok_or_else(|| TokenError::federated_audience(&claims.audiences.join(",")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header, encode};
    use serde_json::json;

    const CERT_PEM: &str = include_str!("../../testdata/entractl-test-cert.pem");
    const KEY_PEM: &str = include_str!("../../testdata/entractl-test-key.pem");
    const PUBKEY_PEM: &str = include_str!("../../testdata/entractl-test-pubkey.pem");
    const CLIENT: &str = "0e1c5f7a-2b3d-4e6f-8a9b-c0d1e2f3a4b5";
    const ENDPOINT: &str = "http://127.0.0.1:1/tenant/oauth2/v2.0/token";
    const NOW: i64 = 1_800_000_000;

    fn der() -> Vec<u8> {
        pem_to_der(CERT_PEM).unwrap()
    }

    fn sign(alg: Algorithm, header_edit: impl FnOnce(&mut Header), claims: Value) -> String {
        let mut h = Header::new(alg);
        h.x5t_s256 = Some(thumbprints(&der()).x5t_s256);
        header_edit(&mut h);
        encode(
            &h,
            &claims,
            &EncodingKey::from_rsa_pem(KEY_PEM.as_bytes()).unwrap(),
        )
        .unwrap()
    }

    fn claims() -> Value {
        json!({"aud": ENDPOINT, "iss": CLIENT, "sub": CLIENT, "jti": "j1", "nbf": NOW - 10, "exp": NOW + 600})
    }

    fn verify(jwt: &str) -> Result<VerifiedCertificateAssertion, TokenError> {
        let t = thumbprints(&der());
        verify_certificate_assertion(
            jwt,
            CLIENT,
            &[ENDPOINT.to_string()],
            &[RegisteredCertificate {
                x5t_s256: &t.x5t_s256,
                x5t: Some(&t.x5t),
                pem: CERT_PEM,
            }],
            NOW,
        )
    }

    #[test]
    fn thumbprints_match_openssl() {
        let t = thumbprints(&der());
        assert_eq!(t.sha1_hex, "7F823E3E88388521EC3DBEAD5AAA6EEE57CAD97A");
        assert_eq!(
            t.sha256_hex,
            "9011C03A4850C0F4FA7E9F97333CA8AE44B450666809D1A40A148073217E248D"
        );
    }

    #[test]
    fn rs256_and_ps256_with_either_thumbprint_header_verify() {
        let ok = verify(&sign(Algorithm::RS256, |_| {}, claims())).unwrap();
        assert_eq!(ok.x5t_s256, thumbprints(&der()).x5t_s256);
        verify(&sign(Algorithm::PS256, |_| {}, claims())).unwrap();
        let legacy = sign(
            Algorithm::RS256,
            |h| {
                h.x5t_s256 = None;
                h.x5t = Some(thumbprints(&der()).x5t);
            },
            claims(),
        );
        verify(&legacy).unwrap();
        assert_eq!(
            classify(&legacy, CLIENT).unwrap(),
            AssertionKind::Certificate
        );
    }

    #[test]
    fn a_public_key_pem_verifies_too() {
        let t = thumbprints(&der());
        let pubkey = include_str!("../../testdata/entractl-test-pubkey.pem");
        let jwt = sign(Algorithm::RS256, |_| {}, claims());
        let certs = [RegisteredCertificate {
            x5t_s256: &t.x5t_s256,
            x5t: None,
            pem: pubkey,
        }];
        verify_certificate_assertion(&jwt, CLIENT, &[ENDPOINT.to_string()], &certs, NOW).unwrap();
    }

    #[test]
    fn wrong_thumbprint_audience_time_subject_are_rejected() {
        let wrong = sign(
            Algorithm::RS256,
            |h| h.x5t_s256 = Some(URL_SAFE_NO_PAD.encode([7u8; 32])),
            claims(),
        );
        assert_eq!(verify(&wrong).unwrap_err().code, 700027);

        let mut c = claims();
        c["aud"] = json!("https://login.microsoftonline.com/other/oauth2/v2.0/token");
        assert_eq!(
            verify(&sign(Algorithm::RS256, |_| {}, c)).unwrap_err().code,
            700023
        );

        let mut c = claims();
        c["exp"] = json!(NOW - 3600);
        assert_eq!(
            verify(&sign(Algorithm::RS256, |_| {}, c)).unwrap_err().code,
            700024
        );

        let mut c = claims();
        c["sub"] = json!("someone-else");
        assert_eq!(
            verify(&sign(Algorithm::RS256, |_| {}, c)).unwrap_err().code,
            50048
        );

        let mut c = claims();
        c.as_object_mut().unwrap().remove("jti");
        assert_eq!(
            verify(&sign(Algorithm::RS256, |_| {}, c)).unwrap_err().code,
            50027
        );

        let no_thumb = sign(Algorithm::RS256, |h| h.x5t_s256 = None, claims());
        assert_eq!(verify(&no_thumb).unwrap_err().code, 50027);
    }

    #[test]
    fn tampered_signature_is_rejected() {
        let jwt = sign(Algorithm::RS256, |_| {}, claims());
        let (head, sig) = jwt.rsplit_once('.').unwrap();
        let mut sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
        sig[0] ^= 1;
        let bad = format!("{head}.{}", URL_SAFE_NO_PAD.encode(sig));
        assert_eq!(verify(&bad).unwrap_err().code, 700027);
        assert_eq!(verify("not-a-jwt").unwrap_err().code, 50027);
    }

    #[test]
    fn federated_matching_reports_the_first_mismatch() {
        let mk = |iss: &str, sub: &str, aud: &str, exp: i64| {
            encode(
                &Header::new(Algorithm::RS256),
                &json!({"iss": iss, "sub": sub, "aud": aud, "exp": exp, "iat": NOW}),
                &EncodingKey::from_rsa_pem(KEY_PEM.as_bytes()).unwrap(),
            )
            .unwrap()
        };
        let dk = DecodingKey::from_rsa_pem(PUBKEY_PEM.as_bytes()).unwrap();
        let auds = vec!["api://AzureADTokenExchange".to_string()];
        let creds = [FederatedCredentialRef {
            issuer: "http://127.0.0.1:1",
            subject: "repo:contoso/entra-config:ref:refs/heads/main",
            audiences: &auds,
        }];
        let good = mk(
            "http://127.0.0.1:1",
            "repo:contoso/entra-config:ref:refs/heads/main",
            "api://AzureADTokenExchange",
            NOW + 600,
        );
        assert_eq!(
            classify(&good, CLIENT).unwrap(),
            AssertionKind::Federated {
                issuer: "http://127.0.0.1:1".into()
            }
        );
        let c = verify_federated_token(&good, &dk, NOW).unwrap();
        assert_eq!(match_federated_credential(&c, &creds).unwrap(), 0);

        let check = |jwt: String| {
            let c = verify_federated_token(&jwt, &dk, NOW)?;
            match_federated_credential(&c, &creds)
        };
        let e = check(mk(
            "https://evil",
            "repo:contoso/entra-config:ref:refs/heads/main",
            "api://AzureADTokenExchange",
            NOW + 600,
        ));
        assert_eq!(e.unwrap_err().code, 700211);
        let e = check(mk(
            "http://127.0.0.1:1",
            "repo:Contoso/entra-config:ref:refs/heads/main",
            "api://AzureADTokenExchange",
            NOW + 600,
        ));
        assert_eq!(e.unwrap_err().code, 700213);
        let e = check(mk(
            "http://127.0.0.1:1",
            "repo:contoso/entra-config:ref:refs/heads/main",
            "api://other",
            NOW + 600,
        ));
        assert_eq!(e.unwrap_err().code, 700212);
        let e = check(mk(
            "http://127.0.0.1:1",
            "repo:contoso/entra-config:ref:refs/heads/main",
            "api://AzureADTokenExchange",
            NOW - 3600,
        ));
        assert_eq!(e.unwrap_err().code, 700024);
        let other_key = crate::identity::keys::SigningKey::shared().decoding_key();
        assert_eq!(
            verify_federated_token(&good, &other_key, NOW)
                .unwrap_err()
                .code,
            700027
        );
    }
}
