//! The identity platform token endpoint, through the `oauth2` crate over our reqwest client.

use std::time::{Duration, SystemTime};

use oauth2::basic::{BasicClient, BasicErrorResponse, BasicTokenResponse};
use oauth2::{
    AuthType, ClientId, ClientSecret, DeviceAuthorizationUrl, ExtraDeviceAuthorizationFields,
    HttpRequest, HttpResponse, RequestTokenError, Scope, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use url::Url;

use super::types::{AuthError, DeviceCodeCallback, DeviceCodePrompt};
use crate::secret::{AccessToken, Secret};

/// Transport failure of the adapter (never carries a body).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct HttpFailure(String);

/// The ~20-line `AsyncHttpClient` adapter: oauth2's `http::Request` over reqwest 0.13.
pub(crate) async fn send(
    client: reqwest::Client,
    req: HttpRequest,
) -> Result<HttpResponse, HttpFailure> {
    let (parts, body) = req.into_parts();
    let resp = client
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await
        .map_err(|e| HttpFailure(crate::transport::describe(&e)))?;
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| HttpFailure(e.without_url().to_string()))?;
    let mut out = oauth2::http::Response::builder()
        .status(status)
        .body(bytes.to_vec())
        .map_err(|e| HttpFailure(e.to_string()))?;
    *out.headers_mut() = headers;
    Ok(out)
}

/// How the client proves itself at the token endpoint.
pub(crate) enum ClientAuth {
    Secret(Secret),
    Assertion(Secret),
}

/// Extracts `AADSTS…` codes from an error description.
fn aadsts_codes(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("AADSTS") {
        let digits: String = rest[i + 6..]
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        if !digits.is_empty() {
            let code = format!("AADSTS{digits}");
            if !out.contains(&code) {
                out.push(code);
            }
        }
        rest = &rest[i + 6..];
    }
    out
}

/// Advice for the AADSTS codes users hit most (graph-api.md §10).
fn hint_for(codes: &[String], error: &str) -> Option<String> {
    let h = codes.iter().find_map(|c| match c.as_str() {
        "AADSTS7000215" | "AADSTS7000222" => Some("the client secret is wrong or expired: create a new one (App registrations → Certificates & secrets) and give entractl the new value"),
        "AADSTS700016" => Some("the client id is not known in this tenant: check AZURE_CLIENT_ID, the tenant and the cloud"),
        "AADSTS90002" => Some("the tenant does not exist in this cloud: check the tenant id or domain and the cloud"),
        "AADSTS70011" => Some("the scope is invalid: app-only tokens need `https://<graph host>/.default`"),
        "AADSTS700027" | "AADSTS700024" => Some("the client assertion was not accepted: check the certificate is uploaded to the app registration and the clock is right"),
        "AADSTS70021" | "AADSTS700213" | "AADSTS700211" => Some("no federated identity credential on the app matches this token's issuer/subject/audience: add one (audience api://AzureADTokenExchange)"),
        "AADSTS7000218" => Some("device code needs `Allow public client flows` (isFallbackPublicClient) on the app registration"),
        _ => None,
    });
    h.map(str::to_string).or_else(|| {
        (error == "invalid_client").then(|| "the identity platform did not accept the client credential: check AZURE_CLIENT_ID and the secret/certificate".to_string())
    })
}

fn map_error<RE: std::error::Error + 'static, T: oauth2::ErrorResponse + 'static>(
    source_name: &str,
    endpoint: &Url,
    err: RequestTokenError<RE, T>,
    describe: impl Fn(&T) -> (String, Option<String>),
    scrub: &[&Secret],
) -> AuthError {
    match err {
        RequestTokenError::ServerResponse(r) => {
            let (code, desc) = describe(&r);
            let mut text = match desc {
                Some(d) => format!("{code}: {d}"),
                None => code.clone(),
            };
            for s in scrub {
                text = s.scrub(&text);
            }
            // Keep the first line: Microsoft appends trace and correlation ids on later lines.
            let codes = aadsts_codes(&text);
            AuthError::Rejected {
                source_name: source_name.to_string(),
                endpoint: endpoint.to_string(),
                hint: hint_for(&codes, &code),
                error: text.lines().next().unwrap_or("").to_string(),
                codes,
            }
        }
        RequestTokenError::Request(e) => AuthError::Transport {
            source_name: source_name.to_string(),
            endpoint: endpoint.to_string(),
            reason: e.to_string(),
        },
        RequestTokenError::Parse(e, _body) => AuthError::Transport {
            source_name: source_name.to_string(),
            endpoint: endpoint.to_string(),
            // The body is dropped on purpose: it may hold a token.
            reason: format!("the response is not a token response (at {})", e.path()),
        },
        RequestTokenError::Other(o) => AuthError::Transport {
            source_name: source_name.to_string(),
            endpoint: endpoint.to_string(),
            reason: o,
        },
    }
}

fn to_access_token(resp: &BasicTokenResponse) -> AccessToken {
    let expires = resp.expires_in().map(|d| SystemTime::now() + d);
    AccessToken::new(resp.access_token().secret().clone(), expires)
}

/// Client credentials grant (secret or assertion) for `scope`.
pub(crate) async fn client_credentials(
    http: &reqwest::Client,
    source_name: &str,
    token_url: &Url,
    client_id: &str,
    auth: ClientAuth,
    scope: &str,
) -> Result<AccessToken, AuthError> {
    tracing::debug!(credential = source_name, endpoint = %token_url, "requesting token (client credentials)");
    let mut client = BasicClient::new(ClientId::new(client_id.to_string()))
        .set_token_uri(TokenUrl::from_url(token_url.clone()))
        .set_auth_type(AuthType::RequestBody);
    if let ClientAuth::Secret(s) = &auth {
        client = client.set_client_secret(ClientSecret::new(s.expose().to_string()));
    }
    let mut req = client
        .exchange_client_credentials()
        .add_scope(Scope::new(scope.to_string()));
    if let ClientAuth::Assertion(a) = &auth {
        req = req
            .add_extra_param(
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            )
            .add_extra_param("client_assertion", a.expose());
    }
    let h = http.clone();
    let call = move |r: HttpRequest| send(h.clone(), r);
    let scrub: Vec<&Secret> = match &auth {
        ClientAuth::Secret(s) | ClientAuth::Assertion(s) => vec![s],
    };
    match req.request_async(&call).await {
        Ok(resp) => Ok(to_access_token(&resp)),
        Err(e) => Err(map_error(
            source_name,
            token_url,
            e,
            |r: &BasicErrorResponse| (r.error().to_string(), r.error_description().cloned()),
            &scrub,
        )),
    }
}

/// Sleeps between device code polls; always yields (a server announcing `interval: 0` together with
/// failing requests must not spin the runtime).
async fn poll_sleep(d: Duration) {
    tokio::time::sleep(d.max(Duration::from_millis(10))).await;
}

/// Microsoft's extra device authorization field: the ready-made `message`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct MsDeviceFields {
    #[serde(default)]
    message: Option<String>,
}
impl ExtraDeviceAuthorizationFields for MsDeviceFields {}

/// Device code flow: shows the prompt through `prompt`, then polls at the server's interval
/// (`authorization_pending` and `slow_down` handled; `expired_token`, `authorization_declined`,
/// `access_denied` end it).
pub(crate) async fn device_code(
    http: &reqwest::Client,
    device_url: &Url,
    token_url: &Url,
    client_id: &str,
    scope: &str,
    prompt: &DeviceCodeCallback,
) -> Result<AccessToken, AuthError> {
    let source_name = "device code sign-in";
    let client = BasicClient::new(ClientId::new(client_id.to_string()))
        .set_device_authorization_url(DeviceAuthorizationUrl::from_url(device_url.clone()))
        .set_token_uri(TokenUrl::from_url(token_url.clone()))
        .set_auth_type(AuthType::RequestBody);
    let h = http.clone();
    let call = move |r: HttpRequest| send(h.clone(), r);
    let details: oauth2::DeviceAuthorizationResponse<MsDeviceFields> = client
        .exchange_device_code()
        .add_scope(Scope::new(scope.to_string()))
        .request_async(&call)
        .await
        .map_err(|e| {
            map_error(
                source_name,
                device_url,
                e,
                |r: &BasicErrorResponse| (r.error().to_string(), r.error_description().cloned()),
                &[],
            )
        })?;
    let user_code = details.user_code().secret().clone();
    let uri = details.verification_uri().to_string();
    let expires_in = details.expires_in();
    let message = details
        .extra_fields()
        .message
        .clone()
        .unwrap_or_else(|| format!("To sign in, use a web browser to open the page {uri} and enter the code {user_code} to authenticate."));
    prompt(&DeviceCodePrompt {
        message,
        user_code,
        verification_uri: uri,
        expires_in,
    });
    let result = client
        .exchange_device_access_token(&details)
        .set_max_backoff_interval(Duration::from_secs(10))
        .request_async(&call, poll_sleep, Some(expires_in))
        .await;
    match result {
        Ok(resp) => Ok(to_access_token(&resp)),
        Err(RequestTokenError::ServerResponse(r)) => {
            let code = r.error().to_string();
            let text = match code.as_str() {
                "expired_token" => "the code expired before the sign-in was completed: run the command again and sign in within the time shown".to_string(),
                "authorization_declined" | "access_denied" => "the sign-in was declined: run again and approve it".to_string(),
                "bad_verification_code" => "the identity platform did not recognise the device code: run again".to_string(),
                other => format!(
                    "{other}: {}",
                    r.error_description().map(String::as_str).unwrap_or("no description")
                ),
            };
            Err(AuthError::DeviceCode(text))
        }
        Err(e) => Err(map_error(
            source_name,
            token_url,
            e,
            |r: &oauth2::DeviceCodeErrorResponse| {
                (r.error().to_string(), r.error_description().cloned())
            },
            &[],
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aadsts_codes_are_extracted_and_hinted() {
        let c = aadsts_codes(
            "AADSTS7000215: Invalid client secret provided. AADSTS7000215 again; AADSTS90002: x",
        );
        assert_eq!(
            c,
            vec!["AADSTS7000215".to_string(), "AADSTS90002".to_string()]
        );
        assert!(
            hint_for(&c, "invalid_client")
                .unwrap()
                .contains("the client secret is wrong or expired")
        );
        assert!(hint_for(&[], "invalid_client").is_some());
        assert!(hint_for(&[], "invalid_grant").is_none());
    }
}
