//! Errors of the engine's I/O: reading the tenant, applying, the journal, saved plans. Each says
//! what went wrong, where, and how to fix it.

use entractl_graph::GraphError;

pub use crate::core::error::PlanError;

/// Why fetching, applying or loading a saved plan failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("could not {what}: {source}")]
    Read {
        what: String,
        #[source]
        source: entractl_graph::GraphError,
    },
    /// One write failed. Inside `apply` it arrives wrapped in [`EngineError::Stopped`], which
    /// says what was and was not made.
    #[error("could not {what}: {source}")]
    Write {
        what: String,
        journal: String,
        #[source]
        source: entractl_graph::GraphError,
    },
    #[error("could not write the journal {}: {source}", path.display())]
    Journal {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the plan weakens security and apply was not allowed to: {}\n  hint: review these changes, then run apply with `--allow-security-downgrade`",
        changes.join("; ")
    )]
    SecurityDowngrade { changes: Vec<String> },
    /// A bug: the message says what invariant broke.
    #[error("internal: {0}")]
    Internal(String),
    #[error(
        "the saved plan {} is stale: {}\n  hint: make a new plan with `entractl plan SPEC --out FILE`, review it, and apply that",
        path.display(),
        reasons.join("; ")
    )]
    StalePlan {
        path: std::path::PathBuf,
        reasons: Vec<String>,
    },
    #[error(
        "{} is not a usable saved plan: {reason}\n  hint: saved plans are written by `entractl plan SPEC --out FILE` (format_version {})",
        path.display(),
        crate::core::plan::FORMAT_VERSION
    )]
    SavedPlan {
        path: std::path::PathBuf,
        reason: String,
    },
    /// An apply stopped part way (interrupted, or a change failed).
    #[error(transparent)]
    Stopped(Box<Stopped>),
}

/// A read of the tenant that failed: what was being read, and Graph's error.
#[derive(Debug, Clone, thiserror::Error)]
#[error("could not {what}: {source}")]
pub struct ReadError {
    pub what: String,
    #[source]
    pub source: GraphError,
}

impl ReadError {
    /// Maps a failed read to an error saying what was being read.
    pub fn of(what: impl Into<String>) -> impl FnOnce(GraphError) -> ReadError {
        let what = what.into();
        move |source| ReadError { what, source }
    }
}

impl From<ReadError> for EngineError {
    fn from(e: ReadError) -> EngineError {
        EngineError::Read {
            what: e.what,
            source: e.source,
        }
    }
}

/// Why an apply stopped before its last change.
#[derive(Debug)]
pub enum StopCause {
    /// The caller asked it to stop ([`crate::ApplyOptions::cancel`]): no new change was started.
    Interrupted,
    /// A change (or its journal entry) failed.
    Failed(Box<EngineError>),
}

impl From<EngineError> for StopCause {
    fn from(e: EngineError) -> StopCause {
        StopCause::Failed(Box::new(e))
    }
}

/// An apply that stopped part way: what was made, what was not, and where the journal is.
#[derive(Debug)]
pub struct Stopped {
    pub cause: StopCause,
    /// The changes made, in order (`create application "Kandji Passport"`).
    pub made: Vec<String>,
    /// The changes not made (the failed one first; changes sent together with a failed one in
    /// `$batch`es count as not made, though some of them may have been).
    pub not_made: Vec<String>,
    /// The journal directory, when anything was journaled.
    pub journal: Option<std::path::PathBuf>,
}

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.cause {
            StopCause::Interrupted => f.write_str("apply was interrupted")?,
            StopCause::Failed(e) => write!(f, "{e}")?,
        }
        match self.made.len() {
            0 => f.write_str("\n  nothing was changed in the tenant")?,
            n => write!(f, "\n  {n} change(s) were made before it stopped")?,
        }
        if !self.not_made.is_empty() {
            write!(f, "; {} change(s) were not made", self.not_made.len())?;
        }
        if let (Some(dir), false) = (&self.journal, self.made.is_empty()) {
            write!(
                f,
                "; the journal {} holds the prior state of every object changed",
                dir.display()
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for Stopped {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.cause {
            StopCause::Interrupted => None,
            StopCause::Failed(e) => Some(e.as_ref()),
        }
    }
}

impl EngineError {
    /// Maps a failed read to an error saying what was being read.
    pub fn read(what: &str) -> impl FnOnce(entractl_graph::GraphError) -> EngineError + '_ {
        move |source| EngineError::Read {
            what: what.to_string(),
            source,
        }
    }
}
