//! entractl: keep a Microsoft Entra ID tenant's sign-in configuration in git.
//!
//! `main` only turns the result of `run` into an exit code; `exit.rs` is the one place that
//! decides exit codes and prints errors.

mod allocator;
mod args;
mod cli;
mod commands;
mod error;
mod exit;
mod interrupt;
mod output;
mod preflight;
mod quiet;
mod session;
mod wording;

use std::process::ExitCode;

use clap::Parser;

use crate::error::{CommandError, Outcome};

fn run() -> Result<Outcome, CommandError> {
    let cli = cli::Cli::try_parse().map_err(CommandError::Usage)?;
    cli.run()
}

fn main() -> ExitCode {
    allocator::tune();
    exit::exit(run())
}
