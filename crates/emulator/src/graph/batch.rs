//! JSON batching (`POST /$batch`, `concepts/json-batching.md`): at most 20 requests, unique ids,
//! `dependsOn` (a failed dependency answers 424), each inner request authorised, throttled, logged and
//! counted on its own through [`crate::graph::dispatch::handle`]. Requests run in order.

use serde_json::{Map, Value, json};

use crate::app::SharedState;
use crate::graph::dispatch::{authenticate, handle};
use crate::graph::odata::GraphError;
use crate::graph::request::{GraphRequest, GraphResponse, parse_request};
use crate::knobs::BatchFault;

/// The most requests one batch may hold.
pub const MAX_BATCH: usize = 20;

/// Handle a `$batch` request.
pub fn handle_batch(state: &SharedState, req: &GraphRequest, request_id: &str) -> GraphResponse {
    let result = run(state, req, request_id);
    let (resp, tenant) = match result {
        Ok((r, t)) => (r, Some(t)),
        Err(e) => (GraphResponse::error(&e, req, request_id), None),
    };
    state.record(
        &req.method,
        &req.full_path(),
        &format!("/{}/$batch", req.version),
        resp.status,
        tenant,
        None,
    );
    resp
}

fn bad(msg: &str) -> GraphError {
    GraphError::new(400, "BadRequest", msg)
}

fn run(
    state: &SharedState,
    req: &GraphRequest,
    request_id: &str,
) -> Result<(GraphResponse, String), GraphError> {
    let caller = authenticate(state, req)?;
    let requests = req
        .body
        .as_ref()
        .and_then(|b| b.get("requests"))
        .and_then(Value::as_array)
        .ok_or_else(|| bad("Invalid batch payload format: a 'requests' array is required."))?;
    let ids = request_ids(requests)?;
    let mut statuses: Vec<(String, u16)> = Vec::new();
    let mut responses = Vec::new();
    for (r, id) in requests.iter().zip(&ids) {
        let failed_dep = r
            .get("dependsOn")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .find(|d| statuses.iter().any(|(i, s)| i == d && *s >= 400))
            .map(str::to_string);
        let inner_request_id = state.new_guid();
        let resp = if let Some(dep) = failed_dep {
            let e = GraphError::new(
                424,
                "FailedDependency",
                format!("The request depends on request '{dep}', which failed."),
            );
            state.record(
                r["method"].as_str().unwrap_or(""),
                r["url"].as_str().unwrap_or(""),
                "/$batch/{failedDependency}",
                424,
                Some(caller.tenant.clone()),
                Some(id.clone()),
            );
            GraphResponse::error(&e, req, &inner_request_id)
        } else {
            let fault = {
                let knobs = state.knobs();
                let mut rng = crate::app::lock(&state.rng);
                knobs.pick_batch_fault(&mut rng)
            };
            match fault {
                None => inner(state, req, r, id, &inner_request_id),
                Some(f) => injected_fault(state, req, r, id, &inner_request_id, &caller.tenant, f),
            }
        };
        statuses.push((id.clone(), resp.status));
        responses.push(batch_item(id, resp));
    }
    let _ = request_id;
    Ok((
        GraphResponse::ok(json!({"responses": responses})),
        caller.tenant,
    ))
}

/// The ids of a batch's requests, checked: 1 to 20 requests, unique ids, a method and a url each,
/// `dependsOn` naming earlier requests only.
fn request_ids(requests: &[Value]) -> Result<Vec<String>, GraphError> {
    if requests.is_empty() {
        return Err(bad(
            "Invalid batch payload format: the 'requests' array is empty.",
        ));
    }
    if requests.len() > MAX_BATCH {
        return Err(bad(&format!(
            "The number of requests in a batch ({}) exceeds the limit of {MAX_BATCH}.",
            requests.len()
        )));
    }
    let mut ids: Vec<String> = Vec::new();
    for r in requests {
        let id = match r.get("id") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err(bad("Every request in a batch needs an 'id'.")),
        };
        if ids.contains(&id) {
            return Err(bad(&format!(
                "Request id '{id}' is not unique within the batch."
            )));
        }
        for key in ["method", "url"] {
            if !r.get(key).is_some_and(Value::is_string) {
                return Err(bad(&format!("Request '{id}' needs a '{key}'.")));
            }
        }
        if let Some(deps) = r.get("dependsOn") {
            let deps = deps
                .as_array()
                .ok_or_else(|| bad("'dependsOn' must be an array of request ids."))?;
            for d in deps {
                let d = d.as_str().unwrap_or("");
                if !ids.iter().any(|i| i == d) {
                    return Err(bad(&format!(
                        "Request '{id}' depends on '{d}', which is not an earlier request of the batch."
                    )));
                }
            }
        }
        ids.push(id);
    }
    Ok(ids)
}

/// One answer of the `responses` array.
fn batch_item(id: &str, resp: GraphResponse) -> Value {
    let mut headers = Map::new();
    for (k, v) in &resp.headers {
        headers.insert(k.clone(), json!(v));
    }
    if resp.body.is_some() {
        headers.insert("Content-Type".into(), json!("application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8"));
    }
    let mut out = Map::new();
    out.insert("id".into(), json!(id));
    out.insert("status".into(), json!(resp.status));
    out.insert("headers".into(), Value::Object(headers));
    if let Some(b) = resp.body {
        out.insert("body".into(), b);
    }
    Value::Object(out)
}

/// A partial `$batch` failure (`batch_fault_rate`): logged under `/{version}/$batch/{injectedFault}`
/// with the status the client saw (a 504 after the request was applied adds this entry after the
/// request's own).
fn injected_fault(
    state: &SharedState,
    outer: &GraphRequest,
    r: &Value,
    id: &str,
    request_id: &str,
    tenant: &str,
    fault: BatchFault,
) -> GraphResponse {
    let mut e = match fault {
        BatchFault::Throttled => GraphError::new(
            429,
            "TooManyRequests",
            "Too many requests. Please try again later.",
        ),
        BatchFault::ServiceUnavailable => GraphError::new(
            503,
            "ServiceUnavailable",
            "The service is temporarily unavailable. Please retry later.",
        ),
        BatchFault::GatewayTimeoutAfterApply => {
            inner(state, outer, r, id, request_id);
            GraphError::new(
                504,
                "GatewayTimeout",
                "The gateway did not receive a response in time.",
            )
        }
    };
    if fault != BatchFault::GatewayTimeoutAfterApply {
        e.retry_after = Some("1".into());
    }
    state.record(
        r["method"].as_str().unwrap_or(""),
        r["url"].as_str().unwrap_or(""),
        &format!("/{}/$batch/{{injectedFault}}", outer.version),
        e.status,
        Some(tenant.to_string()),
        Some(id.to_string()),
    );
    GraphResponse::error(&e, outer, request_id)
}

fn inner(
    state: &SharedState,
    outer: &GraphRequest,
    r: &Value,
    id: &str,
    request_id: &str,
) -> GraphResponse {
    let method = r["method"].as_str().unwrap_or("GET").to_ascii_uppercase();
    let url = r["url"].as_str().unwrap_or("");
    let mut headers: Vec<(String, String)> = r
        .get("headers")
        .and_then(Value::as_object)
        .map(|h| {
            h.iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default();
    if let Some(auth) = outer.header("authorization") {
        headers.retain(|(k, _)| k != "authorization");
        headers.push(("authorization".into(), auth.to_string()));
    }
    let body_bytes = match r.get("body") {
        Some(Value::Null) | None => Vec::new(),
        Some(b) => serde_json::to_vec(b).unwrap_or_default(),
    };
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let path = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    };
    let mut greq = parse_request(&method, &outer.version, &path, query, headers, &body_bytes);
    greq.batch_id = Some(id.to_string());
    if url.starts_with("http") || path.starts_with("/v1.0/") || path.starts_with("/beta/") {
        let e = GraphError::new(
            400,
            "BadRequest",
            "Invalid request URL: batch request URLs must be relative to the version (e.g. '/users').",
        );
        state.record(
            &method,
            url,
            "/$batch/{invalidUrl}",
            400,
            None,
            Some(id.to_string()),
        );
        return GraphResponse::error(&e, &greq, request_id);
    }
    if !body_bytes.is_empty() && greq.header("content-type").is_none() {
        let e = GraphError::new(
            400,
            "BadRequest",
            "Write request id : ".to_string()
                + id
                + " does not contain Content-Type header or body.",
        );
        state.record(
            &method,
            url,
            "/$batch/{missingContentType}",
            400,
            None,
            Some(id.to_string()),
        );
        return GraphResponse::error(&e, &greq, request_id);
    }
    handle(state, &greq, request_id)
}
