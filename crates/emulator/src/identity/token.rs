//! `POST /{tenant}/oauth2/v2.0/token`: client credentials (secret, certificate assertion, federated
//! assertion), password (ROPC), device code and refresh token grants.
//!
//! Sources: entra-docs `identity-platform/v2-oauth2-client-creds-grant-flow.md`,
//! `certificate-credentials.md`, `v2-oauth-ropc.md`, `v2-oauth2-device-code.md`,
//! `v2-oauth2-auth-code-flow.md#refresh-the-access-token`, `id-token-claims-reference.md`,
//! `optional-claims.md`, `reference-error-codes.md`.

use std::time::Instant;

use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Map, Value, json};

use super::assertion::{self, AssertionKind, FederatedCredentialRef, RegisteredCertificate};
use super::errors::TokenError;
use super::jwt::{self, AccessClaims};
use super::signin::{self, Client, Flow};
use super::{DeviceStatus, RefreshGrant};
use crate::state::{GRAPH_APP_ID, Record, Tenant};
use crate::{SharedState, lock};

/// The grant types the endpoint accepts.
pub const GRANT_CLIENT_CREDENTIALS: &str = "client_credentials";
/// ROPC.
pub const GRANT_PASSWORD: &str = "password";
/// Device code (RFC 8628).
pub const GRANT_DEVICE_CODE: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// Refresh token.
pub const GRANT_REFRESH_TOKEN: &str = "refresh_token";

/// Most groups an ID token carries before the overage claim replaces them.
pub const GROUPS_CLAIM_LIMIT: usize = 200;

/// Parsed `application/x-www-form-urlencoded` body (first value of each name wins).
#[derive(Debug, Default, Clone)]
pub struct Form(Vec<(String, String)>);

impl Form {
    /// Parse a form body.
    pub fn parse(body: &[u8]) -> Self {
        Form(url::form_urlencoded::parse(body).into_owned().collect())
    }
    /// A parameter, `None` when absent or empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
    fn require(&self, name: &str) -> Result<&str, TokenError> {
        self.get(name)
            .ok_or_else(|| TokenError::missing_parameter(name))
    }
}

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
enum Presented<'a> {
    None,
    Secret(String),
    Assertion { kind: Option<&'a str>, jwt: &'a str },
}

fn presented<'a>(form: &'a Form, headers: &HeaderMap) -> Presented<'a> {
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
fn basic_auth(headers: &HeaderMap) -> Option<(String, String)> {
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

/// Everything a grant handler needs besides the form.
pub struct Request<'a> {
    /// Shared emulator state.
    pub state: &'a SharedState,
    /// The tenant segment of the path, as sent.
    pub tenant_segment: &'a str,
    /// Request headers.
    pub headers: &'a HeaderMap,
    /// Parsed body.
    pub form: &'a Form,
    /// Monotonic now (replication visibility, device code timing).
    pub now: Instant,
    /// Wall-clock now, seconds since the epoch.
    pub epoch: i64,
}

/// A successful token response (JSON body) and the tenant it was for.
pub struct Issued {
    /// The response body.
    pub body: Value,
    /// The tenant id.
    pub tenant_id: String,
}

/// Resolve the path's tenant segment (tenant id or verified domain; `organizations`/`common` only
/// for the password grant, through the username's domain).
fn resolve_tenant<'e>(
    emu: &'e crate::Emulator,
    segment: &str,
    username: Option<&str>,
) -> Result<&'e Tenant, TokenError> {
    if let Some(t) = emu.tenant(segment) {
        return Ok(t);
    }
    if matches!(
        segment.to_ascii_lowercase().as_str(),
        "organizations" | "common"
    ) && let Some(domain) = username.and_then(|u| u.rsplit_once('@')).map(|(_, d)| d)
        && let Some(t) = emu.tenant(domain)
    {
        return Ok(t);
    }
    Err(TokenError::tenant_not_found(segment))
}

/// The URLs accepted as `aud` of a certificate assertion for this tenant.
fn token_endpoints(base_url: &str, segment: &str, tenant: &Tenant) -> Vec<String> {
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
fn authenticate_confidential(
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
fn authenticate_for_user_flow(
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

fn client_id(r: &Request<'_>) -> Result<String, TokenError> {
    if let Some(id) = r.form.get("client_id") {
        return Ok(id.to_string());
    }
    if let Some((id, _)) = basic_auth(r.headers) {
        return Ok(id);
    }
    Err(TokenError::missing_parameter("client_id"))
}

fn find_client<'t>(
    tenant: &'t Tenant,
    client_id: &'t str,
    now: Instant,
) -> Result<Client<'t>, TokenError> {
    signin::find_client(tenant, client_id, now)
        .ok_or_else(|| TokenError::unknown_client(client_id, tenant.display_name()))
}

/// Handle one token request.
pub fn handle(r: &Request<'_>) -> Result<Issued, TokenError> {
    let grant_type = r.form.require("grant_type")?.to_string();
    match grant_type.as_str() {
        GRANT_CLIENT_CREDENTIALS => client_credentials(r),
        GRANT_PASSWORD => password(r),
        GRANT_DEVICE_CODE => device_code(r),
        GRANT_REFRESH_TOKEN => refresh_token(r),
        other => Err(TokenError::unsupported_grant_type(other)),
    }
}

fn lifetime(r: &Request<'_>) -> i64 {
    lock(&r.state.identity.settings).access_token_lifetime_secs
}

/// The `aud` of a Graph access token for a resource named in a scope.
fn graph_audience(resource: &str) -> String {
    let r = resource.trim_end_matches('/');
    for cloud in [
        "https://graph.microsoft.us",
        "https://dod-graph.microsoft.us",
        "https://microsoftgraph.chinacloudapi.cn",
    ] {
        if r.eq_ignore_ascii_case(cloud) {
            return cloud.to_string();
        }
    }
    "https://graph.microsoft.com".to_string()
}

fn client_credentials(r: &Request<'_>) -> Result<Issued, TokenError> {
    let emu = r.state.read();
    let tenant = resolve_tenant(&emu, r.tenant_segment, None)?;
    let client_id = client_id(r)?;
    let scope = r.form.require("scope")?;
    let scopes: Vec<&str> = scope.split_whitespace().collect();
    let resource = match scopes.as_slice() {
        [one] => one
            .strip_suffix("/.default")
            .ok_or_else(|| TokenError::client_credentials_scope(one))?,
        _ => return Err(TokenError::client_credentials_scope(scope)),
    };
    let resources = signin::graph_resources(&r.state.base_url);
    if !resources
        .iter()
        .any(|x| x.eq_ignore_ascii_case(resource.trim_end_matches('/')))
    {
        return Err(TokenError::resource_not_found(
            resource,
            tenant.display_name(),
        ));
    }
    let client = find_client(tenant, &client_id, r.now)?;
    let cred = presented(r.form, r.headers);
    authenticate_confidential(r, tenant, &client, &cred)?;
    let sp = client
        .sp
        .ok_or_else(|| TokenError::missing_service_principal(&client_id, &tenant.id))?;
    let roles = tenant.granted_app_roles(&client_id, GRAPH_APP_ID);
    let life = lifetime(r);
    let claims = AccessClaims {
        tid: tenant.id.clone(),
        aud: graph_audience(resource),
        iss: format!("https://sts.windows.net/{}/", tenant.id),
        appid: client_id.clone(),
        azp: Some(client_id.clone()),
        oid: Some(sp.id().to_string()),
        roles,
        scp: None,
        exp: r.epoch + life,
        iat: r.epoch,
    };
    let token = jwt::issue_access_token(r.state, &claims);
    Ok(Issued {
        body: json!({
            "token_type": "Bearer",
            "expires_in": life,
            "ext_expires_in": life,
            "access_token": token,
        }),
        tenant_id: tenant.id.clone(),
    })
}

fn password(r: &Request<'_>) -> Result<Issued, TokenError> {
    let username = r.form.get("username");
    let emu = r.state.read();
    let tenant = resolve_tenant(&emu, r.tenant_segment, username)?;
    let client_id = client_id(r)?;
    let client = find_client(tenant, &client_id, r.now)?;
    authenticate_for_user_flow(r, tenant, &client)?;
    let username = r.form.require("username")?;
    let password = r.form.require("password")?;
    let scope = r.form.require("scope")?;
    let scopes = signin::parse_delegated_scopes(tenant, &client, scope, &r.state.base_url)?;
    let user = signin::check_password(tenant, username, password, r.now)?;
    let granted = signin::evaluate_user(tenant, &client, user, &scopes, Flow::Password, r.now)?;
    Ok(delegated(r, tenant, &client, user, &granted.scopes))
}

fn device_code(r: &Request<'_>) -> Result<Issued, TokenError> {
    let code = r.form.require("device_code")?.to_string();
    let client_id = client_id(r)?;
    let (tenant_id, user_id, scopes) = {
        let mut codes = lock(&r.state.identity.device_codes);
        let settings = lock(&r.state.identity.settings).clone();
        let entry = codes
            .iter_mut()
            .find(|d| d.device_code == code && d.client_id.eq_ignore_ascii_case(&client_id))
            .ok_or_else(TokenError::bad_verification_code)?;
        if r.now >= entry.expires_at {
            return Err(TokenError::device_code_expired());
        }
        match &entry.status {
            DeviceStatus::Pending => {
                let too_fast = entry.last_poll.is_some_and(|t| {
                    r.now.duration_since(t) < settings.device_code_min_poll_interval
                });
                entry.last_poll = Some(r.now);
                return Err(if too_fast {
                    TokenError::slow_down()
                } else {
                    TokenError::authorization_pending()
                });
            }
            DeviceStatus::Declined => return Err(TokenError::authorization_declined()),
            DeviceStatus::Redeemed => return Err(TokenError::device_code_redeemed()),
            DeviceStatus::Approved { user_id } => {
                let out = (
                    entry.tenant_id.clone(),
                    user_id.clone(),
                    entry.scopes.clone(),
                );
                entry.status = DeviceStatus::Redeemed;
                out
            }
        }
    };
    let emu = r.state.read();
    let tenant = emu
        .tenant(&tenant_id)
        .ok_or_else(|| TokenError::tenant_not_found(&tenant_id))?;
    let client = find_client(tenant, &client_id, r.now)?;
    authenticate_for_user_flow(r, tenant, &client)?;
    let user = tenant
        .users
        .get(&user_id)
        .ok_or_else(|| TokenError::user_not_found(tenant.display_name()))?;
    let granted = signin::evaluate_user(tenant, &client, user, &scopes, Flow::DeviceCode, r.now)?;
    Ok(delegated(r, tenant, &client, user, &granted.scopes))
}

fn refresh_token(r: &Request<'_>) -> Result<Issued, TokenError> {
    let rt = r.form.require("refresh_token")?.to_string();
    let client_id = client_id(r)?;
    let grant = {
        let mut rts = lock(&r.state.identity.refresh_tokens);
        match rts.get(&rt) {
            Some(g) if g.client_id.eq_ignore_ascii_case(&client_id) => {}
            _ => return Err(TokenError::invalid_refresh_token()),
        }
        rts.remove(&rt)
            .ok_or_else(TokenError::invalid_refresh_token)?
    };
    let emu = r.state.read();
    let tenant = emu
        .tenant(&grant.tenant_id)
        .ok_or_else(|| TokenError::tenant_not_found(&grant.tenant_id))?;
    let client = find_client(tenant, &client_id, r.now)?;
    authenticate_for_user_flow(r, tenant, &client)?;
    let user = tenant
        .users
        .get(&grant.user_id)
        .ok_or_else(|| TokenError::user_not_found(tenant.display_name()))?;
    let scopes = match r.form.get("scope") {
        Some(s) => signin::parse_delegated_scopes(tenant, &client, s, &r.state.base_url)?,
        None => grant.scopes.clone(),
    };
    // A refresh carries the original authentication: password, MFA and consent are not asked again;
    // the account state, assignment and conditional access blocks are (evaluated like a device-code
    // sign-in, i.e. without the ROPC-only steps).
    let granted = signin::evaluate_user(tenant, &client, user, &scopes, Flow::DeviceCode, r.now)?;
    Ok(delegated(r, tenant, &client, user, &granted.scopes))
}

/// Build the response of a delegated grant: access token (`scp`), ID token when `openid` was
/// granted, refresh token when `offline_access` was.
fn delegated(
    r: &Request<'_>,
    tenant: &Tenant,
    client: &Client<'_>,
    user: &Record,
    scopes: &[String],
) -> Issued {
    let life = lifetime(r);
    let has = |s: &str| scopes.iter().any(|x| x.eq_ignore_ascii_case(s));
    let scp = scopes.join(" ");
    let claims = AccessClaims {
        tid: tenant.id.clone(),
        aud: "https://graph.microsoft.com".into(),
        iss: format!("https://sts.windows.net/{}/", tenant.id),
        appid: client.app_id.to_string(),
        azp: Some(client.app_id.to_string()),
        oid: Some(user.id().to_string()),
        roles: Vec::new(),
        scp: Some(scp.clone()),
        exp: r.epoch + life,
        iat: r.epoch,
    };
    let mut body = Map::new();
    body.insert("token_type".into(), json!("Bearer"));
    body.insert("scope".into(), json!(scp));
    body.insert("expires_in".into(), json!(life));
    body.insert("ext_expires_in".into(), json!(life));
    body.insert(
        "access_token".into(),
        json!(jwt::issue_access_token(r.state, &claims)),
    );
    if has("offline_access") {
        let rt = format!("1.{}", random_b64(r.state, 96));
        lock(&r.state.identity.refresh_tokens).insert(
            rt.clone(),
            RefreshGrant {
                tenant_id: tenant.id.clone(),
                client_id: client.app_id.to_string(),
                user_id: user.id().to_string(),
                scopes: scopes.to_vec(),
            },
        );
        body.insert("refresh_token".into(), json!(rt));
    }
    if has("openid") {
        let issuer = format!("{}/{}/v2.0", r.state.base_url, tenant.id);
        let uti = random_b64(r.state, 16);
        let id_claims = id_token_claims(tenant, client, user, scopes, &issuer, r.epoch, &uti);
        body.insert(
            "id_token".into(),
            json!(jwt::issue_id_token(r.state, &id_claims)),
        );
    }
    Issued {
        body: Value::Object(body),
        tenant_id: tenant.id.clone(),
    }
}

/// `len` random bytes from the seeded PRNG, base64url.
pub fn random_b64(state: &SharedState, len: usize) -> String {
    let mut rng = lock(&state.rng);
    let mut bytes = Vec::with_capacity(len + 8);
    while bytes.len() < len {
        bytes.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    bytes.truncate(len);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The names of the optional claims configured for ID tokens on the application.
pub fn id_token_optional_claims(client: &Client<'_>) -> Vec<String> {
    client
        .app
        .and_then(|a| a.obj.get("optionalClaims"))
        .and_then(|o| o.get("idToken"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|c| c.get("name").and_then(Value::as_str))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The `groups` claim per the app's `groupMembershipClaims`; `None` when no claim is emitted.
///
/// `SecurityGroup`: security groups the user belongs to (transitively); `All`: every group the user
/// belongs to; `ApplicationGroup`: only those of the user's groups that are assigned to the app;
/// `DirectoryRole` alone, `None` or `null`: no `groups` claim.
pub fn groups_claim(tenant: &Tenant, client: &Client<'_>, user: &Record) -> Option<Vec<String>> {
    let setting = client
        .app
        .and_then(|a| a.str("groupMembershipClaims"))
        .unwrap_or("None");
    let kinds: Vec<String> = setting
        .split(',')
        .map(|s| s.trim().to_ascii_lowercase())
        .collect();
    let member_of = tenant.transitive_groups_of(user.id());
    let groups: Vec<String> = if kinds.iter().any(|k| k == "all") {
        member_of
    } else if kinds.iter().any(|k| k == "securitygroup") {
        member_of
            .into_iter()
            .filter(|g| {
                tenant
                    .groups
                    .get(g)
                    .is_some_and(|r| r.bool("securityEnabled") == Some(true))
            })
            .collect()
    } else if kinds.iter().any(|k| k == "applicationgroup") {
        let sp = client.sp?;
        member_of
            .into_iter()
            .filter(|g| {
                tenant.app_role_assignments.iter().any(|a| {
                    a.str("resourceId") == Some(sp.id()) && a.str("principalId") == Some(g.as_str())
                })
            })
            .collect()
    } else {
        return None;
    };
    Some(groups)
}

/// Pairwise `sub`: stable per (user, application), as Entra's.
fn pairwise_sub(tenant_id: &str, client_id: &str, user_id: &str) -> String {
    let d = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        format!("{tenant_id}|{client_id}|{user_id}").as_bytes(),
    );
    URL_SAFE_NO_PAD.encode(d.as_ref())
}

/// The claims of a v2.0 ID token for this sign-in.
pub fn id_token_claims(
    tenant: &Tenant,
    client: &Client<'_>,
    user: &Record,
    scopes: &[String],
    issuer: &str,
    epoch: i64,
    uti: &str,
) -> Map<String, Value> {
    let has = |s: &str| scopes.iter().any(|x| x.eq_ignore_ascii_case(s));
    let optional = id_token_optional_claims(client);
    let configured = |n: &str| optional.iter().any(|o| o.eq_ignore_ascii_case(n));
    let mut c = Map::new();
    c.insert("aud".into(), json!(client.app_id));
    c.insert("iss".into(), json!(issuer));
    c.insert("iat".into(), json!(epoch));
    c.insert("nbf".into(), json!(epoch));
    c.insert("exp".into(), json!(epoch + 3600));
    if configured("email")
        && let Some(mail) = user.str("mail")
    {
        c.insert("email".into(), json!(mail));
    }
    if let Some(groups) = groups_claim(tenant, client, user) {
        if groups.len() > GROUPS_CLAIM_LIMIT {
            c.insert("_claim_names".into(), json!({"groups": "src1"}));
            c.insert(
                "_claim_sources".into(),
                json!({"src1": {"endpoint": format!(
                    "https://graph.microsoft.com/v1.0/users/{}/getMemberObjects", user.id())}}),
            );
        } else if !groups.is_empty() {
            c.insert("groups".into(), json!(groups));
        }
    }
    if has("profile")
        && let Some(name) = user.str("displayName")
    {
        c.insert("name".into(), json!(name));
    }
    c.insert("oid".into(), json!(user.id()));
    // v2.0 ID tokens carry it whenever `profile` is granted (id-token-claims-reference.md); the
    // optional claim (what the Kandji Passport guide configures) also asks for it.
    if (has("profile") || configured("preferred_username"))
        && let Some(upn) = user.str("userPrincipalName")
    {
        c.insert("preferred_username".into(), json!(upn));
    }
    c.insert(
        "sub".into(),
        json!(pairwise_sub(&tenant.id, client.app_id, user.id())),
    );
    c.insert("tid".into(), json!(tenant.id));
    c.insert("uti".into(), json!(uti));
    c.insert("ver".into(), json!("2.0"));
    c
}
