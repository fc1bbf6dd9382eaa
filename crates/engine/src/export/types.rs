//! What `export` is given and gives back, and how it fails.

use crate::core::error::PlanError;
use crate::core::normalize;
use crate::error::{EngineError, ReadError};

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
    Read(#[from] ReadError),
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

/// Lower-case GUID comparison helper for the submodules.
pub(crate) fn same_guid(a: &str, b: &str) -> bool {
    normalize::guid(a) == normalize::guid(b)
}
