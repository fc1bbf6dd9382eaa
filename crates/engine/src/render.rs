//! Renderers: text for people, JSON for machines, Markdown for pull-request comments.

use serde_json::{Value, json};
use similar::{ChangeTag, TextDiff};

use crate::plan::{Action, Change, FORMAT_VERSION, FieldChange, NoteKind, Plan, Summary};

mod markdown;

pub use markdown::{
    DEFAULT_LIMIT, DETAILS_PER_KIND, GITHUB_BODY_LIMIT, GROUPS_SHOWN, TABLE_ROWS_PER_KIND,
    markdown, markdown_within,
};

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

/// Renders in the given format. `color` only affects text.
pub fn render(plan: &Plan, format: Format, color: bool) -> String {
    match format {
        Format::Text => text(plan, color),
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&json_value(plan))
                .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
            s.push('\n');
            s
        }
        Format::Markdown => markdown(plan),
    }
}

struct Paint {
    on: bool,
}

impl Paint {
    fn p(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn green(&self, s: &str) -> String {
        self.p("32", s)
    }
    fn red(&self, s: &str) -> String {
        self.p("31", s)
    }
    fn yellow(&self, s: &str) -> String {
        self.p("33", s)
    }
    fn cyan(&self, s: &str) -> String {
        self.p("36", s)
    }
    fn bold(&self, s: &str) -> String {
        self.p("1", s)
    }
}

fn symbol(a: Action) -> &'static str {
    match a {
        Action::Create => "+",
        Action::Update => "~",
        Action::Delete => "-",
        Action::Adopt => "<=",
        Action::Restore => "<+",
        Action::NoOp => " ",
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "(none)".to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn lines_of(v: &Value) -> Vec<String> {
    match v {
        Value::Null => vec![],
        Value::Array(a) => a.iter().map(scalar).collect(),
        other => vec![scalar(other)],
    }
}

/// Lines describing one field change, without indentation: `path: before → after` for scalars,
/// `+ item`/`- item` lines (computed with `similar`) for collections.
fn field_lines(f: &FieldChange, creating: bool, paint: &Paint) -> Vec<String> {
    let is_list = f.before.is_array() || f.after.is_array();
    if !is_list {
        return vec![if creating {
            format!("{}: {}", f.path, scalar(&f.after))
        } else {
            format!("{}: {} → {}", f.path, scalar(&f.before), scalar(&f.after))
        }];
    }
    if creating {
        return vec![format!("{}: [{}]", f.path, lines_of(&f.after).join(", "))];
    }
    let before = lines_of(&f.before).join("\n") + "\n";
    let after = lines_of(&f.after).join("\n") + "\n";
    let diff = TextDiff::from_lines(&before, &after);
    let mut out = vec![format!("{}:", f.path)];
    for ch in diff.iter_all_changes() {
        let item = ch.value().trim_end_matches('\n');
        if item.is_empty() {
            continue;
        }
        match ch.tag() {
            ChangeTag::Insert => out.push(format!("  {}", paint.green(&format!("+ {item}")))),
            ChangeTag::Delete => out.push(format!("  {}", paint.red(&format!("- {item}")))),
            ChangeTag::Equal => {}
        }
    }
    out
}

fn headline(c: &Change) -> String {
    let mut s = format!(
        "{} {} \"{}\"",
        symbol(c.action),
        c.object.kind,
        c.object.display
    );
    if c.object.key != c.object.display {
        s.push_str(&format!(" ({})", c.object.key));
    }
    if c.action == Action::Adopt {
        s.push_str(" [adopt]");
    }
    if c.action == Action::Restore {
        s.push_str(" [restore from deleted items]");
    }
    for r in &c.risks {
        s.push_str(&format!("   [{}]", r.as_str()));
    }
    s
}

fn summary_line(s: &Summary) -> String {
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

fn output_rows(plan: &Plan) -> Vec<(&'static str, String)> {
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

fn note_label(k: NoteKind) -> &'static str {
    match k {
        NoteKind::NotYetApplied => "not applied",
        NoteKind::Unmanaged => "unmanaged",
        NoteKind::Warning => "warning",
    }
}

/// The body of the text plan without header and outputs (also used inside Markdown).
fn text_changes(plan: &Plan, paint: &Paint) -> String {
    let mut out = String::new();
    for c in plan.actionable() {
        let head = headline(c);
        let head = match c.action {
            Action::Create => paint.green(&head),
            Action::Delete => paint.red(&head),
            Action::Update | Action::Adopt | Action::Restore => paint.yellow(&head),
            Action::NoOp => head,
        };
        out.push_str(&format!("  {head}\n"));
        out.push_str(&format!("      # {}\n", c.reason));
        for f in &c.fields {
            for l in field_lines(f, c.action == Action::Create, paint) {
                out.push_str(&format!("      {l}\n"));
            }
        }
        out.push('\n');
    }
    out
}

/// Terraform-like text.
pub fn text(plan: &Plan, color: bool) -> String {
    let paint = Paint { on: color };
    let mut out = format!(
        "entractl plan for tenant {} (cloud {})\n\n",
        paint.bold(&plan.tenant),
        plan.cloud
    );
    if plan.has_changes() {
        out.push_str(&text_changes(plan, &paint));
    } else {
        out.push_str("  No changes: the tenant matches the spec.\n\n");
    }
    out.push_str(&paint.bold(&summary_line(&plan.summary())));
    out.push('\n');
    if !plan.notes.is_empty() {
        out.push_str("\nNotes\n");
        for n in &plan.notes {
            out.push_str(&format!(
                "  {} {}\n",
                paint.yellow(&format!("! {}:", note_label(n.kind))),
                n.message
            ));
        }
    }
    if !plan.unmanaged.is_empty() {
        out.push_str("\nUnmanaged (not in the spec, left as is)\n");
        for u in &plan.unmanaged {
            out.push_str(&format!(
                "  {}.{}: {}\n",
                u.object,
                u.path,
                compact(&u.current)
            ));
        }
    }
    out.push_str("\nOutputs\n");
    for (k, v) in output_rows(plan) {
        out.push_str(&format!("  {:<29}{}\n", k, paint.cyan(&v)));
    }
    if !plan.outputs.assigned_groups.is_empty() {
        out.push_str(
            "\nAssigned groups (object ids for Kandji's \"Specify per identity provider group\")\n",
        );
        for g in &plan.outputs.assigned_groups {
            out.push_str(&format!("  {:<29}{}\n", g.display_name, paint.cyan(&g.id)));
        }
    }
    out
}

fn compact(v: &Value) -> String {
    match v {
        Value::Array(a) => a.iter().map(scalar).collect::<Vec<_>>().join(", "),
        other => scalar(other),
    }
}

/// The versioned JSON document (`docs/plan-format.md`).
pub fn json_value(plan: &Plan) -> Value {
    let s = plan.summary();
    json!({
        "format_version": FORMAT_VERSION,
        "tenant": plan.tenant,
        "cloud": plan.cloud,
        "has_changes": plan.has_changes(),
        "summary": s,
        "changes": plan.changes,
        "notes": plan.notes,
        "unmanaged": plan.unmanaged,
        "outputs": plan.outputs,
    })
}
