//! A small GitHub REST client: issue comments and issues of one repository. Requests carry the
//! token only to the configured API origin (no redirects, no `Link` to another host), and are
//! retried when GitHub asks for it (429, 5xx, secondary rate limits).

use std::time::Duration;

use entractl_graph::Secret;
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use url::Url;

use crate::context::{GithubContext, Repository};
use crate::error::GithubError;

/// The REST API version entractl is written against.
pub const API_VERSION: &str = "2022-11-28";

/// Retries of one request when GitHub asks to wait.
const MAX_RETRIES: u32 = 3;
/// The longest wait entractl accepts from `Retry-After` (longer: the request fails).
const MAX_WAIT: Duration = Duration::from_secs(60);
/// Pages read at most when listing (100 items a page).
const MAX_PAGES: usize = 100;

/// A comment on an issue or pull request.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Comment {
    pub id: u64,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub html_url: Option<String>,
}

/// An issue (pull requests, which the issues API also lists, are skipped).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Issue {
    pub number: u64,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub html_url: Option<String>,
    #[serde(default)]
    pub pull_request: Option<Value>,
}

/// One repository's issues and comments, with the job's token.
pub struct GithubClient {
    http: reqwest::Client,
    api: Url,
    repo: Repository,
    token: Secret,
}

/// What a request is for: named in errors with the permission it needs.
struct Op {
    what: String,
    needs: &'static str,
}

const PR_WRITE: &str = "pull-requests: write";
const ISSUES_WRITE: &str = "issues: write";

impl GithubClient {
    /// A client for the context's repository and API. Needs `GITHUB_TOKEN`.
    pub fn new(ctx: &GithubContext) -> Result<Self, GithubError> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("entractl/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(15))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| GithubError::Transport {
                operation: "building the HTTP client".into(),
                reason: e.to_string(),
            })?;
        let mut api = ctx.api_url.clone();
        if !api.path().ends_with('/') {
            let p = format!("{}/", api.path());
            api.set_path(&p);
        }
        Ok(GithubClient {
            http,
            api,
            repo: ctx.repository.clone(),
            token: ctx.token()?.clone(),
        })
    }

    fn url(&self, path: &str) -> Result<Url, GithubError> {
        self.api
            .join(path.trim_start_matches('/'))
            .map_err(|e| GithubError::Unexpected {
                operation: path.to_string(),
                reason: e.to_string(),
            })
    }

    /// Sends one request (retrying when GitHub asks to wait); returns the JSON body and the
    /// `next` page link.
    async fn send(
        &self,
        op: &Op,
        method: Method,
        url: Url,
        body: Option<&Value>,
    ) -> Result<(Value, Option<Url>), GithubError> {
        let mut attempt = 0;
        loop {
            let mut req = self
                .http
                .request(method.clone(), url.clone())
                .bearer_auth(self.token.expose())
                .header("Accept", "application/vnd.github+json")
                .header("X-GitHub-Api-Version", API_VERSION);
            if let Some(b) = body {
                req = req.json(b);
            }
            tracing::debug!(method = %method, path = url.path(), "GitHub request");
            let resp = req.send().await.map_err(|e| GithubError::Transport {
                operation: op.what.clone(),
                reason: self.token.scrub(&chain(&e.without_url())),
            })?;
            let status = resp.status();
            if let Some(wait) = retry_wait(&resp, attempt)
                && attempt < MAX_RETRIES
            {
                tracing::info!(status = status.as_u16(), ?wait, "GitHub asks to wait");
                tokio::time::sleep(wait).await;
                attempt += 1;
                continue;
            }
            let next = next_link(resp.headers(), &self.api);
            let text = resp.text().await.unwrap_or_default();
            if !status.is_success() {
                return Err(self.api_error(op, status, &text));
            }
            let value = if text.trim().is_empty() {
                Value::Null
            } else {
                serde_json::from_str(&text).map_err(|e| GithubError::Unexpected {
                    operation: op.what.clone(),
                    reason: format!("not JSON: {e}"),
                })?
            };
            return Ok((value, next));
        }
    }

    fn api_error(&self, op: &Op, status: StatusCode, text: &str) -> GithubError {
        let v: Value = serde_json::from_str(text).unwrap_or(Value::Null);
        let mut message = v
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("(no message)")
            .to_string();
        let details: Vec<String> = v
            .get("errors")
            .and_then(Value::as_array)
            .map(|errs| {
                errs.iter()
                    .filter_map(|e| e.get("message").and_then(Value::as_str).map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        if !details.is_empty() {
            message = format!("{message} ({})", details.join("; "));
        }
        GithubError::Api {
            operation: op.what.clone(),
            status: status.as_u16(),
            message: self.token.scrub(&message),
            needs: op.needs,
        }
    }

    async fn list<T: for<'de> Deserialize<'de>>(
        &self,
        op: &Op,
        mut url: Url,
    ) -> Result<Vec<T>, GithubError> {
        let mut out = Vec::new();
        for _ in 0..MAX_PAGES {
            let (page, next) = self.send(op, Method::GET, url, None).await?;
            let items: Vec<T> =
                serde_json::from_value(page).map_err(|e| GithubError::Unexpected {
                    operation: op.what.clone(),
                    reason: e.to_string(),
                })?;
            out.extend(items);
            match next {
                Some(n) => url = n,
                None => return Ok(out),
            }
        }
        Ok(out)
    }

    async fn one<T: for<'de> Deserialize<'de>>(
        &self,
        op: &Op,
        method: Method,
        path: &str,
        body: Value,
    ) -> Result<T, GithubError> {
        let (v, _) = self.send(op, method, self.url(path)?, Some(&body)).await?;
        serde_json::from_value(v).map_err(|e| GithubError::Unexpected {
            operation: op.what.clone(),
            reason: e.to_string(),
        })
    }

    /// Every comment of an issue or pull request, oldest first.
    pub async fn comments(&self, number: u64) -> Result<Vec<Comment>, GithubError> {
        let op = Op {
            what: format!("listing the comments of #{number} in {}", self.repo),
            needs: PR_WRITE,
        };
        let mut url = self.url(&format!("repos/{}/issues/{number}/comments", self.repo))?;
        url.query_pairs_mut().append_pair("per_page", "100");
        self.list(&op, url).await
    }

    /// Adds a comment to an issue or pull request.
    pub async fn create_comment(&self, number: u64, body: &str) -> Result<Comment, GithubError> {
        let op = Op {
            what: format!("commenting on #{number} in {}", self.repo),
            needs: PR_WRITE,
        };
        let path = format!("repos/{}/issues/{number}/comments", self.repo);
        self.one(&op, Method::POST, &path, json!({ "body": body }))
            .await
    }

    /// Replaces the body of a comment.
    pub async fn update_comment(&self, id: u64, body: &str) -> Result<Comment, GithubError> {
        let op = Op {
            what: format!("editing comment {id} in {}", self.repo),
            needs: PR_WRITE,
        };
        let path = format!("repos/{}/issues/comments/{id}", self.repo);
        self.one(&op, Method::PATCH, &path, json!({ "body": body }))
            .await
    }

    /// Every open issue of the repository (not pull requests), oldest first.
    pub async fn open_issues(&self) -> Result<Vec<Issue>, GithubError> {
        let op = Op {
            what: format!("listing the open issues of {}", self.repo),
            needs: ISSUES_WRITE,
        };
        let mut url = self.url(&format!("repos/{}/issues", self.repo))?;
        url.query_pairs_mut()
            .append_pair("state", "open")
            .append_pair("sort", "created")
            .append_pair("direction", "asc")
            .append_pair("per_page", "100");
        let all: Vec<Issue> = self.list(&op, url).await?;
        Ok(all
            .into_iter()
            .filter(|i| i.pull_request.is_none())
            .collect())
    }

    /// Opens an issue.
    pub async fn create_issue(
        &self,
        title: &str,
        body: &str,
        labels: &[String],
    ) -> Result<Issue, GithubError> {
        let op = Op {
            what: format!("opening an issue in {}", self.repo),
            needs: ISSUES_WRITE,
        };
        let mut payload = json!({ "title": title, "body": body });
        if !labels.is_empty() {
            payload["labels"] = json!(labels);
        }
        let path = format!("repos/{}/issues", self.repo);
        self.one(&op, Method::POST, &path, payload).await
    }

    /// Changes an issue (`title`, `body`, `state`, `state_reason`).
    pub async fn update_issue(&self, number: u64, patch: Value) -> Result<Issue, GithubError> {
        let op = Op {
            what: format!("updating issue #{number} in {}", self.repo),
            needs: ISSUES_WRITE,
        };
        let path = format!("repos/{}/issues/{number}", self.repo);
        self.one(&op, Method::PATCH, &path, patch).await
    }
}

/// An error with its causes: `error sending request: tcp connect error: Connection refused`.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(&format!(": {s}"));
        source = s.source();
    }
    out
}

/// How long to wait before retrying, when GitHub asks for it: 429 and 5xx, and 403 with
/// `Retry-After` or an exhausted `X-RateLimit-Remaining` (secondary rate limits).
fn retry_wait(resp: &reqwest::Response, attempt: u32) -> Option<Duration> {
    let status = resp.status();
    let h = resp.headers();
    let header = |name: &str| h.get(name).and_then(|v| v.to_str().ok());
    let retry_after = header("retry-after").and_then(|v| v.trim().parse::<u64>().ok());
    let limited = status == StatusCode::FORBIDDEN
        && (retry_after.is_some() || header("x-ratelimit-remaining") == Some("0"));
    let transient = status == StatusCode::TOO_MANY_REQUESTS
        || matches!(status.as_u16(), 500 | 502 | 503 | 504)
        || limited;
    if !transient {
        return None;
    }
    let wait = match retry_after {
        Some(s) => Duration::from_secs(s),
        None => Duration::from_secs(1 << attempt.min(5)),
    };
    (wait <= MAX_WAIT).then_some(wait)
}

/// The `rel="next"` URL of a `Link` header, when it points to the API's own origin.
fn next_link(h: &reqwest::header::HeaderMap, api: &Url) -> Option<Url> {
    let link = h.get("link")?.to_str().ok()?;
    link.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        if !params.split(';').any(|p| p.trim() == "rel=\"next\"") {
            return None;
        }
        let url = Url::parse(target.trim().trim_start_matches('<').trim_end_matches('>')).ok()?;
        (url.origin() == api.origin()).then_some(url)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_link_stays_on_the_api_origin() {
        let api = Url::parse("https://api.github.com/").unwrap();
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(
            "link",
            "<https://api.github.com/repositories/1/issues?page=2>; rel=\"next\", <https://api.github.com/repositories/1/issues?page=5>; rel=\"last\""
                .parse()
                .unwrap(),
        );
        assert_eq!(
            next_link(&h, &api).unwrap().as_str(),
            "https://api.github.com/repositories/1/issues?page=2"
        );
        h.insert(
            "link",
            "<https://evil.example.com/x?page=2>; rel=\"next\""
                .parse()
                .unwrap(),
        );
        assert_eq!(next_link(&h, &api), None);
    }
}
