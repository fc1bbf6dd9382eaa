//! What every identity endpoint shares: error ids, latency, JSON answers, control-API errors.

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::app::{SharedState, lock};
use crate::identity::errors::ErrorContext;

/// The per-request ids of an identity-platform error (trace id from the seeded PRNG; correlation id
/// echoes `client-request-id` like Entra).
pub fn error_context(state: &SharedState, headers: &HeaderMap) -> ErrorContext {
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

pub async fn apply_latency(state: &SharedState) {
    let knobs = state.knobs();
    let latency = knobs.pick_latency(&mut lock(&state.rng));
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
}

pub fn json_ok(body: Value) -> Response {
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

pub fn control_error(status: StatusCode, code: &str, message: String) -> Response {
    (
        status,
        axum::Json(json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}
