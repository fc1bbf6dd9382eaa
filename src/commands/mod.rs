//! One module per subcommand.

pub mod schema;
pub mod validate;

use crate::cli::{Cli, Command};
use crate::error::{CliError, Outcome};

/// Runs the chosen subcommand.
pub fn run(cli: Cli) -> Result<Outcome, CliError> {
    crate::error::set_color(cli.global.color);
    match cli.command {
        Command::Validate(args) => validate::run(&args),
        Command::Schema(args) => schema::run(&args),
    }
}
