//! Token-endpoint error bodies in the Microsoft identity platform's exact shape.
//!
//! Source: entra-docs `identity-platform/reference-error-codes.md` ("Handling error codes in your
//! application"): `{"error", "error_description", "error_codes", "timestamp", "trace_id",
//! "correlation_id", "error_uri"}`, where `error_description` starts with `AADSTS<code>: ` and ends with
//! ` Trace ID: … Correlation ID: … Timestamp: …`. `invalid_client` errors are answered with HTTP 401,
//! every other token error with HTTP 400 (as Entra does). MFA and conditional-access failures carry
//! `suberror` (`basic_action` / `message_only`) and, for 50076, a `claims` challenge, as real responses do.
//!
//! Messages are those Entra returns today (taken from the error reference and from real responses quoted
//! in public issue threads); they are for humans only — clients must branch on `error` and `error_codes`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// The `error` strings of RFC 6749 §5.2 / RFC 8628 §3.5 that the emulator uses.
pub mod kind {
    /// A missing or malformed parameter, or an unknown tenant.
    pub const INVALID_REQUEST: &str = "invalid_request";
    /// Client authentication failed (HTTP 401).
    pub const INVALID_CLIENT: &str = "invalid_client";
    /// The user's credentials, consent or sign-in policy failed.
    pub const INVALID_GRANT: &str = "invalid_grant";
    /// The client is not known in the tenant.
    pub const UNAUTHORIZED_CLIENT: &str = "unauthorized_client";
    /// The grant type is not supported.
    pub const UNSUPPORTED_GRANT_TYPE: &str = "unsupported_grant_type";
    /// The resource named by a scope does not exist in the tenant.
    pub const INVALID_RESOURCE: &str = "invalid_resource";
    /// The scope is malformed or not allowed for the flow.
    pub const INVALID_SCOPE: &str = "invalid_scope";
    /// Device code flow: the user has not approved yet.
    pub const AUTHORIZATION_PENDING: &str = "authorization_pending";
    /// Device code flow: the client polls faster than `interval`.
    pub const SLOW_DOWN: &str = "slow_down";
    /// Device code flow: the user declined.
    pub const AUTHORIZATION_DECLINED: &str = "authorization_declined";
    /// Device code flow: the device code is unknown.
    pub const BAD_VERIFICATION_CODE: &str = "bad_verification_code";
    /// Device code flow: the device code expired.
    pub const EXPIRED_TOKEN: &str = "expired_token";
}

/// Well-known Microsoft Graph application id (the resource every scope here refers to).
const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

/// One identity-platform error, before the per-request ids and timestamp are attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenError {
    /// HTTP status (401 for `invalid_client`, else 400).
    pub status: StatusCode,
    /// The OAuth `error` string.
    pub error: &'static str,
    /// The AADSTS code (the number only).
    pub code: u32,
    /// The message after `AADSTS<code>: ` (without trace/correlation/timestamp suffix).
    pub message: String,
    /// `suberror` (e.g. `basic_action` for MFA, `message_only` for a block).
    pub suberror: Option<&'static str>,
    /// `claims` challenge (a JSON string), sent with 50076.
    pub claims: Option<String>,
}

/// The per-request values Entra stamps on every error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorContext {
    /// `trace_id` (a GUID).
    pub trace_id: String,
    /// `correlation_id`: the request's `client-request-id` header when it sent one, else a GUID.
    pub correlation_id: String,
    /// When the error happened.
    pub now: chrono::DateTime<chrono::Utc>,
    /// Host part of `error_uri` (the emulator's base URL, so nothing points at the internet).
    pub error_uri_base: String,
}

impl TokenError {
    /// An error with the status derived from `error` (401 for `invalid_client`, 400 otherwise).
    pub fn new(error: &'static str, code: u32, message: impl Into<String>) -> Self {
        let status = if error == kind::INVALID_CLIENT {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::BAD_REQUEST
        };
        TokenError {
            status,
            error,
            code,
            message: message.into(),
            suberror: None,
            claims: None,
        }
    }

    /// The full JSON body for this error.
    pub fn body(&self, ctx: &ErrorContext) -> Value {
        let timestamp = ctx.now.format("%Y-%m-%d %H:%M:%SZ").to_string();
        let description = format!(
            "AADSTS{}: {} Trace ID: {} Correlation ID: {} Timestamp: {}",
            self.code, self.message, ctx.trace_id, ctx.correlation_id, timestamp
        );
        let mut body = Map::new();
        body.insert("error".into(), json!(self.error));
        body.insert("error_description".into(), json!(description));
        body.insert("error_codes".into(), json!([self.code]));
        body.insert("timestamp".into(), json!(timestamp));
        body.insert("trace_id".into(), json!(ctx.trace_id));
        body.insert("correlation_id".into(), json!(ctx.correlation_id));
        body.insert(
            "error_uri".into(),
            json!(format!(
                "{}/error?code={}",
                ctx.error_uri_base.trim_end_matches('/'),
                self.code
            )),
        );
        if let Some(suberror) = self.suberror {
            body.insert("suberror".into(), json!(suberror));
        }
        if let Some(claims) = &self.claims {
            body.insert("claims".into(), json!(claims));
        }
        Value::Object(body)
    }

    /// Build the HTTP response for this error.
    pub fn into_response_with(self, ctx: &ErrorContext) -> Response {
        let body = self.body(ctx);
        (
            self.status,
            [
                ("cache-control", "no-store, no-cache"),
                ("pragma", "no-cache"),
            ],
            axum::Json(body),
        )
            .into_response()
    }

    // ---- request / tenant -------------------------------------------------------------------

    /// AADSTS90002: the tenant in the path is neither a known tenant id nor a verified domain.
    pub fn tenant_not_found(tenant: &str) -> Self {
        Self::new(
            kind::INVALID_REQUEST,
            90002,
            format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are \
                 signing into the correct cloud. Check with your subscription administrator, this may \
                 happen if there are no active subscriptions for the tenant."
            ),
        )
    }

    /// AADSTS900144: a required body parameter is missing.
    pub fn missing_parameter(name: &str) -> Self {
        Self::new(
            kind::INVALID_REQUEST,
            900144,
            format!("The request body must contain the following parameter: '{name}'."),
        )
    }

    /// AADSTS70003: unknown `grant_type`.
    pub fn unsupported_grant_type(grant_type: &str) -> Self {
        Self::new(
            kind::UNSUPPORTED_GRANT_TYPE,
            70003,
            format!("The app requested an unsupported grant type '{grant_type}'."),
        )
    }

    /// AADSTS70011: the scope is not valid.
    pub fn invalid_scope(scope: &str) -> Self {
        Self::new(
            kind::INVALID_SCOPE,
            70011,
            format!(
                "The provided value for the input parameter 'scope' is not valid. The scope '{scope}' \
                 is not valid."
            ),
        )
    }

    /// AADSTS1002012: client credentials need `{resource}/.default`.
    pub fn client_credentials_scope(scope: &str) -> Self {
        Self::new(
            kind::INVALID_SCOPE,
            1002012,
            format!(
                "The provided value for scope {scope} is not valid. Client credential flows must have a \
                 scope value with /.default suffixed to the resource identifier (application ID URI)."
            ),
        )
    }

    /// AADSTS28002: a scope naming a resource the emulator does not serve.
    pub fn unknown_resource_scope(scope: &str) -> Self {
        Self::new(
            kind::INVALID_SCOPE,
            28002,
            format!(
                "Provided value for the input parameter scope '{scope}' is not valid when requesting an \
                 access token. Please specify a valid scope."
            ),
        )
    }

    /// AADSTS500011: a scope names a resource that is not Microsoft Graph.
    pub fn resource_not_found(resource: &str, tenant_name: &str) -> Self {
        Self::new(
            kind::INVALID_RESOURCE,
            500011,
            format!(
                "The resource principal named {resource} was not found in the tenant named \
                 {tenant_name}. This can happen if the application has not been installed by the \
                 administrator of the tenant or consented to by any user in the tenant. You might have \
                 sent your authentication request to the wrong tenant."
            ),
        )
    }

    /// AADSTS7000229: the client has no service principal in the tenant (client credentials).
    pub fn missing_service_principal(client_id: &str, tenant_id: &str) -> Self {
        Self::new(
            kind::INVALID_CLIENT,
            7000229,
            format!(
                "The client application {client_id} is missing service principal in the tenant \
                 {tenant_id}. See instructions here: https://go.microsoft.com/fwlink/?linkid=2225119"
            ),
        )
    }

    // ---- user sign-in (ROPC, device code) ---------------------------------------------------

    /// AADSTS50034: the user does not exist in the tenant.
    pub fn user_not_found(tenant_name: &str) -> Self {
        Self::new(
            kind::INVALID_GRANT,
            50034,
            format!(
                "The user account {{EmailHidden}} does not exist in the {tenant_name} directory. To sign \
                 into this application, the account must be added to the directory."
            ),
        )
    }

    /// AADSTS50126: wrong password.
    pub fn invalid_username_or_password() -> Self {
        Self::new(
            kind::INVALID_GRANT,
            50126,
            "Error validating credentials due to invalid username or password.",
        )
    }

    /// AADSTS50126 for an account the password grant cannot sign in (federated domain, guest, no
    /// password, spaces around the password): no code is documented for these.
    pub fn ropc_not_supported(reason: &str) -> Self {
        Self::new(
            kind::INVALID_GRANT,
            50126,
            format!(
                "Error validating credentials due to invalid username or password. The resource owner password credentials grant does not support this account: {reason}."
            ),
        )
    }

    /// AADSTS9001023: the password grant on `/common` or `/consumers`.
    pub fn grant_not_supported_on_common() -> Self {
        Self::new(
            kind::INVALID_REQUEST,
            9001023,
            "The grant type is not supported over the /common or /consumers endpoints. Please use the /organizations or tenant-specific endpoint.",
        )
    }

    /// AADSTS50057: the account is disabled.
    pub fn user_disabled() -> Self {
        Self::new(kind::INVALID_GRANT, 50057, "The user account is disabled.")
    }

    /// AADSTS50105: assignment required and the user is not assigned.
    pub fn user_not_assigned(app_name: &str, client_id: &str, upn: &str) -> Self {
        Self::new(
            kind::INVALID_GRANT,
            50105,
            format!(
                "Your administrator has configured the application {app_name} ('{client_id}') to block \
                 users unless they are specifically granted ('assigned') access to the application. The \
                 signed in user '{upn}' is blocked because they are not a direct member of a group with \
                 access, nor had access directly assigned by an administrator. Please contact your \
                 administrator to assign access to this application."
            ),
        )
    }

    /// AADSTS65001: no consent for the requested scopes.
    pub fn consent_required(client_id: &str, app_name: &str) -> Self {
        let mut e = Self::new(
            kind::INVALID_GRANT,
            65001,
            format!(
                "The user or administrator has not consented to use the application with ID \
                 '{client_id}' named '{app_name}'. Send an interactive authorization request for this \
                 user and resource."
            ),
        );
        e.suberror = Some("consent_required");
        e
    }

    /// AADSTS53003: blocked by a conditional access policy.
    pub fn blocked_by_conditional_access() -> Self {
        let mut e = Self::new(
            kind::INVALID_GRANT,
            53003,
            "Access has been blocked by Conditional Access policies. The access policy does not allow \
             token issuance.",
        );
        e.suberror = Some("message_only");
        e
    }

    /// AADSTS50076: MFA required. `policy_ids` are the conditional access policies that require it
    /// (empty for security defaults / per-user MFA); they go into the `claims` challenge as Entra does.
    pub fn mfa_required(policy_ids: &[String]) -> Self {
        let mut e = Self::new(
            kind::INVALID_GRANT,
            50076,
            format!(
                "Due to a configuration change made by your administrator, or because you moved to a \
                 new location, you must use multi-factor authentication to access '{GRAPH_APP_ID}'."
            ),
        );
        e.suberror = Some("basic_action");
        let claims = if policy_ids.is_empty() {
            json!({"access_token": {"polids": {"essential": true, "values": []}}})
        } else {
            json!({"access_token": {"capolids": {"essential": true, "values": policy_ids}}})
        };
        e.claims = Some(claims.to_string());
        e
    }

    // ---- device code -------------------------------------------------------------------------

    /// AADSTS70016: device code not approved yet.
    pub fn authorization_pending() -> Self {
        Self::new(
            kind::AUTHORIZATION_PENDING,
            70016,
            "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
        )
    }

    /// `slow_down` (RFC 8628 §3.5): polled faster than `interval`. Entra has no distinct AADSTS code
    /// for it; the emulator reuses 70016 (see docs/emulator.md).
    pub fn slow_down() -> Self {
        Self::new(
            kind::SLOW_DOWN,
            70016,
            "OAuth 2.0 device flow error. Authorization is pending. Polling too frequently: wait at \
             least the interval returned by /devicecode between requests.",
        )
    }

    /// AADSTS70018: unknown device code.
    pub fn bad_verification_code() -> Self {
        Self::new(
            kind::BAD_VERIFICATION_CODE,
            70018,
            "Invalid verification code due to User typing in wrong user code for device code flow.",
        )
    }

    /// AADSTS70019: the device code expired.
    pub fn device_code_expired() -> Self {
        Self::new(kind::EXPIRED_TOKEN, 70019, "Verification code expired.")
    }

    /// AADSTS70000: the device code was already redeemed.
    pub fn device_code_redeemed() -> Self {
        Self::new(
            kind::INVALID_GRANT,
            70000,
            "The provided value for the 'device_code' is not valid. It has already been redeemed.",
        )
    }

    /// AADSTS9002313: the refresh token is unknown, was already used, or belongs to another client.
    pub fn invalid_refresh_token() -> Self {
        Self::new(
            kind::INVALID_GRANT,
            9002313,
            "Invalid request. Request is malformed or invalid: the refresh token is not valid.",
        )
    }

    /// AADSTS70000: the user declined the device code request (RFC 8628 `authorization_declined`).
    pub fn authorization_declined() -> Self {
        Self::new(
            kind::AUTHORIZATION_DECLINED,
            70000,
            "The provided value for the 'device_code' is not valid: the user declined the authorization \
             request.",
        )
    }
}

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: AADSTS{}: {}", self.error, self.code, self.message)
    }
}

impl std::error::Error for TokenError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> ErrorContext {
        ErrorContext {
            trace_id: "0000aaaa-11bb-cccc-dd33-eeeeee333333".into(),
            correlation_id: "aaaa0000-bb11-2222-33cc-444444dddddd".into(),
            now: chrono::DateTime::from_timestamp(1_452_304_932, 0).unwrap(),
            error_uri_base: "http://127.0.0.1:1/".into(),
        }
    }

    #[test]
    fn body_has_the_documented_shape() {
        let body =
            TokenError::invalid_scope("https://example.contoso.com/activity.read").body(&ctx());
        let keys: Vec<&str> = body
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "error",
                "error_description",
                "error_codes",
                "timestamp",
                "trace_id",
                "correlation_id",
                "error_uri"
            ]
        );
        assert_eq!(body["error"], "invalid_scope");
        assert_eq!(body["error_codes"], json!([70011]));
        assert_eq!(body["timestamp"], "2016-01-09 02:02:12Z");
        let d = body["error_description"].as_str().unwrap();
        assert!(d.starts_with("AADSTS70011: "), "{d}");
        assert!(d.ends_with(
            "Trace ID: 0000aaaa-11bb-cccc-dd33-eeeeee333333 Correlation ID: \
             aaaa0000-bb11-2222-33cc-444444dddddd Timestamp: 2016-01-09 02:02:12Z"
        ));
        assert_eq!(body["error_uri"], "http://127.0.0.1:1/error?code=70011");
    }

    #[test]
    fn invalid_client_is_401_and_others_400() {
        assert_eq!(
            TokenError::credential_required().status,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            TokenError::invalid_username_or_password().status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            TokenError::unknown_client("x", "t").status,
            StatusCode::BAD_REQUEST
        );
    }

    #[test]
    fn mfa_error_carries_suberror_and_claims() {
        let body = TokenError::mfa_required(&["p1".to_string()]).body(&ctx());
        assert_eq!(body["suberror"], "basic_action");
        let claims: Value = serde_json::from_str(body["claims"].as_str().unwrap()).unwrap();
        assert_eq!(claims["access_token"]["capolids"]["values"], json!(["p1"]));
    }
}
