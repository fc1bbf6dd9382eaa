//! The control API under `/_emulator/` (cannot collide with Graph, whose paths start with a version,
//! nor with the identity platform, whose paths start with a tenant):
//!
//! | method + path | what |
//! |---|---|
//! | `GET /_emulator/health` | `{"status":"ok","tenants":[…]}` |
//! | `GET /_emulator/requests` | the request log (inner `$batch` requests included) |
//! | `DELETE /_emulator/requests` | clear the log and the counters |
//! | `GET /_emulator/counters` | counters per `METHOD /template` with first/last timestamps |
//! | `GET` / `PUT /_emulator/knobs` | read / replace the realism knobs (JSON, camelCase) |
//! | `POST /_emulator/reset` | restore the tenants as loaded at start, clear log and counters |
//! | `GET /_emulator/state` | dump every tenant (JSON, internal properties included) |
//! | `POST /_emulator/replication/settle` | every pending write becomes visible now |
//! | `GET` / `PUT /_emulator/tenants/{tenant}/baseline-scopes` | read / set baseline-scope enforcement |
//! | `POST /_emulator/tenants/{tenant}/managed-policies/enable` | report-only Microsoft-managed policies on |

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::app::{SharedState, lock};
use crate::baseline_scopes::BaselineScopes;
use crate::knobs::Knobs;

/// Control routes.
pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/_emulator/health", get(health))
        .route("/_emulator/requests", get(requests).delete(clear))
        .route("/_emulator/counters", get(counters))
        .route("/_emulator/knobs", get(get_knobs).put(put_knobs))
        .route("/_emulator/reset", post(reset))
        .route("/_emulator/state", get(dump))
        .route("/_emulator/replication/settle", post(settle))
        .route(
            "/_emulator/tenants/{tenant}/baseline-scopes",
            get(get_baseline).put(put_baseline),
        )
        .route(
            "/_emulator/tenants/{tenant}/managed-policies/enable",
            post(enable_managed),
        )
}

/// Settle every tenant's pending replication; answers `{"settled": N}` (objects that were pending).
async fn settle(State(s): State<SharedState>) -> Response {
    let settled = settle_replication(&s);
    Json(json!({"settled": settled})).into_response()
}

/// Make every pending write of every tenant visible now; the number of objects that were pending.
pub fn settle_replication(s: &SharedState) -> usize {
    let settled = s
        .write()
        .tenants
        .values_mut()
        .map(crate::state::Tenant::settle_replication)
        .sum();
    s.persist();
    settled
}

fn no_tenant(tenant: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({"error": format!("no tenant `{tenant}` in the emulator")})),
    )
        .into_response()
}

async fn get_baseline(State(s): State<SharedState>, Path(tenant): Path<String>) -> Response {
    match s.read().tenant(&tenant) {
        Some(t) => Json(t.baseline_scopes.clone()).into_response(),
        None => no_tenant(&tenant),
    }
}

async fn put_baseline(
    State(s): State<SharedState>,
    Path(tenant): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let Ok(mode) = serde_json::from_slice::<BaselineScopes>(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "send \"legacy\", \"enforced\", \"disabled\" or {\"custom\": \"<placeholder appId>\"}"})),
        )
            .into_response();
    };
    let found = match s.write().tenant_mut(&tenant) {
        Some(t) => {
            t.baseline_scopes = mode.clone();
            true
        }
        None => false,
    };
    if !found {
        return no_tenant(&tenant);
    }
    s.persist();
    Json(mode).into_response()
}

async fn enable_managed(State(s): State<SharedState>, Path(tenant): Path<String>) -> Response {
    let enabled = s
        .write()
        .tenant_mut(&tenant)
        .map(crate::state::Tenant::enable_managed_policies);
    match enabled {
        Some(ids) => {
            s.persist();
            Json(json!({"enabled": ids})).into_response()
        }
        None => no_tenant(&tenant),
    }
}

async fn health(State(s): State<SharedState>) -> Response {
    let tenants: Vec<String> = s.read().tenants.keys().cloned().collect();
    Json(json!({"status": "ok", "baseUrl": s.base_url, "tenants": tenants})).into_response()
}

async fn requests(State(s): State<SharedState>) -> Response {
    Json(lock(&s.log).clone()).into_response()
}

async fn clear(State(s): State<SharedState>) -> Response {
    lock(&s.log).clear();
    lock(&s.counters).clear();
    StatusCode::NO_CONTENT.into_response()
}

async fn counters(State(s): State<SharedState>) -> Response {
    Json(lock(&s.counters).clone()).into_response()
}

async fn get_knobs(State(s): State<SharedState>) -> Response {
    Json(s.knobs()).into_response()
}

async fn put_knobs(State(s): State<SharedState>, body: axum::body::Bytes) -> Response {
    match serde_json::from_slice::<Knobs>(&body) {
        Ok(k) if (0.0..=1.0).contains(&k.fault_rate) => {
            *lock(&s.knobs) = k.clone();
            lock(&s.throttle).reset();
            Json(k).into_response()
        }
        Ok(_) => (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "faultRate must be between 0 and 1"})),
        )
            .into_response(),
        Err(e) => (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": format!("invalid knobs: {e}. Fields: latencyMs, jitterMs, replicationDelayMs, throttle {{capacity, refillPerSecond}}, caThrottle, faultRate, batchFaultRate, omitRetryAfter, graphLimits")})),
        )
            .into_response(),
    }
}

async fn reset(State(s): State<SharedState>) -> Response {
    *s.write() = s.initial.clone();
    lock(&s.log).clear();
    lock(&s.counters).clear();
    lock(&s.throttle).reset();
    s.persist();
    StatusCode::NO_CONTENT.into_response()
}

async fn dump(State(s): State<SharedState>) -> Response {
    Json(serde_json::to_value(&*s.read()).unwrap_or_default()).into_response()
}
