//! `GraphRequest` (builder), `RetryRule` and `GraphResponse`.

use std::time::Duration;

use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

/// The most requests Graph accepts in one `$batch`.
pub const MAX_BATCH: usize = 20;

/// A condition, seen on a failed response, under which the request is retried (with back-off, within
/// the operation's time budget). Used for eventual consistency right after a create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryRule {
    status: Option<u16>,
    code: Option<String>,
    message_contains: Option<String>,
}

impl RetryRule {
    /// Retry on this HTTP status, whatever the Graph code.
    pub fn status(status: u16) -> RetryRule {
        RetryRule {
            status: Some(status),
            code: None,
            message_contains: None,
        }
    }

    /// Retry on this status with this Graph error code (`RetryRule::code(404, "Request_ResourceNotFound")`).
    pub fn code(status: u16, code: &str) -> RetryRule {
        RetryRule {
            status: Some(status),
            code: Some(code.to_string()),
            message_contains: None,
        }
    }

    /// Retry on this status when Graph's message contains `text` (case-insensitive), e.g.
    /// `RetryRule::message_contains(400, "does not reference a valid application object")`.
    pub fn message_contains(status: u16, text: &str) -> RetryRule {
        RetryRule {
            status: Some(status),
            code: None,
            message_contains: Some(text.to_ascii_lowercase()),
        }
    }

    /// Whether a failed response matches.
    pub fn matches(&self, status: u16, code: Option<&str>, message: &str) -> bool {
        self.status.is_none_or(|s| s == status)
            && self
                .code
                .as_deref()
                .is_none_or(|c| code.is_some_and(|got| got.eq_ignore_ascii_case(c)))
            && self
                .message_contains
                .as_deref()
                .is_none_or(|t| message.to_ascii_lowercase().contains(t))
    }
}

/// How long to wait before a retry a [`RetryRule`] asked for: `base`, growing by half each
/// attempt up to `cap`, with jitter (half to all of it). Short and growing, so that a write
/// waiting for an object to replicate goes through soon after it has, without a fixed sleep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleBackoff {
    pub base: Duration,
    pub cap: Duration,
}

impl RuleBackoff {
    /// The wait after failed attempt `attempt` (1-based).
    pub fn delay(&self, attempt: u32) -> Duration {
        let grown = self.base.as_secs_f64() * 1.5f64.powi(attempt.saturating_sub(1).min(30) as i32);
        let full = Duration::from_secs_f64(grown.min(self.cap.as_secs_f64()));
        let half = full / 2;
        let jitter_ns = (uuid::Uuid::new_v4().as_u128() as u64) % (half.as_nanos() as u64 + 1);
        half + Duration::from_nanos(jitter_ns)
    }
}

/// One Graph request, relative to the version root (`/applications`, not `/v1.0/applications`).
#[derive(Debug, Clone)]
pub struct GraphRequest {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Option<Value>,
    pub(crate) beta: bool,
    pub(crate) retry_rules: Vec<RetryRule>,
    pub(crate) rule_backoff: Option<RuleBackoff>,
    pub(crate) label: Option<String>,
    pub(crate) probe: Option<Box<GraphRequest>>,
    pub(crate) budget: Option<Duration>,
    pub(crate) depends_on: Vec<usize>,
    pub(crate) idempotent: Option<bool>,
}

impl GraphRequest {
    /// A request with any method. `path` is relative (`/applications`) and may carry a query
    /// (`/applications?$filter=…`), which is kept as written.
    pub fn new(method: Method, path: impl Into<String>) -> GraphRequest {
        let mut path = path.into();
        if !path.starts_with('/') {
            path.insert(0, '/');
        }
        GraphRequest {
            method,
            path,
            query: Vec::new(),
            headers: Vec::new(),
            body: None,
            beta: false,
            retry_rules: Vec::new(),
            rule_backoff: None,
            label: None,
            probe: None,
            budget: None,
            depends_on: Vec::new(),
            idempotent: None,
        }
    }
    /// `GET path`.
    pub fn get(path: impl Into<String>) -> GraphRequest {
        GraphRequest::new(Method::GET, path)
    }
    /// `POST path`.
    pub fn post(path: impl Into<String>) -> GraphRequest {
        GraphRequest::new(Method::POST, path)
    }
    /// `PATCH path`.
    pub fn patch(path: impl Into<String>) -> GraphRequest {
        GraphRequest::new(Method::PATCH, path)
    }
    /// `DELETE path`.
    pub fn delete(path: impl Into<String>) -> GraphRequest {
        GraphRequest::new(Method::DELETE, path)
    }
    /// Adds a query parameter (percent-encoded when sent: `$filter` values may hold spaces and quotes).
    pub fn query(mut self, name: &str, value: impl Into<String>) -> GraphRequest {
        self.query.push((name.to_string(), value.into()));
        self
    }
    /// `$select` only the properties the caller needs.
    pub fn select(self, props: &[&str]) -> GraphRequest {
        let v = props.join(",");
        self.query("$select", v)
    }
    /// `$top=n` (999 is the largest page Graph allows for directory objects).
    pub fn top(self, n: u32) -> GraphRequest {
        self.query("$top", n.to_string())
    }
    /// Send to `/beta` instead of `/v1.0`.
    pub fn beta(mut self) -> GraphRequest {
        self.beta = true;
        self
    }
    /// Adds a header (re-sent on every page of a list, e.g. `ConsistencyLevel: eventual`).
    pub fn header(mut self, name: &str, value: impl Into<String>) -> GraphRequest {
        self.headers.push((name.to_string(), value.into()));
        self
    }
    /// JSON body (sent with `Content-Type: application/json`).
    pub fn json(mut self, body: Value) -> GraphRequest {
        self.body = Some(body);
        self
    }
    /// Retry also when a failed response matches `rule`.
    pub fn retry_on(mut self, rule: RetryRule) -> GraphRequest {
        self.retry_rules.push(rule);
        self
    }
    /// The waits between retries its [`RetryRule`]s ask for (else the client's back-off).
    pub fn rule_backoff(mut self, backoff: RuleBackoff) -> GraphRequest {
        self.rule_backoff = Some(backoff);
        self
    }
    /// A human label for messages and errors (`"find application by uniqueName"`).
    pub fn label(mut self, label: impl Into<String>) -> GraphRequest {
        self.label = Some(label.into());
        self
    }
    /// For a create (POST): a lookup by the new object's key. When the POST's outcome is unknown
    /// (connection dropped, timeout, 500/502/504 — Graph may have applied it), the probe runs first;
    /// if it finds the object, that object is returned (status 200) instead of re-sending the POST.
    /// Without a probe such a POST is never re-sent: the error has kind `Ambiguous`.
    pub fn idempotency_probe(mut self, probe: GraphRequest) -> GraphRequest {
        self.probe = Some(Box::new(probe));
        self
    }
    /// Overrides the configured time budget for this operation.
    pub fn budget(mut self, budget: Duration) -> GraphRequest {
        self.budget = Some(budget);
        self
    }
    /// In `send_all`: run after the request at `index` of the same input vector (`dependsOn`).
    /// If that one fails, this one fails with status 424.
    pub fn depends_on(mut self, index: usize) -> GraphRequest {
        self.depends_on.push(index);
        self
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }
    /// The path without query.
    pub fn path(&self) -> &str {
        self.path.split('?').next().unwrap_or("")
    }
    /// The label, if any.
    pub fn label_text(&self) -> Option<&str> {
        self.label.as_deref()
    }

    /// Marks a POST that changes nothing (an evaluation, a query) as safe to send again when its
    /// outcome is unknown.
    pub fn safe_to_repeat(mut self) -> GraphRequest {
        self.idempotent = Some(true);
        self
    }

    /// The request's own retry rules (e.g. the answers Graph gives while an object replicates).
    pub fn retry_rules(&self) -> &[RetryRule] {
        &self.retry_rules
    }

    /// Whether repeating the request cannot create a second object (everything but POST,
    /// unless overridden).
    pub(crate) fn is_idempotent(&self) -> bool {
        self.idempotent.unwrap_or(self.method != Method::POST)
    }

    /// Graph operations this request carries: the requests inside a `$batch`, else one.
    pub(crate) fn operations(&self) -> usize {
        if self.path() != "/$batch" {
            return 1;
        }
        self.body
            .as_ref()
            .and_then(|b| b.get("requests"))
            .and_then(Value::as_array)
            .map_or(1, |r| r.len().max(1))
    }

    /// Whether this call is under Graph's "Identity protection and conditional access service
    /// limits" (1 request per second per tenant, no `Retry-After`), so it is paced and sent alone:
    /// conditional access policies and named locations, identity protection's risk resources
    /// (microsoft-graph-docs `concepts/throttling-limits.md` lists the resources). The What-If
    /// evaluation and the conditional access settings are not among them.
    pub(crate) fn is_conditional_access(&self) -> bool {
        let path = self.path.to_ascii_lowercase();
        [
            "/identity/conditionalaccess/policies",
            "/identity/conditionalaccess/namedlocations",
            "/identityprotection/",
        ]
        .iter()
        .any(|p| path.starts_with(p))
    }

    /// The path plus encoded query, relative to the version root (`/applications?$select=id`).
    pub(crate) fn relative_url(&self) -> String {
        let mut out = self.path.clone();
        let mut sep = if out.contains('?') { '&' } else { '?' };
        for (k, v) in &self.query {
            out.push(sep);
            out.push_str(&encode_component(k));
            out.push('=');
            out.push_str(&encode_component(v));
            sep = '&';
        }
        out
    }
}

/// Percent-encodes a query component; keeps OData-friendly characters (`$ ' ( ) , : @ / !`) readable.
/// Spaces become `%20` (not `+`).
pub(crate) fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'$'
                    | b'\''
                    | b'('
                    | b')'
                    | b','
                    | b':'
                    | b'@'
                    | b'/'
                    | b'!'
                    | b'*'
            );
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A successful Graph response.
#[derive(Debug, Clone)]
pub struct GraphResponse {
    /// HTTP status (2xx).
    pub status: u16,
    /// Response headers (never includes request headers such as `Authorization`).
    pub headers: HeaderMap,
    /// JSON body, `None` for 204 or an empty body.
    pub body: Option<Value>,
    /// Graph's `request-id`.
    pub request_id: Option<String>,
}

impl GraphResponse {
    /// The body, or `Value::Null`.
    pub fn json(&self) -> &Value {
        static NULL: Value = Value::Null;
        self.body.as_ref().unwrap_or(&NULL)
    }
    /// The `value` array of a collection response (empty if absent).
    pub fn values(&self) -> Vec<Value> {
        self.json()
            .get("value")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    }
}

/// Converts a `$batch` response's `headers` object.
pub(crate) fn headers_from_json(v: Option<&Value>) -> HeaderMap {
    let mut h = HeaderMap::new();
    if let Some(obj) = v.and_then(Value::as_object) {
        for (k, v) in obj {
            let val = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            if let (Ok(name), Ok(value)) =
                (HeaderName::try_from(k.as_str()), HeaderValue::try_from(val))
            {
                h.insert(name, value);
            }
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_is_percent_encoded_odata_style() {
        let r = GraphRequest::get("applications")
            .query("$filter", "displayName eq 'Kandji Passport & Co'")
            .select(&["id", "appId"])
            .top(999);
        assert_eq!(
            r.relative_url(),
            "/applications?$filter=displayName%20eq%20'Kandji%20Passport%20%26%20Co'&$select=id,appId&$top=999"
        );
        let r = GraphRequest::get("/users?$count=true").query("$search", "\"a+b\"");
        assert_eq!(r.relative_url(), "/users?$count=true&$search=%22a%2Bb%22");
        assert_eq!(r.path(), "/users");
    }

    #[test]
    fn retry_rules_match_status_code_and_message() {
        let r = RetryRule::message_contains(400, "does not reference a valid application object");
        assert!(r.matches(
            400,
            Some("Request_BadRequest"),
            "The appId 'x' of the service principal does not reference a valid application object."
        ));
        assert!(!r.matches(404, None, "does not reference a valid application object"));
        assert!(!r.matches(400, None, "other"));
        let r = RetryRule::code(404, "Request_ResourceNotFound");
        assert!(r.matches(404, Some("request_resourcenotfound"), ""));
        assert!(!r.matches(404, None, ""));
        assert!(RetryRule::status(409).matches(409, None, ""));
    }

    #[test]
    fn rule_backoff_grows_by_half_within_jitter_and_cap() {
        let b = RuleBackoff {
            base: Duration::from_millis(200),
            cap: Duration::from_secs(1),
        };
        for _ in 0..50 {
            let d1 = b.delay(1);
            assert!(d1 >= Duration::from_millis(100) && d1 <= Duration::from_millis(200));
            let d3 = b.delay(3);
            assert!(d3 >= Duration::from_millis(225) && d3 <= Duration::from_millis(450));
            let d9 = b.delay(9);
            assert!(d9 >= Duration::from_millis(500) && d9 <= Duration::from_secs(1));
        }
    }

    #[test]
    fn batches_carry_their_requests_as_operations() {
        assert_eq!(GraphRequest::get("/users").operations(), 1);
        let batch = GraphRequest::post("/$batch")
            .json(serde_json::json!({"requests": [{"id": "1"}, {"id": "2"}, {"id": "3"}]}));
        assert_eq!(batch.operations(), 3);
    }

    #[test]
    fn only_post_is_not_idempotent_and_ca_is_detected() {
        assert!(!GraphRequest::post("/applications").is_idempotent());
        assert!(GraphRequest::patch("/applications/x").is_idempotent());
        assert!(GraphRequest::get("/identity/conditionalAccess/policies").is_conditional_access());
        assert!(!GraphRequest::get("/identity/other").is_conditional_access());
        assert!(
            GraphRequest::get("/identity/conditionalAccess/namedLocations").is_conditional_access()
        );
        assert!(
            !GraphRequest::post("/identity/conditionalAccess/evaluate").is_conditional_access(),
            "What-If is not a conditional access policy resource"
        );
        assert!(!GraphRequest::get("/identity/conditionalAccess/settings").is_conditional_access());
    }
}
