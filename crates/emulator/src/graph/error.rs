//! Graph's error: HTTP status, `error.code`, `error.message`, and the body with `innerError`.

use serde_json::{Map, Value, json};

/// A Graph error: HTTP status, Graph error code and message (`{"error":{"code","message","innerError"}}`).
#[derive(Debug, Clone, PartialEq)]
pub struct GraphError {
    /// HTTP status.
    pub status: u16,
    /// `error.code`.
    pub code: String,
    /// `error.message`.
    pub message: String,
    /// `Retry-After` header value (seconds), for 429/503.
    pub retry_after: Option<String>,
    /// More headers of the answer (a 429's `Retry-After` and `x-ms-throttle-*`).
    pub headers: Vec<(String, String)>,
}

impl GraphError {
    /// Any error.
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        GraphError {
            status,
            code: code.to_string(),
            message: message.into(),
            retry_after: None,
            headers: Vec::new(),
        }
    }
    /// 404 Request_ResourceNotFound for an object id or key.
    pub fn not_found(id: &str) -> Self {
        Self::new(
            404,
            "Request_ResourceNotFound",
            format!(
                "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
            ),
        )
    }
    /// 400 Request_BadRequest.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "Request_BadRequest", message)
    }
    /// 400 Request_UnsupportedQuery.
    pub fn unsupported_query(message: impl Into<String>) -> Self {
        Self::new(400, "Request_UnsupportedQuery", message)
    }
    /// 403 Authorization_RequestDenied.
    pub fn denied() -> Self {
        Self::new(
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        )
    }
    /// 401 InvalidAuthenticationToken.
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(401, "InvalidAuthenticationToken", message)
    }
    /// 400 for a property Graph does not know on this type.
    pub fn unknown_property(prop: &str, odata_type: &str) -> Self {
        Self::bad_request(format!(
            "Property '{prop}' does not exist on type '{odata_type}'. Make sure to only use property names that are defined by the type or mark the type as open type."
        ))
    }
    /// 400 for a read-only property in a write body.
    pub fn read_only_property(prop: &str) -> Self {
        Self::bad_request(format!("Property '{prop}' is read-only and cannot be set."))
    }

    /// The JSON body, with `innerError` (date, request-id, client-request-id).
    pub fn body(&self, request_id: &str, client_request_id: &str) -> Value {
        let mut inner = Map::new();
        if self.status == 429 {
            inner.insert("code".into(), json!("429"));
        }
        inner.insert(
            "date".into(),
            json!(chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string()),
        );
        inner.insert("request-id".into(), json!(request_id));
        inner.insert("client-request-id".into(), json!(client_request_id));
        json!({"error": {"code": self.code, "message": self.message, "innerError": inner}})
    }
}
