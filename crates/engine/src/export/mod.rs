//! `entractl export`: bring an app made in the portal under git.
//!
//! Reads the app registration, its service principal, its tenant-wide grants, who is assigned
//! to it, and the MFA posture that concerns it; writes a spec that names things instead of
//! GUIDs wherever a name resolves uniquely, uses `preset: kandji-passport` when most values
//! match it (then only the differing values are written), pins the app by `appId` (adoption) and
//! comments values that look unintended.
//!
//! The result is checked the way it will be used: the spec is parsed, planned against the same
//! tenant with the engine's own `fetch` and `diff`, and any part that would still change
//! something is relaxed (e.g. per-user MFA left `unmanaged`, with a comment naming the users
//! who have it on) until the plan is empty — apart from the adoption itself (the
//! `entractl:<key>` tag on the application and its service principal) when entractl does not
//! manage the app yet.

mod model;
mod read;
mod yaml;

use crate::core::desired::Desired;
use crate::core::diff::diff;
use crate::core::error::PlanError;
use crate::core::normalize;
use crate::core::plan::{Action, Change, ObjectKind};
use crate::error::EngineError;
use crate::fetch::fetch;

pub use model::{CaExport, ExportModel};

/// Which application to export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportTarget {
    /// By Application (client) ID.
    AppId(String),
    /// By display name (must be unique in the tenant).
    DisplayName(String),
}

/// How to export.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// The tenant as the spec should name it (id or verified domain).
    pub tenant: String,
    /// Cloud name (`public`, `usgov`, `usgov-dod`, `china`).
    pub cloud: String,
    /// Identity platform root (`--authority-url`), used for the verification plan's outputs.
    pub authority_url: Option<String>,
    /// Allow `preset: kandji-passport` when the values match it.
    pub allow_preset: bool,
    /// What the schema modeline points at (`../docs/entractl.schema.json` for a file in `specs/`).
    pub schema_ref: String,
}

/// An exported spec.
#[derive(Debug, Clone)]
pub struct Exported {
    /// The spec file's text.
    pub yaml: String,
    /// The exported app's client id.
    pub app_id: String,
    pub display_name: String,
    /// Whether the spec uses `preset: kandji-passport`.
    pub preset: bool,
    /// True when entractl does not manage the app yet: the first plan shows its adoption.
    pub adopts: bool,
    /// Changes a plan of the spec would still make besides the adoption (empty when the export
    /// round-trips; otherwise each described, and the CLI warns).
    pub residual: Vec<String>,
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(
        "no application {what} in tenant {tenant}\n  hint: check the value (Entra admin center → App registrations → All applications) and the tenant (`--tenant`)"
    )]
    NotFound { what: String, tenant: String },
    #[error(
        "{} applications are named `{name}`:\n{}\n  hint: export one of them by its client id: `entractl export --app-id <appId>`",
        candidates.len(),
        candidates.iter().map(|c| format!("  - {c}")).collect::<Vec<_>>().join("\n")
    )]
    AmbiguousName {
        name: String,
        candidates: Vec<String>,
    },
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Read(#[from] crate::error::ReadError),
    #[error(
        "the exported spec cannot be planned against the tenant: {source}\n  hint: this is a bug in `entractl export` or an inconsistency in the tenant; please report it with the message above"
    )]
    Plan {
        #[source]
        source: PlanError,
    },
    #[error(
        "the exported spec does not validate (a bug in `entractl export`; please report it):\n{report}\n--- spec ---\n{yaml}"
    )]
    InvalidSpec { report: String, yaml: String },
}

/// Reads the app and everything that concerns it, and writes a spec that plans empty.
pub async fn export(
    client: &entractl_graph::GraphClient,
    target: &ExportTarget,
    opts: &ExportOptions,
) -> Result<Exported, ExportError> {
    let facts = read::read(client, target, opts).await?;
    let mut model = ExportModel::from_facts(&facts, opts);
    let mut residual: Vec<String> = Vec::new();
    for _ in 0..4 {
        let text = yaml::write(&model, opts);
        let loaded = entractl_spec::parse_str("exported.yaml", &text).map_err(|r| {
            ExportError::InvalidSpec {
                report: r.render_plain(),
                yaml: text.clone(),
            }
        })?;
        let desired = Desired::from_spec(&loaded.spec, opts.authority_url.as_deref());
        let (observed, _) = fetch(client, &desired).await?;
        let plan = diff(&desired, &observed).map_err(|source| ExportError::Plan { source })?;
        let left: Vec<&Change> = plan.actionable().filter(|c| !is_adoption(c)).collect();
        residual = left.iter().map(|c| describe(c)).collect();
        if left.is_empty() || !model.relax(&left, &observed, &facts) {
            return Ok(Exported {
                yaml: text,
                app_id: facts.app.app_id.clone(),
                display_name: facts.app.display_name.clone(),
                preset: model.preset,
                adopts: !model.managed,
                residual,
            });
        }
    }
    Ok(Exported {
        yaml: yaml::write(&model, opts),
        app_id: facts.app.app_id.clone(),
        display_name: facts.app.display_name.clone(),
        preset: model.preset,
        adopts: !model.managed,
        residual,
    })
}

/// The adoption itself: the `entractl:<key>` tag on the application (adopted) and on its
/// service principal (updated).
pub fn is_adoption(c: &Change) -> bool {
    let only_tags = !c.fields.is_empty() && c.fields.iter().all(|f| f.path == "tags");
    let adopting = match c.object.kind {
        ObjectKind::Application => c.action == Action::Adopt,
        ObjectKind::ServicePrincipal => c.action == Action::Update,
        _ => false,
    };
    only_tags && adopting
}

fn describe(c: &Change) -> String {
    let fields: Vec<&str> = c.fields.iter().map(|f| f.path.as_str()).collect();
    format!(
        "{}{}",
        c.describe(),
        if fields.is_empty() {
            String::new()
        } else {
            format!(" ({})", fields.join(", "))
        }
    )
}

/// Lower-case GUID comparison helper for the submodules.
pub(crate) fn same_guid(a: &str, b: &str) -> bool {
    normalize::guid(a) == normalize::guid(b)
}

#[cfg(test)]
mod tests;
