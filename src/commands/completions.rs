//! `entractl completions SHELL` and `entractl man DIR`: shell completions and man pages, made
//! from the command line's own definition (so they name every subcommand and flag there is).

use std::path::PathBuf;

use clap::Args;
use clap_complete::Shell;

use crate::error::{CommandError, Outcome};
use crate::output;

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, powershell (or elvish).
    #[arg(value_name = "SHELL")]
    pub shell: Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// The directory to write the pages into (created when missing): `entractl.1` and one
    /// `entractl-COMMAND.1` per subcommand.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

/// Prints the completion script of `cmd` for the shell.
pub fn completions(
    args: &CompletionsArgs,
    mut cmd: clap::Command,
) -> Result<Outcome, CommandError> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "entractl", &mut script);
    output::stdout(&String::from_utf8_lossy(&script))?;
    Ok(Outcome::Success)
}

/// Writes the man pages of `cmd` and its subcommands into the directory.
pub fn man(args: &ManArgs, cmd: clap::Command) -> Result<Outcome, CommandError> {
    let cannot = |e: std::io::Error| {
        CommandError::failed(
            format!("cannot write the man pages to {}: {e}", args.dir.display()),
            "choose a writable directory",
        )
    };
    std::fs::create_dir_all(&args.dir).map_err(cannot)?;
    clap_mangen::generate_to(cmd, &args.dir).map_err(cannot)?;
    crate::quiet::note(&format!("Wrote the man pages to {}", args.dir.display()));
    Ok(Outcome::Success)
}
