//! `entractl plan SPEC`: read the tenant, print what would change.

use std::path::PathBuf;

use clap::Args;
use entractl_engine::permissions::required_permissions;
use entractl_engine::render::{Format, render};
use entractl_engine::{Desired, Observed, Plan, SavedPlan, diff, fetch};
use entractl_graph::GraphClient;

use crate::args::{ColorChoice, FleetArgs, FormatArg, GraphArgs};
use crate::error::{CommandError, Outcome};
use crate::interrupt::Interrupt;
use crate::preflight::{self, Phase};
use crate::{output, session};

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The spec file.
    #[arg(
        value_name = "SPEC",
        required_unless_present = "fleet",
        conflicts_with = "fleet"
    )]
    pub spec: Option<PathBuf>,
    /// Output format: text for people, json for machines, markdown for pull-request comments.
    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    pub format: FormatArg,
    /// Exit 0 when there is nothing to change, 2 when there are changes, 3 when the sign-in
    /// forecast says Passport's password sign-in (Mac Login) will fail for someone once the plan
    /// is applied, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Save the plan (with fingerprints of the spec and the tenant objects) for `entractl apply FILE`.
    #[arg(long, value_name = "FILE", conflicts_with = "fleet")]
    pub out: Option<PathBuf>,
    /// Show what `entractl destroy SPEC` would do instead: the restores of what entractl
    /// weakened, and what it deletes.
    #[arg(long, conflicts_with_all = ["out", "fleet"])]
    pub destroy: bool,
    /// With `--destroy`: also delete an application the spec adopts by `app.appId`.
    #[arg(long, requires = "destroy")]
    pub delete_adopted_app: bool,
    /// Many tenants: `--fleet FILE`, `--shard I/N`, `--parallel N`, `--report FILE`.
    #[command(flatten)]
    pub fleet: FleetArgs,
    #[command(flatten, next_help_heading = "Microsoft Graph and sign-in")]
    pub graph: GraphArgs,
}

/// Checks the read permissions, reads the tenant and plans; a signal stops it at once (reads
/// only: nothing to finish).
pub async fn read_and_plan(
    client: &GraphClient,
    desired: &Desired,
    interrupt: &Interrupt,
) -> Result<(Observed, Plan), CommandError> {
    let work = async {
        preflight::check(client, &required_permissions(desired).plan, Phase::Plan).await?;
        let (observed, _) = fetch(client, desired).await?;
        let plan = diff(desired, &observed).map_err(entractl_engine::EngineError::from)?;
        Ok::<_, CommandError>((observed, plan))
    };
    tokio::select! {
        r = work => r,
        signal = interrupt.wait() => Err(CommandError::Interrupted { signal, command: "plan", stopped: None }),
    }
}

pub fn run(args: &PlanArgs, color: ColorChoice) -> Result<Outcome, CommandError> {
    let g = &args.graph;
    let Some(spec_path) = args.spec.as_deref() else {
        return Err(CommandError::plain("no spec file given"));
    };
    let (loaded, bytes) = session::load_spec(spec_path)?;
    let mut desired = Desired::from_spec(&loaded.spec, g.authority_url.as_deref()).locate(&loaded);
    if args.destroy {
        desired = desired.for_destroy(args.delete_adopted_app);
    }
    let client = session::spec_client(&desired, g)?;
    session::announce(&desired, &client);
    let rt = session::runtime()?;
    let (observed, plan) = rt.block_on(async {
        let interrupt = Interrupt::listen(false);
        read_and_plan(&client, &desired, &interrupt).await
    })?;
    // The saved plan is made before the plan is shown, so that what was read is freed before
    // rendering needs memory (a plan of thousands of users peaks there).
    let saved = args.out.as_ref().map(|out| {
        let saved = SavedPlan::new_now(
            &spec_path.display().to_string(),
            &bytes,
            &desired,
            &observed,
            &plan,
        );
        (out, saved.to_json())
    });
    // Freed on another thread while the plan renders: for a 10,000-member group, freeing what
    // was read takes about ten milliseconds (make bench, scenario 4).
    std::thread::spawn(move || drop(observed));
    let format = args.format.format();
    output::stdout(&render(
        &plan,
        format,
        format == Format::Text && session::color_stdout(color),
    ))?;
    if let Some((out, json)) = saved {
        std::fs::write(out, json).map_err(|e| {
            CommandError::failed(
                format!("cannot write the plan to {}: {e}", out.display()),
                "choose a writable path for --out",
            )
        })?;
        crate::quiet::note(&format!(
            "Saved the plan to {}: apply exactly it with `entractl apply {}`",
            out.display(),
            out.display()
        ));
    }
    let fails = plan.sign_in_forecast.as_ref().is_some_and(|f| f.fails());
    let outcome = match (args.detailed_exitcode, fails, plan.has_changes()) {
        (true, true, _) => Outcome::SignInWillFail,
        (true, false, true) => Outcome::ChangesPresent,
        _ => Outcome::Success,
    };
    // The process ends with the command: the plan is not freed piece by piece (for 10,000 users
    // that took longer than writing it out).
    std::mem::forget(plan);
    Ok(outcome)
}
