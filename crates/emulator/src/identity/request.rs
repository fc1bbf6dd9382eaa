//! A token-endpoint request: the form body, the request context, the answer.

use std::time::Instant;

use axum::http::HeaderMap;
use serde_json::Value;

use crate::app::SharedState;
use crate::identity::errors::TokenError;

/// Parsed `application/x-www-form-urlencoded` body (first value of each name wins).
#[derive(Debug, Default, Clone)]
pub struct Form(Vec<(String, String)>);

impl Form {
    /// Parse a form body.
    pub fn parse(body: &[u8]) -> Self {
        Form(url::form_urlencoded::parse(body).into_owned().collect())
    }
    /// A parameter, `None` when absent or empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
    pub fn require(&self, name: &str) -> Result<&str, TokenError> {
        self.get(name)
            .ok_or_else(|| TokenError::missing_parameter(name))
    }
}

/// Everything a grant handler needs besides the form.
pub struct Request<'a> {
    /// Shared emulator state.
    pub state: &'a SharedState,
    /// The tenant segment of the path, as sent.
    pub tenant_segment: &'a str,
    /// Request headers.
    pub headers: &'a HeaderMap,
    /// Parsed body.
    pub form: &'a Form,
    /// Monotonic now (replication visibility, device code timing).
    pub now: Instant,
    /// Wall-clock now, seconds since the epoch.
    pub epoch: i64,
}

/// A successful token response (JSON body) and the tenant it was for.
pub struct Issued {
    /// The response body.
    pub body: Value,
    /// The tenant id.
    pub tenant_id: String,
}
