//! Apply: run a plan's changes in dependency order (`schedule.rs`: a kind starts as soon as
//! the kinds it needs are done, the others at once), each kind's way ([`Kind::sending`]),
//! journal the prior state of every object before changing it, fill in the references to
//! objects created earlier in the same apply, then read back and plan again until the tenant
//! matches (or the verify budget runs out; `verify.rs`).
//!
//! [`Kind::sending`]: crate::core::kinds::Kind::sending

mod options;
mod schedule;
mod send;
mod verify;

use entractl_graph::GraphClient;

use crate::core::desired::Desired;
use crate::core::observed::Observed;
use crate::core::plan::{Change, Plan, Risk};
use crate::error::{EngineError, StopCause, Stopped};
use crate::journal::Journal;

pub use options::{ApplyEvent, ApplyOptions, ApplyReport, Progress};

/// Applies `plan` (made from `observed`) and reads back until the tenant matches `desired`.
pub async fn apply(
    client: &GraphClient,
    desired: &Desired,
    plan: &Plan,
    observed: &Observed,
    opts: &ApplyOptions,
) -> Result<ApplyReport, EngineError> {
    let downgrades: Vec<String> = plan
        .actionable()
        .filter(|c| c.risks.contains(&Risk::SecurityDowngrade))
        .map(Change::describe)
        .collect();
    if !downgrades.is_empty() && !opts.allow_security_downgrade {
        return Err(EngineError::SecurityDowngrade {
            changes: downgrades,
        });
    }
    if !plan.has_changes() {
        return Ok(ApplyReport {
            writes: 0,
            journal_dir: None,
            final_plan: plan.clone(),
            converged: true,
            replicating: 0,
        });
    }
    let mut journal = Journal::new(&opts.journal_root, opts.now);
    let journal_dir = journal.dir().to_path_buf();
    let writer = send::Writer::new(client, observed, &mut journal, opts);
    let mut steps = schedule::steps(plan);
    if opts.sequential {
        schedule::one_after_another(&mut steps);
    }
    // A stop (Ctrl-C, a failure) lets the changes in flight finish and starts no other, so
    // what was made is known.
    let halted = schedule::run(&writer, steps, opts).await.err();
    let written = writer.finish();
    let made = || written.acknowledged.iter().map(Change::describe).collect();
    if let Some(halt) = halted {
        let not_made = not_made(plan, &written.acknowledged, halt.kind);
        return Err(stopped(halt.cause, made(), not_made, &journal));
    }
    if opts.cancelled() {
        // Every change was made; the read-back is skipped.
        return Err(stopped(
            StopCause::Interrupted,
            made(),
            Vec::new(),
            &journal,
        ));
    }
    let made = made();
    let report = verify::read_back(client, desired, opts, written, journal_dir).await?;
    if opts.cancelled() && !report.converged {
        // Stopped while waiting for Graph to show the writes: all were made.
        return Err(stopped(StopCause::Interrupted, made, Vec::new(), &journal));
    }
    Ok(report)
}

fn stopped(
    cause: StopCause,
    made: Vec<String>,
    not_made: Vec<String>,
    journal: &Journal,
) -> EngineError {
    EngineError::Stopped(Box::new(Stopped {
        cause,
        made,
        not_made,
        journal: journal.dir().exists().then(|| journal.dir().to_path_buf()),
    }))
}

/// The plan's changes Graph did not acknowledge: those of the kind that failed first, then the
/// others in apply order.
fn not_made(
    plan: &Plan,
    acknowledged: &[Change],
    failed: Option<crate::core::plan::ObjectKind>,
) -> Vec<String> {
    let mut left: Vec<&Change> = plan
        .actionable()
        .filter(|c| {
            !acknowledged
                .iter()
                .any(|a| a.id() == c.id() && a.action == c.action)
        })
        .collect();
    left.sort_by_key(|c| (Some(c.object.kind) != failed, c.rank()));
    left.into_iter().map(Change::describe).collect()
}
