//! The journal: before changing anything, the prior state of the object is written to
//! `<dir>/<UTC timestamp>/NN-kind-key.json`, so a change can be undone by hand.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::core::plan::Change;
use crate::error::EngineError;

/// One apply's journal directory.
#[derive(Debug, Clone)]
pub struct Journal {
    dir: PathBuf,
    next: usize,
}

fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').chars().take(80).collect()
}

impl Journal {
    /// A journal under `root` named after `now` (UTC, `20261127T101500Z`). The directory is
    /// created on the first entry.
    pub fn new(root: &Path, now: chrono::DateTime<chrono::Utc>) -> Journal {
        Journal {
            dir: root.join(now.format("%Y%m%dT%H%M%S%.3fZ").to_string()),
            next: 1,
        }
    }

    /// The directory of this apply's entries.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes the prior state of the object a change is about to modify. Returns the file path.
    pub fn record(
        &mut self,
        change: &Change,
        before: &Value,
        undo: &str,
    ) -> Result<PathBuf, EngineError> {
        std::fs::create_dir_all(&self.dir).map_err(|source| EngineError::Journal {
            path: self.dir.clone(),
            source,
        })?;
        let path = self.dir.join(format!(
            "{:02}-{}-{}.json",
            self.next,
            change.object.kind.as_str(),
            slug(&change.object.key)
        ));
        self.next += 1;
        let entry = json!({
            "kind": change.object.kind,
            "key": change.object.key,
            "display": change.object.display,
            "id": change.object.id,
            "action": change.action,
            "before": before,
            "change": change,
            "undo": undo,
        });
        write(&path, &entry)?;
        Ok(path)
    }

    /// Adds the id of an object a create made (so the undo can delete it).
    pub fn record_created(&self, path: &Path, created: &Value) -> Result<(), EngineError> {
        let text = std::fs::read_to_string(path).map_err(|source| EngineError::Journal {
            path: path.to_path_buf(),
            source,
        })?;
        let mut entry: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        entry["created"] = created.clone();
        write(path, &entry)
    }
}

fn write(path: &Path, v: &Value) -> Result<(), EngineError> {
    let text = serde_json::to_string_pretty(v).unwrap_or_default() + "\n";
    std::fs::write(path, text).map_err(|source| EngineError::Journal {
        path: path.to_path_buf(),
        source,
    })
}
