//! The credential vocabulary: the `TokenSource` trait every credential implements, the
//! methods, their options and errors, and the token cache.

use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::Mutex;

use crate::config::ConfigError;
use crate::secret::AccessToken;

/// A boxed, `Send` future (the trait stays object-safe without extra crates).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Something that produces access tokens for Microsoft Graph.
pub trait TokenSource: Send + Sync {
    /// A valid token (cached ones are reused until 5 minutes before expiry).
    fn token(&self) -> BoxFuture<'_, Result<AccessToken, AuthError>>;
    /// What this source is, for messages (never contains a secret).
    fn describe(&self) -> String;
    /// Forget a cached token (Graph rejected it with 401); the next `token()` gets a fresh one.
    fn invalidate(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}

/// The credential kinds, in the order they are tried when none is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthMethod {
    /// `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`.
    ClientSecret,
    /// `AZURE_CLIENT_CERTIFICATE_PATH` (+ optional `AZURE_CLIENT_CERTIFICATE_PASSWORD`).
    Certificate,
    /// `AZURE_FEDERATED_TOKEN_FILE` (Kubernetes workload identity and similar).
    WorkloadIdentity,
    /// `ACTIONS_ID_TOKEN_REQUEST_URL` + `ACTIONS_ID_TOKEN_REQUEST_TOKEN` (GitHub Actions OIDC).
    GithubActions,
    /// A signed-in `az` CLI.
    AzureCli,
    /// Interactive device code sign-in (only when chosen explicitly).
    DeviceCode,
}

impl AuthMethod {
    /// Every method, in the order tried (device code is never tried unless chosen).
    pub const ALL: [AuthMethod; 6] = [
        AuthMethod::ClientSecret,
        AuthMethod::Certificate,
        AuthMethod::WorkloadIdentity,
        AuthMethod::GithubActions,
        AuthMethod::AzureCli,
        AuthMethod::DeviceCode,
    ];

    /// The `--auth` name.
    pub fn name(self) -> &'static str {
        match self {
            AuthMethod::ClientSecret => "client-secret",
            AuthMethod::Certificate => "certificate",
            AuthMethod::WorkloadIdentity => "workload-identity",
            AuthMethod::GithubActions => "github-actions",
            AuthMethod::AzureCli => "azure-cli",
            AuthMethod::DeviceCode => "device-code",
        }
    }

    /// What the method needs, for error messages.
    pub fn needs(self) -> &'static str {
        match self {
            AuthMethod::ClientSecret => {
                "AZURE_TENANT_ID (or --tenant), AZURE_CLIENT_ID, AZURE_CLIENT_SECRET"
            }
            AuthMethod::Certificate => {
                "AZURE_TENANT_ID (or --tenant), AZURE_CLIENT_ID, AZURE_CLIENT_CERTIFICATE_PATH (PEM with key and certificate)"
            }
            AuthMethod::WorkloadIdentity => {
                "AZURE_TENANT_ID (or --tenant), AZURE_CLIENT_ID, AZURE_FEDERATED_TOKEN_FILE"
            }
            AuthMethod::GithubActions => {
                "AZURE_TENANT_ID (or --tenant), AZURE_CLIENT_ID, ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN \
                 (a workflow with `permissions: id-token: write`)"
            }
            AuthMethod::AzureCli => "the `az` program on PATH, signed in with `az login`",
            AuthMethod::DeviceCode => {
                "`--auth device-code` and a terminal to show the sign-in code"
            }
        }
    }
}

impl fmt::Display for AuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for AuthMethod {
    type Err = AuthError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AuthMethod::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| AuthError::UnknownMethod(s.to_string()))
    }
}

/// Why no token could be obtained. Never contains a secret.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AuthError {
    /// `--auth` names no known method.
    #[error(
        "unknown authentication method `{0}`: use one of client-secret, certificate, workload-identity, github-actions, azure-cli, device-code"
    )]
    UnknownMethod(String),
    /// No source is configured.
    #[error("no Azure credential found. Tried, in order:\n{}\nSet the variables of one of them, or pass `--auth device-code` to sign in interactively.", tried.iter().map(|(m, why)| format!("  - {m}: {why} (needs {})", m.needs())).collect::<Vec<_>>().join("\n"))]
    NotConfigured {
        /// Each method tried and why it was not usable.
        tried: Vec<(AuthMethod, String)>,
    },
    /// The chosen method lacks settings.
    #[error("`--auth {method}` is missing {missing}: it needs {}", method.needs())]
    Incomplete {
        /// The method.
        method: AuthMethod,
        /// What is missing.
        missing: String,
    },
    /// Endpoint or tenant configuration problem.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The certificate file cannot be used.
    #[error("certificate {path}: {reason}")]
    Certificate {
        /// The file.
        path: PathBuf,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// The federated token file cannot be read.
    #[error("federated token file {path} (AZURE_FEDERATED_TOKEN_FILE): {reason}")]
    TokenFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The identity platform refused to issue a token.
    #[error(
        "{source_name}: the identity platform at {endpoint} refused the token request: {error}{}{}",
        code_text(codes),
        hint_text(hint)
    )]
    Rejected {
        /// The credential.
        source_name: String,
        /// The token endpoint.
        endpoint: String,
        /// OAuth `error` and `error_description` (secrets scrubbed).
        error: String,
        /// `AADSTS` codes found.
        codes: Vec<String>,
        /// What to do.
        hint: Option<String>,
    },
    /// The token endpoint could not be reached or answered with something unreadable.
    #[error(
        "{source_name}: no token from {endpoint}: {reason}. Check the network, the cloud and the identity platform URL"
    )]
    Transport {
        /// The credential.
        source_name: String,
        /// The endpoint.
        endpoint: String,
        /// What happened (never the response body).
        reason: String,
    },
    /// No token came within the run's overall time budget (`--timeout`).
    #[error(
        "{source_name}: no token within the overall time budget of {seconds} s: the identity platform did not answer in time"
    )]
    Deadline {
        /// The credential.
        source_name: String,
        /// The budget, in seconds.
        seconds: u64,
    },
    /// GitHub Actions did not hand out an OIDC token.
    #[error(
        "GitHub Actions OIDC token request failed: {0}. The workflow needs `permissions: id-token: write`"
    )]
    GithubOidc(String),
    /// The Azure CLI failed.
    #[error("Azure CLI: {0}")]
    AzureCli(String),
    /// The device code sign-in did not complete.
    #[error("device code sign-in: {0}")]
    DeviceCode(String),
}

fn code_text(codes: &[String]) -> String {
    if codes.is_empty() {
        String::new()
    } else {
        format!(" [{}]", codes.join(", "))
    }
}

fn hint_text(hint: &Option<String>) -> String {
    hint.as_ref()
        .map(|h| format!(". Hint: {h}"))
        .unwrap_or_default()
}

/// What the user sees to complete a device code sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceCodePrompt {
    /// Microsoft's ready-made message ("To sign in, use a web browser to open … and enter the code …").
    pub message: String,
    /// The code to enter.
    pub user_code: String,
    /// Where to enter it.
    pub verification_uri: String,
    /// How long the code is valid.
    pub expires_in: Duration,
}

/// Receives the device code prompt (the binary prints it to stderr).
pub type DeviceCodeCallback = Arc<dyn Fn(&DeviceCodePrompt) + Send + Sync>;

/// Options for building credentials that are not environment variables.
#[derive(Clone)]
pub struct AuthOptions {
    /// Shows the device code prompt; required for `device-code`.
    pub on_device_code: Option<DeviceCodeCallback>,
    /// The `az` program; default: `az` searched on the snapshot's `PATH`.
    pub az_program: Option<PathBuf>,
    /// How long `az account get-access-token` may take.
    pub az_timeout: Duration,
    /// The HTTP client to use (default: one built from the config).
    pub http: Option<reqwest::Client>,
}

impl Default for AuthOptions {
    fn default() -> Self {
        AuthOptions {
            on_device_code: None,
            az_program: None,
            az_timeout: Duration::from_secs(60),
            http: None,
        }
    }
}

impl fmt::Debug for AuthOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthOptions")
            .field("on_device_code", &self.on_device_code.is_some())
            .field("az_program", &self.az_program)
            .field("az_timeout", &self.az_timeout)
            .finish()
    }
}

/// Caches the token of another source for the run and refreshes it 5 minutes before expiry.
/// One refresh at a time: concurrent callers wait for it.
pub struct CachedTokenSource {
    inner: Box<dyn TokenSource>,
    cached: Mutex<Option<AccessToken>>,
}

impl CachedTokenSource {
    /// Wraps a source.
    pub fn new(inner: Box<dyn TokenSource>) -> CachedTokenSource {
        CachedTokenSource {
            inner,
            cached: Mutex::new(None),
        }
    }
}

impl TokenSource for CachedTokenSource {
    fn token(&self) -> BoxFuture<'_, Result<AccessToken, AuthError>> {
        Box::pin(async move {
            let mut slot = self.cached.lock().await;
            if let Some(t) = slot.as_ref()
                && !t.needs_refresh(SystemTime::now())
            {
                return Ok(t.clone());
            }
            let fresh = self.inner.token().await?;
            tracing::debug!(credential = %self.inner.describe(), "token acquired");
            *slot = Some(fresh.clone());
            Ok(fresh)
        })
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn invalidate(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            *self.cached.lock().await = None;
        })
    }
}

/// A fixed token (tests, or a token obtained elsewhere).
pub struct StaticToken(pub AccessToken);

impl TokenSource for StaticToken {
    fn token(&self) -> BoxFuture<'_, Result<AccessToken, AuthError>> {
        let t = self.0.clone();
        Box::pin(async move { Ok(t) })
    }
    fn describe(&self) -> String {
        "a fixed access token".into()
    }
}
