//! Deleted applications that match the spec (read only when no live one matched).

use chrono::{DateTime, Utc};
use entractl_graph::resource::application::Application;
use serde::{Deserialize, Serialize};

use super::app::MatchedBy;

/// A deleted application that matches the spec's app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeletedApplication {
    pub app: Application,
    /// `deletedDateTime` as Graph returned it.
    pub deleted_date_time: Option<String>,
    /// Every lookup that found it.
    pub matched_by: Vec<MatchedBy>,
}

impl DeletedApplication {
    /// When it was deleted, when Graph said so in a form that parses.
    pub fn deleted_at(&self) -> Option<DateTime<Utc>> {
        self.deleted_date_time
            .as_deref()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|d| d.with_timezone(&Utc))
    }

    /// Whole days between the deletion and `now` (`None` when the deletion time is unknown).
    pub fn age_days(&self, now: DateTime<Utc>) -> Option<i64> {
        self.deleted_at().map(|d| (now - d).num_days())
    }

    /// In an ambiguity error.
    pub fn describe(&self, now: Option<DateTime<Utc>>) -> String {
        let when = match (
            self.deleted_date_time.as_deref(),
            now.and_then(|n| self.age_days(n)),
        ) {
            (Some(d), Some(age)) => format!("deleted {d}, {age} day(s) ago"),
            (Some(d), None) => format!("deleted {d}"),
            (None, _) => "deletion time unknown".to_string(),
        };
        format!(
            "\"{}\" (appId {}, object id {}, {when}, found by {})",
            self.app.display_name,
            self.app.app_id,
            self.app.id,
            self.matched_by
                .iter()
                .map(|m| m.describe())
                .collect::<Vec<_>>()
                .join(" and ")
        )
    }

    /// The deleted object as Graph returned it (the journal's prior state of a restore).
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = self.app.to_json();
        if let Some(obj) = v.as_object_mut() {
            obj.insert(
                "deletedDateTime".into(),
                serde_json::json!(self.deleted_date_time),
            );
        }
        v
    }
}

/// What was read of `directory/deletedItems`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ObservedDeleted {
    /// When the deleted items were read (the age of each deletion is counted from it, so the
    /// diff stays a pure function). `None`: not read (a live application matched).
    pub read_at: Option<DateTime<Utc>>,
    /// Deleted applications matching the spec's keys.
    pub applications: Vec<DeletedApplication>,
}

impl ObservedDeleted {
    /// Nothing read (serialised plans and fingerprints stay as they were without it).
    pub fn is_empty(&self) -> bool {
        self.read_at.is_none() && self.applications.is_empty()
    }
}
