//! `assignments` of the export: the users and groups assigned to the app with the role most of
//! them have, named by UPN and (unique) display name.

use std::collections::BTreeMap;

use entractl_graph::resource::app_role_assignment::DEFAULT_ACCESS_ROLE;

use super::model::{AssignmentsExport, ExportModel};
use super::read::Facts;
use super::types::same_guid;
use crate::core::observed::{AppRoleAssignment, ServicePrincipal};

impl ExportModel {
    pub(super) fn assignments(&mut self, f: &Facts) {
        let Some(sp) = &f.sp else {
            self.comment(
                "assignments",
                "the app has no service principal (enterprise application) yet: nobody is assigned",
            );
            self.assignments = Some(AssignmentsExport {
                required: false,
                users: vec![],
                groups: vec![],
                role: None,
            });
            return;
        };
        let people: Vec<&AppRoleAssignment> = f
            .assigned
            .iter()
            .filter(|a| {
                a.principal_type.eq_ignore_ascii_case("User")
                    || a.principal_type.eq_ignore_ascii_case("Group")
            })
            .collect();
        let role_id = main_role(&people);
        let mut users = Vec::new();
        let mut groups = Vec::new();
        let mut other_role = Vec::new();
        for a in &people {
            if a.app_role_id != role_id {
                other_role.push(a.principal_display_name.clone());
            } else if a.principal_type.eq_ignore_ascii_case("User") {
                users.extend(self.user_name(f, a));
            } else {
                groups.push(self.group_name(f, a));
            }
        }
        self.note_not_listed(f, &other_role);
        users.sort_by_key(|u| u.to_lowercase());
        groups.sort_by_key(|g| g.to_lowercase());
        self.assignments = Some(AssignmentsExport {
            required: sp.app_role_assignment_required.unwrap_or(false),
            users,
            groups,
            role: role_value(sp, &role_id),
        });
    }

    /// The assigned user's UPN; `None` (with a comment) when the user could not be read.
    fn user_name(&mut self, f: &Facts, a: &AppRoleAssignment) -> Option<String> {
        let upn = f.upns.get(&a.principal_id).cloned().flatten();
        if upn.is_none() {
            self.comment(
                "assignments.users",
                format!(
                    "user {} ({}) is assigned but could not be read (deleted?): not listed",
                    a.principal_id, a.principal_display_name
                ),
            );
        }
        upn
    }

    /// The assigned group's display name when unique, else its id (with a comment).
    fn group_name(&mut self, f: &Facts, a: &AppRoleAssignment) -> String {
        let unique = f
            .group_name_unique
            .get(&a.principal_id)
            .copied()
            .unwrap_or(false);
        if unique {
            return a.principal_display_name.clone();
        }
        self.comment(
            "assignments.groups",
            format!(
                "{} is group \"{}\", named by id because that name is not unique",
                a.principal_id, a.principal_display_name
            ),
        );
        a.principal_id.clone()
    }

    /// Comments on the assignments the spec does not list: users and groups with another role,
    /// and other applications.
    fn note_not_listed(&mut self, f: &Facts, other_role: &[String]) {
        if !other_role.is_empty() {
            self.comment(
                "assignments",
                format!(
                    "assigned with another app role, kept as they are and not listed: {}",
                    other_role.join(", ")
                ),
            );
        }
        let apps = f
            .assigned
            .iter()
            .filter(|a| a.principal_type.eq_ignore_ascii_case("ServicePrincipal"))
            .count();
        if apps > 0 {
            self.comment(
                "assignments",
                format!(
                    "{apps} other application(s) are assigned too; entractl never touches those"
                ),
            );
        }
    }
}

/// The role most assignments have (the default access role when there are none); the others
/// stay assigned (prune is off).
fn main_role(people: &[&AppRoleAssignment]) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for a in people {
        *counts.entry(a.app_role_id.as_str()).or_default() += 1;
    }
    counts
        .iter()
        .max_by_key(|(id, n)| (**n, std::cmp::Reverse(**id)))
        .map(|(id, _)| id.to_string())
        .unwrap_or_else(|| DEFAULT_ACCESS_ROLE.into())
}

/// `assignments.role`: the role's value as the app defines it (its id when it defines none),
/// `None` for the default access role.
fn role_value(sp: &ServicePrincipal, role_id: &str) -> Option<String> {
    if role_id == DEFAULT_ACCESS_ROLE {
        return None;
    }
    Some(
        sp.app_roles
            .iter()
            .find(|r| same_guid(&r.id, role_id))
            .map(|r| r.value.clone())
            .unwrap_or_else(|| role_id.to_string()),
    )
}
