//! A Graph request and response, from HTTP or from a `$batch`, and the verified caller.

use serde_json::Value;

use crate::graph::odata::GraphError;
use crate::identity::jwt::AccessClaims;

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
        headers.extend(e.headers.iter().cloned());
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
