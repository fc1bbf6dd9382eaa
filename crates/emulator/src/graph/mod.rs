//! Microsoft Graph (`/v1.0/...`, `/beta/...`): routing, bearer-token and permission checks,
//! throttling, logging, and the resources.
//!
//! Every request (outer HTTP or inner `$batch`) goes through [`handle`], which parses the path into a
//! [`Route`] with its template, checks the token and the permission table ([`perms`]), applies throttling
//! and records the request, then runs the resource handler.

pub mod batch;
pub mod odata;
pub mod perms;
pub mod resources;
pub mod schema;

use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::identity::jwt::{AccessClaims, verify_access_token};
use crate::knobs::Fault;
use crate::{SharedState, lock};
use odata::GraphError;

/// One Graph request, from HTTP or from a `$batch`.
#[derive(Debug, Clone)]
pub struct GraphRequest {
    /// Upper-case HTTP method.
    pub method: String,
    /// `v1.0` or `beta`.
    pub version: String,
    /// Path after the version, percent-decoded per segment (`/applications/123`).
    pub path: String,
    /// Decoded query pairs.
    pub query: Vec<(String, String)>,
    /// Raw query string (for the log).
    pub raw_query: String,
    /// Request headers, names lower-case.
    pub headers: Vec<(String, String)>,
    /// JSON body (None when empty).
    pub body: Option<Value>,
    /// Body bytes were present but not JSON.
    pub body_invalid: bool,
    /// The id of the request inside a `$batch`.
    pub batch_id: Option<String>,
}

impl GraphRequest {
    /// A header value (name lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    /// Path with query, as logged.
    pub fn full_path(&self) -> String {
        if self.raw_query.is_empty() {
            format!("/{}{}", self.version, self.path)
        } else {
            format!("/{}{}?{}", self.version, self.path, self.raw_query)
        }
    }
}

/// A Graph response.
#[derive(Debug, Clone)]
pub struct GraphResponse {
    /// HTTP status.
    pub status: u16,
    /// Extra headers (`Location`, `Retry-After`, ...).
    pub headers: Vec<(String, String)>,
    /// JSON body.
    pub body: Option<Value>,
}

impl GraphResponse {
    /// 200 with a body.
    pub fn ok(body: Value) -> Self {
        GraphResponse {
            status: 200,
            headers: Vec::new(),
            body: Some(body),
        }
    }
    /// 201 with the created object.
    pub fn created(body: Value) -> Self {
        GraphResponse {
            status: 201,
            headers: Vec::new(),
            body: Some(body),
        }
    }
    /// 204 no content.
    pub fn no_content() -> Self {
        GraphResponse {
            status: 204,
            headers: Vec::new(),
            body: None,
        }
    }
    /// An error response with Graph's body and headers.
    pub fn error(e: &GraphError, req: &GraphRequest, request_id: &str) -> Self {
        let client_request_id = req
            .header("client-request-id")
            .unwrap_or(request_id)
            .to_string();
        let mut headers = Vec::new();
        if let Some(r) = &e.retry_after {
            headers.push(("Retry-After".to_string(), r.clone()));
        }
        GraphResponse {
            status: e.status,
            headers,
            body: Some(e.body(request_id, &client_request_id)),
        }
    }
}

/// Who is calling: the verified token.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The token's claims.
    pub claims: AccessClaims,
    /// Tenant id (lower-case).
    pub tenant: String,
    /// True for app-only tokens (roles), false for delegated (scp).
    pub app_only: bool,
}

impl Caller {
    /// Granted permission values (roles for app-only, scopes for delegated).
    pub fn granted(&self) -> Vec<&str> {
        if self.app_only {
            self.claims.roles.iter().map(String::as_str).collect()
        } else {
            self.claims
                .scp
                .as_deref()
                .unwrap_or("")
                .split(' ')
                .filter(|s| !s.is_empty())
                .collect()
        }
    }
    /// Whether the caller holds this permission.
    pub fn has(&self, perm: &str) -> bool {
        self.granted().iter().any(|g| g.eq_ignore_ascii_case(perm))
    }
}

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
        let tmpl = resources::route(&greq)
            .map(|r| r.template)
            .unwrap_or_default();
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
        handle(&state, &greq, &request_id)
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

/// Build a [`GraphRequest`] from its parts (used by HTTP and `$batch`).
pub fn parse_request(
    method: &str,
    version: &str,
    path: &str,
    raw_query: &str,
    headers: Vec<(String, String)>,
    body: &[u8],
) -> GraphRequest {
    let decoded_path = path
        .split('/')
        .map(percent_decode)
        .collect::<Vec<_>>()
        .join("/");
    let query = url::form_urlencoded::parse(raw_query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let trimmed = body.iter().all(u8::is_ascii_whitespace);
    let (body, body_invalid) = if body.is_empty() || trimmed {
        (None, false)
    } else {
        match serde_json::from_slice::<Value>(body) {
            Ok(v) => (Some(v), false),
            Err(_) => (None, true),
        }
    };
    GraphRequest {
        method: method.to_ascii_uppercase(),
        version: version.to_string(),
        path: if decoded_path.is_empty() {
            "/".into()
        } else {
            decoded_path
        },
        query,
        raw_query: raw_query.to_string(),
        headers,
        body,
        body_invalid,
        batch_id: None,
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
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

/// Authenticate a request: the bearer token must be one this emulator issued, for Graph, for a
/// tenant it holds.
pub fn authenticate(state: &SharedState, req: &GraphRequest) -> Result<Caller, GraphError> {
    let header = req.header("authorization").unwrap_or("");
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .unwrap_or("")
        .trim();
    let claims = verify_access_token(state, token)
        .map_err(|e| GraphError::unauthenticated(e.to_string()))?;
    let tenant = claims.tid.to_ascii_lowercase();
    if !state.read().tenants.contains_key(&tenant) {
        return Err(GraphError::unauthenticated(
            "Access token validation failure. Invalid issuer or tenant.",
        ));
    }
    let app_only = claims.scp.is_none();
    Ok(Caller {
        claims,
        tenant,
        app_only,
    })
}

/// Handle one Graph request end to end (auth, permission, throttling, log), outer or inner.
pub fn handle(state: &SharedState, req: &GraphRequest, request_id: &str) -> GraphResponse {
    let route = resources::route(req);
    let template = match &route {
        Ok(r) => format!("/{}{}", req.version, r.template),
        Err(_) => format!("/{}{{unknown}}", req.version),
    };
    let mut tenant_for_log = None;
    let result = (|| -> Result<GraphResponse, GraphError> {
        let caller = authenticate(state, req)?;
        tenant_for_log = Some(caller.tenant.clone());
        let route = route?;
        if route.beta_only && req.version != "beta" {
            return Err(GraphError::new(
                400,
                "BadRequest",
                format!(
                    "Resource not found for the segment '{}'.",
                    route.segment_hint
                ),
            ));
        }
        let rule = perms::rule(&req.method, route.template).ok_or_else(|| {
            GraphError::new(
                405,
                "Request_BadRequest",
                "Specified HTTP method is not allowed for the request target.",
            )
        })?;
        if !perms::allowed(rule, &caller.granted()) {
            return Err(GraphError::denied());
        }
        throttle(state, &caller.tenant, route.template)?;
        if req.body_invalid {
            return Err(GraphError::new(
                400,
                "BadRequest",
                "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
            ));
        }
        resources::execute(state, &caller, req, &route)
    })();
    let resp = match result {
        Ok(r) => r,
        Err(e) => GraphResponse::error(&e, req, request_id),
    };
    let req_tenant = tenant_for_log.clone();
    state.record(
        &req.method,
        &req.full_path(),
        &template,
        resp.status,
        tenant_for_log,
        req.batch_id.clone(),
    );
    if resp.status < 300 && req.method != "GET" {
        if let Some(t) = req_tenant.as_deref()
            && let Some(t) = state.write().tenants.get_mut(t)
        {
            t.reindex();
        }
        state.persist();
    }
    resp
}

fn throttle(state: &SharedState, tenant: &str, template: &str) -> Result<(), GraphError> {
    let knobs = state.knobs();
    let now = Instant::now();
    let mut t = lock(&state.throttle);
    if knobs.ca_throttle
        && template.starts_with("/identity/conditionalAccess")
        && !t.take_ca(tenant, now)
    {
        // Conditional access: 1 request/s per tenant, and no Retry-After (concepts/throttling-limits).
        return Err(GraphError::new(
            429,
            "TooManyRequests",
            "Too many requests. Please try again later.",
        ));
    }
    if let Some(th) = &knobs.throttle
        && let Err(secs) = t.take(tenant, th, now)
    {
        let mut e = GraphError::new(
            429,
            "TooManyRequests",
            "Too many requests. Please try again later.",
        );
        if !knobs.omit_retry_after {
            let secs = Duration::from_secs_f64(secs).as_secs_f64();
            e.retry_after = Some(format!("{}", secs.ceil().max(1.0) as u64));
        }
        return Err(e);
    }
    Ok(())
}
