//! `entractl schema`: the JSON Schema of the spec format, generated from the types.

use clap::Args;

use crate::error::{CommandError, Outcome};
use crate::output;

#[derive(Debug, Args)]
pub struct SchemaArgs {}

pub fn run(_args: &SchemaArgs) -> Result<Outcome, CommandError> {
    output::stdout(&entractl_spec::json_schema())?;
    Ok(Outcome::Success)
}
