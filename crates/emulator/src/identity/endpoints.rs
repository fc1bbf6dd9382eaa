//! The identity platform's endpoints: token, device code, discovery, key set, federated tokens.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::{SharedState, lock};
use crate::identity::errors::TokenError;
use crate::identity::http::{apply_latency, control_error, error_context, json_ok};
use crate::identity::platform::{DeviceCode, DeviceStatus};
use crate::identity::{jwt, request, signin, token};

pub async fn token_endpoint(
    State(state): State<SharedState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    apply_latency(&state).await;
    let form = request::Form::parse(&body);
    let req = request::Request {
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
pub fn user_code(state: &SharedState) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = lock(&state.rng);
    (0..9)
        .map(|_| ALPHABET[(rng.next_u64() % ALPHABET.len() as u64) as usize] as char)
        .collect()
}

pub fn devicecode(
    state: &SharedState,
    tenant_segment: &str,
    form: &request::Form,
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

pub async fn devicecode_endpoint(
    State(state): State<SharedState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    apply_latency(&state).await;
    let form = request::Form::parse(&body);
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

pub async fn openid_configuration(
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

/// The key set at `jwks_uri`: the emulator's one RS256 signing key for any known tenant;
/// `invalid_tenant` otherwise, as the discovery document answers.
pub async fn jwks(
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

pub async fn mint_federated_token(State(state): State<SharedState>, body: Bytes) -> Response {
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
