//! One module per subcommand.

pub mod apply;
pub mod explain;
pub mod export;
pub mod fleet;
pub mod github;
pub mod permissions;
pub mod plan;
pub mod schema;
pub mod validate;
pub mod verify_signin;

use crate::cli::{Cli, Command};
use crate::error::{CliError, Outcome};

/// Runs the chosen subcommand.
pub fn run(cli: Cli) -> Result<Outcome, CliError> {
    crate::error::set_color(cli.global.color);
    match cli.command {
        Command::Validate(args) => validate::run(&args),
        Command::Schema(args) => schema::run(&args),
        Command::Plan(args) => plan::run(&args, &cli.global.graph, cli.global.color),
        Command::Apply(args) => apply::run(&args, &cli.global.graph, cli.global.color),
        Command::Permissions(args) => permissions::run(&args),
        Command::Explain(args) => explain::run(&args),
        Command::Export(args) => export::run(&args, &cli.global.graph),
        Command::Fleet(args) => fleet::run(&args, cli.global.color),
        Command::Github(args) => github::run(&args, &cli.global.graph),
        Command::VerifySignin(args) => verify_signin::run(&args, &cli.global.graph),
    }
}
