//! The identity platform (owned by E2): token endpoint, device code, ROPC sign-in evaluation,
//! OpenID configuration. This file is the hook the rest of the crate uses.
//!
//! Contract with the Graph side:
//! - [`routes`] returns the identity routes, merged into the app router:
//!   `POST /{tenant}/oauth2/v2.0/token`, `POST /{tenant}/oauth2/v2.0/devicecode`,
//!   `GET /{tenant}/v2.0/.well-known/openid-configuration`, `GET /{tenant}/discovery/v2.0/keys`,
//!   and the control routes `POST /_emulator/federated-token`,
//!   `GET /_emulator/device-codes`, `POST /_emulator/device-codes/{user_code}/approve|decline`.
//! - [`jwt::verify_access_token`] is what the Graph auth check calls.
//! - [`IdentityState`] is the identity platform's own mutable state, held in `AppState::identity`.
//! - [`approve_device_code`] backs `RunningEmulator::approve_device_code`.

pub mod assertion;
pub mod errors;
pub mod jwt;
pub mod keys;
pub mod signin;
pub mod token;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use self::errors::{ErrorContext, TokenError};
use crate::{Error, SharedState, lock};

/// Where a device-code sign-in stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceStatus {
    /// The user has not finished signing in.
    Pending,
    /// Approved by this user (object id); the next poll redeems it.
    Approved {
        /// Object id of the user who signed in.
        user_id: String,
    },
    /// The user declined.
    Declined,
    /// Tokens were issued for it.
    Redeemed,
}

/// One device-code sign-in.
#[derive(Debug, Clone)]
pub struct DeviceCode {
    /// The long code the client polls with.
    pub device_code: String,
    /// The short code the user types.
    pub user_code: String,
    /// Tenant id.
    pub tenant_id: String,
    /// Client id.
    pub client_id: String,
    /// The Graph scopes asked for.
    pub scopes: Vec<String>,
    /// When `expires_in` runs out.
    pub expires_at: Instant,
    /// Last poll (for `slow_down`).
    pub last_poll: Option<Instant>,
    /// Status.
    pub status: DeviceStatus,
}

/// What a refresh token stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshGrant {
    /// Tenant id.
    pub tenant_id: String,
    /// Client id.
    pub client_id: String,
    /// User object id.
    pub user_id: String,
    /// The Graph scopes granted.
    pub scopes: Vec<String>,
}

/// Tunables of the identity platform (tests shorten them; defaults are Entra's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentitySettings {
    /// `expires_in` of device codes (Entra: 15 minutes).
    pub device_code_lifetime: Duration,
    /// `interval` announced by `/devicecode` (Entra: 5 s).
    pub device_code_interval_secs: u64,
    /// Polls closer together than this get `slow_down` (default zero: Entra does not enforce it).
    pub device_code_min_poll_interval: Duration,
    /// `expires_in` of access tokens (Entra: 3599 s by default; real tokens vary 60–90 min).
    pub access_token_lifetime_secs: i64,
}

impl Default for IdentitySettings {
    fn default() -> Self {
        IdentitySettings {
            device_code_lifetime: Duration::from_secs(900),
            device_code_interval_secs: 5,
            device_code_min_poll_interval: Duration::ZERO,
            access_token_lifetime_secs: 3599,
        }
    }
}

/// Mutable state of the identity platform.
#[derive(Debug, Default)]
pub struct IdentityState {
    /// Device-code sign-ins, oldest first.
    pub device_codes: Mutex<Vec<DeviceCode>>,
    /// Outstanding refresh tokens (each is single use: redeeming it issues a new one).
    pub refresh_tokens: Mutex<HashMap<String, RefreshGrant>>,
    /// Tunables.
    pub settings: Mutex<IdentitySettings>,
}

impl IdentityState {
    /// Replace the tunables.
    pub fn set_settings(&self, settings: IdentitySettings) {
        *lock(&self.settings) = settings;
    }
    /// The current tunables.
    pub fn settings(&self) -> IdentitySettings {
        lock(&self.settings).clone()
    }
}

/// The identity platform's routes (merged into the emulator's router).
pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(token_endpoint))
        .route(
            "/{tenant}/oauth2/v2.0/devicecode",
            post(devicecode_endpoint),
        )
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(openid_configuration),
        )
        .route("/{tenant}/discovery/v2.0/keys", get(jwks))
        .route(
            "/devicelogin",
            get(devicelogin_page).post(devicelogin_submit),
        )
        .route("/_emulator/federated-token", post(mint_federated_token))
        .route("/_emulator/device-codes", get(list_device_codes))
        .route(
            "/_emulator/device-codes/{user_code}/approve",
            post(approve_endpoint),
        )
        .route(
            "/_emulator/device-codes/{user_code}/decline",
            post(decline_endpoint),
        )
}

/// The per-request ids of an identity-platform error (trace id from the seeded PRNG; correlation id
/// echoes `client-request-id` like Entra).
fn error_context(state: &SharedState, headers: &HeaderMap) -> ErrorContext {
    let trace_id = state.new_guid();
    let correlation_id = headers
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| state.new_guid());
    ErrorContext {
        trace_id,
        correlation_id,
        now: chrono::Utc::now(),
        error_uri_base: state.base_url.clone(),
    }
}

async fn apply_latency(state: &SharedState) {
    let knobs = state.knobs();
    let latency = knobs.pick_latency(&mut lock(&state.rng));
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
}

fn json_ok(body: Value) -> Response {
    (
        StatusCode::OK,
        [
            ("cache-control", "no-store, no-cache"),
            ("pragma", "no-cache"),
        ],
        axum::Json(body),
    )
        .into_response()
}

async fn token_endpoint(
    State(state): State<SharedState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    apply_latency(&state).await;
    let form = token::Form::parse(&body);
    let req = token::Request {
        state: &state,
        tenant_segment: &tenant,
        headers: &headers,
        form: &form,
        now: Instant::now(),
        epoch: chrono::Utc::now().timestamp(),
    };
    let result = token::handle(&req);
    let (response, status, tid) = match result {
        Ok(issued) => (json_ok(issued.body), 200, Some(issued.tenant_id)),
        Err(e) => {
            let status = e.status.as_u16();
            let ctx = error_context(&state, &headers);
            (e.into_response_with(&ctx), status, None)
        }
    };
    state.record(
        "POST",
        &format!("/{tenant}/oauth2/v2.0/token"),
        "/{tenant}/oauth2/v2.0/token",
        status,
        tid,
        None,
    );
    response
}

/// A 9-character user code (upper-case letters and digits, like Entra's).
fn user_code(state: &SharedState) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = lock(&state.rng);
    (0..9)
        .map(|_| ALPHABET[(rng.next_u64() % ALPHABET.len() as u64) as usize] as char)
        .collect()
}

fn devicecode(
    state: &SharedState,
    tenant_segment: &str,
    form: &token::Form,
) -> Result<Value, TokenError> {
    let client_id = form
        .get("client_id")
        .ok_or_else(|| TokenError::missing_parameter("client_id"))?
        .to_string();
    let scope = form
        .get("scope")
        .ok_or_else(|| TokenError::missing_parameter("scope"))?;
    let now = Instant::now();
    let (tenant_id, scopes) = {
        let emu = state.read();
        let tenant = emu
            .tenant(tenant_segment)
            .ok_or_else(|| TokenError::tenant_not_found(tenant_segment))?;
        let client = signin::find_client(tenant, &client_id, now)
            .ok_or_else(|| TokenError::unknown_client(&client_id, tenant.display_name()))?;
        let scopes = signin::parse_delegated_scopes(tenant, &client, scope, &state.base_url)?;
        (tenant.id.clone(), scopes)
    };
    let settings = state.identity.settings();
    let device_code = format!("DAQABIQEAAAB{}", token::random_b64(state, 120));
    let code = user_code(state);
    let verification_uri = format!("{}/devicelogin", state.base_url);
    lock(&state.identity.device_codes).push(DeviceCode {
        device_code: device_code.clone(),
        user_code: code.clone(),
        tenant_id,
        client_id,
        scopes,
        expires_at: now + settings.device_code_lifetime,
        last_poll: None,
        status: DeviceStatus::Pending,
    });
    Ok(json!({
        "user_code": code,
        "device_code": device_code,
        "verification_uri": verification_uri,
        "expires_in": settings.device_code_lifetime.as_secs(),
        "interval": settings.device_code_interval_secs,
        "message": format!(
            "To sign in, use a web browser to open the page {verification_uri} and enter the code \
             {code} to authenticate. (graph-emulator: approve it with POST \
             /_emulator/device-codes/{code}/approve {{\"upn\": \"...\"}}.)"
        ),
    }))
}

async fn devicecode_endpoint(
    State(state): State<SharedState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    apply_latency(&state).await;
    let form = token::Form::parse(&body);
    let (response, status) = match devicecode(&state, &tenant, &form) {
        Ok(v) => (json_ok(v), 200),
        Err(e) => {
            let status = e.status.as_u16();
            (
                e.into_response_with(&error_context(&state, &headers)),
                status,
            )
        }
    };
    state.record(
        "POST",
        &format!("/{tenant}/oauth2/v2.0/devicecode"),
        "/{tenant}/oauth2/v2.0/devicecode",
        status,
        None,
        None,
    );
    response
}

/// The discovery document (shape of `login.microsoftonline.com/{tenant}/v2.0/.well-known/openid-configuration`,
/// with the emulator's base URL as host).
pub fn openid_configuration_document(base_url: &str, tenant_id: &str) -> Value {
    let host = base_url
        .trim_start_matches("http://")
        .trim_start_matches("https://");
    json!({
        "token_endpoint": format!("{base_url}/{tenant_id}/oauth2/v2.0/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{base_url}/{tenant_id}/discovery/v2.0/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": format!("{base_url}/{tenant_id}/v2.0"),
        "request_uri_parameter_supported": false,
        "authorization_endpoint": format!("{base_url}/{tenant_id}/oauth2/v2.0/authorize"),
        "device_authorization_endpoint": format!("{base_url}/{tenant_id}/oauth2/v2.0/devicecode"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name",
            "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce",
            "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"],
        "tenant_region_scope": "NA",
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": host,
        "rbac_url": "https://pas.windows.net",
    })
}

async fn openid_configuration(
    State(state): State<SharedState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    let tid = state.read().tenant(&tenant).map(|t| t.id.clone());
    let (response, status) = match &tid {
        Some(id) => (
            axum::Json(openid_configuration_document(&state.base_url, id)).into_response(),
            200,
        ),
        None => {
            let mut e = TokenError::tenant_not_found(&tenant);
            e.error = "invalid_tenant";
            (e.into_response_with(&error_context(&state, &headers)), 400)
        }
    };
    state.record(
        "GET",
        &format!("/{tenant}/v2.0/.well-known/openid-configuration"),
        "/{tenant}/v2.0/.well-known/openid-configuration",
        status,
        tid,
        None,
    );
    response
}

/// The key set at `jwks_uri`: the emulator's one RS256 signing key (404-free for any known tenant,
/// `invalid_tenant` otherwise, as the discovery document).
async fn jwks(
    State(state): State<SharedState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    let tid = state.read().tenant(&tenant).map(|t| t.id.clone());
    let (response, status) = match &tid {
        Some(id) => {
            let issuer = format!("{}/{id}/v2.0", state.base_url);
            let keys = json!({"keys": [state.signing_key.jwk(&issuer)]});
            (axum::Json(keys).into_response(), 200)
        }
        None => {
            let mut e = TokenError::tenant_not_found(&tenant);
            e.error = "invalid_tenant";
            (e.into_response_with(&error_context(&state, &headers)), 400)
        }
    };
    state.record(
        "GET",
        &format!("/{tenant}/discovery/v2.0/keys"),
        "/{tenant}/discovery/v2.0/keys",
        status,
        tid,
        None,
    );
    response
}

/// Body of `POST /_emulator/federated-token`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct FederatedTokenRequest {
    /// `iss`; default: the emulator's base URL.
    issuer: Option<String>,
    /// `sub`.
    subject: String,
    /// `aud`; default `api://AzureADTokenExchange`.
    audience: Option<String>,
    /// Lifetime in seconds (default 600; negative values mint an already expired token for tests).
    lifetime_secs: Option<i64>,
}

fn control_error(status: StatusCode, code: &str, message: String) -> Response {
    (
        status,
        axum::Json(json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}

async fn mint_federated_token(State(state): State<SharedState>, body: Bytes) -> Response {
    let req: FederatedTokenRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return control_error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                format!(
                    "invalid body for POST /_emulator/federated-token: {e}. Send \
                     {{\"subject\": \"repo:org/repo:ref:refs/heads/main\", \"issuer\": \"...\" (optional), \
                     \"audience\": \"api://AzureADTokenExchange\" (optional), \"lifetimeSecs\": 600 (optional)}}"
                ),
            );
        }
    };
    let issuer = req.issuer.unwrap_or_else(|| state.base_url.clone());
    let audience = req
        .audience
        .unwrap_or_else(|| "api://AzureADTokenExchange".to_string());
    let iat = chrono::Utc::now().timestamp();
    let exp = iat + req.lifetime_secs.unwrap_or(600);
    let jti = state.new_guid();
    let token =
        jwt::issue_federated_token(&state, &issuer, &req.subject, &audience, iat, exp, &jti);
    state.record(
        "POST",
        "/_emulator/federated-token",
        "/_emulator/federated-token",
        200,
        None,
        None,
    );
    axum::Json(
        json!({"token": token, "issuer": issuer, "subject": req.subject,
                      "audience": audience, "expiresOn": exp}),
    )
    .into_response()
}

async fn list_device_codes(State(state): State<SharedState>) -> Response {
    let now = Instant::now();
    let codes: Vec<Value> = lock(&state.identity.device_codes)
        .iter()
        .map(|d| {
            let status = match &d.status {
                _ if now >= d.expires_at && d.status == DeviceStatus::Pending => "expired",
                DeviceStatus::Pending => "pending",
                DeviceStatus::Approved { .. } => "approved",
                DeviceStatus::Declined => "declined",
                DeviceStatus::Redeemed => "redeemed",
            };
            json!({"userCode": d.user_code, "clientId": d.client_id, "tenantId": d.tenant_id,
                   "scopes": d.scopes, "status": status})
        })
        .collect();
    axum::Json(json!({"value": codes})).into_response()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApproveRequest {
    upn: String,
}

async fn approve_endpoint(
    State(state): State<SharedState>,
    Path(code): Path<String>,
    body: Bytes,
) -> Response {
    let req: ApproveRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return control_error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                format!("invalid body: {e}. Send {{\"upn\": \"alice@contoso.com\"}}"),
            );
        }
    };
    match approve_device_code(&state, &code, &req.upn) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => control_error(StatusCode::NOT_FOUND, "NotFound", e.to_string()),
    }
}

async fn decline_endpoint(State(state): State<SharedState>, Path(code): Path<String>) -> Response {
    match decline_device_code(&state, &code) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => control_error(StatusCode::NOT_FOUND, "NotFound", e.to_string()),
    }
}

const DEVICELOGIN_FORM: &str = "<!doctype html><html><head><title>graph-emulator: device login</title></head>\
<body><h1>Sign in a device (graph-emulator sandbox)</h1>\
<p>Enter the code shown by the application and the user to sign in as. No password or MFA is asked: \
this is an emulator.</p>\
<form method=\"post\" action=\"/devicelogin\">\
<label>Code <input name=\"user_code\" autofocus></label><br>\
<label>User (userPrincipalName) <input name=\"upn\"></label><br>\
<button name=\"action\" value=\"approve\">Sign in</button> \
<button name=\"action\" value=\"decline\">Cancel sign-in</button></form></body></html>";

/// `GET /devicelogin`: the sandbox's stand-in for https://microsoft.com/devicelogin.
async fn devicelogin_page() -> Response {
    axum::response::Html(DEVICELOGIN_FORM).into_response()
}

/// `POST /devicelogin` (form `user_code`, `upn`, `action=approve|decline`).
async fn devicelogin_submit(State(state): State<SharedState>, body: Bytes) -> Response {
    let form = token::Form::parse(&body);
    let code = form.get("user_code").unwrap_or("").trim().to_string();
    let result = if form.get("action") == Some("decline") {
        decline_device_code(&state, &code)
    } else {
        approve_device_code(&state, &code, form.get("upn").unwrap_or("").trim())
    };
    match result {
        Ok(()) => axum::response::Html(
            "<!doctype html><html><body><p>Done. You can return to the application.</p></body></html>",
        )
        .into_response(),
        Err(e) => (
            StatusCode::BAD_REQUEST,
            axum::response::Html(format!(
                "<!doctype html><html><body><p>{}</p><p><a href=\"/devicelogin\">Try again</a></p></body></html>",
                html_escape(&e.to_string())
            )),
        )
            .into_response(),
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Approve a pending device-code sign-in as user `upn` (test / control API). The user signed in
/// interactively, so MFA is considered done; the account state, assignment and conditional access
/// blocks are evaluated when the client redeems the code.
pub fn approve_device_code(state: &SharedState, user_code: &str, upn: &str) -> Result<(), Error> {
    let mut codes = lock(&state.identity.device_codes);
    let entry = codes
        .iter_mut()
        .rev()
        .find(|d| d.user_code.eq_ignore_ascii_case(user_code) && d.status == DeviceStatus::Pending)
        .ok_or_else(|| Error::UnknownDeviceCode(user_code.to_string()))?;
    let user_id = {
        let emu = state.read();
        emu.tenant(&entry.tenant_id)
            .and_then(|t| t.user(upn))
            .map(|u| u.id().to_string())
            .ok_or_else(|| Error::UnknownUser(upn.to_string()))?
    };
    entry.status = DeviceStatus::Approved { user_id };
    Ok(())
}

/// Decline a pending device-code sign-in (the user pressed "cancel").
pub fn decline_device_code(state: &SharedState, user_code: &str) -> Result<(), Error> {
    let mut codes = lock(&state.identity.device_codes);
    let entry = codes
        .iter_mut()
        .rev()
        .find(|d| d.user_code.eq_ignore_ascii_case(user_code) && d.status == DeviceStatus::Pending)
        .ok_or_else(|| Error::UnknownDeviceCode(user_code.to_string()))?;
    entry.status = DeviceStatus::Declined;
    Ok(())
}
