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
use entractl_fleet::{ApplySettings, FleetReport, RunOptions, Shard, Status, TenantResult};

use super::apply::ApplyArgs;
use super::plan::{FormatArg, GraphArgs, PlanArgs, color_stdout, fail, init_logging, runtime};
use crate::cli::ColorChoice;
use crate::error::{CliError, Outcome};
use crate::output;

/// The fleet flags of `plan` and `apply`.
#[derive(Debug, Clone, Args)]
pub struct FleetArgs {
    /// Plan (or apply) every tenant of a fleet file instead of one spec (see docs/fleet.md).
    /// Exit 2 when any tenant drifted, 1 when any failed (1 wins).
    #[arg(long, value_name = "FILE")]
    pub fleet: Option<PathBuf>,
    /// Only the tenants of shard I of N, numbered from 0 (`--shard 0/4` … `--shard 3/4`); a
    /// tenant's shard depends only on its name. Merge the shards' `--report` files with
    /// `entractl fleet merge`.
    #[arg(long, value_name = "I/N", requires = "fleet")]
    pub shard: Option<Shard>,
    /// How many tenants are read (or applied) at once.
    #[arg(long, value_name = "N", default_value_t = 16, requires = "fleet",
          value_parser = clap::value_parser!(u16).range(1..))]
    pub parallel: u16,
    /// Also write the JSON fleet report to FILE (for `entractl fleet merge`), whatever `--format`.
    #[arg(long, value_name = "FILE", requires = "fleet")]
    pub report: Option<PathBuf>,
}

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

fn load(args: &FleetArgs, g: &GraphArgs) -> Result<(entractl_fleet::Fleet, RunOptions), CliError> {
    init_logging(g.verbose);
    let Some(path) = &args.fleet else {
        return Err(fail("no fleet file given\n  hint: pass `--fleet FILE`"));
    };
    if let Some(auth) = &g.auth {
        return Err(fail(format!(
            "`--auth {auth}` does not apply to `--fleet`: each tenant's `auth` in {} says how to sign in to it\n  hint: remove `--auth`; set `defaults.auth` in the fleet file for every tenant",
            path.display()
        )));
    }
    let fleet = entractl_fleet::load_file(path).map_err(fail)?;
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
            eprintln!(
                "  [{n}/{total}] {}: {} — {detail}",
                r.name,
                r.status.as_str()
            );
        }));
    }
    Ok((fleet, opts))
}

fn write_report(path: &Path, report: &FleetReport) -> Result<(), CliError> {
    std::fs::write(path, report.to_json()).map_err(|e| {
        fail(format!(
            "cannot write the fleet report to {}: {e}\n  hint: choose a writable path for --report",
            path.display()
        ))
    })
}

fn outcome(report: &FleetReport) -> Result<Outcome, CliError> {
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
            Err(fail(format!(
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
pub fn plan(args: &PlanArgs, g: &GraphArgs, color: ColorChoice) -> Result<Outcome, CliError> {
    let (fleet, opts) = load(&args.fleet, g)?;
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
pub fn apply(args: &ApplyArgs, g: &GraphArgs, color: ColorChoice) -> Result<Outcome, CliError> {
    if !args.auto_approve {
        return Err(fail(
            "`apply --fleet` asks no questions: it needs `--auto-approve`\n  hint: review the changes with `entractl plan --fleet FILE` first, then run `entractl apply --fleet FILE --auto-approve`",
        ));
    }
    let (fleet, mut opts) = load(&args.fleet, g)?;
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
pub fn run(cmd: &FleetCommand, color: ColorChoice) -> Result<Outcome, CliError> {
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
                    fail(format!(
                        "cannot read the shard report {name}: {e}\n  hint: pass the files written with `--report`"
                    ))
                })?;
                reports.push((
                    name.clone(),
                    FleetReport::from_json(&name, &text).map_err(fail)?,
                ));
            }
            let merged = entractl_fleet::merge(reports).map_err(fail)?;
            if let Some(out) = &args.out {
                write_report(out, &merged)?;
            }
            let format = args.format.format();
            output::stdout(&merged.render(format, format == Format::Text && color_stdout(color)))?;
            outcome(&merged)
        }
    }
}
