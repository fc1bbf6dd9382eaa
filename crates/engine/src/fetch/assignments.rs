//! The assignments' reads: the spec's users (by UPN or id) and groups (by display name or
//! id), the license tier (`subscribedSkus`), the app's current assignments, the direct members
//! of every group that is or stays assigned, the assigned users the spec does not list, and the
//! spec's users given by id that are among the deleted items. Never one round per principal:
//! the spec's entries in the first wave, what they lead to in the next.

use std::collections::{BTreeMap, BTreeSet};

use entractl_graph::Loader;
use entractl_graph::resource::{app_role_assignment, deleted_item, group, subscribed_sku, user};
use futures_util::future::join_all;

use super::{Promise, ok_or_absent, parsed, promise};
use crate::core::desired::{Desired, DesiredAssignments};
use crate::core::observed::{
    AppRoleAssignment, Group, LicenseTier, Members, ObservedAssignments, Principals,
    ServicePrincipal, User,
};
use crate::error::ReadError;

/// The spec's users and groups, as found (wave 1).
#[derive(Debug, Clone, Default)]
pub struct SpecResolved {
    /// Per spec user entry: the user, or `None` when it does not exist.
    pub users: Vec<Option<User>>,
    /// Per spec group entry: every group that matched.
    pub groups: Vec<Vec<Group>>,
}

/// Direct members of groups, and the UPNs and `userType`s of the user members by object id.
#[derive(Debug, Clone, Default)]
pub struct GroupMembers {
    pub by_group: BTreeMap<String, Members>,
    pub upns: BTreeMap<String, String>,
    pub user_types: BTreeMap<String, String>,
}

/// Everything the assignments read, once it is all in.
#[derive(Debug, Clone, Default)]
pub struct Settled {
    pub observed: ObservedAssignments,
    pub principals: Principals,
    /// UPNs of the members of the groups read, by lower-case object id.
    pub upns: BTreeMap<String, String>,
    /// `userType` of the members of the groups read, by lower-case object id.
    pub user_types: BTreeMap<String, String>,
}

/// The assignments' reads, as promises other parts (the MFA posture) wait on.
pub struct Parts<'a> {
    pub spec: Promise<'a, SpecResolved>,
    /// Members of the spec's groups (wave 2).
    pub members: Promise<'a, GroupMembers>,
    pub settled: Promise<'a, Settled>,
    pub tier: Promise<'a, Option<LicenseTier>>,
}

impl<'a> Parts<'a> {
    pub fn new(
        l: &'a Loader,
        d: &'a Desired,
        sp: Promise<'a, Option<ServicePrincipal>>,
    ) -> Parts<'a> {
        let a = d.assignments.as_ref();
        let spec = promise(resolve(l, a));
        let members = promise(spec_members(l, spec.clone()));
        let settled = promise(settle(l, a, spec.clone(), members.clone(), sp));
        Parts {
            spec,
            members,
            settled,
            tier: promise(tier(l, d)),
        }
    }
}

/// Whether the license tier is read: for assignments (groups need P1/P2) and for conditional
/// access (which needs P1/P2).
fn wants_license_tier(d: &Desired) -> bool {
    d.assignments.is_some()
        || d.mfa
            .as_ref()
            .is_some_and(|m| m.conditional_access.is_some())
}

async fn tier(l: &Loader, d: &Desired) -> Result<Option<LicenseTier>, ReadError> {
    if !wants_license_tier(d) {
        return Ok(None);
    }
    let req = subscribed_sku::list();
    let label = req
        .label_text()
        .unwrap_or("read subscribedSkus")
        .to_string();
    let skus = l.list(req).await.map_err(ReadError::of(label))?;
    Ok(Some(LicenseTier::from_subscribed_skus(&skus)))
}

/// Finds the spec's users and groups (wave 1).
async fn resolve(l: &Loader, a: Option<&DesiredAssignments>) -> Result<SpecResolved, ReadError> {
    let Some(a) = a else {
        return Ok(SpecResolved::default());
    };
    let users = join_all(a.users.iter().map(|u| async move {
        let label = format!("find the user `{}`", u.value);
        let found = ok_or_absent(l.get(user::get(&u.value, label.clone())).await, &label)?;
        Ok::<_, ReadError>(
            found
                .as_ref()
                .and_then(entractl_graph::resource::parse::<User>),
        )
    }));
    let groups = join_all(a.groups.iter().map(|g| async move {
        let label = format!("find the group `{}`", g.value);
        if g.is_id() {
            let found = ok_or_absent(l.get(group::get(&g.value, label.clone())).await, &label)?;
            Ok::<_, ReadError>(parsed(found.into_iter().collect()))
        } else {
            let found = l
                .list(group::find_by_display_name(&g.value, label.clone()))
                .await
                .map_err(ReadError::of(label))?;
            Ok(parsed(found))
        }
    }));
    let (users, groups) = tokio::join!(users, groups);
    Ok(SpecResolved {
        users: users.into_iter().collect::<Result<_, _>>()?,
        groups: groups.into_iter().collect::<Result<_, _>>()?,
    })
}

/// The direct members of each group, by id (404: the group is gone, no members).
async fn members_of(l: &Loader, ids: BTreeSet<String>) -> Result<GroupMembers, ReadError> {
    let reads = ids.into_iter().map(|g| async move {
        let label = format!("read the members of group {g}");
        let found = match l.list(group::members(&g, label.clone())).await {
            Ok(v) => v,
            Err(e) if e.is_not_found() => Vec::new(),
            Err(source) => {
                return Err(ReadError {
                    what: label,
                    source,
                });
            }
        };
        Ok((g, parsed::<group::Member>(found)))
    });
    let mut out = GroupMembers::default();
    for answer in join_all(reads).await {
        let (g, found) = answer?;
        let mut m = Members::default();
        for v in found {
            if v.is_user() {
                if let Some(upn) = &v.user_principal_name {
                    out.upns.insert(v.id.clone(), upn.clone());
                }
                if let Some(t) = &v.user_type {
                    out.user_types.insert(v.id.clone(), t.clone());
                }
                m.users.push(v.id);
            } else if v.is_group() {
                m.groups += 1;
            } else {
                m.others += 1;
            }
        }
        m.users.sort();
        out.by_group.insert(g, m);
    }
    Ok(out)
}

/// The members of the spec's groups that resolved to one group (wave 2).
async fn spec_members(
    l: &Loader,
    spec: Promise<'_, SpecResolved>,
) -> Result<GroupMembers, ReadError> {
    let spec = spec.await?;
    let ids = spec
        .groups
        .iter()
        .filter_map(|hits| match hits.as_slice() {
            [g] => Some(g.id.clone()),
            _ => None,
        })
        .collect();
    members_of(l, ids).await
}

/// The app's current assignments (once its service principal is known; none without one).
async fn existing(
    l: &Loader,
    sp: Promise<'_, Option<ServicePrincipal>>,
) -> Result<Vec<AppRoleAssignment>, ReadError> {
    let Some(sp) = sp.await?.as_ref().clone() else {
        return Ok(Vec::new());
    };
    let label = "read the users and groups assigned to the app";
    let found = l
        .list(app_role_assignment::list_assigned_to(&sp.id, label))
        .await
        .map_err(ReadError::of(label))?;
    Ok(parsed(found))
}

/// Spec users given by object id and not found: are they among the deleted items?
async fn deleted_users(
    l: &Loader,
    a: &DesiredAssignments,
    spec: &SpecResolved,
) -> Result<BTreeMap<usize, User>, ReadError> {
    let reads = a
        .users
        .iter()
        .enumerate()
        .filter(|(i, e)| e.is_id() && spec.users.get(*i).is_some_and(Option::is_none));
    let reads = reads.map(|(i, e)| async move {
        let label = format!("look for the user {} among deleted items", e.value);
        let found = ok_or_absent(
            l.get(deleted_item::get_deleted_user(&e.value, label.clone()))
                .await,
            &label,
        )?;
        Ok::<_, ReadError>((
            i,
            found
                .as_ref()
                .and_then(entractl_graph::resource::parse::<User>),
        ))
    });
    let mut out = BTreeMap::new();
    for answer in join_all(reads).await {
        if let (i, Some(u)) = answer? {
            out.insert(i, u);
        }
    }
    Ok(out)
}

/// Users assigned to the app that the spec does not list (read for warnings and the sign-in
/// set; `None`: the user no longer exists).
async fn assigned_users(
    l: &Loader,
    ids: BTreeSet<String>,
) -> Result<BTreeMap<String, Option<User>>, ReadError> {
    let reads = ids.into_iter().map(|u| async move {
        let label = format!("read the assigned user {u}");
        let found = ok_or_absent(l.get(user::get(&u, label.clone())).await, &label)?;
        Ok::<_, ReadError>((
            u,
            found
                .as_ref()
                .and_then(entractl_graph::resource::parse::<User>),
        ))
    });
    join_all(reads).await.into_iter().collect()
}

/// Everything the assignments need, then who can sign in after apply.
async fn settle(
    l: &Loader,
    a: Option<&DesiredAssignments>,
    spec: Promise<'_, SpecResolved>,
    members: Promise<'_, GroupMembers>,
    sp: Promise<'_, Option<ServicePrincipal>>,
) -> Result<Settled, ReadError> {
    let Some(a) = a else {
        return Ok(Settled::default());
    };
    let spec_again = spec.clone();
    let after_spec = async {
        let spec = spec_again.await?;
        deleted_users(l, a, &spec).await
    };
    let (spec, members, existing, deleted) =
        tokio::join!(spec, members, existing(l, sp), after_spec);
    let (spec, members, existing, deleted) = (spec?, members?, existing?, deleted?);
    // The assignments the spec does not list lead to more reads (unless they are pruned).
    let (more_groups, more_users) = if a.prune {
        (BTreeSet::new(), BTreeSet::new())
    } else {
        unlisted(&spec, &existing)
    };
    let (more_members, assigned) =
        tokio::join!(members_of(l, more_groups), assigned_users(l, more_users));
    let (more_members, assigned) = (more_members?, assigned?);
    let mut by_group = members.by_group.clone();
    by_group.extend(more_members.by_group);
    let mut upns = members.upns.clone();
    upns.extend(more_members.upns);
    let mut user_types = members.user_types.clone();
    user_types.extend(more_members.user_types);
    let observed = ObservedAssignments {
        users: spec.users.clone(),
        groups: spec.groups.clone(),
        existing,
        assigned_users: assigned,
        members: by_group,
        deleted_users: deleted,
    };
    Ok(Settled {
        principals: Principals::after_apply(a, &observed),
        observed,
        upns,
        user_types,
    })
}

/// Groups assigned but not resolved from the spec, and users assigned but not listed.
fn unlisted(
    spec: &SpecResolved,
    existing: &[AppRoleAssignment],
) -> (BTreeSet<String>, BTreeSet<String>) {
    let listed: BTreeSet<&str> = spec.users.iter().flatten().map(|u| u.id.as_str()).collect();
    let mut groups = BTreeSet::new();
    let mut users = BTreeSet::new();
    for e in existing {
        if e.is_group() {
            groups.insert(e.principal_id.clone());
        } else if e.is_user() && !listed.contains(e.principal_id.as_str()) {
            users.insert(e.principal_id.clone());
        }
    }
    (groups, users)
}
