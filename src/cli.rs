//! The command line and its dispatch. Adding a subcommand = one variant of [`Command`] + one
//! module under `src/commands/`; global flags go in [`GlobalArgs`], shared flags in `args.rs`.

use clap::{Args, Parser, Subcommand};

use crate::args::{ColorChoice, GraphArgs};
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

    /// Microsoft Graph and sign-in options (plan, apply).
    #[command(flatten)]
    pub graph: GraphArgs,
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
}

impl Cli {
    /// Runs the chosen subcommand.
    pub fn run(self) -> Result<Outcome, CommandError> {
        let color = self.global.color;
        let g = &self.global.graph;
        crate::exit::set_color(color);
        match self.command {
            Command::Validate(args) => commands::validate::run(&args),
            Command::Schema(args) => commands::schema::run(&args),
            Command::Plan(args) if args.fleet.fleet.is_some() => {
                commands::fleet::plan(&args, g, color)
            }
            Command::Plan(args) => commands::plan::run(&args, g, color),
            Command::Apply(args) if args.fleet.fleet.is_some() => {
                commands::fleet::apply(&args, g, color)
            }
            Command::Apply(args) => commands::apply::run(&args, g, color),
            Command::Permissions(args) => commands::permissions::run(&args),
            Command::Explain(args) => commands::explain::run(&args),
            Command::Export(args) => commands::export::run(&args, g),
            Command::Fleet(args) => commands::fleet::run(&args, color),
            Command::Github(args) => commands::github::run(&args, g),
            Command::VerifySignin(args) => commands::verify_signin::run(&args, g),
            Command::Verify(args) => commands::verify::run(&args, g, color),
        }
    }
}
