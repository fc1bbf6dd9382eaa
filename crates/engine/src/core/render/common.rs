//! What every rendering shares: scalars, summary line, outputs, note labels.

use serde_json::Value;

use crate::core::plan::{Note, NoteKind, Plan, Summary};

pub(super) fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "(none)".to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub(super) fn lines_of(v: &Value) -> Vec<String> {
    match v {
        Value::Null => vec![],
        Value::Array(a) => a.iter().map(scalar).collect(),
        other => vec![scalar(other)],
    }
}

pub(super) fn summary_line(s: &Summary) -> String {
    let mut line = format!(
        "Plan: {} to add, {} to change, {} to destroy",
        s.create,
        s.update + s.adopt,
        s.delete
    );
    if s.adopt > 0 {
        line.push_str(&format!(" ({} adopted)", s.adopt));
    }
    if s.restore > 0 {
        line.push_str(&format!(", {} to restore", s.restore));
    }
    line.push_str(&format!("; {} unchanged.", s.unchanged));
    if s.security_downgrades > 0 {
        line.push_str(&format!(
            " {} security downgrade(s): apply needs --allow-security-downgrade.",
            s.security_downgrades
        ));
    }
    line
}

pub(super) fn output_rows(plan: &Plan) -> Vec<(&'static str, String)> {
    let o = &plan.outputs;
    let v = |x: &Option<String>| x.clone().unwrap_or_else(|| "(known after apply)".into());
    vec![
        ("tenant id", v(&o.tenant_id)),
        ("client id", v(&o.client_id)),
        ("OIDC metadata URL", v(&o.oidc_metadata_url)),
        ("application object id", v(&o.application_object_id)),
        (
            "service principal object id",
            v(&o.service_principal_object_id),
        ),
    ]
}

pub(super) fn note_label(k: NoteKind) -> &'static str {
    match k {
        NoteKind::NotYetApplied => "not applied",
        NoteKind::Unmanaged => "unmanaged",
        NoteKind::Warning => "warning",
        NoteKind::PortalStep => "portal step",
    }
}

/// A note's label with its risks: `warning [security-downgrade]`.
pub(super) fn note_head(n: &Note) -> String {
    let mut head = note_label(n.kind).to_string();
    for r in &n.risks {
        head.push_str(&format!(" [{}]", r.as_str()));
    }
    head
}

pub(super) fn compact(v: &Value) -> String {
    match v {
        Value::Array(a) => a.iter().map(scalar).collect::<Vec<_>>().join(", "),
        other => scalar(other),
    }
}

/// Output format of a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Markdown,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "text" => Ok(Format::Text),
            "json" => Ok(Format::Json),
            "markdown" | "md" => Ok(Format::Markdown),
            other => Err(format!(
                "unknown format `{other}`: use `text`, `json` or `markdown`"
            )),
        }
    }
}
