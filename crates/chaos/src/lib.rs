//! entractl's reliability campaign (`make chaos`).
//!
//! For every run: start graph-emulator in-process (scenario `p1` or `empty`) with a fault schedule
//! drawn from the run's seed ([`schedule`]), plan the spec without faults, run `entractl apply
//! --auto-approve` as a subprocess under the faults, SIGKILL it after a random number of writes in
//! a share of runs, then rerun without faults and check the invariants ([`invariants`]) on the
//! emulator's state, its request log and the journal. [`report`] renders `docs/reliability.md`.

pub mod invariants;
pub mod journal_check;
pub mod oracle;
pub mod report;
pub mod run;
pub mod schedule;
pub mod snapshot;
pub mod violation;

use std::path::PathBuf;

/// Something that stops the campaign itself (not an invariant violation).
#[derive(Debug, thiserror::Error)]
pub enum ChaosError {
    /// The emulator did not start.
    #[error("graph-emulator did not start for run {run}: {message}")]
    Emulator { run: usize, message: String },
    /// entractl could not be started.
    #[error(
        "cannot run entractl at `{path}`: {source}; build it first (`cargo build -p entractl`) or pass --entractl PATH"
    )]
    Spawn {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A file could not be read or written.
    #[error("{what} `{path}`: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// The unfaulted plan of a run could not be made (the spec or the harness is broken).
    #[error("run {run}: the plan without faults failed (exit {code:?}): {stderr}")]
    Plan {
        run: usize,
        code: Option<i32>,
        stderr: String,
    },
    /// Bad arguments.
    #[error("{0}")]
    Usage(String),
}
