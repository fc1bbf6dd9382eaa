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

/// A reqwest error with its causes (`error sending request: client error (Connect): tcp connect
/// error: Connection refused (os error 111)`), without the URL (the caller names it) and
/// without repeating a cause that its parent already says.
pub fn describe(e: &reqwest::Error) -> String {
    let top = without_url(e);
    let mut parts: Vec<String> = vec![top];
    let mut cur = std::error::Error::source(e);
    while let Some(err) = cur {
        let text = err.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = err.source();
    }
    parts.join(": ")
}

/// `scheme://host:port/path` of a URL (no query: it may hold filter values).
pub fn endpoint(url: &str) -> String {
    url.split(['?', '#']).next().unwrap_or(url).to_string()
}

/// The error's own message without the URL reqwest appends.
fn without_url(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    if let Some(url) = e.url() {
        text = text.replace(&format!(" for url ({url})"), "");
        text = text.replace(&format!(" ({url})"), "");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_refused_connection_says_why() {
        // A port nothing listens on: bind one, then close it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let e = reqwest::Client::new()
            .get(format!("http://127.0.0.1:{port}/v1.0/x?$filter=a"))
            .send()
            .await
            .unwrap_err();
        let text = describe(&e);
        assert!(e.is_connect(), "{text}");
        assert!(!text.contains("$filter"), "{text}");
        assert!(text.to_lowercase().contains("refused"), "{text}");
        assert_eq!(
            endpoint("http://127.0.0.1:1/v1.0/x?$filter=a"),
            "http://127.0.0.1:1/v1.0/x"
        );
    }
}
