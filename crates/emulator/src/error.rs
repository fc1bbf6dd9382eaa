//! Errors starting or driving the emulator.

use std::path::PathBuf;

/// Errors starting or driving the emulator.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}. Pick a free port or use 127.0.0.1:0")]
    Bind {
        /// Address asked for.
        addr: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The tokio runtime could not be built.
    #[error("cannot start the emulator's runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// Unknown scenario name.
    #[error(
        "unknown scenario `{0}`; built-in scenarios are: p1, p1-legacy, free, free-lapsed, large, empty"
    )]
    UnknownScenario(String),
    /// A fixture file could not be read.
    #[error("cannot read fixture `{path}`: {source}")]
    ReadFixture {
        /// Path.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// A fixture is not valid.
    #[error(
        "invalid fixture `{name}`: {message}. Fix the fixture (see docs/emulator.md, \"Fixtures\")"
    )]
    Fixture {
        /// Fixture name or path.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// The state file could not be read or written.
    #[error("state file `{path}`: {message}. Delete the file to start from the scenario again")]
    StateFile {
        /// Path.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// No tenant with this id.
    #[error("no tenant `{0}` in the emulator")]
    UnknownTenant(String),
    /// Device code approval for an unknown user code.
    #[error("no pending device code with user code `{0}`; start a device-code sign-in first")]
    UnknownDeviceCode(String),
    /// Device code approval for an unknown user.
    #[error("no user `{0}` in the tenant; use a userPrincipalName of the scenario")]
    UnknownUser(String),
}
