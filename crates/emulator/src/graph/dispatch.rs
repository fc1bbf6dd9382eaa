//! One Graph request end to end: token, route, permission, throttling, handler, request log.

use std::time::{Duration, Instant};

use crate::app::{SharedState, lock};
use crate::graph::handlers::execute::execute;
use crate::graph::odata::GraphError;
use crate::graph::request::{Caller, GraphRequest, GraphResponse};
use crate::graph::{perms, routes};
use crate::identity::jwt::verify_access_token;
use crate::limits;

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
    let route = routes::route(req);
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
        let limit_headers = throttle(state, &caller, req, route.template)?;
        if req.method != "GET"
            && state
                .knobs()
                .failing_writes
                .iter()
                .any(|t| t == route.template)
        {
            return Err(GraphError::new(
                503,
                "serviceNotAvailable",
                "The service is temporarily unavailable.",
            ));
        }
        if req.body_invalid {
            return Err(GraphError::new(
                400,
                "BadRequest",
                "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
            ));
        }
        let mut resp = execute(state, &caller, req, &route)?;
        resp.headers.extend(limit_headers);
        Ok(resp)
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

/// Whether a route is one of the resources Graph's "Identity protection and conditional access
/// service limits" (1 request per second per tenant) apply to: conditional access policies and named
/// locations, and identity protection's risk resources (microsoft-graph-docs
/// `concepts/throttling-limits.md`). The What-If evaluation and the conditional access settings are
/// not listed there: they count under the identity and access limits like other requests.
fn under_conditional_access_limit(template: &str) -> bool {
    [
        "/identity/conditionalAccess/policies",
        "/identity/conditionalAccess/namedLocations",
        "/identityProtection/",
    ]
    .iter()
    .any(|p| template.starts_with(p))
}

/// The knobs' throttling of one request: conditional access's 1 request/s, the simple token
/// bucket, Graph's identity and access limits. Returns the headers of an admitted request.
fn throttle(
    state: &SharedState,
    caller: &Caller,
    req: &GraphRequest,
    template: &str,
) -> Result<Vec<(String, String)>, GraphError> {
    let knobs = state.knobs();
    let tenant = caller.tenant.as_str();
    let now = Instant::now();
    let conditional_access = under_conditional_access_limit(template);
    let size = (knobs.graph_limits && !conditional_access).then(|| {
        let users = state
            .read()
            .tenants
            .get(tenant)
            .map_or(0, |t| t.users.len());
        limits::TenantSize::of(users)
    });
    let mut t = lock(&state.throttle);
    if knobs.ca_throttle && conditional_access && !t.take_ca(tenant, now) {
        // Conditional access: 1 request/s per tenant, and no Retry-After (concepts/throttling-limits).
        return Err(too_many());
    }
    if let Some(th) = &knobs.throttle
        && let Err(secs) = t.take(tenant, th, now)
    {
        let mut e = too_many();
        if !knobs.omit_retry_after {
            let secs = Duration::from_secs_f64(secs).as_secs_f64();
            e.retry_after = Some(format!("{}", secs.ceil().max(1.0) as u64));
        }
        return Err(e);
    }
    let Some(size) = size else {
        return Ok(Vec::new());
    };
    let r = limits::Request {
        app: &caller.claims.appid,
        tenant,
        size,
        cost: limits::cost(&req.method, template, &req.query),
    };
    t.limits.admit(r, now).map_err(|refused| {
        let mut e = too_many();
        e.headers = refused.headers;
        e
    })
}

fn too_many() -> GraphError {
    GraphError::new(
        429,
        "TooManyRequests",
        "Too many requests. Please try again later.",
    )
}
