//! Secrets and access tokens: values that never appear in any output.

use std::collections::BTreeSet;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use serde::Deserialize;

/// A secret string (client secret, password, assertion, token). `Debug` and `Display` print `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }
    /// The secret itself: only for putting it on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// Replaces every occurrence of this secret in `text` by `***` (for error texts from servers).
    pub fn scrub(&self, text: &str) -> String {
        if self.0.len() < 4 {
            return text.to_string();
        }
        text.replace(&self.0, "***")
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Secret {
        Secret(s)
    }
}

/// The claims entractl reads from an access token (decoded without verification: Graph verifies).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Claims {
    /// Tenant id.
    #[serde(default)]
    pub tid: Option<String>,
    /// Application permissions (app-only tokens).
    #[serde(default)]
    pub roles: Vec<String>,
    /// Delegated permissions, space separated (user tokens).
    #[serde(default)]
    pub scp: Option<String>,
    /// Client id of the application the token was issued to (v1 tokens).
    #[serde(default)]
    pub appid: Option<String>,
    /// Client id of the application the token was issued to (v2 tokens).
    #[serde(default)]
    pub azp: Option<String>,
    /// Expiry, seconds since the Unix epoch.
    #[serde(default)]
    pub exp: Option<u64>,
    /// Signed-in user (delegated tokens).
    #[serde(default)]
    pub upn: Option<String>,
    /// Audience.
    #[serde(default)]
    pub aud: Option<String>,
}

impl Claims {
    /// Decodes the payload of a JWT without verifying it. `None` when the token is not a JWT.
    pub fn decode(jwt: &str) -> Option<Claims> {
        let payload = jwt.split('.').nth(1)?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// The client id (`appid` or `azp`).
    pub fn client_id(&self) -> Option<&str> {
        self.appid.as_deref().or(self.azp.as_deref())
    }

    /// Delegated scopes as a list.
    pub fn scopes(&self) -> Vec<&str> {
        self.scp
            .as_deref()
            .map(|s| s.split_whitespace().collect())
            .unwrap_or_default()
    }

    /// Whether the token is app-only (carries `roles`, no `scp`).
    pub fn is_app_only(&self) -> bool {
        self.scp.is_none()
    }

    /// Every permission the token carries (`roles` ∪ `scp`).
    pub fn permissions(&self) -> BTreeSet<String> {
        let mut all: BTreeSet<String> = self.roles.iter().cloned().collect();
        all.extend(self.scopes().into_iter().map(str::to_string));
        all
    }

    /// Checks a required permission set. Each entry is one permission or alternatives separated by
    /// `|` (`"Application.ReadWrite.OwnedBy|Application.ReadWrite.All"`). A permission is also
    /// satisfied by one Microsoft documents as broader (`X.ReadWrite.All` covers `X.Read.All`,
    /// `Directory.Read.All` covers the `*.Read.All` of users, groups, applications).
    pub fn check_permissions(&self, required: &[&str]) -> Result<(), MissingPermissions> {
        let held = self.permissions();
        let missing: Vec<String> = required
            .iter()
            .filter(|entry| !entry.split('|').any(|p| satisfied(&held, p.trim())))
            .map(|e| e.replace('|', " or "))
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(MissingPermissions {
                missing,
                app_only: self.is_app_only(),
                client_id: self.client_id().map(str::to_string),
                tenant: self.tid.clone(),
                user: self.upn.clone(),
            })
        }
    }
}

/// Permissions that Microsoft documents as including `wanted`.
fn satisfied(held: &BTreeSet<String>, wanted: &str) -> bool {
    if held.contains(wanted) {
        return true;
    }
    let mut broader: Vec<String> = Vec::new();
    if let Some(resource) = wanted.strip_suffix(".Read.All") {
        broader.push(format!("{resource}.ReadWrite.All"));
        if matches!(resource, "User" | "Group" | "Application" | "Organization") {
            broader.push("Directory.Read.All".into());
            broader.push("Directory.ReadWrite.All".into());
        }
    }
    if wanted == "Directory.Read.All" {
        broader.push("Directory.ReadWrite.All".into());
    }
    // Microsoft Graph's permission tables (list group members, list oauth2PermissionGrants) name
    // these as higher-privileged alternatives.
    if wanted == "GroupMember.Read.All" {
        for b in [
            "Group.Read.All",
            "Group.ReadWrite.All",
            "GroupMember.ReadWrite.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ] {
            broader.push(b.into());
        }
    }
    if wanted == "DelegatedPermissionGrant.Read.All" {
        broader.push("Directory.Read.All".into());
        broader.push("Directory.ReadWrite.All".into());
    }
    if wanted == "Application.ReadWrite.OwnedBy" || wanted == "AppRegistration.Create" {
        broader.push("Application.ReadWrite.All".into());
    }
    if wanted == "Policy.Read.All" {
        broader.push("Policy.ReadWrite.ConditionalAccess".into());
    }
    broader.iter().any(|b| held.contains(b))
}

/// The token lacks permissions an operation needs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct MissingPermissions {
    /// The missing permissions (alternatives joined by " or ").
    pub missing: Vec<String>,
    /// Whether the token is app-only (application permissions) or delegated.
    pub app_only: bool,
    /// The client id the token was issued to.
    pub client_id: Option<String>,
    /// The tenant.
    pub tenant: Option<String>,
    /// The signed-in user (delegated).
    pub user: Option<String>,
}

impl fmt::Display for MissingPermissions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = self.missing.join(", ");
        let app = self.client_id.as_deref().unwrap_or("(unknown client id)");
        let tenant = self.tenant.as_deref().unwrap_or("(unknown tenant)");
        if self.app_only {
            write!(
                f,
                "the application {app} in tenant {tenant} is missing Microsoft Graph application permissions: {list}. \
                 Grant them: Entra admin center → App registrations → {app} → API permissions → Add a permission → \
                 Microsoft Graph → Application permissions, add {list}, then \"Grant admin consent\" \
                 (needs a Privileged Role Administrator or Global Administrator), and request a new token"
            )
        } else {
            let user = self.user.as_deref().unwrap_or("the signed-in user");
            write!(
                f,
                "the delegated sign-in of {user} (client {app}, tenant {tenant}) is missing Microsoft Graph \
                 permissions: {list}. Consent to these scopes for the client (admin consent), and sign in as a user \
                 whose directory role allows the change (e.g. Cloud Application Administrator for applications, \
                 Conditional Access Administrator for policies), then sign in again"
            )
        }
    }
}

/// An access token: the secret plus its decoded claims and expiry. Prints as `AccessToken(***)`.
#[derive(Clone)]
pub struct AccessToken {
    secret: Secret,
    expires_at: SystemTime,
    issued_at: SystemTime,
    claims: Claims,
}

impl AccessToken {
    /// Wraps a raw token. `expires_at` falls back to the JWT `exp`, then to one hour from now.
    pub fn new(raw: impl Into<String>, expires_at: Option<SystemTime>) -> AccessToken {
        let raw = raw.into();
        let claims = Claims::decode(&raw).unwrap_or_default();
        let now = SystemTime::now();
        let expires_at = expires_at
            .or_else(|| claims.exp.map(|e| UNIX_EPOCH + Duration::from_secs(e)))
            .unwrap_or(now + Duration::from_secs(3600));
        AccessToken {
            secret: Secret(raw),
            expires_at,
            issued_at: now,
            claims,
        }
    }

    /// The bearer value: only for the `Authorization` header.
    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    /// Decoded claims.
    pub fn claims(&self) -> &Claims {
        &self.claims
    }

    /// When the token expires.
    pub fn expires_at(&self) -> SystemTime {
        self.expires_at
    }

    /// Whether the token should be replaced now: 5 minutes before expiry (or half its lifetime for
    /// tokens that live less than 10 minutes).
    pub fn needs_refresh(&self, now: SystemTime) -> bool {
        let lifetime = self
            .expires_at
            .duration_since(self.issued_at)
            .unwrap_or_default();
        let margin = Duration::from_secs(300).min(lifetime / 2);
        now + margin >= self.expires_at
    }

    /// Shorthand for `self.claims().check_permissions(required)`.
    pub fn check_permissions(&self, required: &[&str]) -> Result<(), MissingPermissions> {
        self.claims.check_permissions(required)
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(***)")
    }
}

impl fmt::Display for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(***)")
    }
}

#[cfg(test)]
pub(crate) fn fake_jwt(claims: &serde_json::Value) -> String {
    let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!(
        "{}.{}.sig",
        e.encode(br#"{"alg":"none","typ":"JWT"}"#),
        e.encode(claims.to_string())
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_and_tokens_are_redacted() {
        let s = Secret::new("canary-7f3a");
        assert_eq!(format!("{s:?} {s}"), "Secret(***) ***");
        let t = AccessToken::new("canary-token-value", None);
        assert_eq!(format!("{t:?} {t}"), "AccessToken(***) AccessToken(***)");
        assert_eq!(s.scrub("x canary-7f3a y"), "x *** y");
    }

    #[test]
    fn claims_are_decoded_from_the_payload() {
        let jwt = fake_jwt(
            &json!({"tid":"t1","roles":["Application.Read.All"],"appid":"a1","exp":4102444800u64}),
        );
        let t = AccessToken::new(jwt, None);
        assert_eq!(t.claims().tid.as_deref(), Some("t1"));
        assert_eq!(t.claims().client_id(), Some("a1"));
        assert!(t.claims().is_app_only());
        assert_eq!(t.expires_at(), UNIX_EPOCH + Duration::from_secs(4102444800));
        assert!(!t.needs_refresh(SystemTime::now()));
        assert_eq!(Claims::decode("not-a-jwt"), None);
    }

    #[test]
    fn refresh_five_minutes_before_expiry() {
        let now = SystemTime::now();
        let t = AccessToken::new("x", Some(now + Duration::from_secs(3600)));
        assert!(!t.needs_refresh(now));
        assert!(t.needs_refresh(now + Duration::from_secs(3600 - 299)));
        assert!(!t.needs_refresh(now + Duration::from_secs(3600 - 301)));
    }

    #[test]
    fn missing_application_permissions_are_named_with_how_to_grant() {
        let c = Claims {
            tid: Some("tenant-1".into()),
            roles: vec!["Application.ReadWrite.All".into(), "Policy.Read.All".into()],
            appid: Some("app-1".into()),
            ..Claims::default()
        };
        assert!(
            c.check_permissions(&[
                "Application.Read.All",
                "Application.ReadWrite.OwnedBy|Application.ReadWrite.All"
            ])
            .is_ok()
        );
        let err = c
            .check_permissions(&[
                "Policy.Read.All",
                "DelegatedPermissionGrant.ReadWrite.All",
                "User.Read.All|Directory.Read.All",
            ])
            .unwrap_err();
        assert_eq!(
            err.missing,
            vec![
                "DelegatedPermissionGrant.ReadWrite.All".to_string(),
                "User.Read.All or Directory.Read.All".to_string()
            ]
        );
        let text = err.to_string();
        assert!(text.contains("application permissions: DelegatedPermissionGrant.ReadWrite.All"));
        assert!(text.contains("Grant admin consent"));
        assert!(text.contains("app-1") && text.contains("tenant-1"));
    }

    #[test]
    fn missing_delegated_permissions_mention_directory_roles() {
        let c = Claims {
            scp: Some("User.Read Application.ReadWrite.All".into()),
            upn: Some("admin@contoso.com".into()),
            ..Claims::default()
        };
        assert!(!c.is_app_only());
        assert!(c.check_permissions(&["Application.Read.All"]).is_ok());
        let err = c
            .check_permissions(&["Policy.ReadWrite.ConditionalAccess"])
            .unwrap_err();
        assert!(err.to_string().contains("admin@contoso.com"));
        assert!(err.to_string().contains("directory role"));
    }
}
