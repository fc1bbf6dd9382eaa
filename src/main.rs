//! entractl: keep a Microsoft Entra ID tenant's sign-in configuration in git.
//!
//! `main` only turns the result of `run` into an exit code; `error.rs` is the one place that
//! decides exit codes and prints errors.

mod cli;
mod commands;
mod error;
mod output;

use std::process::ExitCode;

use clap::Parser;

use crate::error::{CliError, Outcome};

fn run() -> Result<Outcome, CliError> {
    let cli = cli::Cli::try_parse().map_err(CliError::Usage)?;
    commands::run(cli)
}

fn main() -> ExitCode {
    error::exit(run())
}
