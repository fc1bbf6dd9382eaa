//! Every way a command fails: [`CommandError`], whose variants hold the libraries' typed errors.
//! `wording.rs` words them for the command line (hints that name flags live there, never in a
//! library); `exit.rs` prints them and decides the exit code.

use crate::interrupt::Signal;
use crate::preflight::{CheckError, Missing};

/// What a successful command found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Done; nothing to change (exit 0).
    Success,
    /// A plan has changes and `--detailed-exitcode` was given (exit 2).
    ChangesPresent,
    /// The sign-in forecast says Passport's password sign-in will fail for someone (exit 3:
    /// `plan --detailed-exitcode`, `verify`).
    SignInWillFail,
}

/// Every way a command can fail.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// One or more spec files are not valid; each report holds all errors of its file.
    #[error("{} of {files} spec file(s) are not valid", reports.len())]
    InvalidSpecs {
        reports: Vec<entractl_spec::SpecReport>,
        files: usize,
    },
    /// The command line is wrong (or asked for `--help`/`--version`, which clap prints).
    #[error("{0}")]
    Usage(clap::Error),
    /// Writing to stdout failed.
    #[error("cannot write to stdout: {0}")]
    Stdout(#[source] std::io::Error),
    /// Planning, applying or loading a saved plan failed.
    #[error(transparent)]
    Engine(#[from] entractl_engine::EngineError),
    /// Exporting an app failed.
    #[error(transparent)]
    Export(#[from] entractl_engine::export::ExportError),
    /// A Graph client could not be set up or a Graph call failed outside the engine.
    #[error(transparent)]
    Graph(#[from] entractl_graph::GraphError),
    /// No credential could be built.
    #[error(transparent)]
    Auth(#[from] entractl_graph::AuthError),
    /// A `--graph-url` or `--authority-url` is unusable.
    #[error("{flag}: {source}")]
    Url {
        flag: &'static str,
        #[source]
        source: entractl_graph::ConfigError,
    },
    /// The fleet file is not valid.
    #[error(transparent)]
    FleetFile(#[from] entractl_fleet::FleetFileError),
    /// GitHub (a comment, an issue, the job's files) failed.
    #[error(transparent)]
    Github(#[from] entractl_github::GithubError),
    /// Shard reports cannot be merged.
    #[error(transparent)]
    Merge(#[from] entractl_fleet::MergeError),
    /// The token lacks permissions the command needs; nothing was written.
    #[error("{0}")]
    MissingPermissions(Box<Missing>),
    /// A signal stopped the command (SIGINT exits 130, SIGTERM 143).
    #[error("{}", crate::interrupt::describe(*signal, command, stopped.as_deref()))]
    Interrupted {
        signal: Signal,
        /// The command stopped (`apply`, `destroy`, `plan`): what the words say to run again.
        command: &'static str,
        /// What apply made and did not make; `None` when nothing was being written.
        stopped: Option<Box<entractl_engine::error::Stopped>>,
    },
    /// A write failed and `apply` or `destroy` stopped part way: what was and was not made.
    #[error("{stopped}")]
    Stopped {
        /// The command that stopped (`apply`, `destroy`): what the hint says to run again.
        command: &'static str,
        stopped: Box<entractl_engine::error::Stopped>,
    },
    /// A failure worded by the command itself: what, where, and (optionally) what to do.
    #[error("{message}")]
    Failed {
        message: String,
        hint: Option<String>,
    },
}

impl CommandError {
    /// A failure worded by a command, with a hint.
    pub fn failed(message: impl Into<String>, hint: impl Into<String>) -> CommandError {
        CommandError::Failed {
            message: message.into(),
            hint: Some(hint.into()),
        }
    }

    /// A failure worded by a command, without a hint.
    pub fn plain(message: impl Into<String>) -> CommandError {
        CommandError::Failed {
            message: message.into(),
            hint: None,
        }
    }
}

impl From<CheckError> for CommandError {
    fn from(e: CheckError) -> CommandError {
        match e {
            CheckError::Auth(a) => CommandError::Auth(a),
            CheckError::Graph(g) => CommandError::Graph(g),
            CheckError::Missing(m) => CommandError::MissingPermissions(m),
        }
    }
}
