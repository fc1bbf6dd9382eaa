//! `entractl apply SPEC|PLANFILE`: plan (or load a saved plan), confirm, apply in dependency
//! order with a journal, read back and report "converged" or what did not take.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use entractl_engine::error::StopCause;
use entractl_engine::permissions::for_plan;
use entractl_engine::render::{Format, json_value, render};
use entractl_engine::{ApplyOptions, ApplyReport, Desired, EngineError, Plan, SavedPlan, apply};
use serde_json::{Value, json};

use super::apply_log::ApplyLog;
use super::plan::read_and_plan;
use crate::args::{ColorChoice, FleetArgs, GraphArgs, ReportFormat, json_text};
use crate::error::{CommandError, Outcome};
use crate::interrupt::{Interrupt, Signal};
use crate::preflight::{self, Phase};
use crate::{output, session};

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A spec file, or a plan saved with `entractl plan SPEC --out FILE`.
    #[arg(
        value_name = "SPEC|PLAN",
        required_unless_present = "fleet",
        conflicts_with = "fleet"
    )]
    pub target: Option<PathBuf>,
    /// Apply without asking (for automation). Without it, apply asks on a terminal and refuses
    /// otherwise.
    #[arg(long)]
    pub auto_approve: bool,
    /// Where the prior state of every changed object is written before the change.
    #[arg(long, value_name = "DIR", default_value = ".entractl/journal")]
    pub journal_dir: PathBuf,
    /// Allow changes flagged `security-downgrade` (they weaken MFA).
    #[arg(long)]
    pub allow_security_downgrade: bool,
    /// How long to read back while Graph replicates the writes, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub verify_timeout: u64,
    /// Output format: text for people; json for machines (each change made, failed or skipped,
    /// with ids, and the outputs; the plan is not printed). Either way one line per change goes
    /// to stderr as it is made.
    #[arg(long, value_enum, default_value_t, conflicts_with = "fleet")]
    pub format: ReportFormat,
    /// Many tenants: `--fleet FILE`, `--shard I/N`, `--parallel N`, `--report FILE`.
    #[command(flatten)]
    pub fleet: FleetArgs,
    #[command(flatten, next_help_heading = "Microsoft Graph and sign-in")]
    pub graph: GraphArgs,
}

/// What apply says, in its words or `destroy`'s.
pub(super) struct Words {
    /// The command (`apply`, `destroy`).
    pub command: &'static str,
    /// The question on a terminal.
    pub question: &'static str,
    /// Refused without a terminal: the error and its hint.
    pub refused: (&'static str, &'static str),
    /// The answer was not `yes`.
    pub cancelled: &'static str,
    /// Nothing to change.
    pub nothing: &'static str,
    /// The read-back still finds changes: what did not happen (after "made N change(s) but").
    pub unconverged: &'static str,
}

const APPLY: Words = Words {
    command: "apply",
    question: "Do you want to apply these changes? Only `yes` is accepted: ",
    refused: (
        "refusing to apply without confirmation: stdin is not a terminal",
        "review the plan above, then run again with `--auto-approve` (or save it with `entractl plan SPEC --out FILE` and apply that file)",
    ),
    cancelled: "apply cancelled: nothing was changed",
    nothing: "\nNothing to apply: the tenant already matches the spec.\n",
    unconverged: "the tenant does not match the spec yet",
};

/// Asks on the terminal; a signal while waiting for the answer cancels.
async fn confirm(interrupt: &Interrupt, words: &Words) -> Result<bool, CommandError> {
    let mut err = std::io::stderr();
    let _ = write!(err, "\n{}", words.question);
    let _ = err.flush();
    let read = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map(|_| line)
    });
    tokio::select! {
        line = read => {
            let line = line
                .map_err(|e| CommandError::plain(format!("cannot read the answer: {e}")))?
                .map_err(|e| CommandError::plain(format!("cannot read the answer: {e}")))?;
            Ok(line.trim() == "yes")
        }
        signal = interrupt.wait() => Err(CommandError::Interrupted { signal, command: words.command, stopped: None }),
    }
}

/// What to apply: the desired state, the spec's bytes (for a saved plan's fingerprint), the saved
/// plan if one was given.
pub(super) type Target = (Desired, Option<Vec<u8>>, Option<SavedPlan>);

/// The spec (or saved plan) to apply.
fn load_target(target: &std::path::Path, g: &GraphArgs) -> Result<Target, CommandError> {
    let text = std::fs::read_to_string(target).ok();
    if let Some(t) = &text
        && SavedPlan::looks_like(t)
    {
        let saved = SavedPlan::from_json(target, t)?;
        let bytes = std::fs::read(&saved.spec_path).ok();
        return Ok((saved.desired.clone(), bytes, Some(saved)));
    }
    let (loaded, bytes) = session::load_spec(target)?;
    let desired = Desired::from_spec(&loaded.spec, g.authority_url.as_deref()).locate(&loaded);
    Ok((desired, Some(bytes), None))
}

/// Asks for approval unless `--auto-approve` or a saved plan (reviewed when it was saved).
async fn approve(
    args: &ApplyArgs,
    saved: bool,
    interrupt: &Interrupt,
    words: &Words,
) -> Result<(), CommandError> {
    if args.auto_approve || saved {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(CommandError::failed(words.refused.0, words.refused.1));
    }
    if !confirm(interrupt, words).await? {
        return Err(CommandError::plain(words.cancelled));
    }
    Ok(())
}

fn apply_options(args: &ApplyArgs, interrupt: &Interrupt, log: &Arc<ApplyLog>) -> ApplyOptions {
    let mut opts = ApplyOptions::new(args.journal_dir.clone());
    opts.allow_security_downgrade = args.allow_security_downgrade;
    opts.verify_budget = Duration::from_secs(args.verify_timeout);
    opts.progress = Some(log.progress());
    opts.sequential = args.graph.naive;
    opts.cancel = Some(interrupt.cancel.clone());
    opts
}

/// What a converged apply prints: the count, the journal, the outputs Kandji needs.
fn done_text(report: &ApplyReport, journal: &str) -> String {
    let replicating = match report.replicating {
        0 => String::new(),
        n => format!(" ({n} write(s) acknowledged by Graph and still replicating)"),
    };
    let mut done = format!(
        "\nApply complete: {} change(s) made; converged{replicating}{journal}.\n",
        report.writes
    );
    let o = &report.final_plan.outputs;
    let v = |x: &Option<String>| x.clone().unwrap_or_else(|| "(unknown)".into());
    done.push_str(&format!(
        "\nOutputs\n  {:<29}{}\n  {:<29}{}\n  {:<29}{}\n  {:<29}{}\n  {:<29}{}\n",
        "tenant id",
        v(&o.tenant_id),
        "client id",
        v(&o.client_id),
        "OIDC metadata URL",
        v(&o.oidc_metadata_url),
        "application object id",
        v(&o.application_object_id),
        "service principal object id",
        v(&o.service_principal_object_id),
    ));
    if !o.assigned_groups.is_empty() {
        done.push_str(
            "\nAssigned groups (object ids for Kandji's \"Specify per identity provider group\")\n",
        );
        for g in &o.assigned_groups {
            done.push_str(&format!("  {:<29}{}\n", g.display_name, g.id));
        }
    }
    done
}

/// `apply --format json`: `{format_version, tenant, cloud, converged, stopped, writes, journal,
/// changes, remaining, outputs}` (docs/plan-format.md).
fn report_json(plan: &Plan, log: &ApplyLog, end: &End<'_>) -> String {
    let (converged, report) = match end {
        End::Done(r) => (r.converged, Some(*r)),
        End::Stopped(_) => (false, None),
    };
    let final_plan = report.map_or(plan, |r| &r.final_plan);
    let remaining: Vec<Value> = report
        .filter(|r| !r.converged)
        .map(|r| {
            r.final_plan
                .actionable()
                .map(|c| json!({"object": c.object, "action": c.action.as_str()}))
                .collect()
        })
        .unwrap_or_default();
    json_text(&json!({
        "format_version": "1",
        "tenant": plan.tenant,
        "cloud": plan.cloud,
        "converged": converged,
        "stopped": matches!(end, End::Stopped(_)),
        "writes": report.map(|r| r.writes),
        "journal": match end {
            End::Done(r) => r.journal_dir.as_ref().map(|d| d.display().to_string()),
            End::Stopped(j) => j.clone(),
        },
        "changes": log.changes_json(plan),
        "remaining": remaining,
        "outputs": json_value(final_plan)["outputs"],
    }))
}

/// How apply ended, for the JSON report.
enum End<'a> {
    Done(&'a ApplyReport),
    /// Stopped by a failure or a signal: the journal, when anything was written.
    Stopped(Option<String>),
}

/// Runs apply, and in JSON prints the report whatever the end; gives the report or the error.
async fn apply_reported(
    args: &ApplyArgs,
    client: &entractl_graph::GraphClient,
    (desired, plan, observed): (&Desired, &Plan, &entractl_engine::Observed),
    interrupt: &Interrupt,
) -> Result<ApplyReport, CommandError> {
    let json = args.format == ReportFormat::Json;
    let log = ApplyLog::new(
        plan.actionable().count(),
        !crate::quiet::on(),
        std::io::stderr().is_terminal(),
    );
    let opts = apply_options(args, interrupt, &log);
    let result = apply(client, desired, plan, observed, &opts).await;
    if json {
        let text = match &result {
            Ok(r) => report_json(plan, &log, &End::Done(r)),
            Err(EngineError::Stopped(s)) => report_json(
                plan,
                &log,
                &End::Stopped(s.journal.as_ref().map(|d| d.display().to_string())),
            ),
            Err(_) => report_json(plan, &log, &End::Stopped(None)),
        };
        output::stdout(&text)?;
    }
    let command = if desired.destroying() {
        "destroy"
    } else {
        "apply"
    };
    match result {
        Ok(r) => Ok(r),
        Err(EngineError::Stopped(s)) if matches!(s.cause, StopCause::Interrupted) => {
            Err(CommandError::Interrupted {
                signal: interrupt.signal().unwrap_or(Signal::Interrupt),
                command,
                stopped: Some(s),
            })
        }
        Err(EngineError::Stopped(stopped)) => Err(CommandError::Stopped { command, stopped }),
        Err(e) => Err(e.into()),
    }
}

/// The plan as it is shown before applying: on stdout in text; in JSON only on stderr, when
/// apply asks on a terminal.
fn show_plan(
    args: &ApplyArgs,
    plan: &Plan,
    saved: bool,
    color: ColorChoice,
) -> Result<(), CommandError> {
    match args.format {
        ReportFormat::Text => {
            output::stdout(&render(plan, Format::Text, session::color_stdout(color)))
        }
        ReportFormat::Json => {
            if !args.auto_approve && !saved && std::io::stdin().is_terminal() {
                eprint!("{}", render(plan, Format::Text, false));
            }
            Ok(())
        }
    }
}

pub fn run(args: &ApplyArgs, color: ColorChoice) -> Result<Outcome, CommandError> {
    let Some(target) = args.target.as_deref() else {
        return Err(CommandError::plain("no spec or plan file given"));
    };
    let loaded = load_target(target, &args.graph)?;
    let Some(report) = execute(args, color, loaded, &APPLY)? else {
        return Ok(Outcome::Success);
    };
    if args.format == ReportFormat::Text {
        output::stdout(&done_text(&report, &journal_text(&report)))?;
    }
    Ok(Outcome::Success)
}

/// `; journal: DIR`, when anything was written.
pub(super) fn journal_text(report: &ApplyReport) -> String {
    report
        .journal_dir
        .as_ref()
        .map(|d| format!("; journal: {}", d.display()))
        .unwrap_or_default()
}

/// Plans `target`, shows the plan, checks the permissions, asks, applies and reads back: the
/// report of a converged apply (`None`: nothing to apply, said already). Shared with `destroy`.
pub(super) fn execute(
    args: &ApplyArgs,
    color: ColorChoice,
    (desired, spec_bytes, saved): Target,
    words: &Words,
) -> Result<Option<ApplyReport>, CommandError> {
    let g = &args.graph;
    let target = args.target.as_deref().unwrap_or(std::path::Path::new(""));
    let client = session::spec_client(&desired, g)?;
    session::announce(&desired, &client);
    let rt = session::runtime()?;
    let text = args.format == ReportFormat::Text;
    let color_on = session::color_stdout(color);
    rt.block_on(async {
        let interrupt = Interrupt::listen(true);
        let (observed, plan) = read_and_plan(&client, &desired, &interrupt).await?;
        let plan = match &saved {
            Some(s) => {
                s.check_fresh(target, spec_bytes.as_deref(), &observed)?;
                s.plan.clone()
            }
            None => plan,
        };
        show_plan(args, &plan, saved.is_some(), color)?;
        if !plan.has_changes() {
            nothing_to_apply(text, &plan, words)?;
            return Ok(None);
        }
        preflight::check(&client, &for_plan(&desired, &plan).apply, Phase::Apply).await?;
        approve(args, saved.is_some(), &interrupt, words).await?;
        let report =
            apply_reported(args, &client, (&desired, &plan, &observed), &interrupt).await?;
        if !report.converged {
            if text {
                output::stdout(&format!(
                    "\nThese changes did not take (the tenant still differs after {} s):\n\n",
                    args.verify_timeout
                ))?;
                output::stdout(&render(&report.final_plan, Format::Text, color_on))?;
            }
            return Err(CommandError::failed(
                format!(
                    "{} made {} change(s) but {}{}",
                    words.command,
                    report.writes,
                    words.unconverged,
                    journal_text(&report)
                ),
                "run `entractl plan` to see what differs; Graph may still be replicating, or another process changed the objects",
            ));
        }
        Ok(Some(report))
    })
}

/// Nothing to apply: said in text, or as an empty JSON report.
fn nothing_to_apply(text: bool, plan: &Plan, words: &Words) -> Result<(), CommandError> {
    if text {
        return output::stdout(words.nothing);
    }
    let log = ApplyLog::new(0, false, false);
    let report = ApplyReport {
        writes: 0,
        journal_dir: None,
        final_plan: plan.clone(),
        converged: true,
        replicating: 0,
    };
    output::stdout(&report_json(plan, &log, &End::Done(&report)))
}
