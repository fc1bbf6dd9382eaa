//! `entractl destroy SPEC`: decommission what the spec manages — a plan first (the spec's
//! desired state with nothing present, through the same kinds and the same apply as `apply`):
//! every downgrade entractl recorded restored, the app's assignments, grants, service principal
//! and application removed (the application to deleted items, where `entractl apply SPEC`
//! restores it within 30 days), the placeholder app removed, entractl's record groups deleted
//! last. Confirmation, `--auto-approve`, permission check, journal and Ctrl-C as `apply`.

use std::path::PathBuf;

use clap::Args;
use entractl_engine::{ApplyReport, Desired};

use super::apply::{ApplyArgs, Words, execute, journal_text};
use crate::args::{ColorChoice, FleetArgs, GraphArgs, ReportFormat};
use crate::error::{CommandError, Outcome};
use crate::{output, session};

#[derive(Debug, Args)]
pub struct DestroyArgs {
    /// The spec whose app (and what entractl weakened for it) to decommission.
    #[arg(value_name = "SPEC")]
    pub spec: PathBuf,
    /// Destroy without asking (for automation). Without it, destroy asks on a terminal and
    /// refuses otherwise.
    #[arg(long)]
    pub auto_approve: bool,
    /// Also delete an application the spec adopts by `app.appId` (entractl did not create it),
    /// with its service principal, grants and assignments. Without it they are left as they are;
    /// the restores and the record's removal are made either way.
    #[arg(long)]
    pub delete_adopted_app: bool,
    /// Where the prior state of every changed object is written before the change.
    #[arg(long, value_name = "DIR", default_value = ".entractl/journal")]
    pub journal_dir: PathBuf,
    /// How long to read back while Graph replicates the writes, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub verify_timeout: u64,
    /// Output format: text for people; json for machines (as `apply --format json`). Either way
    /// one line per change goes to stderr as it is made. The plan alone: `entractl plan SPEC
    /// --destroy` (text, json or markdown).
    #[arg(long, value_enum, default_value_t)]
    pub format: ReportFormat,
    #[command(flatten, next_help_heading = "Microsoft Graph and sign-in")]
    pub graph: GraphArgs,
}

const DESTROY: Words = Words {
    command: "destroy",
    question: "Do you want to destroy what this plan deletes and restore what it restores? Only `yes` is accepted: ",
    refused: (
        "refusing to destroy without confirmation: stdin is not a terminal",
        "review the plan above (or `entractl plan SPEC --destroy`), then run again with `--auto-approve`",
    ),
    cancelled: "destroy cancelled: nothing was changed",
    nothing: "\nNothing to destroy: nothing the spec manages is left, and nothing entractl weakened is recorded.\n",
    unconverged: "something the spec manages is still there",
};

pub fn run(args: &DestroyArgs, color: ColorChoice) -> Result<Outcome, CommandError> {
    let (loaded, _) = session::load_spec(&args.spec)?;
    let desired = Desired::from_spec(&loaded.spec, args.graph.authority_url.as_deref())
        .locate(&loaded)
        .for_destroy(args.delete_adopted_app);
    let deletes_app = desired.deletes_app();
    let apply = ApplyArgs {
        target: Some(args.spec.clone()),
        auto_approve: args.auto_approve,
        journal_dir: args.journal_dir.clone(),
        allow_security_downgrade: false,
        verify_timeout: args.verify_timeout,
        format: args.format,
        fleet: FleetArgs {
            fleet: None,
            shard: None,
            parallel: 1,
            report: None,
        },
        graph: args.graph.clone(),
    };
    let Some(report) = execute(&apply, color, (desired, None, None), &DESTROY)? else {
        return Ok(Outcome::Success);
    };
    if args.format == ReportFormat::Text {
        output::stdout(&done_text(&report, &args.spec, deletes_app))?;
    }
    Ok(Outcome::Success)
}

/// What a converged destroy prints.
fn done_text(report: &ApplyReport, spec: &std::path::Path, deletes_app: bool) -> String {
    let done = format!(
        "\nDestroy complete: {} change(s) made; nothing the spec manages is left{}.\n",
        report.writes,
        journal_text(report),
    );
    if !deletes_app {
        return done
            + "The adopted application, its service principal, grants and assignments are left as they were.\n";
    }
    let client = report
        .final_plan
        .outputs
        .client_id
        .as_deref()
        .map(|c| format!(" (client id {c})"))
        .unwrap_or_default();
    done + &format!(
        "The application{client} stays in deleted items for 30 days: `entractl apply {}` restores it with the same client id.\n",
        spec.display()
    )
}
