//! `entractl export --app-id ID | --display-name NAME`: write a spec for an app made in the
//! portal (names instead of GUIDs, the Passport mode told from the app, the preset where it
//! matches, the app pinned by appId), so it can be put under git and adopted without changing its
//! client id.

use std::path::PathBuf;

use clap::Args;
use entractl_engine::export::{ExportOptions, ExportTarget, export};
use entractl_graph::Cloud;

use crate::args::GraphArgs;
use crate::error::{CommandError, Outcome};
use crate::output;
use crate::session::{client, init_logging, runtime};

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("target").required(true).args(["app_id", "display_name"]))]
pub struct ExportArgs {
    /// The app's Application (client) ID.
    #[arg(long, value_name = "ID")]
    pub app_id: Option<String>,
    /// The app's display name (an error listing the candidates when several apps have it).
    #[arg(long, value_name = "NAME")]
    pub display_name: Option<String>,
    /// The tenant (id or verified domain), as the spec will name it.
    #[arg(long, env = "AZURE_TENANT_ID", value_name = "TENANT")]
    pub tenant: String,
    /// The national cloud: public, usgov, usgov-dod or china.
    #[arg(long, default_value = "public")]
    pub cloud: Cloud,
    /// Write the spec to FILE instead of stdout.
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Write every value, even when the app matches `preset: kandji-passport`.
    #[arg(long)]
    pub no_preset: bool,
    /// Where the schema modeline points (relative to the spec file).
    #[arg(
        long,
        value_name = "PATH",
        default_value = "../docs/entractl.schema.json"
    )]
    pub schema_ref: String,
}

pub fn run(args: &ExportArgs, g: &GraphArgs) -> Result<Outcome, CommandError> {
    init_logging(g.verbose);
    let target = match (&args.app_id, &args.display_name) {
        (Some(a), _) => ExportTarget::AppId(a.clone()),
        (None, Some(n)) => ExportTarget::DisplayName(n.clone()),
        (None, None) => {
            return Err(CommandError::plain(
                "say which app to export: `--app-id ID` or `--display-name NAME`",
            ));
        }
    };
    let opts = ExportOptions {
        tenant: args.tenant.clone(),
        cloud: args.cloud.name().to_string(),
        authority_url: g.authority_url.clone(),
        allow_preset: !args.no_preset,
        schema_ref: args.schema_ref.clone(),
    };
    let client = client(&args.tenant, args.cloud, g)?;
    let rt = runtime()?;
    let exported = rt.block_on(export(&client, &target, &opts))?;
    match &args.out {
        Some(path) => {
            std::fs::write(path, &exported.yaml).map_err(|e| {
                CommandError::failed(
                    format!("cannot write the spec to {}: {e}", path.display()),
                    "choose a writable path for `-o`",
                )
            })?;
            eprintln!(
                "Exported \"{}\" (client id {}) to {}",
                exported.display_name,
                exported.app_id,
                path.display()
            );
        }
        None => output::stdout(&exported.yaml)?,
    }
    if exported.residual.is_empty() {
        eprintln!(
            "A plan of this spec {}.",
            if exported.adopts {
                "shows only the adoption (the `entractl:<key>` tag on the app and its service principal); nothing else changes"
            } else {
                "is empty"
            }
        );
    } else {
        eprintln!(
            "warning: a plan of this spec would still change:\n{}",
            exported
                .residual
                .iter()
                .map(|r| format!("  - {r}"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    Ok(Outcome::Success)
}
