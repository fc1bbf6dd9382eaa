//! `POST /{tenant}/oauth2/v2.0/token`: client credentials (secret, certificate assertion, federated
//! assertion), password (ROPC), device code and refresh token grants.
//!
//! Sources: entra-docs `identity-platform/v2-oauth2-client-creds-grant-flow.md`,
//! `certificate-credentials.md`, `v2-oauth-ropc.md`, `v2-oauth2-device-code.md`,
//! `v2-oauth2-auth-code-flow.md#refresh-the-access-token`, `id-token-claims-reference.md`,
//! `optional-claims.md`, `reference-error-codes.md`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use crate::app::{SharedState, lock};
use crate::identity::claims::id_token_claims;
use crate::identity::client_auth::{
    authenticate_confidential, authenticate_for_user_flow, client_id, find_client, presented,
};
use crate::identity::errors::TokenError;
use crate::identity::jwt::{self, AccessClaims};
use crate::identity::platform::{DeviceStatus, RefreshGrant};
use crate::identity::request::{Issued, Request};
use crate::identity::signin::{self, Client, Flow};
use crate::state::{GRAPH_APP_ID, Record, Tenant};

/// The grant types the endpoint accepts.
pub const GRANT_CLIENT_CREDENTIALS: &str = "client_credentials";
/// ROPC.
pub const GRANT_PASSWORD: &str = "password";
/// Device code (RFC 8628).
pub const GRANT_DEVICE_CODE: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// Refresh token.
pub const GRANT_REFRESH_TOKEN: &str = "refresh_token";

/// Resolve the path's tenant segment (tenant id or verified domain; `organizations`/`common` only
/// for the password grant, through the username's domain).
fn resolve_tenant<'e>(
    emu: &'e crate::state::Emulator,
    segment: &str,
    username: Option<&str>,
) -> Result<&'e Tenant, TokenError> {
    if let Some(t) = emu.tenant(segment) {
        return Ok(t);
    }
    if segment.eq_ignore_ascii_case("organizations")
        && let Some(domain) = username.and_then(|u| u.rsplit_once('@')).map(|(_, d)| d)
        && let Some(t) = emu.tenant(domain)
    {
        return Ok(t);
    }
    Err(TokenError::tenant_not_found(segment))
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
    if matches!(
        r.tenant_segment.to_ascii_lowercase().as_str(),
        "common" | "consumers"
    ) {
        return Err(TokenError::grant_not_supported_on_common());
    }
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
    let user = signin::check_password(tenant, &client, username, password, r.now)?;
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
