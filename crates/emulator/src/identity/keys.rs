//! The emulator's token-signing key, as Entra's: RSA (2048 bits), `RS256`, a `kid` in every token's
//! header, and the public key published at the discovery document's `jwks_uri`, so that OpenID Connect
//! relying-party libraries verify the emulator's ID tokens like Entra's.
//!
//! One key per process (generated on first use; RSA key generation is too slow to repeat for each of
//! the hundreds of emulators a test run starts). Tokens of one emulator therefore verify in another
//! emulator of the same process; tenants still have to match.
//!
//! Source: entra-docs `identity-platform/access-tokens.md` ("Validate tokens": `alg`, `kid`, keys at
//! `jwks_uri`), `id-token-claims-reference.md` (header `typ`, `alg` RS256, `kid`).

use std::sync::{Arc, OnceLock};

use aws_lc_rs::digest;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::DecodingKey;
use serde::Serialize;
use serde_json::{Value, json};

/// The RSA key that signs every token the emulator issues.
#[derive(Debug)]
pub struct SigningKey {
    pair: KeyPair,
    kid: String,
    modulus_b64: String,
    exponent_b64: String,
}

static SHARED: OnceLock<Arc<SigningKey>> = OnceLock::new();

impl SigningKey {
    /// The process-wide key (generated on first use).
    pub fn shared() -> Arc<SigningKey> {
        SHARED
            .get_or_init(|| {
                let pair = KeyPair::generate(KeySize::Rsa2048)
                    .expect("the system can generate an RSA key");
                Arc::new(SigningKey::from_pair(pair))
            })
            .clone()
    }

    fn from_pair(pair: KeyPair) -> SigningKey {
        let public = pair.public_key();
        let kid = URL_SAFE_NO_PAD
            .encode(digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, public.as_ref()).as_ref());
        let modulus_b64 =
            URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero());
        let exponent_b64 =
            URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero());
        SigningKey {
            pair,
            kid,
            modulus_b64,
            exponent_b64,
        }
    }

    /// The `kid` of the key (base64url SHA-1 of the public key, 27 characters like Entra's).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// A compact JWS of `claims`: header `{"typ":"JWT","alg":"RS256","kid":…}`.
    pub fn sign<C: Serialize>(&self, claims: &C) -> String {
        let header = json!({"typ": "JWT", "alg": "RS256", "kid": self.kid});
        let payload = serde_json::to_vec(claims).unwrap_or_default();
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(payload)
        );
        let mut signature = vec![0u8; self.pair.public_modulus_len()];
        let rng = aws_lc_rs::rand::SystemRandom::new();
        // Signing with a valid in-memory key into a buffer of the modulus length does not fail.
        let _ = self.pair.sign(
            &RSA_PKCS1_SHA256,
            &rng,
            signing_input.as_bytes(),
            &mut signature,
        );
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    /// The key as a JSON Web Key, in the shape of Entra's v2.0 key set entries.
    pub fn jwk(&self, issuer: &str) -> Value {
        json!({
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "n": self.modulus_b64,
            "e": self.exponent_b64,
            "issuer": issuer,
        })
    }

    /// The public key for `jsonwebtoken` verification.
    pub fn decoding_key(&self) -> DecodingKey {
        DecodingKey::from_rsa_components(&self.modulus_b64, &self.exponent_b64)
            .unwrap_or_else(|_| DecodingKey::from_secret(&[]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{Algorithm, Validation};

    #[test]
    fn tokens_carry_the_kid_and_verify_with_the_published_key() {
        let key = SigningKey::shared();
        let jwt = key.sign(&json!({"sub": "x", "exp": 4_000_000_000_i64}));
        let header = jsonwebtoken::decode_header(&jwt).unwrap();
        assert_eq!(header.alg, Algorithm::RS256);
        assert_eq!(header.kid.as_deref(), Some(key.kid()));
        let jwk = key.jwk("http://127.0.0.1:1/t/v2.0");
        let dk = DecodingKey::from_rsa_components(
            jwk["n"].as_str().unwrap(),
            jwk["e"].as_str().unwrap(),
        )
        .unwrap();
        let mut v = Validation::new(Algorithm::RS256);
        v.validate_aud = false;
        let claims = jsonwebtoken::decode::<Value>(&jwt, &dk, &v).unwrap().claims;
        assert_eq!(claims["sub"], "x");
        assert_eq!(jwk["e"], "AQAB");
        assert_eq!(key.kid().len(), 27);
    }
}
