//! The text plan, for people (colour on request).

use std::fmt::Write as _;

use similar::{ChangeTag, TextDiff};

use super::common::{compact, lines_of, note_head, output_rows, scalar, summary_line};
use super::forecast;
use crate::core::forecast::SignInForecast;
use crate::core::plan::{Action, Change, FieldChange, Plan};

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

/// The body of the text plan without header and outputs (also used inside Markdown).
/// Written into the plan's text, not into a string of its own: a plan of thousands of changes
/// would otherwise be held twice.
fn text_changes(plan: &Plan, paint: &Paint, out: &mut String) {
    for c in plan.actionable() {
        let head = headline(c);
        let head = match c.action {
            Action::Create => paint.green(&head),
            Action::Delete => paint.red(&head),
            Action::Update | Action::Adopt | Action::Restore => paint.yellow(&head),
            Action::NoOp => head,
        };
        // (Writing to a `String` cannot fail.)
        let _ = writeln!(out, "  {head}\n      # {}", c.reason);
        for f in &c.fields {
            for l in field_lines(f, c.action == Action::Create, paint) {
                let _ = writeln!(out, "      {l}");
            }
        }
        out.push('\n');
    }
}

/// The sign-in forecast section (for `verify`).
pub(super) fn forecast_text(f: &SignInForecast, color: bool) -> String {
    forecast_section(f, &Paint { on: color })
}

/// The sign-in forecast: what it rests on, users by verdict, warnings, the outcome.
fn forecast_section(f: &SignInForecast, paint: &Paint) -> String {
    let mut out = format!("\n{}\n", paint.bold(forecast::title(f)));
    for b in &f.basis {
        out.push_str(&format!("  {b}\n"));
    }
    for g in forecast::groups(f) {
        let mark = if g.works {
            paint.green("✓")
        } else {
            paint.red("✗")
        };
        out.push_str(&format!("  {mark} {}: {}\n", g.who(), g.verdict));
    }
    for w in &f.warnings {
        out.push_str(&format!("  {} {w}\n", paint.yellow("! warning:")));
    }
    if let Some(o) = forecast::outcome(f) {
        out.push_str(&format!("  => {o}\n"));
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
        text_changes(plan, &paint, &mut out);
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
                paint.yellow(&format!("! {}:", note_head(n))),
                n.message
            ));
        }
    }
    if let Some(f) = &plan.sign_in_forecast {
        out.push_str(&forecast_section(f, &paint));
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
