//! Planning the assignments: every spec entry resolves to one user or group, groups need
//! Entra ID P1/P2, the app role exists; then the assignments to add, those to remove (with
//! `prune`) or keep, and the groups that can sign in after apply.

use std::collections::BTreeSet;

use entractl_graph::resource::app_role_assignment::{self as graph, DEFAULT_ACCESS_ROLE};
use serde_json::{Value, json};

use super::context::PlanContext;
use super::kind::PlanOut;
use crate::core::desired::{DesiredAssignments, SpecEntry};
use crate::core::error::{AssignmentError, PlanError, Unresolved};
use crate::core::normalize;
use crate::core::observed::{
    AppRoleAssignment, Group, LicenseTier, ObservedAssignments, ServicePrincipal, User, user_label,
};
use crate::core::plan::{
    Action, AssignedGroup, Change, ChangeId, CreatedRef, FieldChange, Note, NoteKind, ObjectKind,
    ObjectRef, Risk,
};

const KIND: ObjectKind = ObjectKind::AppRoleAssignment;

/// The users and groups the spec lists, resolved.
struct Resolved<'a> {
    users: Vec<&'a User>,
    groups: Vec<&'a Group>,
}

/// Adds the assignment changes and notes; the groups that can sign in after apply go to
/// `out.assigned_groups`.
pub fn plan(
    cx: &PlanContext<'_>,
    a: &DesiredAssignments,
    out: &mut PlanOut,
) -> Result<(), PlanError> {
    let oa = &cx.observed.assignments;
    let resolved = resolve(cx, a, oa, &mut out.notes)?;
    if !a.groups.is_empty() && cx.observed.tier == Some(LicenseTier::Free) {
        return Err(AssignmentError::GroupsNeedPremium {
            tenant: cx.desired.tenant.clone(),
            groups: resolved
                .groups
                .iter()
                .map(|g| format!("\"{}\"", g.display_name))
                .collect(),
            at: a.groups[0].where_(),
        }
        .into());
    }
    let role = app_role(a, cx.sp(), &mut out.notes)?;
    let wanted = add(cx, &resolved, &role, oa, out);
    keep_or_remove(cx, a, &role.0, &wanted, oa, out);
    out.assigned_groups = assigned_groups(cx, &resolved, &mut out.notes);
    Ok(())
}

/// Every spec entry resolves to exactly one object (a deleted user is a warning).
fn resolve<'a>(
    cx: &PlanContext<'_>,
    a: &DesiredAssignments,
    oa: &'a ObservedAssignments,
    notes: &mut Vec<Note>,
) -> Result<Resolved<'a>, PlanError> {
    let tenant = &cx.desired.tenant;
    let mut problems = Vec::new();
    let mut users = Vec::new();
    for (i, e) in a.users.iter().enumerate() {
        match oa.users.get(i).and_then(Option::as_ref) {
            Some(u) => users.push(u),
            None if oa.deleted_users.contains_key(&i) => notes.push(Note {
                kind: NoteKind::Warning,
                risks: Vec::new(),
                message: format!(
                    "user {} ({}) was deleted: it is not assigned; restore it (Entra admin center → Users → Deleted users, within 30 days of deletion) or remove it from the spec",
                    user_label(&oa.deleted_users[&i]),
                    e.where_()
                ),
            }),
            None => problems.push(unresolved(
                e,
                format!(
                    "no user `{}` in tenant {tenant} (deleted, or a typo in the {})",
                    e.value,
                    if e.is_id() { "object id" } else { "user principal name" }
                ),
            )),
        }
    }
    let mut groups = Vec::new();
    for (i, e) in a.groups.iter().enumerate() {
        match oa.groups.get(i).map(Vec::as_slice).unwrap_or(&[]) {
            [] => problems.push(unresolved(
                e,
                format!(
                    "no group {} `{}` in tenant {tenant}",
                    if e.is_id() { "with object id" } else { "named" },
                    e.value
                ),
            )),
            [one] => groups.push(one),
            many => problems.push(unresolved(e, ambiguous_group(e, many))),
        }
    }
    if !problems.is_empty() {
        return Err(AssignmentError::Unresolved(problems).into());
    }
    Ok(Resolved { users, groups })
}

fn unresolved(e: &SpecEntry, problem: String) -> Unresolved {
    Unresolved {
        entry: e.clone(),
        problem,
    }
}

fn ambiguous_group(e: &SpecEntry, many: &[Group]) -> String {
    format!(
        "{} groups are named `{}`: {}; give the one you mean by object id",
        many.len(),
        e.value,
        many.iter()
            .map(|g| match &g.description {
                Some(d) if !d.is_empty() => format!("{} ({d})", g.id),
                _ => g.id.clone(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// The app role to assign: `(id, label)`.
fn app_role(
    a: &DesiredAssignments,
    sp: Option<&ServicePrincipal>,
    notes: &mut Vec<Note>,
) -> Result<(String, String), PlanError> {
    let roles = sp.map(|s| s.app_roles.as_slice()).unwrap_or(&[]);
    let Some(r) = &a.role else {
        if !roles.is_empty() && (!a.users.is_empty() || !a.groups.is_empty()) {
            notes.push(Note {
                kind: NoteKind::Warning,
                risks: Vec::new(),
                message: format!(
                    "the app defines app roles ({}) and the spec names none, so users and groups get the default access role; Graph documents the default access role for apps that declare no roles: if apply is refused, set `assignments.role`",
                    roles
                        .iter()
                        .map(|r| format!("`{}`", r.value))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
        return Ok((
            DEFAULT_ACCESS_ROLE.to_string(),
            "Default Access".to_string(),
        ));
    };
    match roles
        .iter()
        .find(|x| x.value.eq_ignore_ascii_case(r.trim()) || x.id.eq_ignore_ascii_case(r.trim()))
    {
        Some(x) => Ok((normalize::guid(&x.id), x.value.clone())),
        None => Err(AssignmentError::UnknownRole {
            role: r.clone(),
            available: roles.iter().map(|x| format!("`{}`", x.value)).collect(),
        }
        .into()),
    }
}

/// The assignments to add; returns every principal the spec wants assigned.
fn add(
    cx: &PlanContext<'_>,
    r: &Resolved<'_>,
    (role_id, role_label): &(String, String),
    oa: &ObservedAssignments,
    out: &mut PlanOut,
) -> BTreeSet<String> {
    let has = |principal: &str| {
        oa.existing
            .iter()
            .any(|e| e.principal_id == principal && e.app_role_id == *role_id)
    };
    let mut wanted: BTreeSet<String> = BTreeSet::new();
    let mut creates: Vec<(String, Change)> = Vec::new();
    for u in &r.users {
        if !wanted.insert(u.id.clone()) {
            continue;
        }
        if !u.account_enabled {
            out.notes.push(Note {
                kind: NoteKind::Warning,
                risks: Vec::new(),
                message: format!(
                    "user {} is disabled (accountEnabled: false): the assignment is kept, but the user cannot sign in until the account is enabled",
                    user_label(u)
                ),
            });
        }
        if !has(&u.id) {
            let who = Principal::new("User", &u.id, format!("user {}", user_label(u)));
            let sort = format!("0 {}", u.user_principal_name.to_lowercase());
            creates.push((sort, create(cx, who, role_id, role_label)));
        }
    }
    for g in &r.groups {
        if !wanted.insert(g.id.clone()) {
            continue;
        }
        if !has(&g.id) {
            let who = Principal::new("Group", &g.id, format!("group {}", g.display_name));
            let sort = format!("1 {}", g.display_name.to_lowercase());
            creates.push((sort, create(cx, who, role_id, role_label)));
        }
    }
    creates.sort_by(|x, y| x.0.cmp(&y.0));
    out.changes.extend(creates.into_iter().map(|(_, c)| c));
    wanted
}

struct Principal<'a> {
    ty: &'static str,
    id: &'a str,
    label: String,
}

impl<'a> Principal<'a> {
    fn new(ty: &'static str, id: &'a str, label: String) -> Self {
        Principal { ty, id, label }
    }
}

fn field(path: &str, before: Value, after: Value) -> FieldChange {
    FieldChange {
        path: path.into(),
        before,
        after,
    }
}

fn create(cx: &PlanContext<'_>, who: Principal<'_>, role_id: &str, role_label: &str) -> Change {
    let sp = cx.sp().map(|s| s.id.as_str());
    let object = ObjectRef {
        kind: KIND,
        key: format!("{} → {}", cx.key(), who.id),
        display: who.label,
        id: None,
    };
    let mut c = Change::new(
        object,
        Action::Create,
        format!(
            "listed under `assignments`: may sign in to {}",
            cx.desired.app.display_name
        ),
    );
    c.fields = vec![
        field("principalId", Value::Null, json!(who.id)),
        field("principalType", Value::Null, json!(who.ty)),
        field("appRole", Value::Null, json!(role_label)),
    ];
    c.payload = graph::body(who.id, sp, role_id);
    if sp.is_none() {
        c.refs.push(CreatedRef {
            at: "/resourceId".into(),
            created_by: ChangeId {
                kind: ObjectKind::ServicePrincipal,
                key: cx.key(),
            },
            property: "id".into(),
        });
    }
    c
}

/// Assignments the spec does not list: removed with `prune`, else kept (noted).
fn keep_or_remove(
    cx: &PlanContext<'_>,
    a: &DesiredAssignments,
    role_id: &str,
    wanted: &BTreeSet<String>,
    oa: &ObservedAssignments,
    out: &mut PlanOut,
) {
    let mut kept = Vec::new();
    let mut deletes = Vec::new();
    for e in oa.existing.iter().filter(|e| e.is_user() || e.is_group()) {
        if wanted.contains(&e.principal_id) && e.app_role_id == role_id {
            continue;
        }
        let name = if e.principal_display_name.is_empty() {
            e.principal_id.clone()
        } else {
            e.principal_display_name.clone()
        };
        let label = format!("{} {name}", e.principal_type.to_lowercase());
        if a.prune {
            let c = delete(
                cx,
                e,
                &name,
                label.clone(),
                wanted.contains(&e.principal_id),
            );
            deletes.push((format!("{label} {}", e.id), c));
        } else {
            kept.push(format!("{label} ({})", e.principal_id));
            if e.is_user() {
                out.notes.extend(assigned_user_note(e, &name, oa));
            }
        }
    }
    deletes.sort_by(|x, y| x.0.cmp(&y.0));
    out.changes.extend(deletes.into_iter().map(|(_, c)| c));
    if !kept.is_empty() {
        kept.sort();
        let shown: Vec<String> = kept.iter().take(10).cloned().collect();
        out.notes.push(Note {
            kind: NoteKind::Unmanaged,
            risks: Vec::new(),
            message: format!(
                "{} assignment(s) to the app are not listed in the spec and are kept because `prune` is off: {}{}",
                kept.len(),
                shown.join(", "),
                if kept.len() > shown.len() {
                    format!(", and {} more", kept.len() - shown.len())
                } else {
                    String::new()
                }
            ),
        });
    }
}

fn delete(
    cx: &PlanContext<'_>,
    e: &AppRoleAssignment,
    name: &str,
    label: String,
    other_role: bool,
) -> Change {
    let object = ObjectRef {
        kind: KIND,
        key: format!("{} → {}", cx.key(), e.principal_id),
        display: label,
        id: Some(e.id.clone()),
    };
    let mut c = Change::new(
        object,
        Action::Delete,
        if cx.desired.destroying() {
            super::teardown::REMOVED
        } else if other_role {
            "assigned with another app role than the spec's `assignments.role`, and `prune: true`"
        } else {
            "not listed under `assignments`, and `prune: true`"
        },
    );
    c.fields = vec![
        field("principal", json!(name), Value::Null),
        field("principalId", json!(e.principal_id), Value::Null),
        field("principalType", json!(e.principal_type), Value::Null),
        field("appRoleId", json!(e.app_role_id), Value::Null),
    ];
    c.risks = vec![Risk::Removal];
    c
}

/// A warning about an assigned user the spec does not list: deleted, or disabled.
fn assigned_user_note(e: &AppRoleAssignment, name: &str, oa: &ObservedAssignments) -> Option<Note> {
    let message = match oa.assigned_users.get(&e.principal_id)? {
        None => format!(
            "the assigned user {name} ({}) no longer exists (deleted); its assignment is left as is",
            e.principal_id
        ),
        Some(u) if !u.account_enabled => format!(
            "the assigned user {} is disabled (accountEnabled: false) and cannot sign in",
            user_label(u)
        ),
        Some(_) => return None,
    };
    Some(Note {
        kind: NoteKind::Warning,
        risks: Vec::new(),
        message,
    })
}

/// Groups assigned after apply (for Kandji's group mapping), with the nested-only warning.
fn assigned_groups(
    cx: &PlanContext<'_>,
    r: &Resolved<'_>,
    notes: &mut Vec<Note>,
) -> Vec<AssignedGroup> {
    let mut out = Vec::new();
    for g in &cx.observed.principals.groups {
        if g.has_only_group_members {
            notes.push(Note {
                kind: NoteKind::Warning,
                risks: Vec::new(),
                message: format!(
                    "group \"{}\" ({}) has only groups as members: Entra does not pass app access on to the members of nested groups, so nobody can sign in through it; assign the nested groups (or their users) instead",
                    g.display_name, g.id
                ),
            });
        }
        out.push(AssignedGroup {
            display_name: g.display_name.clone(),
            id: g.id.clone(),
        });
    }
    // Groups resolved in the spec but not in `principals` (e.g. a hand-made Observed).
    for g in &r.groups {
        if !out.iter().any(|o| o.id == g.id) {
            out.push(AssignedGroup {
                display_name: g.display_name.clone(),
                id: g.id.clone(),
            });
        }
    }
    out.sort_by(|x, y| {
        (x.display_name.to_lowercase(), &x.id).cmp(&(y.display_name.to_lowercase(), &y.id))
    });
    out
}
