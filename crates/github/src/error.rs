//! Errors of the GitHub side. None of them ever holds the token.

use std::path::PathBuf;

/// What went wrong talking to GitHub or reading the job's context.
#[derive(Debug, thiserror::Error)]
pub enum GithubError {
    /// A variable the runner sets is missing.
    #[error(
        "{variable} is not set: run this in a GitHub Actions job (the runner sets it){}",
        hint_for(variable)
    )]
    MissingVariable { variable: &'static str },
    /// `GITHUB_REPOSITORY` is not `owner/name`.
    #[error("GITHUB_REPOSITORY `{0}` is not `owner/name`")]
    BadRepository(String),
    /// A URL variable does not parse.
    #[error("{variable} `{url}` is not a URL: {reason}")]
    BadUrl {
        variable: &'static str,
        url: String,
        reason: String,
    },
    /// A URL variable is plain http to a host other than loopback.
    #[error(
        "{variable} `{url}` must use https: plain http is only allowed for loopback addresses \
         (127.0.0.0/8, ::1, localhost), e.g. a local stub"
    )]
    InsecureUrl { variable: &'static str, url: String },
    /// The event payload cannot be read.
    #[error("cannot read the event payload {}: {reason}", path.display())]
    EventFile { path: PathBuf, reason: String },
    /// The event is not about a pull request.
    #[error(
        "the `{event}` event names no pull request\n  hint: run this on `pull_request` events, or pass `--pr NUMBER`"
    )]
    NoPullRequest { event: String },
    /// GitHub answered with an error status.
    #[error("GitHub answered HTTP {status} to {operation}: {message}{}", api_hint(*.status, .needs))]
    Api {
        operation: String,
        status: u16,
        message: String,
        /// The token permission the operation needs (`pull-requests: write`, …).
        needs: &'static str,
    },
    /// GitHub could not be reached.
    #[error("cannot reach GitHub for {operation}: {reason}")]
    Transport { operation: String, reason: String },
    /// GitHub's answer is not what its API documents.
    #[error("GitHub's answer to {operation} is not what the REST API documents: {reason}")]
    Unexpected { operation: String, reason: String },
    /// A file the runner reads after the step (`GITHUB_STEP_SUMMARY`, `GITHUB_OUTPUT`) cannot
    /// be written.
    #[error("cannot write {variable} ({}): {reason}", path.display())]
    RunnerFile {
        variable: &'static str,
        path: PathBuf,
        reason: String,
    },
}

fn hint_for(variable: &str) -> &'static str {
    match variable {
        "GITHUB_TOKEN" => {
            "\n  hint: pass the workflow's token to the step: `env: GITHUB_TOKEN: ${{ github.token }}`"
        }
        _ => "",
    }
}

fn api_hint(status: u16, needs: &str) -> String {
    match status {
        401 => "\n  hint: GITHUB_TOKEN is not valid (expired, or not a token)".into(),
        403 | 404 => format!(
            "\n  hint: the token needs `permissions: {needs}` in the workflow (a pull request from a fork gets a read-only token)"
        ),
        422 => "\n  hint: GitHub refused the content (a body over 65,536 characters, or an unknown field)".into(),
        _ => String::new(),
    }
}
