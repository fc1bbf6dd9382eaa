//! Apply: run a plan's changes in dependency order, each kind's way ([`Kind::sending`]),
//! journal the prior state of every object before changing it, fill in the references to
//! objects created earlier in the same apply, then read back and plan again until the tenant
//! matches (or the verify budget runs out).

mod send;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use entractl_graph::GraphClient;

use crate::core::desired::Desired;
use crate::core::diff::diff;
use crate::core::kinds::{self, Kind};
use crate::core::observed::Observed;
use crate::core::plan::{Change, Plan, Risk};
use crate::error::{EngineError, StopCause, Stopped};
use crate::fetch::fetch_state;
use crate::journal::Journal;

/// Receives one line of progress ("creating application …").
pub type Progress = Arc<dyn Fn(&str) + Send + Sync>;

/// How to apply.
#[derive(Clone)]
pub struct ApplyOptions {
    /// Root of the journal (`.entractl/journal` by default); a directory per apply goes under it.
    pub journal_root: PathBuf,
    /// The time the journal directory is named after.
    pub now: chrono::DateTime<chrono::Utc>,
    /// Make changes flagged `security-downgrade`.
    pub allow_security_downgrade: bool,
    /// Progress lines (the binary prints them on a terminal).
    pub progress: Option<Progress>,
    /// How long to keep reading back while Graph replicates the writes before declaring that a
    /// change did not take.
    pub verify_budget: Duration,
    /// First pause between read-backs (doubles, capped at 5 s).
    pub verify_interval: Duration,
    /// When set (e.g. on Ctrl-C), no new change is started: the one in flight finishes, then
    /// apply stops with [`EngineError::Stopped`] saying what was and was not made.
    pub cancel: Option<Arc<AtomicBool>>,
}

impl ApplyOptions {
    /// Defaults: journal under `journal_root`, 60 s of read-back, no security downgrades.
    pub fn new(journal_root: PathBuf) -> ApplyOptions {
        ApplyOptions {
            journal_root,
            now: chrono::Utc::now(),
            allow_security_downgrade: false,
            progress: None,
            verify_budget: Duration::from_secs(60),
            verify_interval: Duration::from_millis(500),
            cancel: None,
        }
    }

    fn cancelled(&self) -> bool {
        self.cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::SeqCst))
    }

    pub(crate) fn say(&self, line: &str) {
        if let Some(p) = &self.progress {
            p(line);
        }
    }
}

/// What an apply did.
#[derive(Debug, Clone)]
pub struct ApplyReport {
    /// Write requests sent (creates, updates, deletes).
    pub writes: usize,
    /// The journal directory, when anything was written.
    pub journal_dir: Option<PathBuf>,
    /// The plan made from the tenant after applying (empty when converged).
    pub final_plan: Plan,
    /// True when the read-back shows the tenant matches the spec.
    pub converged: bool,
}

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
        });
    }
    let mut journal = Journal::new(&opts.journal_root, opts.now);
    let mut writer = send::Writer::new(client, observed, &mut journal, opts);
    // Steps: one change at a time, or a kind's changes sent together; a stop (Ctrl-C, a failure)
    // comes between steps, so what was made is known.
    let steps = steps(plan);
    let mut made: Vec<String> = Vec::new();
    for (i, (kind, changes)) in steps.iter().enumerate() {
        let cause = if opts.cancelled() {
            Some(StopCause::Interrupted)
        } else {
            writer.send(*kind, changes).await.err().map(StopCause::from)
        };
        if let Some(cause) = cause {
            let not_made = steps[i..]
                .iter()
                .flat_map(|(_, cs)| cs.iter().map(|c| c.describe()))
                .collect();
            drop(writer);
            return Err(stopped(cause, made, not_made, &journal));
        }
        made.extend(changes.iter().map(|c| c.describe()));
    }
    let writes = writer.count();
    drop(writer);
    if opts.cancelled() {
        // Every change was made; the read-back is skipped.
        return Err(stopped(StopCause::Interrupted, made, Vec::new(), &journal));
    }
    let report = read_back(client, desired, opts, writes, journal.dir().to_path_buf()).await?;
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

/// [`by_kind`], with the changes of a kind sent one by one as steps of their own.
fn steps(plan: &Plan) -> Vec<(&'static dyn Kind, Vec<&Change>)> {
    by_kind(plan)
        .into_iter()
        .flat_map(|(kind, changes)| match kind.sending() {
            kinds::Sending::OneByOne => changes.into_iter().map(|c| (kind, vec![c])).collect(),
            kinds::Sending::Together { .. } => vec![(kind, changes)],
        })
        .collect()
}

/// The actionable changes in apply order, grouped by consecutive kind.
fn by_kind(plan: &Plan) -> Vec<(&'static dyn Kind, Vec<&Change>)> {
    let mut changes: Vec<&Change> = plan.actionable().collect();
    changes.sort_by_key(|c| c.rank());
    let mut out: Vec<(&'static dyn Kind, Vec<&Change>)> = Vec::new();
    for c in changes {
        match out.last_mut() {
            Some((k, list)) if k.kind() == c.object.kind => list.push(c),
            _ => out.push((kinds::of(c.object.kind), vec![c])),
        }
    }
    out
}

/// Reads back and plans again until the tenant shows what was written (Graph replicates), or
/// the verify budget runs out.
async fn read_back(
    client: &GraphClient,
    desired: &Desired,
    opts: &ApplyOptions,
    writes: usize,
    journal_dir: PathBuf,
) -> Result<ApplyReport, EngineError> {
    let start = Instant::now();
    let mut pause = opts.verify_interval;
    loop {
        // Without What-If (paced at one a second): only convergence is checked here.
        let (now_observed, _) = fetch_state(client, desired).await?;
        let again = diff(desired, &now_observed)?;
        let converged = !again.has_changes();
        if converged || opts.cancelled() || start.elapsed() + pause > opts.verify_budget {
            return Ok(ApplyReport {
                writes,
                journal_dir: Some(journal_dir),
                final_plan: again,
                converged,
            });
        }
        opts.say(&format!(
            "waiting {} ms for Graph to show the changes (replication) …",
            pause.as_millis()
        ));
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}
