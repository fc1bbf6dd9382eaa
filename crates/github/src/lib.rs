//! entractl in GitHub Actions: the job's context from the runner's variables, a small REST
//! client (issues and comments of one repository), and the two objects entractl keeps there —
//! one pull-request comment with the plan, one drift issue per spec — plus the job summary.
//!
//! Like the other libraries it reads no environment variables and prints nothing: the binary
//! passes a snapshot of the environment to [`GithubContext::from_env`]. The token
//! (`GITHUB_TOKEN`) is held as a [`entractl_graph::Secret`]: never in `Debug` output, errors or
//! logs. It is only sent to `GITHUB_API_URL`, which must be https (plain http only to loopback).

mod client;
mod context;
mod error;
mod sync;

pub use client::{API_VERSION, Comment, GithubClient, Issue};
pub use context::{
    GithubContext, Repository, append_step_summary, checked_url, write_step_outputs,
};
pub use error::GithubError;
pub use sync::{
    CommentOutcome, Drift, DriftOutcome, Marker, body_with_marker, sync_drift_issue, upsert_comment,
};
