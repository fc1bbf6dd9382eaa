//! `make bench`: runs the `entractl` binary against graph-emulator (in this process) with injected
//! latency and replication delay, reads the emulator's request log, and writes
//! `docs/benchmarks.md`. Every scenario also runs in entractl's naive mode (`--naive`: no
//! `$batch`, one request in flight). Nothing here is a timed test: tests run the smoke mode
//! (tiny sizes) and assert only request counts and outcomes, which do not depend on the machine.

pub mod analyze;
pub mod fresh;
pub mod machine;
pub mod measure;
pub mod report;
pub mod scenarios;
pub mod stats;

use std::path::PathBuf;

pub use report::{Report, render};
pub use scenarios::{Options, run_all};

/// Why a benchmark run stopped.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A file or directory could not be read or written.
    #[error("cannot {action} `{path}`: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// A program could not be started.
    #[error(
        "cannot run `{program}`: {source}; build it first (`cargo build --release --bin entractl`) or pass its path with --entractl"
    )]
    Spawn {
        program: PathBuf,
        source: std::io::Error,
    },
    /// The emulator could not start.
    #[error("graph-emulator: {0}")]
    Emulator(#[from] graph_emulator::Error),
    /// A setup step of a scenario failed, so its figures would mean nothing.
    #[error(
        "{scenario}: {step} failed (exit {code}):\n{stderr}\nFix entractl or the scenario, then run `make bench` again"
    )]
    Step {
        scenario: &'static str,
        step: String,
        code: i32,
        stderr: String,
    },
    /// Anything else, already worded for the user.
    #[error("{0}")]
    Other(String),
}

impl BenchError {
    /// An I/O error on a path.
    pub fn io(action: &'static str, path: &std::path::Path, source: std::io::Error) -> Self {
        BenchError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}
