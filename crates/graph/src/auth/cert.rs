//! Certificate credential: a PEM file with an RSA private key and its certificate; the client
//! assertion is signed RS256 with `x5t#S256` (and the legacy `x5t`) thumbprints.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::digest;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;
use url::Url;

use super::oauth::{ClientAuth, client_credentials};
use super::types::{AuthError, BoxFuture, TokenSource};
use crate::secret::{AccessToken, Secret};

/// A parsed certificate file: the signing key and the certificate's DER bytes.
pub struct LoadedCertificate {
    key: EncodingKey,
    cert_der: Vec<u8>,
}

impl std::fmt::Debug for LoadedCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedCertificate")
            .field("key", &"***")
            .field("x5t#S256", &self.thumbprint_sha256())
            .finish()
    }
}

impl LoadedCertificate {
    /// base64url(SHA-256(certificate DER)): the `x5t#S256` header.
    pub fn thumbprint_sha256(&self) -> String {
        let d = digest::digest(&digest::SHA256, &self.cert_der);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(d.as_ref())
    }

    /// base64url(SHA-1(certificate DER)): the legacy `x5t` header.
    pub fn thumbprint_sha1(&self) -> String {
        let d = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, &self.cert_der);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(d.as_ref())
    }

    /// A client assertion for `audience` (the token endpoint): `iss` = `sub` = client id, a fresh
    /// `jti`, `nbf` = now, `exp` = now + 10 minutes.
    pub fn assertion(&self, client_id: &str, audience: &str) -> Result<Secret, String> {
        #[derive(Serialize)]
        struct C<'a> {
            aud: &'a str,
            iss: &'a str,
            sub: &'a str,
            jti: String,
            nbf: u64,
            iat: u64,
            exp: u64,
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let mut header = Header::new(Algorithm::RS256);
        header.x5t_s256 = Some(self.thumbprint_sha256());
        header.x5t = Some(self.thumbprint_sha1());
        let claims = C {
            aud: audience,
            iss: client_id,
            sub: client_id,
            jti: uuid::Uuid::new_v4().to_string(),
            nbf: now,
            iat: now,
            exp: now + 600,
        };
        jsonwebtoken::encode(&header, &claims, &self.key)
            .map(Secret::new)
            .map_err(|e| format!("signing the client assertion failed: {e}"))
    }
}

struct PemBlock<'a> {
    label: &'a str,
    text: &'a str,
    body: String,
}

fn pem_blocks(text: &str) -> Vec<PemBlock<'_>> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + 11..];
        let Some(label_end) = after.find("-----") else {
            break;
        };
        let label = &after[..label_end];
        let end_marker = format!("-----END {label}-----");
        let Some(end) = rest[start..].find(&end_marker) else {
            break;
        };
        let block_text = &rest[start..start + end + end_marker.len()];
        let inner = &block_text[11 + label.len() + 5..block_text.len() - end_marker.len()];
        let body: String = inner
            .lines()
            .filter(|l| !l.contains(':'))
            .flat_map(|l| l.chars())
            .filter(|c| !c.is_whitespace())
            .collect();
        out.push(PemBlock {
            label,
            text: block_text,
            body,
        });
        rest = &rest[start + end + end_marker.len()..];
    }
    out
}

/// Parses a PEM file holding an RSA private key (PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`)
/// and a certificate. Encrypted keys are not supported: the error says how to decrypt them.
pub fn load_certificate_pem(
    path: &Path,
    text: &str,
    password: Option<&Secret>,
) -> Result<LoadedCertificate, AuthError> {
    let err = |reason: String| AuthError::Certificate {
        path: path.to_path_buf(),
        reason,
    };
    let blocks = pem_blocks(text);
    if blocks.is_empty() {
        return Err(err("no PEM blocks found: the file must hold the private key and the certificate in PEM form \
             (PKCS#12/.pfx files are not read: convert with `openssl pkcs12 -in cert.pfx -out cert.pem -nodes`)".into()));
    }
    if blocks
        .iter()
        .any(|b| b.label == "ENCRYPTED PRIVATE KEY" || b.text.contains("Proc-Type: 4,ENCRYPTED"))
    {
        let extra = if password.is_some() {
            " (AZURE_CLIENT_CERTIFICATE_PASSWORD is set, but encrypted PEM keys are not supported)"
        } else {
            ""
        };
        return Err(err(format!(
            "the private key is encrypted{extra}: entractl reads only unencrypted PEM keys. Decrypt it into a file only \
             the pipeline can read: `openssl pkcs8 -in key.pem -out key-plain.pem` and use a PEM holding that key and the certificate"
        )));
    }
    let key_block = blocks
        .iter()
        .find(|b| b.label == "PRIVATE KEY" || b.label == "RSA PRIVATE KEY")
        .ok_or_else(|| {
            let ec = blocks.iter().any(|b| b.label == "EC PRIVATE KEY");
            err(if ec {
                "the key is an EC key: Entra certificate credentials need an RSA key".into()
            } else {
                "no private key block (`-----BEGIN PRIVATE KEY-----`) in the file: put the key and the certificate in one PEM".into()
            })
        })?;
    let cert_block = blocks
        .iter()
        .find(|b| b.label == "CERTIFICATE")
        .ok_or_else(|| err("no certificate block (`-----BEGIN CERTIFICATE-----`) in the file: append the certificate to the key".into()))?;
    let cert_der = base64::engine::general_purpose::STANDARD
        .decode(&cert_block.body)
        .map_err(|e| err(format!("the certificate block is not valid base64: {e}")))?;
    let key = EncodingKey::from_rsa_pem(key_block.text.as_bytes())
        .map_err(|e| err(format!("the private key is not a usable RSA key: {e}")))?;
    Ok(LoadedCertificate { key, cert_der })
}

/// `AZURE_CLIENT_CERTIFICATE_PATH`: the file is read once, when the credential is built.
pub struct CertificateCredential {
    pub(crate) http: reqwest::Client,
    pub(crate) token_url: Url,
    pub(crate) client_id: String,
    pub(crate) scope: String,
    pub(crate) path: PathBuf,
    pub(crate) cert: LoadedCertificate,
}

impl TokenSource for CertificateCredential {
    fn token(&self) -> BoxFuture<'_, Result<AccessToken, AuthError>> {
        Box::pin(async move {
            let assertion = self
                .cert
                .assertion(&self.client_id, self.token_url.as_str())
                .map_err(|reason| AuthError::Certificate {
                    path: self.path.clone(),
                    reason,
                })?;
            client_credentials(
                &self.http,
                &self.describe(),
                &self.token_url,
                &self.client_id,
                ClientAuth::Assertion(assertion),
                &self.scope,
            )
            .await
        })
    }

    fn describe(&self) -> String {
        format!(
            "certificate credential (client {}, certificate {}, x5t#S256 {})",
            self.client_id,
            self.path.display(),
            self.cert.thumbprint_sha256()
        )
    }
}
