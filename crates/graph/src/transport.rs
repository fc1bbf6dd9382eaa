//! The one HTTP client of a run: rustls (TLS verification always on), HTTP/2 by ALPN, no redirects.

use std::time::Duration;

use crate::config::GraphConfig;

/// Builds the HTTP client for a run. TLS certificates are always verified; redirects are never
/// followed (a bearer token must not travel to another host).
pub fn build_http_client(cfg: &GraphConfig) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .user_agent(cfg.user_agent.clone())
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(30).min(cfg.request_timeout))
        .timeout(cfg.request_timeout)
        .build()
}
