//! `entractl github …`: put a saved plan (`plan --out plan.json`) where a GitHub Actions job's
//! readers see it — one pull-request comment kept up to date, one drift issue per spec, the job
//! summary. See `docs/ci.md`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use entractl_engine::SavedPlan;
use entractl_engine::render::markdown;
use entractl_github::{
    CommentOutcome, Drift, DriftOutcome, GithubClient, GithubContext, Marker, append_step_summary,
    body_with_marker, sync_drift_issue, upsert_comment, write_step_outputs,
};

use crate::error::{CommandError, Outcome};
use crate::output;
use crate::session::runtime;

/// `entractl github …`
#[derive(Debug, Args)]
pub struct GithubCommand {
    #[command(subcommand)]
    pub command: GithubSubcommand,
}

#[derive(Debug, Subcommand)]
pub enum GithubSubcommand {
    /// Keep one comment with the plan on the pull request: edit it in place (found by a hidden
    /// marker per spec), or create it. Needs GITHUB_TOKEN with `pull-requests: write`.
    Comment(CommentArgs),
    /// Keep one open issue while the tenant drifts from the spec: open it, update it, close it
    /// when the plan has no changes. Needs GITHUB_TOKEN with `issues: write`.
    DriftIssue(DriftIssueArgs),
    /// Append the plan to the job summary (GITHUB_STEP_SUMMARY).
    Summary(SummaryArgs),
    /// Set the step's outputs from the plan (GITHUB_OUTPUT): `has-changes` (true/false),
    /// `changes` and `security-downgrades` (counts), e.g. to pick the reviewed apply job.
    Outputs(SummaryArgs),
}

/// The saved plan and how to name it.
#[derive(Debug, Args)]
pub struct PlanFileArgs {
    /// The saved plan: `entractl plan SPEC --out PLAN`.
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,
    /// What the marker names, so each spec has its own comment or issue (default: the plan's
    /// spec path).
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
    /// The name of the artifact the plan is uploaded as (named in the footer).
    #[arg(long, value_name = "NAME")]
    pub artifact: Option<String>,
}

#[derive(Debug, Args)]
pub struct CommentArgs {
    #[command(flatten)]
    pub file: PlanFileArgs,
    /// The pull request (default: the one of the event, from GITHUB_EVENT_PATH).
    #[arg(long, value_name = "NUMBER")]
    pub pr: Option<u64>,
}

#[derive(Debug, Args)]
pub struct DriftIssueArgs {
    #[command(flatten)]
    pub file: PlanFileArgs,
    /// A label for a new drift issue (repeatable; GitHub drops labels the token may not set).
    #[arg(long, value_name = "LABEL")]
    pub label: Vec<String>,
}

/// Just the saved plan.
#[derive(Debug, Args)]
pub struct SummaryArgs {
    /// The saved plan: `entractl plan SPEC --out PLAN`.
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,
}

pub fn run(cmd: &GithubCommand) -> Result<Outcome, CommandError> {
    let env: BTreeMap<String, String> = std::env::vars().collect();
    let ctx = GithubContext::from_env(&env)?;
    let line = match &cmd.command {
        GithubSubcommand::Comment(args) => comment(&ctx, args)?,
        GithubSubcommand::DriftIssue(args) => drift_issue(&ctx, args)?,
        GithubSubcommand::Summary(args) => {
            let saved = load(&args.plan)?;
            let path = append_step_summary(&ctx, &markdown(&saved.plan))?;
            format!("Added the plan to the job summary ({})", path.display())
        }
        GithubSubcommand::Outputs(args) => outputs(&ctx, &load(&args.plan)?)?,
    };
    output::stdout(&format!("{line}\n")).map(|()| Outcome::Success)
}

fn outputs(ctx: &GithubContext, saved: &SavedPlan) -> Result<String, CommandError> {
    let values = [
        ("has-changes", saved.plan.has_changes().to_string()),
        ("changes", saved.plan.actionable().count().to_string()),
        (
            "security-downgrades",
            saved.plan.summary().security_downgrades.to_string(),
        ),
    ];
    write_step_outputs(ctx, &values)?;
    Ok(values
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" "))
}

fn load(path: &Path) -> Result<SavedPlan, CommandError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        CommandError::failed(
            format!("cannot read the plan {}: {e}", path.display()),
            format!(
                "write it with `entractl plan SPEC --out {}`",
                path.display()
            ),
        )
    })?;
    Ok(SavedPlan::from_json(path, &text)?)
}

fn key(args: &PlanFileArgs, saved: &SavedPlan) -> String {
    args.key.clone().unwrap_or_else(|| saved.spec_path.clone())
}

fn comment(ctx: &GithubContext, args: &CommentArgs) -> Result<String, CommandError> {
    let saved = load(&args.file.plan)?;
    let number = match args.pr {
        Some(n) => n,
        None => ctx.pull_request_number()?,
    };
    let marker = Marker::plan_comment(&key(&args.file, &saved));
    let body = body_with_marker(
        &marker,
        &markdown(&saved.plan),
        ctx.run_url().as_deref(),
        args.file.artifact.as_deref(),
    );
    let client = GithubClient::new(ctx)?;
    let outcome = runtime()?.block_on(upsert_comment(&client, number, &marker, &body))?;
    let (what, c) = match &outcome {
        CommentOutcome::Created(c) => ("Commented on", c),
        CommentOutcome::Updated(c) => ("Updated the comment on", c),
        CommentOutcome::Unchanged(c) => ("Up to date: the comment on", c),
    };
    Ok(format!(
        "{what} #{number}: {}",
        c.html_url.as_deref().unwrap_or("(no URL)")
    ))
}

fn drift_issue(ctx: &GithubContext, args: &DriftIssueArgs) -> Result<String, CommandError> {
    let saved = load(&args.file.plan)?;
    let key = key(&args.file, &saved);
    let marker = Marker::drift_issue(&key);
    let run = ctx.run_url();
    let drift = if saved.plan.has_changes() {
        Drift::Present {
            title: format!("Entra drift: {key}"),
            body: body_with_marker(
                &marker,
                &markdown(&saved.plan),
                run.as_deref(),
                args.file.artifact.as_deref(),
            ),
            labels: args.label.clone(),
        }
    } else {
        let seen = run
            .map(|u| format!(" ([workflow run]({u}))"))
            .unwrap_or_default();
        Drift::Gone {
            closing_comment: format!(
                "The tenant matches `{key}` again{seen}: closing this drift issue."
            ),
        }
    };
    let client = GithubClient::new(ctx)?;
    let outcome = runtime()?.block_on(sync_drift_issue(&client, &marker, &drift))?;
    let url = |i: &entractl_github::Issue| i.html_url.clone().unwrap_or_default();
    Ok(match &outcome {
        DriftOutcome::Opened(i) => format!("Opened drift issue #{}: {}", i.number, url(i)),
        DriftOutcome::Updated(i) => format!("Updated drift issue #{}: {}", i.number, url(i)),
        DriftOutcome::Unchanged(i) => {
            format!("Drift issue #{} is up to date: {}", i.number, url(i))
        }
        DriftOutcome::Closed(i) => {
            format!("No drift: closed drift issue #{}: {}", i.number, url(i))
        }
        DriftOutcome::NothingOpen => "No drift, and no drift issue open.".to_string(),
    })
}
