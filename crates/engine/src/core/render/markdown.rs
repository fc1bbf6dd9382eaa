//! Markdown for pull-request comments, issues and job summaries.
//!
//! GitHub refuses a comment or issue body over 65,536 characters, so the Markdown plan is
//! bounded: the summary table comes first (one row per object, or one row per kind and action
//! when a kind has many objects), then the details folded per kind (the first
//! [`DETAILS_PER_KIND`] changes of each kind), then notes, and a line saying what was left out
//! and where the full plan is. Details are `diff` blocks with the marker in column one, which
//! GitHub colours: `+` created, `-` deleted, `!` changed.

use similar::{ChangeTag, TextDiff};

use super::common::{compact, lines_of, note_head, output_rows, scalar, summary_line};
use super::forecast;
use crate::core::forecast::SignInForecast;
use crate::core::plan::{Action, Change, FieldChange, ObjectKind, Plan};

/// GitHub's limit for an issue or comment body, in characters.
pub const GITHUB_BODY_LIMIT: usize = 65_536;

/// The default bound of [`markdown`], in bytes (so also in characters): GitHub's limit less
/// room for what a caller puts around the plan (a hidden marker, a link to the CI run).
pub const DEFAULT_LIMIT: usize = 60_000;

/// Objects of one kind listed row by row in the summary table; more are counted in one row per
/// action.
pub const TABLE_ROWS_PER_KIND: usize = 10;

/// Changes of one kind shown in the details; more are counted.
pub const DETAILS_PER_KIND: usize = 20;

/// Assigned groups listed in the outputs; more are counted.
pub const GROUPS_SHOWN: usize = 50;

/// Room kept for the line that says what was left out.
const OMISSION_RESERVE: usize = 1_000;

/// Markdown for a pull-request comment, at most [`DEFAULT_LIMIT`] bytes.
pub fn markdown(plan: &Plan) -> String {
    markdown_within(plan, DEFAULT_LIMIT)
}

/// Markdown for a pull-request comment, at most `limit` bytes (at least a few kilobytes: the
/// summary table and the outputs are always shown).
pub fn markdown_within(plan: &Plan, limit: usize) -> String {
    let head = head(plan, limit / 2);
    let tail = tail(plan);
    let room = limit.saturating_sub(head.len() + tail.len() + OMISSION_RESERVE);
    let mut body = Body::new(room);
    sign_in_forecast(plan, &mut body);
    details(plan, &mut body);
    notes(plan, &mut body);
    unmanaged(plan, &mut body);
    let mut out = head;
    out.push_str(&body.text);
    out.push_str(&body.omission_line());
    out.push_str(&tail);
    out
}

/// Text for a Markdown table cell: no line breaks, no column separators, no HTML.
fn cell(s: &str) -> String {
    s.replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace(['\r', '\n'], " ")
}

/// `1234` → `1,234`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `1 change`, `2,000 changes`.
fn count(n: usize, noun: &str) -> String {
    let s = if n == 1 { "" } else { "s" };
    format!("{} {noun}{s}", thousands(n))
}

fn icon(a: Action) -> &'static str {
    match a {
        Action::Create => "➕",
        Action::Update => "✏️",
        Action::Delete => "➖",
        Action::Adopt => "📥",
        Action::Restore => "♻️",
        Action::NoOp => "",
    }
}

fn risks_of<'a>(changes: impl Iterator<Item = &'a Change>) -> String {
    let mut risks = Vec::new();
    for c in changes {
        for r in &c.risks {
            if !risks.contains(r) {
                risks.push(*r);
            }
        }
    }
    risks
        .iter()
        .map(|r| format!("`{}`", r.as_str()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The actionable changes grouped by kind, kinds in plan (dependency) order.
fn by_kind(plan: &Plan) -> Vec<(ObjectKind, Vec<&Change>)> {
    let mut groups: Vec<(ObjectKind, Vec<&Change>)> = Vec::new();
    for c in plan.actionable() {
        match groups.iter_mut().find(|(k, _)| *k == c.object.kind) {
            Some((_, list)) => list.push(c),
            None => groups.push((c.object.kind, vec![c])),
        }
    }
    groups
}

/// Title, summary line and summary table. The table lists objects one by one unless it would
/// exceed `table_limit` bytes; then every kind is counted per action.
fn head(plan: &Plan, table_limit: usize) -> String {
    let mut out = format!(
        "### entractl plan: `{}` ({})\n\n**{}**\n\n",
        cell(&plan.tenant),
        cell(&plan.cloud),
        summary_line(&plan.summary())
    );
    if !plan.has_changes() {
        out.push_str("No changes: the tenant matches the spec.\n");
        return out;
    }
    let kinds = by_kind(plan);
    let mut table = table(&kinds, TABLE_ROWS_PER_KIND);
    if table.len() > table_limit {
        table = table_rows_counted(&kinds);
    }
    out.push_str(&table);
    out
}

const TABLE_HEADER: &str = "| | Object | Action | Risks |\n|---|---|---|---|\n";

fn table(kinds: &[(ObjectKind, Vec<&Change>)], rows_per_kind: usize) -> String {
    let mut out = TABLE_HEADER.to_string();
    for (kind, changes) in kinds {
        if changes.len() > rows_per_kind {
            out.push_str(&counted_rows(*kind, changes));
            continue;
        }
        for c in changes {
            out.push_str(&format!(
                "| {} | {} \"{}\" | {} | {} |\n",
                icon(c.action),
                kind,
                cell(&c.object.display),
                c.action.as_str(),
                risks_of(std::iter::once(*c))
            ));
        }
    }
    out
}

fn table_rows_counted(kinds: &[(ObjectKind, Vec<&Change>)]) -> String {
    let mut out = TABLE_HEADER.to_string();
    for (kind, changes) in kinds {
        out.push_str(&counted_rows(*kind, changes));
    }
    out
}

/// One row per action of a kind: `perUserMfa × 1,000`.
fn counted_rows(kind: ObjectKind, changes: &[&Change]) -> String {
    let mut per_action: Vec<(Action, Vec<&Change>)> = Vec::new();
    for c in changes {
        match per_action.iter_mut().find(|(a, _)| *a == c.action) {
            Some((_, list)) => list.push(c),
            None => per_action.push((c.action, vec![c])),
        }
    }
    per_action
        .iter()
        .map(|(action, list)| {
            format!(
                "| {} | {kind} × {} | {} | {} |\n",
                icon(*action),
                thousands(list.len()),
                action.as_str(),
                risks_of(list.iter().copied())
            )
        })
        .collect()
}

/// The outputs table and the assigned groups (the first [`GROUPS_SHOWN`]).
fn tail(plan: &Plan) -> String {
    let mut out = String::from("\n| Output | Value |\n|---|---|\n");
    for (k, v) in output_rows(plan) {
        out.push_str(&format!("| {k} | `{}` |\n", cell(&v)));
    }
    let groups = &plan.outputs.assigned_groups;
    if groups.is_empty() {
        return out;
    }
    out.push_str(
        "\n| Assigned group | Object id (Kandji: \"Specify per identity provider group\") |\n|---|---|\n",
    );
    for g in groups.iter().take(GROUPS_SHOWN) {
        out.push_str(&format!(
            "| {} | `{}` |\n",
            cell(&g.display_name),
            cell(&g.id)
        ));
    }
    if groups.len() > GROUPS_SHOWN {
        out.push_str(&format!(
            "\n{} more assigned groups: `entractl plan --format json` lists them all (`outputs.assigned_groups`).\n",
            thousands(groups.len() - GROUPS_SHOWN)
        ));
    }
    out
}

/// The part between head and tail, kept within a byte budget; what does not fit is counted.
struct Body {
    text: String,
    room: usize,
    /// What was left out: (label, count), in order.
    omitted: Vec<(String, usize)>,
}

impl Body {
    fn new(room: usize) -> Self {
        Body {
            text: String::new(),
            room,
            omitted: Vec::new(),
        }
    }

    fn left(&self) -> usize {
        self.room.saturating_sub(self.text.len())
    }

    fn omit(&mut self, label: String, count: usize) {
        if count > 0 {
            self.omitted.push((label, count));
        }
    }

    fn omission_line(&self) -> String {
        if self.omitted.is_empty() {
            return String::new();
        }
        let parts = self
            .omitted
            .iter()
            .map(|(label, n)| format!("{} {label}", thousands(*n)))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "\n**Not shown here** (a pull-request comment holds at most {} characters): {parts}. \
             The full plan is the JSON plan: `entractl plan SPEC --out plan.json` \
             (in GitHub Actions, the plan artifact of the run).\n",
            thousands(GITHUB_BODY_LIMIT)
        )
    }
}

/// A fence longer than any backtick run in `content` (at least three backticks).
fn fence(content: &str) -> String {
    let longest = content.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    "`".repeat((longest + 1).max(3))
}

/// Per kind, a collapsible `diff` block with its first [`DETAILS_PER_KIND`] changes (fewer
/// when the budget runs out).
fn details(plan: &Plan, body: &mut Body) {
    for (kind, changes) in by_kind(plan) {
        let mut lines = String::new();
        let mut shown = 0;
        for c in changes.iter().take(DETAILS_PER_KIND) {
            let sep = if shown > 0 { "\n" } else { "" };
            let chunk = format!("{sep}{}", change_lines(c));
            // 200: the <details> wrapper and the fences.
            if lines.len() + chunk.len() + 200 > body.left() {
                break;
            }
            lines.push_str(&chunk);
            shown += 1;
        }
        body.omit(format!("`{kind}` change details"), changes.len() - shown);
        if shown == 0 {
            continue;
        }
        let more = if shown < changes.len() {
            format!(", the first {}", thousands(shown))
        } else {
            String::new()
        };
        let f = fence(&lines);
        body.text.push_str(&format!(
            "\n<details><summary><code>{kind}</code>: {}{more}</summary>\n\n{f}diff\n{lines}{f}\n\n</details>\n",
            count(changes.len(), "change")
        ));
    }
}

/// One change as `diff` lines, markers in column one.
fn change_lines(c: &Change) -> String {
    let marker = match c.action {
        Action::Create => '+',
        Action::Delete => '-',
        Action::Update | Action::Adopt | Action::Restore | Action::NoOp => '!',
    };
    let mut head = format!("{marker} {} \"{}\"", c.object.kind, c.object.display);
    if c.object.key != c.object.display {
        head.push_str(&format!(" ({})", c.object.key));
    }
    match c.action {
        Action::Adopt => head.push_str(" [adopt]"),
        Action::Restore => head.push_str(" [restore from deleted items]"),
        _ => {}
    }
    for r in &c.risks {
        head.push_str(&format!(" [{}]", r.as_str()));
    }
    let mut out = format!("{}\n  # {}\n", one_line(&head), one_line(&c.reason));
    for f in &c.fields {
        out.push_str(&field_lines(f, c.action == Action::Create));
    }
    out
}

fn one_line(s: &str) -> String {
    s.replace(['\r', '\n'], " ")
}

/// A field as `diff` lines: `- path: before` / `+ path: after` for values, a context line and
/// `-`/`+` items for lists.
fn field_lines(f: &FieldChange, creating: bool) -> String {
    let is_list = f.before.is_array() || f.after.is_array();
    let path = one_line(&f.path);
    if creating {
        let value = if is_list {
            format!("[{}]", lines_of(&f.after).join(", "))
        } else {
            scalar(&f.after)
        };
        return format!("+ {path}: {}\n", one_line(&value));
    }
    if !is_list {
        return format!(
            "- {path}: {}\n+ {path}: {}\n",
            one_line(&scalar(&f.before)),
            one_line(&scalar(&f.after))
        );
    }
    let one_per_line = |v| {
        lines_of(v)
            .iter()
            .map(|s| one_line(s) + "\n")
            .collect::<String>()
    };
    let (before, after) = (one_per_line(&f.before), one_per_line(&f.after));
    let mut out = format!("  {path}:\n");
    for ch in TextDiff::from_lines(&before, &after).iter_all_changes() {
        let item = ch.value().trim_end_matches('\n');
        let marker = match ch.tag() {
            _ if item.is_empty() => continue,
            ChangeTag::Insert => '+',
            ChangeTag::Delete => '-',
            ChangeTag::Equal => continue,
        };
        out.push_str(&format!("{marker}   {item}\n"));
    }
    out
}

fn notes(plan: &Plan, body: &mut Body) {
    if plan.notes.is_empty() {
        return;
    }
    let mut list = String::new();
    let mut shown = 0;
    for n in &plan.notes {
        let line = format!("- ⚠️ **{}**: {}\n", note_head(n), one_line(&n.message));
        if list.len() + line.len() + 20 > body.left() {
            break;
        }
        list.push_str(&line);
        shown += 1;
    }
    body.omit("notes".into(), plan.notes.len() - shown);
    if shown > 0 {
        body.text.push_str(&format!("\n**Notes**\n\n{list}"));
    }
}

/// The sign-in forecast, first in the body: a reviewer reads it before the details.
fn sign_in_forecast(plan: &Plan, body: &mut Body) {
    let Some(f) = &plan.sign_in_forecast else {
        return;
    };
    let text = forecast_markdown(f);
    if text.len() > body.left() {
        body.omit("sign-in forecast".into(), 1);
        return;
    }
    body.text.push_str(&text);
}

/// The sign-in forecast section in Markdown (bounded: a few users per verdict).
pub(super) fn forecast_markdown(f: &SignInForecast) -> String {
    let mut text = format!("\n**{}**\n\n", forecast::title(f));
    for b in &f.basis {
        text.push_str(&format!("- {}\n", one_line(b)));
    }
    for g in forecast::groups(f) {
        let mark = if g.works { "✅" } else { "❌" };
        text.push_str(&format!(
            "- {mark} {}: {}\n",
            one_line(&g.who()),
            one_line(&g.verdict)
        ));
    }
    for w in &f.warnings {
        text.push_str(&format!("- ⚠️ {}\n", one_line(w)));
    }
    if let Some(o) = forecast::outcome(f) {
        text.push_str(&format!("\n**{}**\n", one_line(&o)));
    }
    text
}

fn unmanaged(plan: &Plan, body: &mut Body) {
    if plan.unmanaged.is_empty() {
        return;
    }
    let mut list = String::new();
    let mut shown = 0;
    for u in &plan.unmanaged {
        let line = format!(
            "- `{}.{}`: {}\n",
            u.object,
            one_line(&u.path),
            cell(&compact(&u.current))
        );
        if list.len() + line.len() + 100 > body.left() {
            break;
        }
        list.push_str(&line);
        shown += 1;
    }
    body.omit("unmanaged properties".into(), plan.unmanaged.len() - shown);
    if shown > 0 {
        body.text.push_str(&format!(
            "\n<details><summary>Unmanaged properties (left as is)</summary>\n\n{list}\n</details>\n"
        ));
    }
}

#[cfg(test)]
#[path = "markdown_tests.rs"]
mod tests;
