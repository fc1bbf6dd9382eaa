//! Device-code approval: the control API, the sandbox's `/devicelogin` page, and the functions
//! behind `RunningEmulator::approve_device_code`.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::{SharedState, lock};
use crate::error::Error;
use crate::identity::http::control_error;
use crate::identity::platform::DeviceStatus;
use crate::identity::request;

pub async fn list_device_codes(State(state): State<SharedState>) -> Response {
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

pub async fn approve_endpoint(
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

pub async fn decline_endpoint(
    State(state): State<SharedState>,
    Path(code): Path<String>,
) -> Response {
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
pub async fn devicelogin_page() -> Response {
    axum::response::Html(DEVICELOGIN_FORM).into_response()
}

/// `POST /devicelogin` (form `user_code`, `upn`, `action=approve|decline`).
pub async fn devicelogin_submit(State(state): State<SharedState>, body: Bytes) -> Response {
    let form = request::Form::parse(&body);
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

pub fn html_escape(s: &str) -> String {
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
