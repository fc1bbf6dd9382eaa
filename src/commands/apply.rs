//! `entractl apply SPEC|PLANFILE`: plan (or load a saved plan), confirm, apply in dependency
//! order with a journal, read back and report "converged" or what did not take.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use entractl_engine::render::{Format, render};
use entractl_engine::{ApplyOptions, Desired, SavedPlan, apply, diff, fetch};

use super::plan::{
    GraphArgs, announce, client, color_stdout, fail, init_logging, load_spec, runtime,
};
use crate::cli::ColorChoice;
use crate::error::{CliError, Outcome};
use crate::output;

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
    /// Many tenants: `--fleet FILE`, `--shard I/N`, `--parallel N`, `--report FILE`.
    #[command(flatten)]
    pub fleet: super::fleet::FleetArgs,
}

fn confirm() -> Result<bool, CliError> {
    let mut err = std::io::stderr();
    let _ = write!(
        err,
        "\nDo you want to apply these changes? Only `yes` is accepted: "
    );
    let _ = err.flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| fail(format!("cannot read the answer: {e}")))?;
    Ok(line.trim() == "yes")
}

pub fn run(args: &ApplyArgs, g: &GraphArgs, color: ColorChoice) -> Result<Outcome, CliError> {
    let Some(target) = args.target.as_deref() else {
        return super::fleet::apply(args, g, color);
    };
    init_logging(g.verbose);
    let text = std::fs::read_to_string(target).ok();
    let saved = match &text {
        Some(t) if SavedPlan::looks_like(t) => Some(SavedPlan::from_json(target, t).map_err(fail)?),
        _ => None,
    };
    let (desired, spec_bytes): (Desired, Option<Vec<u8>>) = match &saved {
        Some(s) => (s.desired.clone(), std::fs::read(&s.spec_path).ok()),
        None => {
            let (loaded, bytes) = load_spec(target)?;
            (
                Desired::from_spec(&loaded.spec, g.authority_url.as_deref()).locate(&loaded),
                Some(bytes),
            )
        }
    };
    let client = client(&desired.tenant, &desired.cloud, g)?;
    announce(&desired, &client);
    let rt = runtime()?;
    let color_on = color_stdout(color);
    rt.block_on(async {
        let (observed, _) = fetch(&client, &desired).await.map_err(fail)?;
        let plan = match &saved {
            Some(s) => {
                s.check_fresh(target, spec_bytes.as_deref(), &observed)
                    .map_err(fail)?;
                s.plan.clone()
            }
            None => diff(&desired, &observed).map_err(fail)?,
        };
        output::stdout(&render(&plan, Format::Text, color_on))?;
        if !plan.has_changes() {
            output::stdout("\nNothing to apply: the tenant already matches the spec.\n")?;
            return Ok(Outcome::Success);
        }
        if !args.auto_approve {
            if !std::io::stdin().is_terminal() {
                return Err(fail(
                    "refusing to apply without confirmation: stdin is not a terminal\n  hint: review the plan above, then run again with `--auto-approve` (or save it with `entractl plan SPEC --out FILE` and apply that file)",
                ));
            }
            if !confirm()? {
                return Err(fail("apply cancelled: nothing was changed"));
            }
        }
        let mut opts = ApplyOptions::new(args.journal_dir.clone());
        opts.allow_security_downgrade = args.allow_security_downgrade;
        opts.verify_budget = Duration::from_secs(args.verify_timeout);
        if std::io::stderr().is_terminal() {
            opts.progress = Some(Arc::new(|line: &str| eprintln!("  {line}")));
        }
        let report = apply(&client, &desired, &plan, &observed, &opts)
            .await
            .map_err(fail)?;
        let journal = report
            .journal_dir
            .as_ref()
            .map(|d| format!("; journal: {}", d.display()))
            .unwrap_or_default();
        if !report.converged {
            output::stdout(&format!(
                "\nThese changes did not take (the tenant still differs after {} s):\n\n",
                args.verify_timeout
            ))?;
            output::stdout(&render(&report.final_plan, Format::Text, color_on))?;
            return Err(fail(format!(
                "apply made {} change(s) but the tenant does not match the spec yet{journal}\n  hint: run `entractl plan` to see what differs; Graph may still be replicating, or another process changed the objects",
                report.writes
            )));
        }
        let mut done = format!(
            "\nApply complete: {} change(s) made; converged{journal}.\n",
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
        output::stdout(&done)?;
        Ok(Outcome::Success)
    })
}
