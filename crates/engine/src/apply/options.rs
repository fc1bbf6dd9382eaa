//! How to apply ([`ApplyOptions`]) and what an apply did ([`ApplyReport`]).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::core::plan::{Change, Plan};
use crate::error::EngineError;

/// What apply is doing, as it happens (the binary words it: a line per change, a JSON record).
/// Kinds that need nothing from each other are sent side by side, so events of different kinds
/// may interleave.
#[derive(Debug, Clone, Copy)]
pub enum ApplyEvent<'a> {
    /// The change is about to be sent (a kind sent together: each of its changes, then the batch).
    Started { change: &'a Change },
    /// The change was made: the object's id (what a create answered; the existing object's id
    /// otherwise, when it has one) and how long it took (for a kind sent together, the batch).
    Made {
        change: &'a Change,
        id: Option<&'a str>,
        elapsed: Duration,
    },
    /// The change failed; apply starts no other change.
    Failed {
        change: &'a Change,
        error: &'a EngineError,
        elapsed: Duration,
    },
    /// Every write was sent; waiting this long for Graph to show them (replication) before
    /// reading back again.
    Waiting { pause: Duration },
}

/// Receives [`ApplyEvent`]s as they happen.
pub type Progress = Arc<dyn Fn(&ApplyEvent<'_>) + Send + Sync>;

/// How to apply.
#[derive(Clone)]
pub struct ApplyOptions {
    /// Root of the journal (`.entractl/journal` by default); a directory per apply goes under it.
    pub journal_root: PathBuf,
    /// The time the journal directory is named after.
    pub now: chrono::DateTime<chrono::Utc>,
    /// Make changes flagged `security-downgrade`.
    pub allow_security_downgrade: bool,
    /// Told what happens, change by change (the binary prints it).
    pub progress: Option<Progress>,
    /// How long to keep reading back while Graph replicates the writes before declaring that a
    /// change did not take.
    pub verify_budget: Duration,
    /// First pause between read-backs (doubles, capped at 5 s).
    pub verify_interval: Duration,
    /// When set (e.g. on Ctrl-C), no new change is started: the ones in flight finish, then
    /// apply stops with [`EngineError::Stopped`](crate::error::EngineError::Stopped) saying
    /// what was and was not made.
    pub cancel: Option<Arc<AtomicBool>>,
    /// Send the kinds one after the other in rank order, each waiting for the one before (the
    /// naive mode of benchmarks), instead of as soon as what they need is done.
    pub sequential: bool,
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
            sequential: false,
        }
    }

    pub(super) fn cancelled(&self) -> bool {
        self.cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::SeqCst))
    }

    pub(crate) fn tell(&self, event: ApplyEvent<'_>) {
        if let Some(p) = &self.progress {
            p(&event);
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
    /// True when the read-back shows the tenant matches the spec (counting the writes Graph
    /// acknowledged and does not show yet, see `replicating`).
    pub converged: bool,
    /// Writes Graph acknowledged that the read-back did not show yet (replication), taken as
    /// done when converged.
    pub replicating: usize,
}
