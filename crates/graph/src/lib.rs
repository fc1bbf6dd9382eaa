//! entractl's Microsoft Graph client: credentials, transport, the retry/throttle/consistency
//! policy, paging and `$batch`; the batching [`Loader`]; and the typed [`resource`] layer, the
//! one home of what entractl knows about each Entra object in Graph.
//!
//! ```no_run
//! # async fn demo(env: std::collections::BTreeMap<String, String>) -> Result<(), Box<dyn std::error::Error>> {
//! use entractl_graph::*;
//! let cfg = GraphConfig::for_cloud(Cloud::Public, "contoso.onmicrosoft.com");
//! let creds = credential_from_env(&env, None, &cfg, &AuthOptions::default())?;
//! let client = GraphClient::new(cfg, creds)?;
//! let apps = client
//!     .list_all(GraphRequest::get("/applications").query("$filter", "tags/any(t:t eq 'kandji-passport')").select(&["id", "appId"]).top(999))
//!     .await?;
//! # let _ = apps; Ok(()) }
//! ```
//!
//! The library reads no environment variables and does no terminal I/O: the binary passes an
//! environment snapshot to [`credential_from_env`] and receives progress through
//! [`GraphConfig::on_wait`] and [`AuthOptions::on_device_code`].

mod adaptive;
mod auth;
mod batch;
mod client;
mod config;
mod error;
mod exchange;
mod loader;
mod paging;
mod permissions;
mod request;
pub mod resource;
mod retry;
mod secret;
pub mod signin;
mod transport;

#[cfg(test)]
mod client_tests;
#[cfg(any(test, feature = "testutil"))]
pub mod testutil;

pub use adaptive::{Admission, Gate, HIGH_WATER, LIMIT_PERCENTAGE, Signal, Window};
pub use auth::{
    AuthError, AuthMethod, AuthOptions, AzureCliCredential, BoxFuture, CachedTokenSource,
    CertificateCredential, ClientSecretCredential, DeviceCodeCallback, DeviceCodeCredential,
    DeviceCodePrompt, GithubActionsCredential, StaticToken, TokenSource,
    WorkloadIdentityCredential, credential_from_env, load_certificate_pem,
};
pub use client::GraphClient;
pub use config::{Cloud, ConfigError, Deadline, GraphConfig, OnWait, is_loopback_host};
pub use error::{GraphError, GraphErrorDetails, GraphErrorKind};
pub use loader::{Load, LoadStats, Loader, PageHook, Stalled};
pub use permissions::permission_for;
pub use request::{GraphRequest, GraphResponse, MAX_BATCH, RetryRule, RuleBackoff};
pub use retry::{WaitEvent, WaitReason, backoff, parse_retry_after};
pub use secret::{AccessToken, Claims, MissingPermissions, Secret};
pub use transport::build_http_client;

/// Re-exported so callers can name methods and headers without depending on reqwest.
pub use reqwest::{Method, header::HeaderMap};
