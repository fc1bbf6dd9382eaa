//! The journal invariant: every PATCH/DELETE has a journal entry with the prior state, written
//! before it.

use std::path::Path;

use chrono::{DateTime, Utc};
use graph_emulator::LogEntry;
use serde_json::Value;

use crate::snapshot::Snapshot;
use crate::violation::{Invariant, Violation, v};

/// One journal file.
#[derive(Debug, Clone)]
pub struct JournalEntry {
    /// The file.
    pub file: String,
    /// When it was first written (birth time where the filesystem has it, else modification time).
    pub written: DateTime<Utc>,
    /// `kind` of the entry.
    pub kind: String,
    /// `key` of the entry.
    pub key: String,
    /// Object id (absent for creates).
    pub id: Option<String>,
    /// `action` of the entry.
    pub action: String,
    /// Whether `before` holds an object.
    pub has_before: bool,
}

/// Reads every entry under a journal root (all applies of a run).
pub fn read_journal(root: &Path) -> Vec<JournalEntry> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            if p.extension().and_then(|x| x.to_str()) != Some("json") {
                continue;
            }
            let Ok(meta) = std::fs::metadata(&p) else {
                continue;
            };
            let t = meta.created().or_else(|_| meta.modified());
            let Ok(t) = t else { continue };
            let Ok(text) = std::fs::read_to_string(&p) else {
                continue;
            };
            // A file cut short by SIGKILL is not an entry (its write never completed).
            let Ok(j) = serde_json::from_str::<Value>(&text) else {
                continue;
            };
            let s = |k: &str| j.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            out.push(JournalEntry {
                file: p.display().to_string(),
                written: DateTime::<Utc>::from(t),
                kind: s("kind"),
                key: s("key"),
                id: j
                    .get("id")
                    .and_then(Value::as_str)
                    .filter(|x| !x.is_empty())
                    .map(str::to_ascii_lowercase),
                action: s("action"),
                has_before: j.get("before").is_some_and(|b| !b.is_null()),
            });
        }
    }
    out
}

fn entry_matches(j: &JournalEntry, path_lower: &str) -> bool {
    if let Some(id) = &j.id
        && path_lower.contains(id.as_str())
    {
        return true;
    }
    if j.kind == "application"
        && path_lower.contains(&format!("uniquename='{}'", j.key.to_ascii_lowercase()))
    {
        return true;
    }
    j.kind == "securityDefaults" && path_lower.contains("identitysecuritydefaultsenforcementpolicy")
}

/// Truncates to whole milliseconds (the request log's precision).
fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// Every PATCH/DELETE in the request log has a journal entry for its object, written no later than
/// the request was logged; every object the run changed or removed has its prior state journaled.
pub fn journal(
    log: &[LogEntry],
    entries: &[JournalEntry],
    before: &Snapshot,
    after: &Snapshot,
) -> Vec<Violation> {
    let mut out = Vec::new();
    for e in log {
        if !(e.method == "PATCH" || e.method == "DELETE") || e.template.starts_with("/_emulator") {
            continue;
        }
        let Ok(at) = DateTime::parse_from_rfc3339(&e.timestamp) else {
            out.push(v(
                Invariant::JournalBeforeWrite,
                format!("request log timestamp `{}` does not parse", e.timestamp),
            ));
            continue;
        };
        let at = ms(at.with_timezone(&Utc));
        let path = e.path.to_ascii_lowercase();
        let matching: Vec<&JournalEntry> =
            entries.iter().filter(|j| entry_matches(j, &path)).collect();
        let in_time = matching.iter().any(|j| ms(j.written) <= at);
        if !in_time {
            out.push(v(
                Invariant::JournalBeforeWrite,
                format!(
                    "{} {} (status {}, logged {}) has no journal entry written before it ({} later or unrelated)",
                    e.method,
                    e.path,
                    e.status,
                    e.timestamp,
                    matching.len()
                ),
            ));
        }
    }
    for (c, objs) in &before.collections {
        if c == "deletedItems" {
            continue;
        }
        for (id, rec) in objs {
            let changed = after.collections.get(c).and_then(|a| a.get(id)) != Some(rec);
            if !changed {
                continue;
            }
            let idl = id.to_ascii_lowercase();
            let journaled = entries
                .iter()
                .any(|j| j.id.as_deref() == Some(idl.as_str()) && j.has_before);
            if !journaled {
                out.push(v(
                    Invariant::JournalBeforeWrite,
                    format!("{c}/{id} changed but no journal entry holds its prior state"),
                ));
            }
        }
    }
    if before.singletons.get("securityDefaults") != after.singletons.get("securityDefaults")
        && !entries
            .iter()
            .any(|j| j.kind == "securityDefaults" && j.has_before)
    {
        out.push(v(
            Invariant::JournalBeforeWrite,
            "security defaults changed but no journal entry holds their prior state",
        ));
    }
    out
}
