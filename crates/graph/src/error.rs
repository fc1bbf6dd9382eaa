//! `GraphError`: what failed, Graph's code and message, the request ids, and a hint.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::auth::AuthError;
use crate::config::ConfigError;
use crate::permissions::permission_for;

/// The broad class of a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphErrorKind {
    /// The client configuration is unusable.
    Config,
    /// No token could be obtained.
    Auth,
    /// The request did not complete (connection, TLS, timeout).
    Transport,
    /// Graph answered with an error status.
    Graph,
    /// Retries were still wanted when the operation's time budget ran out.
    Budget,
    /// Graph answered with something that is not the expected JSON.
    Decode,
    /// A `@odata.nextLink` pointed away from the configured Graph host; it was not followed.
    UnsafeNextLink,
    /// A create may have been applied by Graph but its outcome is unknown; it was not re-sent.
    Ambiguous,
}

/// A failed Graph operation. `Display` says what failed, Graph's code and message, the request id, and a hint.
///
/// The details are boxed (a small `Result`); read them as fields: `err.status`, `err.code`.
#[derive(Debug, Clone)]
pub struct GraphError(Box<GraphErrorDetails>);

impl std::ops::Deref for GraphError {
    type Target = GraphErrorDetails;
    fn deref(&self) -> &GraphErrorDetails {
        &self.0
    }
}

impl std::ops::DerefMut for GraphError {
    fn deref_mut(&mut self) -> &mut GraphErrorDetails {
        &mut self.0
    }
}

/// The fields of a [`GraphError`].
#[derive(Debug, Clone)]
pub struct GraphErrorDetails {
    /// The class of failure.
    pub kind: GraphErrorKind,
    /// HTTP status, when Graph answered.
    pub status: Option<u16>,
    /// Graph `error.code` (e.g. `Request_ResourceNotFound`).
    pub code: Option<String>,
    /// Graph `error.message`, or a description of the failure.
    pub message: String,
    /// Graph's `request-id` (response header or `innerError`).
    pub request_id: Option<String>,
    /// The `client-request-id` entractl sent.
    pub client_request_id: Option<String>,
    /// The caller's label for the operation (`"find application by uniqueName"`).
    pub operation: Option<String>,
    /// HTTP method.
    pub method: String,
    /// Path relative to the version root (`/applications/{id}`), query excluded.
    pub path: String,
    /// Attempts made (1 = no retry).
    pub attempts: u32,
    /// Time spent on the operation, when retries happened.
    pub elapsed: Option<Duration>,
    /// The underlying error (never carries a secret).
    pub source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl GraphError {
    pub(crate) fn new(
        kind: GraphErrorKind,
        method: &str,
        path: &str,
        message: impl Into<String>,
    ) -> Self {
        GraphError(Box::new(GraphErrorDetails {
            kind,
            status: None,
            code: None,
            message: message.into(),
            request_id: None,
            client_request_id: None,
            operation: None,
            method: method.to_string(),
            path: path.to_string(),
            attempts: 1,
            elapsed: None,
            source: None,
        }))
    }

    pub(crate) fn config(e: ConfigError) -> Self {
        let mut g = GraphError::new(GraphErrorKind::Config, "", "", e.to_string());
        g.source = Some(Arc::new(e));
        g
    }

    pub(crate) fn auth(e: AuthError, method: &str, path: &str) -> Self {
        let mut g = GraphError::new(GraphErrorKind::Auth, method, path, e.to_string());
        g.source = Some(Arc::new(e));
        g
    }

    /// Builds an error from a Graph error response.
    pub(crate) fn from_response(
        method: &str,
        path: &str,
        status: u16,
        body: Option<&Value>,
        header_request_id: Option<String>,
        client_request_id: Option<String>,
    ) -> Self {
        let (code, message, inner_request_id) = parse_error_body(body);
        let mut g = GraphError::new(
            GraphErrorKind::Graph,
            method,
            path,
            message.unwrap_or_else(|| format!("HTTP {status} without an error body")),
        );
        g.status = Some(status);
        g.code = code.filter(|c| !c.is_empty());
        g.request_id = header_request_id.or(inner_request_id);
        g.client_request_id = client_request_id;
        g
    }

    pub(crate) fn with_operation(mut self, label: Option<&str>) -> Self {
        if self.operation.is_none() {
            self.operation = label.map(str::to_string);
        }
        self
    }

    /// True only when Graph said the object does not exist: a 404 with `Request_ResourceNotFound`
    /// (or `ResourceNotFound`, `ItemNotFound`). Any other failure — including a throttled or failed
    /// read — is never "absent".
    pub fn is_not_found(&self) -> bool {
        self.kind == GraphErrorKind::Graph
            && self.status == Some(404)
            && matches!(
                self.code.as_deref(),
                Some("Request_ResourceNotFound" | "ResourceNotFound" | "ItemNotFound")
            )
    }

    /// True for a 403 (missing permission or directory role).
    pub fn is_forbidden(&self) -> bool {
        self.status == Some(403)
    }

    /// True when Graph throttled the request (after retries ran out).
    pub fn is_throttled(&self) -> bool {
        self.status == Some(429)
    }

    /// The least-privileged permission Microsoft documents for this operation, if known.
    pub fn documented_permission(&self) -> Option<&'static str> {
        permission_for(&self.method, &self.path)
    }

    fn hint(&self) -> Option<String> {
        match (self.kind, self.status) {
            (GraphErrorKind::Graph | GraphErrorKind::Budget, Some(403)) => Some(match self.documented_permission() {
                Some(p) => format!(
                    "Microsoft documents {p} as the least-privileged permission for {} {}: grant it (application \
                     permission + admin consent) or sign in with a directory role that allows it",
                    self.method, self.path
                ),
                None => "the credential lacks a permission or directory role for this operation: see docs/auth.md".into(),
            }),
            (GraphErrorKind::Graph | GraphErrorKind::Budget, Some(401)) => Some(
                "the token was rejected: check the tenant, the cloud and that the credential is still valid".into(),
            ),
            (GraphErrorKind::Graph | GraphErrorKind::Budget, Some(429)) => Some(
                "Graph kept throttling: run again later".into(),
            ),
            (GraphErrorKind::Budget, _) => Some(
                "Graph kept failing until the time budget ran out: run again (changes are idempotent)".into(),
            ),
            (GraphErrorKind::Ambiguous, _) => Some(
                "look the object up by its key before creating it again: running the same command again does this".into(),
            ),
            (GraphErrorKind::UnsafeNextLink, _) => Some(
                "the token is only ever sent to the configured Graph host; report this response to the service owner".into(),
            ),
            _ => None,
        }
    }
}

fn parse_error_body(body: Option<&Value>) -> (Option<String>, Option<String>, Option<String>) {
    let Some(err) = body.and_then(|b| b.get("error")) else {
        return (None, None, None);
    };
    if let Some(s) = err.as_str() {
        return (Some(s.to_string()), None, None);
    }
    let s = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    let inner = err.get("innerError").or_else(|| err.get("innererror"));
    (
        s(err.get("code")),
        s(err.get("message")),
        s(inner.and_then(|i| i.get("request-id"))),
    )
}

impl fmt::Display for GraphError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.operation {
            Some(op) => write!(f, "{op} ({} {}) failed", self.method, self.path)?,
            // A token that could not be had: the credential's own message says what failed.
            None if self.method.is_empty() && self.kind == GraphErrorKind::Auth => {}
            None if self.method.is_empty() => f.write_str("Graph client setup failed")?,
            None => write!(f, "{} {} failed", self.method, self.path)?,
        }
        match (self.status, &self.code) {
            (Some(s), Some(c)) => write!(f, ": HTTP {s} {c}: {}", self.message)?,
            (Some(s), None) => write!(f, ": HTTP {s}: {}", self.message)?,
            _ if self.method.is_empty() && self.kind == GraphErrorKind::Auth => {
                f.write_str(&self.message)?
            }
            _ => write!(f, ": {}", self.message)?,
        }
        if self.attempts > 1 {
            write!(f, " (after {} attempts", self.attempts)?;
            if let Some(e) = self.elapsed {
                write!(f, " over {:.1}s", e.as_secs_f64())?;
            }
            f.write_str(")")?;
        }
        match (&self.request_id, &self.client_request_id) {
            (Some(r), Some(c)) => write!(f, " [request-id {r}, client-request-id {c}]")?,
            (Some(r), None) => write!(f, " [request-id {r}]")?,
            (None, Some(c)) => write!(f, " [client-request-id {c}]")?,
            (None, None) => {}
        }
        if let Some(h) = self.hint() {
            write!(f, ". Hint: {h}")?;
        }
        Ok(())
    }
}

impl std::error::Error for GraphError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(status: u16, code: &str) -> GraphError {
        GraphError::from_response(
            "GET",
            "/applications/x",
            status,
            Some(&json!({"error":{"code":code,"message":"m","innerError":{"request-id":"rid-1"}}})),
            None,
            Some("cid-1".into()),
        )
    }

    #[test]
    fn only_404_resource_not_found_is_absent() {
        assert!(err(404, "Request_ResourceNotFound").is_not_found());
        assert!(err(404, "ResourceNotFound").is_not_found());
        assert!(!err(404, "Request_BadRequest").is_not_found());
        assert!(!err(400, "Request_ResourceNotFound").is_not_found());
        assert!(!err(429, "TooManyRequests").is_not_found());
        let mut b = err(404, "Request_ResourceNotFound");
        b.kind = GraphErrorKind::Budget;
        assert!(!b.is_not_found());
    }

    #[test]
    fn forbidden_names_the_documented_permission_and_ids() {
        let mut e = GraphError::from_response(
            "PATCH",
            "/identity/conditionalAccess/policies/abc",
            403,
            Some(
                &json!({"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation."}}),
            ),
            Some("rid-9".into()),
            Some("cid-9".into()),
        );
        e = e.with_operation(Some("exclude app from policy 'MFA'"));
        let s = e.to_string();
        assert!(s.starts_with("exclude app from policy 'MFA' (PATCH /identity/conditionalAccess/policies/abc) failed: HTTP 403 Authorization_RequestDenied: Insufficient privileges"), "{s}");
        assert!(s.contains("request-id rid-9"), "{s}");
        assert!(s.contains("Policy.ReadWrite.ConditionalAccess"), "{s}");
        assert_eq!(err(404, "x").request_id.as_deref(), Some("rid-1"));
    }

    #[test]
    fn empty_code_and_missing_body_are_tolerated() {
        let e = GraphError::from_response("GET", "/x", 503, None, None, None);
        assert_eq!(e.code, None);
        assert!(e.to_string().contains("HTTP 503"));
        let e = GraphError::from_response(
            "GET",
            "/x",
            500,
            Some(&json!({"error":{"code":"","message":"boom"}})),
            None,
            None,
        );
        assert_eq!(e.code, None);
        assert_eq!(e.message, "boom");
    }
}
