//! entractl's desired-state file: parse with locations, check structure and meaning (reporting
//! every error of a file at once), apply presets and defaults, generate the JSON Schema.
//!
//! ```
//! let text = "version: 1\ntenant: contoso.onmicrosoft.com\npreset: kandji-passport\n\
//!             passport: {mode: web-login}\n\
//!             app:\n  displayName: Kandji Passport\n  uniqueName: kandji-passport\n";
//! let loaded = entractl_spec::parse_str("spec.yaml", text).unwrap();
//! assert_eq!(loaded.spec.app.public_client_flows, Some(false));
//! assert_eq!(loaded.location("app.uniqueName").unwrap().line, 7);
//! ```
//!
//! The library does no terminal I/O; [`SpecReport`] is a [`miette::Diagnostic`] that the binary
//! renders, and [`SpecReport::render_plain`] renders it without any terminal features.

mod app_rules;
mod checker;
mod claims;
mod expand;
mod model;
mod node;
mod raw;
mod report;
mod structure;
mod suggest;
mod validate;
pub mod yaml;

use std::path::Path;
use std::sync::Arc;

pub use checker::is_upn;
pub use model::is_guid;
pub use model::*;
pub use raw::{
    OrderedMap, RawApp, RawAssignments, RawClaim, RawClaimDetail, RawConditionalAccess,
    RawExcludeApp, RawExcludeKeyword, RawMfa, RawPerUserMfa, RawPermissions, RawPlaceholder,
    RawPolicyKeyword, RawPolicySelection, RawRedirectUris, RawSecurityDefaults, RawSpec,
    RawTokenClaims, RawTokens, json_schema,
};
pub use report::{ErrorKind, Location, SpecError, SpecReport};
pub use suggest::{did_you_mean, edit_distance};

/// The largest spec file entractl reads. A real file is a few kilobytes.
pub const MAX_FILE_BYTES: usize = yaml::SPEC_LIMITS.max_bytes;

/// A spec that parsed and validated, with the preset and the defaults applied.
#[derive(Debug, Clone)]
pub struct LoadedSpec {
    /// The expanded spec.
    pub spec: Spec,
    /// The file as written.
    pub raw: RawSpec,
    /// The file name used in messages.
    pub name: String,
    text: Arc<String>,
    tree: node::SNode,
}

impl LoadedSpec {
    /// Where a value is in the file, by dotted path: `assignments.users[2]`,
    /// `app.apiPermissions.Microsoft Graph.delegated[1]`, `mfa`. `None` when the file does not
    /// contain that value (e.g. it comes from the preset).
    pub fn location(&self, path: &str) -> Option<Location> {
        let (node, _) = self.tree.find(path)?;
        Some(Location::from_offset(
            &self.text,
            node.span.offset,
            node.span.len,
        ))
    }

    /// The source text of the file.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The expanded spec as YAML, written as an equivalent file without a preset (every managed
    /// value explicit; unmanaged MFA settings written as `unmanaged`).
    pub fn to_yaml(&self) -> String {
        spec_to_yaml(&self.spec)
    }

    /// A report about a value of this file, for later stages that find a problem the file
    /// cannot show by itself (e.g. a user that does not exist in the tenant). `path` is a dotted
    /// path as for [`LoadedSpec::location`].
    pub fn report_at(&self, path: &str, message: &str, label: &str, help: &str) -> SpecReport {
        let error = SpecError::new(ErrorKind::InvalidValue, message)
            .label(label)
            .help(help)
            .at(Some(path.to_string()), self.location(path));
        SpecReport::new(&self.name, Some(Arc::clone(&self.text)), vec![error])
    }
}

/// Writes an expanded spec as YAML (an equivalent file without a preset).
pub fn spec_to_yaml(spec: &Spec) -> String {
    let raw = expand::unexpand(spec);
    let body = serde_saphyr::to_string(&raw).unwrap_or_default();
    let mut out = String::new();
    if let Some(p) = spec.preset {
        out.push_str(&format!(
            "# expanded: preset `{}` and defaults applied\n",
            p.name()
        ));
    } else {
        out.push_str("# expanded: defaults applied\n");
    }
    out.push_str(&body);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// Reads, parses and validates a spec file.
pub fn load_file(path: &Path) -> Result<LoadedSpec, SpecReport> {
    let name = path.display().to_string();
    let fail = |message: String, help: &str| {
        SpecReport::single(
            &name,
            SpecError::new(ErrorKind::Read, message).help(help.to_string()),
        )
    };
    let text = yaml::read_text(path, MAX_FILE_BYTES).map_err(|e| match e {
        yaml::ReadError::TooLarge { len, .. } => too_large(&name, len),
        yaml::ReadError::IsDirectory => fail(
            "is a directory, not a spec file".to_string(),
            "pass the YAML file itself, e.g. `specs/kandji-passport.yaml`",
        ),
        yaml::ReadError::NotUtf8 { .. } => fail(e.to_string(), "save the file as UTF-8"),
        yaml::ReadError::NotFound => fail(
            format!("cannot read the spec file: {e}"),
            "check the path; spec files usually live in `specs/`",
        ),
        _ => fail(
            format!("cannot read the spec file: {e}"),
            "check that the file exists and that you may read it",
        ),
    })?;
    parse_str(&name, &text)
}

fn too_large(name: &str, len: u64) -> SpecReport {
    SpecReport::single(
        name,
        SpecError::new(
            ErrorKind::Read,
            format!(
                "the file is too large ({len} bytes; a spec file may have at most {MAX_FILE_BYTES} bytes)"
            ),
        )
        .help("a spec describes one app registration and is a few kilobytes; check that this is the right file"),
    )
}

/// Parses and validates spec text. `name` is the file name used in messages.
pub fn parse_str(name: &str, text: &str) -> Result<LoadedSpec, SpecReport> {
    if text.len() > MAX_FILE_BYTES {
        return Err(too_large(name, text.len() as u64));
    }
    let text = Arc::new(text.to_string());
    let report = |errors: Vec<SpecError>| SpecReport::new(name, Some(Arc::clone(&text)), errors);

    if text.trim().is_empty()
        || text
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Err(report(vec![
            SpecError::new(ErrorKind::Syntax, "the file is empty")
                .label("nothing here")
                .help("start from `specs/kandji-passport.yaml`, or run `entractl schema` for the format")
                .at(None, Some(Location::from_offset(&text, 0, 0))),
        ]));
    }

    let tree: node::SNode = serde_saphyr::from_str_with_options(&text, yaml_options())
        .map_err(|e| report(vec![yaml_error(&text, &e)]))?;

    let structural = structure::check(&tree, &text);
    if !structural.is_empty() {
        return Err(report(structural));
    }

    let raw: RawSpec = serde_saphyr::from_str_with_options(&text, yaml_options())
        .map_err(|e| report(vec![yaml_error(&text, &e)]))?;

    let spec = expand::expand(&raw);
    let errors = validate::validate(&raw, &spec, &tree, &text);
    if !errors.is_empty() {
        return Err(report(errors));
    }
    Ok(LoadedSpec {
        spec,
        raw,
        name: name.to_string(),
        text,
        tree,
    })
}

/// Parser options: limits far above any real spec and far below what hurts.
fn yaml_options() -> serde_saphyr::Options {
    yaml::options(yaml::SPEC_LIMITS)
}

fn yaml_error(text: &str, e: &serde_saphyr::Error) -> SpecError {
    // The location is shown by the report itself.
    let problem = yaml::problem(e);
    let message = problem.message;
    let location = match (problem.span, problem.line) {
        (Some((off, len)), _) => Some(Location::from_offset(text, off, len)),
        (None, Some(line)) => Some(Location::from_line_column(
            text,
            line,
            problem.column.unwrap_or(1),
        )),
        (None, None) => None,
    };
    let lower = message.to_lowercase();
    if let Some(rest) = message.strip_prefix("duplicate mapping key: ") {
        let key = rest.split(", set ").next().unwrap_or(rest);
        return SpecError::new(
            ErrorKind::Syntax,
            format!("the key `{key}` appears twice in the same mapping"),
        )
        .label("second occurrence")
        .help("each key may appear once; remove one of them")
        .at(None, location.or(Some(Location::from_offset(text, 0, 0))));
    }
    let (label, help) = if lower.contains("tab") {
        ("tab", "YAML indentation must use spaces, not tabs")
    } else if lower.contains("budget") || lower.contains("limit") || lower.contains("depth") {
        (
            "over the limit here",
            "a spec file is small and flat: no deep nesting, no alias expansion tricks, no huge values",
        )
    } else {
        (
            "here",
            "check the YAML syntax near this place (indentation, quotes, a missing `:`)",
        )
    };
    SpecError::new(
        ErrorKind::Syntax,
        format!("not a valid YAML spec: {message}"),
    )
    .label(label)
    .help(help)
    .at(None, location.or(Some(Location::from_offset(text, 0, 0))))
}
