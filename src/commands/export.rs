//! `entractl export --app-id ID | --display-name NAME`: write a spec for an app made in the
//! portal (names instead of GUIDs, the Passport mode told from the app, the preset where it
//! matches, the app pinned by appId), so it can be put under git and adopted without changing its
//! client id.

use std::path::PathBuf;

use clap::Args;
use entractl_engine::export::{ExportOptions, ExportTarget, Exported, export};
use entractl_graph::Cloud;
use serde_json::{Value, json};

use crate::args::{GraphArgs, ReportFormat, json_text};
use crate::error::{CommandError, Outcome};
use crate::output;
use crate::session::{client, runtime};

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
    /// Output format: text (the spec on stdout, notes on stderr) or json (the spec and the notes
    /// as fields of one document on stdout).
    #[arg(long, value_enum, default_value_t)]
    pub format: ReportFormat,
    #[command(flatten, next_help_heading = "Microsoft Graph and sign-in")]
    pub graph: GraphArgs,
}

pub fn run(args: &ExportArgs) -> Result<Outcome, CommandError> {
    let g = &args.graph;
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
    if let Some(path) = &args.out {
        std::fs::write(path, &exported.yaml).map_err(|e| {
            CommandError::failed(
                format!("cannot write the spec to {}: {e}", path.display()),
                "choose a writable path for `-o`",
            )
        })?;
    }
    let notes = messages(args, &exported);
    match args.format {
        ReportFormat::Json => output::stdout(&json_text(&export_json(args, &exported, &notes)))?,
        ReportFormat::Text => {
            if args.out.is_none() {
                output::stdout(&exported.yaml)?;
            }
            for (level, text) in &notes {
                match level {
                    Level::Note => crate::quiet::note(text),
                    Level::Warning => eprintln!("warning: {text}"),
                }
            }
        }
    }
    Ok(Outcome::Success)
}

/// How a message of export is shown in text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Note,
    Warning,
}

/// What export tells besides the spec: where it went, and whether a plan of it is empty.
fn messages(args: &ExportArgs, exported: &Exported) -> Vec<(Level, String)> {
    let mut out = Vec::new();
    if let Some(path) = &args.out {
        out.push((
            Level::Note,
            format!(
                "Exported \"{}\" (client id {}) to {}",
                exported.display_name,
                exported.app_id,
                path.display()
            ),
        ));
    }
    if exported.residual.is_empty() {
        out.push((
            Level::Note,
            format!(
                "A plan of this spec {}.",
                if exported.adopts {
                    "shows only the adoption (the `entractl:<key>` tag on the app and its service principal); nothing else changes"
                } else {
                    "is empty"
                }
            ),
        ));
    } else {
        out.push((
            Level::Warning,
            format!(
                "a plan of this spec would still change:\n{}",
                exported
                    .residual
                    .iter()
                    .map(|r| format!("  - {r}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
        ));
    }
    out
}

/// `{app_id, display_name, preset, adopts, residual, out, messages, yaml}`.
fn export_json(args: &ExportArgs, exported: &Exported, notes: &[(Level, String)]) -> Value {
    json!({
        "app_id": exported.app_id,
        "display_name": exported.display_name,
        "preset": exported.preset,
        "adopts": exported.adopts,
        "residual": exported.residual,
        "out": args.out.as_ref().map(|p| p.display().to_string()),
        "messages": notes
            .iter()
            .map(|(level, text)| json!({
                "level": match level { Level::Note => "note", Level::Warning => "warning" },
                "message": text,
            }))
            .collect::<Vec<_>>(),
        "yaml": exported.yaml,
    })
}
