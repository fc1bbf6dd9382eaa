//! What was read for `assignments`: the spec's users and groups, the current assignments, the
//! members of the assigned groups; and who can sign in after apply.

use std::collections::{BTreeMap, BTreeSet};

use entractl_graph::resource::app_role_assignment::AppRoleAssignment;
use entractl_graph::resource::group::Group;
use entractl_graph::resource::user::User;
use serde::{Deserialize, Serialize};

use crate::core::desired::DesiredAssignments;

/// `alice@contoso.com (Alice Anderson)`: a user as plans name them.
pub fn user_label(u: &User) -> String {
    if u.display_name.is_empty() {
        u.user_principal_name.clone()
    } else {
        format!("{} ({})", u.user_principal_name, u.display_name)
    }
}

/// Direct members of a group, by type.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Members {
    /// Object ids (lower case) of the user members, sorted.
    pub users: Vec<String>,
    pub groups: usize,
    pub others: usize,
}

/// What the fetch read for the assignments.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedAssignments {
    /// Per spec user entry (same order): the user, or `None` when it does not exist.
    pub users: Vec<Option<User>>,
    /// Per spec group entry (same order): every group that matched.
    pub groups: Vec<Vec<Group>>,
    /// The app's current assignments (empty when it has no service principal yet).
    pub existing: Vec<AppRoleAssignment>,
    /// Users assigned but not listed in the spec (read for warnings and the sign-in set);
    /// `None`: the user no longer exists.
    pub assigned_users: BTreeMap<String, Option<User>>,
    /// Direct members of every group that is or will be assigned, by group id.
    pub members: BTreeMap<String, Members>,
    /// Spec user entries (by index) given by object id that are in the deleted items.
    #[serde(default)]
    pub deleted_users: BTreeMap<usize, User>,
}

/// A group whose direct members can sign in to the app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrincipalGroup {
    pub id: String,
    pub display_name: String,
    /// Object ids of the users that are direct members (Entra does not expand nested groups for
    /// app access).
    pub direct_user_member_ids: Vec<String>,
    /// True when the group has members and all of them are groups: nobody gets access through it.
    pub has_only_group_members: bool,
}

/// The users and groups that can sign in to the app once the plan is applied: those the spec
/// lists plus (unless `prune: true`) those already assigned.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principals {
    pub users: Vec<User>,
    pub groups: Vec<PrincipalGroup>,
}

impl Principals {
    /// Object ids (lowercase) of every user who can sign in to the app: the assigned users and
    /// the direct user members of the assigned groups.
    pub fn sign_in_user_ids(&self) -> BTreeSet<String> {
        self.users
            .iter()
            .map(|u| u.id.clone())
            .chain(
                self.groups
                    .iter()
                    .flat_map(|g| g.direct_user_member_ids.iter().cloned()),
            )
            .collect()
    }

    /// The users and groups that can sign in after apply (pure).
    pub fn after_apply(a: &DesiredAssignments, oa: &ObservedAssignments) -> Principals {
        let mut users: BTreeMap<String, User> = BTreeMap::new();
        for u in oa.users.iter().flatten() {
            users.insert(u.id.clone(), u.clone());
        }
        let mut groups: BTreeMap<String, String> = BTreeMap::new();
        for hits in &oa.groups {
            if let [g] = hits.as_slice() {
                groups.insert(g.id.clone(), g.display_name.clone());
            }
        }
        if !a.prune {
            for e in &oa.existing {
                if e.is_group() {
                    groups
                        .entry(e.principal_id.clone())
                        .or_insert_with(|| e.principal_display_name.clone());
                } else if e.is_user()
                    && let Some(Some(u)) = oa.assigned_users.get(&e.principal_id)
                {
                    users.entry(u.id.clone()).or_insert_with(|| u.clone());
                }
            }
        }
        Principals {
            users: users.into_values().collect(),
            groups: groups
                .into_iter()
                .map(|(id, display_name)| {
                    let m = oa.members.get(&id).cloned().unwrap_or_default();
                    PrincipalGroup {
                        has_only_group_members: m.users.is_empty() && m.groups > 0,
                        direct_user_member_ids: m.users,
                        id,
                        display_name,
                    }
                })
                .collect(),
        }
    }
}
