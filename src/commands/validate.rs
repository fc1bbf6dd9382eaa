//! `entractl validate FILE...`: parse and check spec files, reporting every error of every file.

use std::path::PathBuf;

use clap::Args;

use crate::error::{CommandError, Outcome};
use crate::output;

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Spec files to check.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Print each valid spec with its preset and the defaults applied (YAML on stdout).
    #[arg(long)]
    pub expanded: bool,
}

pub fn run(args: &ValidateArgs) -> Result<Outcome, CommandError> {
    let mut reports = Vec::new();
    let mut first = true;
    for path in &args.files {
        match entractl_spec::load_file(path) {
            Ok(loaded) if args.expanded => {
                let mut text = String::new();
                if !first {
                    text.push_str("---\n");
                }
                text.push_str(&format!("# {}\n", path.display()));
                text.push_str(&loaded.to_yaml());
                output::stdout(&text)?;
                first = false;
            }
            Ok(_) => output::stdout(&format!("{}: valid\n", path.display()))?,
            Err(report) => reports.push(report),
        }
    }
    if reports.is_empty() {
        Ok(Outcome::Success)
    } else {
        Err(CommandError::InvalidSpecs {
            reports,
            files: args.files.len(),
        })
    }
}
