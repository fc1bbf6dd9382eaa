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
    #[error(
        "could not {what}: {source}\n  changes before this one were made; the journal {journal} holds the prior state of every object changed.\n  hint: fix the cause and run apply again: it plans from the tenant as it is now"
    )]
    Write {
        what: String,
        journal: String,
        #[source]
        source: entractl_graph::GraphError,
    },
    #[error(
        "could not write the journal {}: {source}\n  nothing was changed in the tenant.\n  hint: choose a writable directory with `--journal-dir DIR`",
        path.display()
    )]
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

impl EngineError {
    /// Maps a failed read to an error saying what was being read.
    pub fn read(what: &str) -> impl FnOnce(entractl_graph::GraphError) -> EngineError + '_ {
        move |source| EngineError::Read {
            what: what.to_string(),
            source,
        }
    }
}
