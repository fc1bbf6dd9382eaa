//! The fleet file: which tenants, which spec for each (with per-tenant values), and how to sign
//! in to each. Read through the spec crate's YAML path (size, UTF-8, parser limits, error
//! trimming); parsed with locations; every error of a file is reported at once, at
//! `file:line:col`, with a hint.

use std::path::Path;

use entractl_spec::yaml;

use crate::check::validate;

pub use crate::model::{
    AUTH_METHODS, Auth, Fleet, FleetFileError, FleetIssue, SecretRef, TenantEntry,
};
pub use crate::raw::{MAX_FLEET_BYTES, RawAuth, RawDefaults, RawFleet, RawTenant, json_schema};

/// Reads, parses and validates a fleet file. Relative paths in it are resolved against its
/// directory.
pub fn load_file(path: &Path) -> Result<Fleet, FleetFileError> {
    let name = path.display().to_string();
    let text = yaml::read_text(path, MAX_FLEET_BYTES).map_err(|e| {
        let (message, help) = match e {
            yaml::ReadError::TooLarge { .. } => {
                (e.to_string(), "split the fleet into several files")
            }
            yaml::ReadError::NotUtf8 { .. } => (e.to_string(), "save the file as UTF-8"),
            _ => (
                format!("cannot read the fleet file: {e}"),
                "check the path given to `--fleet`",
            ),
        };
        FleetFileError {
            file: name.clone(),
            issues: vec![FleetIssue {
                line: None,
                column: None,
                path: None,
                message,
                help: help.to_string(),
            }],
        }
    })?;
    let dir = path.parent().unwrap_or(Path::new("")).to_path_buf();
    parse_str(&name, &text, &dir)
}

/// A fleet file's parser limits: thousands of tenants, nothing deeper than a spec.
const FLEET_LIMITS: yaml::Limits = yaml::Limits {
    max_bytes: MAX_FLEET_BYTES,
    max_nodes: 2_000_000,
    max_events: 10_000_000,
    max_aliases: 1_000,
};

/// Parses and validates fleet text. `name` is used in messages; relative paths are resolved
/// against `dir`.
pub fn parse_str(name: &str, text: &str, dir: &Path) -> Result<Fleet, FleetFileError> {
    let options = yaml::options(FLEET_LIMITS);
    let raw: RawFleet = serde_saphyr::from_str_with_options(text, options).map_err(|e| {
        let problem = yaml::problem(&e);
        let message = problem.message;
        let help = if message.contains("unknown field") {
            "remove or correct the key; `docs/fleet.md` and `docs/fleet.schema.json` list every key"
        } else if message.contains("missing field") {
            "add the key; every tenant needs `name` and `tenant`, the file needs `version` and `tenants`"
        } else {
            "check the YAML near this place (indentation, quotes, a missing `:`); see `docs/fleet.md`"
        };
        FleetFileError {
            file: name.to_string(),
            issues: vec![FleetIssue {
                line: problem.line,
                column: problem.column,
                path: None,
                message: format!("not a valid fleet file: {message}"),
                help: help.to_string(),
            }],
        }
    })?;
    validate(name, text, dir, raw)
}

#[cfg(test)]
#[path = "file_tests.rs"]
mod tests;
