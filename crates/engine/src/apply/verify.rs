//! The read-back after the writes: read the tenant again and plan again until nothing is left
//! to change, or the verify budget runs out.
//!
//! Graph replicates: an object created or changed a moment ago can stay invisible (or show its
//! previous version) for seconds. A change the fresh plan still asks for that is exactly a write
//! Graph acknowledged in this apply — same object, same action, same body — is that lag, not a
//! write that did not take: the read-back applies it to the fresh read as Graph does (with the
//! ids Graph answered) and plans again, instead of waiting for replication. Anything else the
//! plan asks for (a value Graph stored differently, a change by someone else meanwhile) keeps
//! the apply unconverged, and the read-back reads again after a pause.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use entractl_graph::GraphClient;

use super::options::{ApplyEvent, ApplyOptions, ApplyReport};
use super::send::Written;
use crate::core::desired::Desired;
use crate::core::diff::diff;
use crate::core::error::PlanError;
use crate::core::observed::Observed;
use crate::core::plan::{Change, Plan};
use crate::core::refs::resolve_refs;
use crate::core::simulate::simulate_answered;
use crate::error::EngineError;
use crate::fetch::fetch_state;

/// Reads back and plans again until the tenant matches, counting acknowledged writes Graph does
/// not show yet as done.
pub(super) async fn read_back(
    client: &GraphClient,
    desired: &Desired,
    opts: &ApplyOptions,
    written: Written,
    journal_dir: PathBuf,
) -> Result<ApplyReport, EngineError> {
    let start = Instant::now();
    let mut pause = opts.verify_interval;
    loop {
        // Without What-If: only convergence is checked here.
        let (observed, _) = fetch_state(client, desired).await?;
        let (again, replicating) = plan_after(desired, &observed, &written)?;
        let converged = !again.has_changes();
        if converged || opts.cancelled() || start.elapsed() + pause > opts.verify_budget {
            return Ok(ApplyReport {
                writes: written.writes,
                journal_dir: Some(journal_dir),
                final_plan: again,
                converged,
                replicating: if converged { replicating } else { 0 },
            });
        }
        opts.tell(ApplyEvent::Waiting { pause });
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}

/// The plan from a fresh read, once the acknowledged writes it still asks for have replicated;
/// and how many of them there were.
pub(super) fn plan_after(
    desired: &Desired,
    observed: &Observed,
    written: &Written,
) -> Result<(Plan, usize), PlanError> {
    let fresh = diff(desired, observed)?;
    let pending: Vec<Change> = fresh
        .actionable()
        .filter_map(|c| acknowledged(c, written))
        .collect();
    if pending.is_empty() {
        return Ok((fresh, 0));
    }
    let replicated = simulate_answered(observed, &pending, &written.created)?;
    Ok((diff(desired, &replicated)?, pending.len()))
}

/// `c` with its references filled in, when it is exactly a write Graph acknowledged.
fn acknowledged(c: &Change, written: &Written) -> Option<Change> {
    let c = resolve_refs(c, &written.created).ok()?;
    written
        .acknowledged
        .iter()
        .any(|w| same_write(w, &c))
        .then_some(c)
}

fn same_write(a: &Change, b: &Change) -> bool {
    a.id() == b.id() && a.action == b.action && a.payload == b.payload
}
