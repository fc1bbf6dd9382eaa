//! The two things entractl keeps in GitHub: one pull-request comment with the plan (found again
//! by a hidden marker and edited in place), and one drift issue per spec (opened on drift,
//! updated while it lasts, closed when the tenant matches the spec again).

use serde_json::json;

use crate::client::{Comment, GithubClient, Issue};
use crate::error::GithubError;

/// A hidden HTML comment that marks entractl's comment or issue for one spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker(String);

impl Marker {
    /// The marker of the plan comment on a pull request for `key` (the spec path).
    pub fn plan_comment(key: &str) -> Marker {
        Marker(format!("<!-- entractl:plan-comment {} -->", clean(key)))
    }

    /// The marker of the drift issue for `key` (the spec path).
    pub fn drift_issue(key: &str) -> Marker {
        Marker(format!("<!-- entractl:drift-issue {} -->", clean(key)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether a comment or issue body carries this marker.
    pub fn found_in(&self, body: Option<&str>) -> bool {
        body.is_some_and(|b| b.contains(&self.0))
    }
}

impl std::fmt::Display for Marker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A key that cannot end the HTML comment (`--`, `>`) nor break the line.
fn clean(key: &str) -> String {
    let mut out = String::new();
    for c in key.chars() {
        let c = if c.is_alphanumeric() || "./_:@+=-".contains(c) {
            c
        } else {
            '_'
        };
        if !(c == '-' && out.ends_with('-')) {
            out.push(c);
        }
    }
    out
}

/// A body with the marker first and a footer naming the run and its plan artifact.
pub fn body_with_marker(
    marker: &Marker,
    markdown: &str,
    run_url: Option<&str>,
    artifact: Option<&str>,
) -> String {
    let mut out = format!("{marker}\n{}\n", markdown.trim_end());
    let mut footer = Vec::new();
    if let Some(url) = run_url {
        footer.push(format!("[workflow run]({url})"));
    }
    if let Some(name) = artifact {
        footer.push(format!("the full JSON plan is its artifact `{name}`"));
    }
    if !footer.is_empty() {
        out.push_str(&format!(
            "\n<sub>entractl {}: {}</sub>\n",
            env!("CARGO_PKG_VERSION"),
            footer.join("; ")
        ));
    }
    out
}

/// What happened to the plan comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommentOutcome {
    Created(Comment),
    Updated(Comment),
    /// The comment already said exactly this.
    Unchanged(Comment),
}

/// Keeps one comment with `marker` on pull request `number`: edits the first one found in
/// place, or creates it.
pub async fn upsert_comment(
    client: &GithubClient,
    number: u64,
    marker: &Marker,
    body: &str,
) -> Result<CommentOutcome, GithubError> {
    let existing = client
        .comments(number)
        .await?
        .into_iter()
        .find(|c| marker.found_in(c.body.as_deref()));
    Ok(match existing {
        Some(c) if c.body.as_deref() == Some(body) => CommentOutcome::Unchanged(c),
        Some(c) => CommentOutcome::Updated(client.update_comment(c.id, body).await?),
        None => CommentOutcome::Created(client.create_comment(number, body).await?),
    })
}

/// The drift to report, or none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drift {
    /// The tenant differs from the spec: the issue's title and body (with the marker).
    Present {
        title: String,
        body: String,
        labels: Vec<String>,
    },
    /// The tenant matches the spec: the comment left when closing an open drift issue.
    Gone { closing_comment: String },
}

/// What happened to the drift issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriftOutcome {
    Opened(Issue),
    Updated(Issue),
    /// The open issue already said exactly this.
    Unchanged(Issue),
    Closed(Issue),
    /// No drift and no open issue.
    NothingOpen,
}

/// Keeps one open issue with `marker` while there is drift, and closes it when there is none.
pub async fn sync_drift_issue(
    client: &GithubClient,
    marker: &Marker,
    drift: &Drift,
) -> Result<DriftOutcome, GithubError> {
    let open = client
        .open_issues()
        .await?
        .into_iter()
        .find(|i| marker.found_in(i.body.as_deref()));
    Ok(match (drift, open) {
        (
            Drift::Present {
                title,
                body,
                labels,
            },
            None,
        ) => DriftOutcome::Opened(client.create_issue(title, body, labels).await?),
        (Drift::Present { title, body, .. }, Some(issue)) => {
            if issue.body.as_deref() == Some(body.as_str()) && &issue.title == title {
                DriftOutcome::Unchanged(issue)
            } else {
                let patch = json!({ "title": title, "body": body });
                DriftOutcome::Updated(client.update_issue(issue.number, patch).await?)
            }
        }
        (Drift::Gone { closing_comment }, Some(issue)) => {
            client.create_comment(issue.number, closing_comment).await?;
            let patch = json!({ "state": "closed", "state_reason": "completed" });
            DriftOutcome::Closed(client.update_issue(issue.number, patch).await?)
        }
        (Drift::Gone { .. }, None) => DriftOutcome::NothingOpen,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_cannot_end_the_html_comment() {
        let m = Marker::plan_comment("specs/a--b>c d.yaml");
        assert_eq!(
            m.as_str(),
            "<!-- entractl:plan-comment specs/a-b_c_d.yaml -->"
        );
        assert_ne!(
            Marker::plan_comment("specs/a.yaml"),
            Marker::drift_issue("specs/a.yaml")
        );
    }

    #[test]
    fn the_marker_comes_first_and_the_footer_names_the_run() {
        let m = Marker::drift_issue("specs/k.yaml");
        let b = body_with_marker(
            &m,
            "### plan\n",
            Some("https://github.com/o/r/actions/runs/7"),
            Some("entractl-plan"),
        );
        assert!(b.starts_with("<!-- entractl:drift-issue specs/k.yaml -->\n### plan\n"));
        assert!(b.contains("[workflow run](https://github.com/o/r/actions/runs/7)"));
        assert!(b.contains("artifact `entractl-plan`"));
        assert!(m.found_in(Some(&b)));
    }
}
