//! Fleets: `entractl plan --fleet FILE`, `entractl apply --fleet FILE --auto-approve` (with
//! `--shard I/N`, `--parallel N`, `--report FILE`), `entractl fleet merge` and
//! `entractl fleet schema`. See `docs/fleet.md`.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use clap::{Args, Subcommand};
use entractl_engine::render::Format;
use entractl_fleet::{ApplySettings, FleetReport, RunOptions, Status, TenantResult};

use super::apply::ApplyArgs;
use super::plan::PlanArgs;
use crate::args::{ColorChoice, FleetArgs, FormatArg, GraphArgs};
use crate::error::{CommandError, Outcome};
use crate::output;
use crate::session::{color_stdout, runtime};

/// `entractl fleet …`
#[derive(Debug, Args)]
pub struct FleetCommand {
    #[command(subcommand)]
    pub command: FleetSubcommand,
}

#[derive(Debug, Subcommand)]
pub enum FleetSubcommand {
    /// Merge the JSON reports of every shard (`plan --fleet F --shard I/N --report FILE`) into the
    /// report of the whole fleet; exit 2 when any tenant drifted, 1 when any failed.
    Merge(MergeArgs),
    /// Print the JSON Schema of the fleet file (for editors and CI).
    Schema,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The shard reports (JSON), one per shard.
    #[arg(value_name = "REPORT", required = true)]
    pub reports: Vec<PathBuf>,
    /// Output format of the merged report.
    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    pub format: FormatArg,
    /// Also write the merged JSON report to FILE.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

fn load(
    args: &FleetArgs,
    g: &GraphArgs,
) -> Result<(entractl_fleet::Fleet, RunOptions), CommandError> {
    let Some(path) = &args.fleet else {
        return Err(CommandError::failed(
            "no fleet file given",
            "pass `--fleet FILE`",
        ));
    };
    if let Some(auth) = &g.auth {
        return Err(CommandError::failed(
            format!(
                "`--auth {auth}` does not apply to `--fleet`: each tenant's `auth` in {} says how to sign in to it",
                path.display()
            ),
            "remove `--auth`; set `defaults.auth` in the fleet file for every tenant",
        ));
    }
    let fleet = entractl_fleet::load_file(path)?;
    let env: BTreeMap<String, String> = std::env::vars().collect();
    let mut opts = RunOptions::new(env);
    opts.parallel = usize::from(args.parallel);
    opts.shard = args.shard;
    opts.graph_url = g.graph_url.clone();
    opts.authority_url = g.authority_url.clone();
    let total = entractl_fleet::select(&fleet, args.shard).len();
    if total == 0 {
        eprintln!(
            "warning: {} has no tenants in shard {}: nothing to do",
            path.display(),
            args.shard.map(|s| s.to_string()).unwrap_or_default()
        );
    }
    if std::io::stderr().is_terminal() {
        let done = Arc::new(AtomicUsize::new(0));
        opts.on_tenant_done = Some(Arc::new(move |r: &TenantResult| {
            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
            let detail = match r.status {
                Status::Failed => r
                    .error
                    .as_ref()
                    .and_then(|e| e.message.lines().next().map(str::to_string))
                    .unwrap_or_default(),
                _ => format!("{} change(s)", r.changes),
            };
            crate::quiet::note(&format!(
                "  [{n}/{total}] {}: {} — {detail}",
                r.name,
                r.status.as_str()
            ));
        }));
    }
    Ok((fleet, opts))
}

fn write_report(path: &Path, report: &FleetReport) -> Result<(), CommandError> {
    std::fs::write(path, report.to_json()).map_err(|e| {
        CommandError::failed(
            format!("cannot write the fleet report to {}: {e}", path.display()),
            "choose a writable path for --report",
        )
    })
}

fn outcome(report: &FleetReport) -> Result<Outcome, CommandError> {
    match report.exit_code() {
        0 => Ok(Outcome::Success),
        2 => Ok(Outcome::ChangesPresent),
        _ => {
            let failed: Vec<&str> = report
                .tenants
                .iter()
                .filter(|t| t.status == Status::Failed)
                .map(|t| t.name.as_str())
                .collect();
            Err(CommandError::plain(format!(
                "{} of {} tenant(s) failed: {}; the others were {} (see the report above)",
                failed.len(),
                report.summary.tenants,
                failed.join(", "),
                match report.operation {
                    entractl_fleet::Operation::Plan => "planned",
                    entractl_fleet::Operation::Apply => "applied",
                }
            )))
        }
    }
}

/// `entractl plan --fleet FILE`.
pub fn plan(args: &PlanArgs, color: ColorChoice) -> Result<Outcome, CommandError> {
    let (fleet, opts) = load(&args.fleet, &args.graph)?;
    let report = runtime()?.block_on(entractl_fleet::run(&fleet, &opts));
    drop(fleet);
    if let Some(p) = &args.fleet.report {
        write_report(p, &report)?;
    }
    let format = args.format.format();
    output::stdout(&report.render(format, format == Format::Text && color_stdout(color)))?;
    outcome(&report)
}

/// `entractl apply --fleet FILE --auto-approve`.
pub fn apply(args: &ApplyArgs, color: ColorChoice) -> Result<Outcome, CommandError> {
    if !args.auto_approve {
        return Err(CommandError::failed(
            "`apply --fleet` asks no questions: it needs `--auto-approve`",
            "review the changes with `entractl plan --fleet FILE` first, then run `entractl apply --fleet FILE --auto-approve`",
        ));
    }
    let (fleet, mut opts) = load(&args.fleet, &args.graph)?;
    opts.apply = Some(ApplySettings {
        journal_dir: args.journal_dir.clone(),
        allow_security_downgrade: args.allow_security_downgrade,
        verify_budget: Duration::from_secs(args.verify_timeout),
    });
    let report = runtime()?.block_on(entractl_fleet::run(&fleet, &opts));
    drop(fleet);
    if let Some(p) = &args.fleet.report {
        write_report(p, &report)?;
    }
    output::stdout(&report.render(Format::Text, color_stdout(color)))?;
    outcome(&report).map(|_| Outcome::Success)
}

/// `entractl fleet merge|schema`.
pub fn run(cmd: &FleetCommand, color: ColorChoice) -> Result<Outcome, CommandError> {
    match &cmd.command {
        FleetSubcommand::Schema => {
            output::stdout(&entractl_fleet::json_schema())?;
            Ok(Outcome::Success)
        }
        FleetSubcommand::Merge(args) => {
            let mut reports = Vec::new();
            for p in &args.reports {
                let name = p.display().to_string();
                let text = std::fs::read_to_string(p).map_err(|e| {
                    CommandError::failed(
                        format!("cannot read the shard report {name}: {e}"),
                        "pass the files written with `--report`",
                    )
                })?;
                reports.push((name.clone(), FleetReport::from_json(&name, &text)?));
            }
            let merged = entractl_fleet::merge(reports)?;
            if let Some(out) = &args.out {
                write_report(out, &merged)?;
            }
            let format = args.format.format();
            output::stdout(&merged.render(format, format == Format::Text && color_stdout(color)))?;
            outcome(&merged)
        }
    }
}
