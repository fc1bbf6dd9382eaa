//! The command line and its dispatch. Adding a subcommand = one variant of [`Command`] + one
//! module under `src/commands/`; global flags go in [`GlobalArgs`], shared flags in `args.rs`
//! (the Graph and sign-in flags, `GraphArgs`, are flattened into the commands that use them).

use clap::{Args, CommandFactory, Parser, Subcommand};

use crate::args::ColorChoice;
use crate::commands;
use crate::error::{CommandError, Outcome};

/// Keep a Microsoft Entra ID tenant's sign-in configuration in git: plan and apply from a
/// YAML file.
#[derive(Debug, Parser)]
#[command(name = "entractl", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Flags every subcommand takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Colour in error output: `auto` (when stderr is a terminal and NO_COLOR is unset),
    /// `always` or `never`.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Only the result and errors: no progress, waits or notes on stderr (warnings still).
    #[arg(short = 'q', long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// More diagnostics on stderr: -v info, -vv debug, -vvv trace (never tokens or secrets).
    #[arg(short = 'v', long = "verbose", global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check spec files: exit 0 when all are valid, 1 with every error otherwise.
    Validate(commands::validate::ValidateArgs),
    /// Print the JSON Schema of the spec file format (for editors and CI).
    Schema(commands::schema::SchemaArgs),
    /// Read the tenant and show what applying the spec would change (exit 2 with
    /// --detailed-exitcode when there are changes).
    Plan(commands::plan::PlanArgs),
    /// Apply a spec (or a saved plan): asks first on a terminal, journals every change, then
    /// reads back and reports "converged".
    Apply(commands::apply::ApplyArgs),
    /// Decommission what a spec manages, as a plan first: restore every downgrade entractl
    /// recorded, remove the app's assignments, grants, service principal and application (to
    /// deleted items: `apply` restores it within 30 days) and entractl's record; asks first on a
    /// terminal, journals every change, then reads back.
    Destroy(commands::destroy::DestroyArgs),
    /// Print the least-privileged Graph application permissions needed to plan and to apply a spec.
    Permissions(commands::permissions::PermissionsArgs),
    /// Explain a sign-in error (AADSTS code): what it means for Kandji Passport and which spec
    /// setting or Entra change fixes it (`--list` shows every known code).
    Explain(commands::explain::ExplainArgs),
    /// Write a spec for an app made in the portal (`--app-id` or `--display-name`): names instead
    /// of GUIDs, the preset where it matches, the app pinned by appId so apply adopts it.
    Export(commands::export::ExportArgs),
    /// Fleets of tenants: merge shard reports (`merge`), print the fleet file's JSON Schema
    /// (`schema`). Plan and apply a fleet with `plan --fleet FILE` and `apply --fleet FILE`.
    Fleet(commands::fleet::FleetCommand),
    /// In a GitHub Actions job: keep one pull-request comment with a saved plan (`comment`),
    /// one drift issue (`drift-issue`), or add it to the job summary (`summary`).
    Github(commands::github::GithubCommand),
    /// Sign in as a user with the password grant Kandji Passport uses (the app's client id, the
    /// spec's Microsoft Graph delegated permissions as scopes, or `--scope`): print the ID token
    /// claims Kandji reads, or explain the AADSTS error.
    /// The password comes from ENTRACTL_SIGNIN_PASSWORD or a prompt without echo.
    VerifySignin(commands::verify_signin::VerifySigninArgs),
    /// For scheduled CI: has the tenant drifted from the spec, and will Passport's password
    /// sign-in (Mac Login) work today — a forecast from Conditional Access What-If, per-user MFA,
    /// security defaults and the users Entra refuses a password sign-in (guests, federated
    /// domains without cloud password validation), without anyone's password (an estimate;
    /// `verify-signin` is the real test). Exit 0 all well, 2 drift, 3 sign-in forecast to fail,
    /// 1 error.
    Verify(commands::verify::VerifyArgs),
    /// Print a shell completion script: bash, zsh, fish or powershell (see docs/cli.md for where
    /// each shell looks for it).
    Completions(commands::completions::CompletionsArgs),
    /// Write the man pages (entractl.1 and one per subcommand) into a directory.
    Man(commands::completions::ManArgs),
}

impl Cli {
    /// Runs the chosen subcommand.
    pub fn run(self) -> Result<Outcome, CommandError> {
        let color = self.global.color;
        crate::exit::set_color(color);
        crate::quiet::set(self.global.quiet);
        crate::session::init_logging(self.global.verbose);
        match self.command {
            Command::Validate(args) => commands::validate::run(&args),
            Command::Schema(args) => commands::schema::run(&args),
            Command::Plan(args) if args.fleet.fleet.is_some() => {
                commands::fleet::plan(&args, color)
            }
            Command::Plan(args) => commands::plan::run(&args, color),
            Command::Apply(args) if args.fleet.fleet.is_some() => {
                commands::fleet::apply(&args, color)
            }
            Command::Apply(args) => commands::apply::run(&args, color),
            Command::Destroy(args) => commands::destroy::run(&args, color),
            Command::Permissions(args) => commands::permissions::run(&args),
            Command::Explain(args) => commands::explain::run(&args),
            Command::Export(args) => commands::export::run(&args),
            Command::Fleet(args) => commands::fleet::run(&args, color),
            Command::Github(args) => commands::github::run(&args),
            Command::VerifySignin(args) => commands::verify_signin::run(&args),
            Command::Verify(args) => commands::verify::run(&args, color),
            Command::Completions(args) => commands::completions::completions(&args, Cli::command()),
            Command::Man(args) => commands::completions::man(&args, Cli::command()),
        }
    }
}
