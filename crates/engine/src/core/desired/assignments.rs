//! The spec's `assignments`: who may sign in to the app.

use serde::{Deserialize, Serialize};

use crate::core::normalize;

/// One user or group as written in the spec, with where it is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecEntry {
    /// As written (`alice@contoso.com`, `Mac Users`, or an object id).
    pub value: String,
    /// Dotted spec path (`assignments.users[2]`).
    pub path: String,
    /// `file:line:col` when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
}

impl SpecEntry {
    /// `specs/x.yaml:12:7 (assignments.users[2])` or just the path.
    pub fn where_(&self) -> String {
        match &self.at {
            Some(at) => format!("{at} ({})", self.path),
            None => format!("spec: {}", self.path),
        }
    }

    /// Written as an object id (else a UPN or a display name).
    pub fn is_id(&self) -> bool {
        normalize::is_guid(self.value.trim())
    }
}

/// The spec's `assignments`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredAssignments {
    /// `appRoleAssignmentRequired`; `None`: unmanaged.
    pub required: Option<bool>,
    pub users: Vec<SpecEntry>,
    pub groups: Vec<SpecEntry>,
    /// App role value (or id); `None`: the default access role.
    pub role: Option<String>,
    /// Remove assignments the spec does not list.
    pub prune: bool,
}

impl DesiredAssignments {
    pub fn from_spec(a: &entractl_spec::Assignments) -> DesiredAssignments {
        let entries = |v: &[String], section: &str| {
            v.iter()
                .enumerate()
                .map(|(i, s)| SpecEntry {
                    value: s.trim().to_string(),
                    path: format!("assignments.{section}[{i}]"),
                    at: None,
                })
                .collect()
        };
        DesiredAssignments {
            required: a.required,
            users: entries(&a.users, "users"),
            groups: entries(&a.groups, "groups"),
            role: a.role.clone(),
            prune: a.prune,
        }
    }

    /// Fills in `file:line:col` of every entry.
    pub fn locate(&mut self, loaded: &entractl_spec::LoadedSpec) {
        for e in self.users.iter_mut().chain(self.groups.iter_mut()) {
            e.at = loaded
                .location(&e.path)
                .map(|l| format!("{}:{}:{}", loaded.name, l.line, l.column));
        }
    }
}
