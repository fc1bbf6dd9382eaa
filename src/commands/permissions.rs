//! `entractl permissions SPEC`: the least-privileged Graph application permissions needed to plan,
//! and to apply, this spec.

use std::path::PathBuf;

use clap::Args;
use entractl_engine::Desired;
use entractl_engine::permissions::required_permissions;

use crate::args::{ReportFormat, json_text};
use crate::error::{CommandError, Outcome};
use crate::output;
use crate::session::load_spec;

#[derive(Debug, Args)]
pub struct PermissionsArgs {
    /// The spec file.
    #[arg(value_name = "SPEC")]
    pub spec: PathBuf,
    /// Output format: text for people, json for machines.
    #[arg(long, value_enum, default_value_t)]
    pub format: ReportFormat,
    /// The same as `--format json` (kept for scripts written before `--format`).
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// What `entractl destroy SPEC` needs instead (its apply part: what it restores and deletes).
    #[arg(long)]
    pub destroy: bool,
    /// With `--destroy`: as `destroy --delete-adopted-app` (delete an adopted application too).
    #[arg(long, requires = "destroy")]
    pub delete_adopted_app: bool,
}

pub fn run(args: &PermissionsArgs) -> Result<Outcome, CommandError> {
    let (loaded, _) = load_spec(&args.spec)?;
    let mut desired = Desired::from_spec(&loaded.spec, None);
    if args.destroy {
        desired = desired.for_destroy(args.delete_adopted_app);
    }
    let req = required_permissions(&desired);
    if args.json || args.format == ReportFormat::Json {
        let value = serde_json::to_value(&req).unwrap_or_default();
        return output::stdout(&json_text(&value)).map(|()| Outcome::Success);
    }
    let mut out = format!(
        "Microsoft Graph application permissions for {} (grant them to entractl's identity, with admin consent)\n\nTo plan (read only):\n",
        args.spec.display()
    );
    for n in &req.plan {
        out.push_str(&format!("  {:<40}{}\n", n.permission, n.why));
    }
    out.push_str(if args.destroy {
        "\nTo destroy (includes what plan needs):\n"
    } else {
        "\nTo apply (includes what plan needs):\n"
    });
    for n in &req.apply {
        out.push_str(&format!("  {:<40}{}\n", n.permission, n.why));
    }
    output::stdout(&out).map(|()| Outcome::Success)
}
