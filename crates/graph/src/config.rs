//! Clouds, endpoints and client limits.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::retry::WaitEvent;

/// A Microsoft cloud: each has its own login host, Graph host and `.default` scope.
///
/// GCC (moderate) uses the public endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Cloud {
    /// Global Azure (`login.microsoftonline.com`, `graph.microsoft.com`).
    #[default]
    Public,
    /// US Government L4 / GCC High (`login.microsoftonline.us`, `graph.microsoft.us`).
    UsGov,
    /// US Government L5 / DoD (`login.microsoftonline.us`, `dod-graph.microsoft.us`).
    UsGovDod,
    /// Microsoft Azure operated by 21Vianet (`login.chinacloudapi.cn`, `microsoftgraph.chinacloudapi.cn`).
    China,
}

impl Cloud {
    /// Every cloud, for help texts.
    pub const ALL: [Cloud; 4] = [Cloud::Public, Cloud::UsGov, Cloud::UsGovDod, Cloud::China];

    /// The identity platform host.
    pub fn login_host(self) -> &'static str {
        match self {
            Cloud::Public => "login.microsoftonline.com",
            Cloud::UsGov | Cloud::UsGovDod => "login.microsoftonline.us",
            Cloud::China => "login.chinacloudapi.cn",
        }
    }

    /// The Microsoft Graph host.
    pub fn graph_host(self) -> &'static str {
        match self {
            Cloud::Public => "graph.microsoft.com",
            Cloud::UsGov => "graph.microsoft.us",
            Cloud::UsGovDod => "dod-graph.microsoft.us",
            Cloud::China => "microsoftgraph.chinacloudapi.cn",
        }
    }

    /// The Graph resource identifier (`https://graph.microsoft.com`), as the Azure CLI wants it.
    pub fn graph_resource(self) -> String {
        format!("https://{}", self.graph_host())
    }

    /// The `.default` scope for app-only and CLI tokens (`https://graph.microsoft.com/.default`).
    pub fn default_scope(self) -> String {
        format!("https://{}/.default", self.graph_host())
    }

    /// The Graph root URL (no version segment).
    pub fn graph_url(self) -> Url {
        Url::parse(&format!("https://{}/", self.graph_host())).expect("static URL is valid")
    }

    /// The authority root URL (the tenant is appended per request).
    pub fn authority_url(self) -> Url {
        Url::parse(&format!("https://{}/", self.login_host())).expect("static URL is valid")
    }

    /// The name used on the command line and in the spec.
    pub fn name(self) -> &'static str {
        match self {
            Cloud::Public => "public",
            Cloud::UsGov => "usgov",
            Cloud::UsGovDod => "usgov-dod",
            Cloud::China => "china",
        }
    }
}

impl fmt::Display for Cloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Cloud {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "public" | "global" | "azurecloud" => Ok(Cloud::Public),
            "usgov" | "gcchigh" | "azureusgovernment" => Ok(Cloud::UsGov),
            "usgov-dod" | "dod" => Ok(Cloud::UsGovDod),
            "china" | "azurechinacloud" => Ok(Cloud::China),
            _ => Err(ConfigError::UnknownCloud(s.to_string())),
        }
    }
}

/// A problem with the client configuration (URLs, tenant, limits).
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// The cloud name is not one we know.
    #[error("unknown cloud `{0}`: use one of public, usgov, usgov-dod, china")]
    UnknownCloud(String),
    /// A URL does not parse.
    #[error(
        "{what} `{url}` is not a valid URL ({reason}): give an absolute URL such as https://graph.microsoft.com"
    )]
    InvalidUrl {
        what: &'static str,
        url: String,
        reason: String,
    },
    /// A URL uses plain HTTP to a non-loopback host, or another scheme.
    #[error(
        "{what} `{url}` must use https: plain http is only allowed for loopback addresses \
         (127.0.0.0/8, ::1, localhost), e.g. a local graph-emulator"
    )]
    InsecureUrl { what: &'static str, url: String },
    /// The tenant is empty or contains characters that cannot be part of a URL path segment.
    #[error(
        "tenant `{0}` is not usable: give the tenant id (a GUID) or a verified domain, e.g. contoso.onmicrosoft.com"
    )]
    InvalidTenant(String),
    /// `max_in_flight` is zero.
    #[error("max_in_flight must be at least 1")]
    ZeroInFlight,
}

/// Whether a host is a loopback address (127.0.0.0/8, ::1, localhost).
pub fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// Parses a URL and applies the rule "https, or http to a loopback address".
pub fn checked_url(what: &'static str, raw: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(raw).map_err(|e| ConfigError::InvalidUrl {
        what,
        url: raw.to_string(),
        reason: e.to_string(),
    })?;
    check_url_scheme(what, &url)?;
    Ok(url)
}

/// The rule "https, or http to a loopback address" on an already parsed URL.
pub fn check_url_scheme(what: &'static str, url: &Url) -> Result<(), ConfigError> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback_host(url) => Ok(()),
        _ => Err(ConfigError::InsecureUrl {
            what,
            url: url.to_string(),
        }),
    }
}

/// Makes a root URL end with `/` so that joining keeps its path.
fn with_trailing_slash(mut url: Url) -> Url {
    if !url.path().ends_with('/') {
        let p = format!("{}/", url.path());
        url.set_path(&p);
    }
    url.set_query(None);
    url.set_fragment(None);
    url
}

/// Default cap on one response body: 64 MiB (a `$batch` of 20 full pages of 999 users is well below).
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// Default cap on the pages of one list: 10,000 (10 million objects at `$top=999`).
pub const DEFAULT_MAX_PAGES: usize = 10_000;

/// Callback that receives every wait (throttling, back-off, pacing, replication delay).
pub type OnWait = Arc<dyn Fn(&WaitEvent) + Send + Sync>;

/// The end of an overall time budget for all of a run's Graph operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    /// When the budget runs out.
    pub at: std::time::Instant,
    /// The whole budget (for messages).
    pub total: Duration,
}

impl Deadline {
    /// Time left (zero once passed).
    pub fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(std::time::Instant::now())
    }
}

/// Everything a [`crate::GraphClient`] needs besides a credential.
#[derive(Clone)]
pub struct GraphConfig {
    /// The cloud (decides the default hosts and the token scope).
    pub cloud: Cloud,
    /// Tenant id or verified domain.
    pub tenant: String,
    /// Graph root, without version (`https://graph.microsoft.com/`).
    pub graph_url: Url,
    /// Authority root, without tenant (`https://login.microsoftonline.com/`).
    pub authority_url: Url,
    /// The scope requested for app-only and CLI tokens (`https://graph.microsoft.com/.default`).
    pub scope: String,
    /// How many HTTP requests (`$batch`es or requests sent alone) may be in flight at once, at
    /// most: below it, the adaptive window paces the client to Graph's limits (`adaptive.rs`).
    pub max_in_flight: usize,
    /// Combine independent requests into `$batch` requests (`send_all`). `false` (entractl's
    /// `--naive`, for benchmarks): every request is sent on its own, dependencies first.
    pub batching: bool,
    /// Time budget for one operation including all its retries and waits.
    pub operation_budget: Duration,
    /// Timeout for one HTTP exchange.
    pub request_timeout: Duration,
    /// First back-off step when Graph gives no `Retry-After` (doubles per attempt, with jitter).
    pub backoff_base: Duration,
    /// Largest single back-off step.
    pub backoff_cap: Duration,
    /// Minimum spacing of conditional-access calls (Graph allows 1 request/s per tenant there;
    /// the default keeps 50 ms of margin, so timer and network jitter do not make two calls
    /// land within one second).
    pub conditional_access_interval: Duration,
    /// Largest response body read (bytes); a larger answer is an error, so memory stays bounded.
    pub max_response_bytes: usize,
    /// Most pages one `list_all` follows (`@odata.nextLink`) before giving up.
    pub max_pages: usize,
    /// The `User-Agent` header.
    pub user_agent: String,
    /// Told about every wait so the binary can show what is being waited for.
    pub on_wait: Option<OnWait>,
    /// An overall budget: no operation retries, waits or runs past it.
    pub deadline: Option<Deadline>,
}

impl fmt::Debug for GraphConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GraphConfig")
            .field("cloud", &self.cloud)
            .field("tenant", &self.tenant)
            .field("graph_url", &self.graph_url.as_str())
            .field("authority_url", &self.authority_url.as_str())
            .field("scope", &self.scope)
            .field("max_in_flight", &self.max_in_flight)
            .field("batching", &self.batching)
            .field("operation_budget", &self.operation_budget)
            .field("request_timeout", &self.request_timeout)
            .field("backoff_base", &self.backoff_base)
            .field("backoff_cap", &self.backoff_cap)
            .field(
                "conditional_access_interval",
                &self.conditional_access_interval,
            )
            .field("max_response_bytes", &self.max_response_bytes)
            .field("max_pages", &self.max_pages)
            .field("user_agent", &self.user_agent)
            .field("on_wait", &self.on_wait.is_some())
            .field("deadline", &self.deadline)
            .finish()
    }
}

impl GraphConfig {
    /// Defaults for a cloud and tenant: that cloud's hosts, at most 16 batches in flight, a 2-minute budget per
    /// operation, 1 s → 30 s back-off, a conditional access call every 1.05 s.
    pub fn for_cloud(cloud: Cloud, tenant: impl Into<String>) -> GraphConfig {
        GraphConfig {
            cloud,
            tenant: tenant.into(),
            graph_url: cloud.graph_url(),
            authority_url: cloud.authority_url(),
            scope: cloud.default_scope(),
            max_in_flight: 16,
            batching: true,
            operation_budget: Duration::from_secs(120),
            request_timeout: Duration::from_secs(60),
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(30),
            conditional_access_interval: Duration::from_millis(1050),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            max_pages: DEFAULT_MAX_PAGES,
            user_agent: format!("entractl/{}", env!("CARGO_PKG_VERSION")),
            on_wait: None,
            deadline: None,
        }
    }

    /// Overrides the Graph root (`--graph-url` / `ENTRACTL_GRAPH_URL`). Plain http only for loopback.
    pub fn with_graph_url(mut self, raw: &str) -> Result<GraphConfig, ConfigError> {
        self.graph_url = with_trailing_slash(checked_url("Graph URL", raw)?);
        Ok(self)
    }

    /// Overrides the authority root (`--authority-url` / `AZURE_AUTHORITY_HOST`). Plain http only for loopback.
    pub fn with_authority_url(mut self, raw: &str) -> Result<GraphConfig, ConfigError> {
        self.authority_url = with_trailing_slash(checked_url("authority URL", raw)?);
        Ok(self)
    }

    /// Sets the progress callback.
    pub fn with_on_wait(mut self, on_wait: OnWait) -> GraphConfig {
        self.on_wait = Some(on_wait);
        self
    }

    /// Sets an overall budget of `total` from now for every operation of the client.
    pub fn with_deadline(mut self, total: Duration) -> GraphConfig {
        self.deadline = Some(Deadline {
            at: std::time::Instant::now() + total,
            total,
        });
        self
    }

    /// Checks the whole configuration (also what was set field by field).
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_url_scheme("Graph URL", &self.graph_url)?;
        check_url_scheme("authority URL", &self.authority_url)?;
        check_tenant(&self.tenant)?;
        if self.max_in_flight == 0 {
            return Err(ConfigError::ZeroInFlight);
        }
        Ok(())
    }

    /// `{authority}/{tenant}/oauth2/v2.0/token`.
    pub fn token_url(&self, tenant: &str) -> Result<Url, ConfigError> {
        self.authority_endpoint(tenant, "oauth2/v2.0/token")
    }

    /// `{authority}/{tenant}/oauth2/v2.0/devicecode`.
    pub fn device_code_url(&self, tenant: &str) -> Result<Url, ConfigError> {
        self.authority_endpoint(tenant, "oauth2/v2.0/devicecode")
    }

    fn authority_endpoint(&self, tenant: &str, tail: &str) -> Result<Url, ConfigError> {
        check_tenant(tenant)?;
        let base = with_trailing_slash(self.authority_url.clone());
        base.join(&format!("{tenant}/{tail}"))
            .map_err(|e| ConfigError::InvalidUrl {
                what: "authority URL",
                url: self.authority_url.to_string(),
                reason: e.to_string(),
            })
    }

    /// The Graph root with a trailing slash.
    pub(crate) fn graph_root(&self) -> Url {
        with_trailing_slash(self.graph_url.clone())
    }
}

/// A tenant must be a single, plain URL path segment.
pub(crate) fn check_tenant(tenant: &str) -> Result<(), ConfigError> {
    let ok = !tenant.is_empty()
        && tenant
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(ConfigError::InvalidTenant(tenant.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clouds_have_their_own_hosts_and_scopes() {
        assert_eq!(
            Cloud::Public.default_scope(),
            "https://graph.microsoft.com/.default"
        );
        assert_eq!(
            Cloud::UsGov.default_scope(),
            "https://graph.microsoft.us/.default"
        );
        assert_eq!(Cloud::UsGovDod.graph_host(), "dod-graph.microsoft.us");
        assert_eq!(Cloud::UsGovDod.login_host(), "login.microsoftonline.us");
        assert_eq!(Cloud::China.login_host(), "login.chinacloudapi.cn");
        assert_eq!(
            Cloud::China.graph_url().as_str(),
            "https://microsoftgraph.chinacloudapi.cn/"
        );
        for c in Cloud::ALL {
            assert_eq!(c.name().parse::<Cloud>().unwrap(), c);
        }
        assert!("mars".parse::<Cloud>().is_err());
    }

    #[test]
    fn plain_http_only_for_loopback() {
        let cfg = GraphConfig::for_cloud(Cloud::Public, "contoso.onmicrosoft.com");
        for ok in [
            "http://127.0.0.1:8080",
            "http://127.1.2.3",
            "http://[::1]:9/",
            "http://localhost:1234/x",
            "https://graph.example.com",
        ] {
            assert!(cfg.clone().with_graph_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://graph.microsoft.com",
            "http://10.0.0.1",
            "http://localhost.evil.com",
            "ftp://127.0.0.1",
        ] {
            let err = cfg.clone().with_authority_url(bad).unwrap_err();
            assert!(err.to_string().contains("loopback"), "{bad}: {err}");
        }
        assert!(matches!(
            cfg.clone().with_graph_url("not a url"),
            Err(ConfigError::InvalidUrl { .. })
        ));
        let mut c = cfg.clone();
        c.graph_url = Url::parse("http://example.com").unwrap();
        assert!(c.validate().is_err());
    }

    #[test]
    fn token_url_keeps_the_authority_path() {
        let cfg = GraphConfig::for_cloud(Cloud::Public, "t")
            .with_authority_url("http://127.0.0.1:5000/base")
            .unwrap();
        assert_eq!(
            cfg.token_url("contoso.com").unwrap().as_str(),
            "http://127.0.0.1:5000/base/contoso.com/oauth2/v2.0/token"
        );
        assert_eq!(
            GraphConfig::for_cloud(Cloud::UsGov, "t")
                .device_code_url("t")
                .unwrap()
                .as_str(),
            "https://login.microsoftonline.us/t/oauth2/v2.0/devicecode"
        );
        assert!(cfg.token_url("../x").is_err());
        assert!(cfg.token_url("").is_err());
    }
}
