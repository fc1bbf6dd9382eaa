//! The HTTP entry of Graph (`/v1.0/*`, `/beta/*`): latency and random faults, then one request
//! (or a `$batch`) through [`crate::graph::dispatch`].

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::app::{SharedState, lock};
use crate::graph::odata::GraphError;
use crate::graph::request::{GraphRequest, GraphResponse, parse_request};
use crate::graph::{batch, dispatch, routes};
use crate::knobs::Fault;

/// The Graph routes: `/v1.0/*` and `/beta/*`.
pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/v1.0", axum::routing::any(http_entry))
        .route("/v1.0/{*rest}", axum::routing::any(http_entry))
        .route("/beta", axum::routing::any(http_entry))
        .route("/beta/{*rest}", axum::routing::any(http_entry))
}

async fn http_entry(State(state): State<SharedState>, req: Request) -> Response {
    let knobs = state.knobs();
    let (latency, fault) = {
        let mut rng = lock(&state.rng);
        (knobs.pick_latency(&mut rng), knobs.pick_fault(&mut rng))
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 8 * 1024 * 1024)
        .await
        .unwrap_or_default();
    let greq = from_http(&parts.method, &parts.uri, &parts.headers, &bytes);
    if let Some(f) = fault {
        let request_id = state.new_guid();
        let tmpl = routes::route(&greq).map(|r| r.template).unwrap_or_default();
        let status = match f {
            Fault::ServiceUnavailable => 503,
            Fault::GatewayTimeout => 504,
            Fault::DropConnection => 0,
        };
        state.record(
            &greq.method,
            &greq.full_path(),
            &format!("/{}{}", greq.version, tmpl),
            status,
            None,
            None,
        );
        return match f {
            Fault::DropConnection => dropped_connection(),
            Fault::ServiceUnavailable => {
                let mut e = GraphError::new(
                    503,
                    "ServiceUnavailable",
                    "The service is temporarily unavailable. Please retry later.",
                );
                e.retry_after = Some("1".into());
                to_http(GraphResponse::error(&e, &greq, &request_id), &request_id)
            }
            Fault::GatewayTimeout => to_http(
                GraphResponse::error(
                    &GraphError::new(
                        504,
                        "GatewayTimeout",
                        "The gateway did not receive a response in time.",
                    ),
                    &greq,
                    &request_id,
                ),
                &request_id,
            ),
        };
    }
    let request_id = state.new_guid();
    let resp = if greq.method == "POST" && greq.path == "/$batch" {
        batch::handle_batch(&state, &greq, &request_id)
    } else {
        dispatch::handle(&state, &greq, &request_id)
    };
    to_http(resp, &request_id)
}

/// A response whose body breaks off: the first bytes go out, then the body stream fails and hyper
/// aborts the connection, so the client sees the connection drop without a complete response.
fn dropped_connection() -> Response {
    let chunks: [Result<&'static str, std::io::Error>; 2] = [
        Ok("{\"value\":["),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "graph-emulator: injected dropped connection",
        )),
    ];
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .body(Body::from_stream(futures_util::stream::iter(chunks)))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

fn from_http(
    method: &axum::http::Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> GraphRequest {
    let path = uri.path();
    let (version, rest) = match path.strip_prefix("/v1.0") {
        Some(r) => ("v1.0", r),
        None => ("beta", path.strip_prefix("/beta").unwrap_or(path)),
    };
    let raw_query = uri.query().unwrap_or("").to_string();
    parse_request(
        method.as_str(),
        version,
        rest,
        &raw_query,
        headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    v.to_str().unwrap_or("").to_string(),
                )
            })
            .collect(),
        body,
    )
}

fn to_http(resp: GraphResponse, request_id: &str) -> Response {
    let mut builder = Response::builder().status(resp.status);
    let mut has_ct = false;
    for (k, v) in &resp.headers {
        if k.eq_ignore_ascii_case("content-type") {
            has_ct = true;
        }
        if let (Ok(n), Ok(v)) = (
            HeaderName::try_from(k.as_str()),
            HeaderValue::try_from(v.as_str()),
        ) {
            builder = builder.header(n, v);
        }
    }
    builder = builder
        .header("request-id", request_id)
        .header("client-request-id", request_id);
    match resp.body {
        Some(b) => {
            if !has_ct {
                builder = builder.header(
                    "content-type",
                    "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8",
                );
            }
            builder
                .body(Body::from(serde_json::to_vec(&b).unwrap_or_default()))
                .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
        }
        None => builder
            .body(Body::empty())
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response()),
    }
}
