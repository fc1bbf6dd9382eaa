//! Where a GitHub Actions job runs: the repository, the event, the API, the token — from the
//! variables the runner sets (the binary passes a snapshot of the environment).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use entractl_graph::{Secret, is_loopback_host};
use serde_json::Value;
use url::Url;

use crate::error::GithubError;

/// `owner/name` of a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    pub owner: String,
    pub name: String,
}

impl std::str::FromStr for Repository {
    type Err = GithubError;
    fn from_str(s: &str) -> Result<Self, GithubError> {
        let ok = |p: &str| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        match s.split_once('/') {
            Some((owner, name)) if ok(owner) && ok(name) && name != "." && name != ".." => {
                Ok(Repository {
                    owner: owner.to_string(),
                    name: name.to_string(),
                })
            }
            _ => Err(GithubError::BadRepository(s.to_string())),
        }
    }
}

impl std::fmt::Display for Repository {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

/// The job's GitHub context.
#[derive(Debug)]
pub struct GithubContext {
    /// `GITHUB_API_URL` (default `https://api.github.com`): https, or http to loopback.
    pub api_url: Url,
    /// `GITHUB_SERVER_URL` (default `https://github.com`), for links to the run.
    pub server_url: Url,
    /// `GITHUB_REPOSITORY`.
    pub repository: Repository,
    /// `GITHUB_EVENT_NAME`, e.g. `pull_request`, `schedule`.
    pub event_name: Option<String>,
    /// `GITHUB_EVENT_PATH`: the webhook payload of the event.
    pub event_path: Option<PathBuf>,
    /// `GITHUB_RUN_ID`.
    pub run_id: Option<String>,
    /// `GITHUB_STEP_SUMMARY`: the job summary file of the current step.
    pub step_summary: Option<PathBuf>,
    /// `GITHUB_OUTPUT`: the outputs file of the current step.
    pub step_outputs: Option<PathBuf>,
    /// `GITHUB_TOKEN`: never printed.
    pub token: Option<Secret>,
}

fn var<'a>(env: &'a BTreeMap<String, String>, name: &str) -> Option<&'a str> {
    env.get(name).map(String::as_str).filter(|v| !v.is_empty())
}

/// Parses a URL and applies the rule "https, or http to a loopback address" (the token goes
/// nowhere else).
pub fn checked_url(variable: &'static str, raw: &str) -> Result<Url, GithubError> {
    let url = Url::parse(raw).map_err(|e| GithubError::BadUrl {
        variable,
        url: raw.to_string(),
        reason: e.to_string(),
    })?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback_host(&url) => Ok(url),
        _ => Err(GithubError::InsecureUrl {
            variable,
            url: raw.to_string(),
        }),
    }
}

impl GithubContext {
    /// The context from the runner's variables. Only `GITHUB_REPOSITORY` is required here;
    /// each operation says what else it needs.
    pub fn from_env(env: &BTreeMap<String, String>) -> Result<Self, GithubError> {
        let repository = var(env, "GITHUB_REPOSITORY")
            .ok_or(GithubError::MissingVariable {
                variable: "GITHUB_REPOSITORY",
            })?
            .parse()?;
        Ok(GithubContext {
            api_url: checked_url(
                "GITHUB_API_URL",
                var(env, "GITHUB_API_URL").unwrap_or("https://api.github.com"),
            )?,
            server_url: checked_url(
                "GITHUB_SERVER_URL",
                var(env, "GITHUB_SERVER_URL").unwrap_or("https://github.com"),
            )?,
            repository,
            event_name: var(env, "GITHUB_EVENT_NAME").map(str::to_string),
            event_path: var(env, "GITHUB_EVENT_PATH").map(PathBuf::from),
            run_id: var(env, "GITHUB_RUN_ID").map(str::to_string),
            step_summary: var(env, "GITHUB_STEP_SUMMARY").map(PathBuf::from),
            step_outputs: var(env, "GITHUB_OUTPUT").map(PathBuf::from),
            token: var(env, "GITHUB_TOKEN").map(Secret::new),
        })
    }

    /// The token, or an error that says how to pass it.
    pub fn token(&self) -> Result<&Secret, GithubError> {
        self.token.as_ref().ok_or(GithubError::MissingVariable {
            variable: "GITHUB_TOKEN",
        })
    }

    /// The web page of this workflow run (where its artifacts are), when known.
    pub fn run_url(&self) -> Option<String> {
        let id = self.run_id.as_deref()?;
        let base = self.server_url.as_str().trim_end_matches('/');
        Some(format!("{base}/{}/actions/runs/{id}", self.repository))
    }

    /// The pull request number of the event (`pull_request`, `pull_request_target`,
    /// `issue_comment` on a pull request).
    pub fn pull_request_number(&self) -> Result<u64, GithubError> {
        let event = self.event_name.as_deref().unwrap_or("(none)");
        let path = self
            .event_path
            .as_deref()
            .ok_or(GithubError::NoPullRequest {
                event: event.to_string(),
            })?;
        let payload = read_event(path)?;
        payload
            .pointer("/pull_request/number")
            .or_else(|| {
                payload
                    .pointer("/issue/pull_request")
                    .and(payload.pointer("/issue/number"))
            })
            .and_then(Value::as_u64)
            .ok_or(GithubError::NoPullRequest {
                event: event.to_string(),
            })
    }
}

fn read_event(path: &Path) -> Result<Value, GithubError> {
    let text = std::fs::read_to_string(path).map_err(|e| GithubError::EventFile {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    serde_json::from_str(&text).map_err(|e| GithubError::EventFile {
        path: path.to_path_buf(),
        reason: format!("not JSON: {e}"),
    })
}

/// Appends Markdown to the job summary (`GITHUB_STEP_SUMMARY`).
pub fn append_step_summary(ctx: &GithubContext, markdown: &str) -> Result<PathBuf, GithubError> {
    let mut text = markdown.to_string();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    append("GITHUB_STEP_SUMMARY", ctx.step_summary.as_deref(), &text)
}

/// Sets step outputs (`GITHUB_OUTPUT`): `name=value` lines; values are single lines.
pub fn write_step_outputs(
    ctx: &GithubContext,
    outputs: &[(&str, String)],
) -> Result<PathBuf, GithubError> {
    let text: String = outputs
        .iter()
        .map(|(k, v)| format!("{k}={}\n", v.replace(['\r', '\n'], " ")))
        .collect();
    append("GITHUB_OUTPUT", ctx.step_outputs.as_deref(), &text)
}

/// Appends to one of the files the runner reads after the step.
fn append(variable: &'static str, path: Option<&Path>, text: &str) -> Result<PathBuf, GithubError> {
    use std::io::Write;
    let path = path.ok_or(GithubError::MissingVariable { variable })?;
    let err = |e: std::io::Error| GithubError::RunnerFile {
        variable,
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(err)?;
    Ok(path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_to_github_dot_com_and_needs_the_repository() {
        let ctx = GithubContext::from_env(&env(&[("GITHUB_REPOSITORY", "octo/tenant")])).unwrap();
        assert_eq!(ctx.api_url.as_str(), "https://api.github.com/");
        assert_eq!(ctx.repository.to_string(), "octo/tenant");
        assert!(ctx.token().is_err());
        let err = GithubContext::from_env(&env(&[])).unwrap_err();
        assert!(err.to_string().contains("GITHUB_REPOSITORY"), "{err}");
    }

    #[test]
    fn plain_http_only_to_loopback() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://localhost:1",
            "https://ghe.example.com/api/v3",
        ] {
            assert!(checked_url("GITHUB_API_URL", ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://api.github.com",
            "ftp://127.0.0.1",
            "http://10.0.0.1",
        ] {
            let e = checked_url("GITHUB_API_URL", bad).unwrap_err();
            assert!(e.to_string().contains("must use https"), "{bad}: {e}");
        }
    }

    #[test]
    fn repository_names_are_checked() {
        for bad in ["octo", "octo/", "/x", "a/b/c", "a/..", "a b/c"] {
            assert!(bad.parse::<Repository>().is_err(), "{bad}");
        }
        assert!("my-org/my.repo_1".parse::<Repository>().is_ok());
    }

    #[test]
    fn the_token_is_never_in_debug_output() {
        let ctx = GithubContext::from_env(&env(&[
            ("GITHUB_REPOSITORY", "octo/tenant"),
            ("GITHUB_TOKEN", "ghs_canary0123456789"),
        ]))
        .unwrap();
        assert!(!format!("{ctx:?}").contains("canary"));
        assert_eq!(ctx.token().unwrap().expose(), "ghs_canary0123456789");
    }
}
