//! Users and groups assigned to the app (`servicePrincipal.appRoleAssignmentRequired` and
//! `appRoleAssignedTo`), license-aware.
//!
//! - [`DesiredAssignments`]: what the spec's `assignments` asks for, each entry with its spec path
//!   (and file:line:col once [`crate::Desired::locate`] ran).
//! - `AssignmentReads` (fetch's assignments part): resolves users (by UPN or id) and groups (by
//!   display name or id), reads the license tier (`subscribedSkus`), the app's current
//!   assignments and the direct members of the groups, in fetch's waves (`$batch`es; the first
//!   two waves plus paging waves, never one round per principal).
//! - [`Principals`]: the users and groups that can sign in to the app after apply, for the MFA
//!   posture (`Observed::principals`, [`Principals::sign_in_user_ids`]).
//! - [`plan_assignments`]: the changes (`appRoleAssignment` create/delete, the service principal's
//!   `appRoleAssignmentRequired`), warnings and the assigned groups output.

use std::collections::{BTreeMap, BTreeSet};

use entractl_graph::{GraphClient, GraphError, GraphRequest};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::desired::Desired;
use crate::error::{EngineError, PlanError};
use crate::fetch::odata_str;
use crate::normalize;
use crate::observed::{Observed, ServicePrincipal};
use crate::plan::{Action, Change, FieldChange, Note, NoteKind, ObjectKind, ObjectRef, Risk};
use crate::waves::Done;

/// The app role every application has: "Default Access".
pub const DEFAULT_ACCESS_ROLE: &str = "00000000-0000-0000-0000-000000000000";

/// Page size for directory object lists (the largest Graph allows).
const PAGE: u32 = 999;

// ---------------------------------------------------------------------------------------------
// Desired

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

    fn is_id(&self) -> bool {
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

// ---------------------------------------------------------------------------------------------
// Observed

/// The tenant's Entra ID license tier, from `subscribedSkus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LicenseTier {
    Free,
    P1,
    P2,
}

impl LicenseTier {
    /// The tier from Graph's `subscribedSkus` values: an `AAD_PREMIUM` (P1) or `AAD_PREMIUM_P2`
    /// service plan provisioned (`Success`) in a SKU that is `Enabled` or `Warning` (grace
    /// period), whether the SKU is Entra ID itself or a bundle (Microsoft 365 E3/E5, EMS, Business
    /// Premium) that contains it.
    pub fn from_subscribed_skus(skus: &[Value]) -> LicenseTier {
        let mut tier = LicenseTier::Free;
        for sku in skus {
            let status = sku
                .get("capabilityStatus")
                .and_then(Value::as_str)
                .unwrap_or("");
            if !status.eq_ignore_ascii_case("Enabled") && !status.eq_ignore_ascii_case("Warning") {
                continue;
            }
            let plans = sku
                .get("servicePlans")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for p in plans {
                let name = p.get("servicePlanName").and_then(Value::as_str);
                let ok = p
                    .get("provisioningStatus")
                    .and_then(Value::as_str)
                    .is_some_and(|s| s.eq_ignore_ascii_case("Success"));
                if !ok {
                    continue;
                }
                let t = match name {
                    Some(n) if n.eq_ignore_ascii_case("AAD_PREMIUM_P2") => LicenseTier::P2,
                    Some(n) if n.eq_ignore_ascii_case("AAD_PREMIUM") => LicenseTier::P1,
                    _ => continue,
                };
                tier = tier.max(t);
            }
        }
        tier
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LicenseTier::Free => "Free",
            LicenseTier::P1 => "P1",
            LicenseTier::P2 => "P2",
        }
    }
}

/// A user who can sign in to the app (assigned directly).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrincipalUser {
    pub id: String,
    pub upn: String,
    pub display_name: String,
    pub account_enabled: bool,
}

impl PrincipalUser {
    fn from_graph(v: &Value) -> Option<PrincipalUser> {
        Some(PrincipalUser {
            id: v.get("id")?.as_str()?.to_ascii_lowercase(),
            upn: str_of(v, "userPrincipalName"),
            display_name: str_of(v, "displayName"),
            account_enabled: v
                .get("accountEnabled")
                .and_then(Value::as_bool)
                .unwrap_or(true),
        })
    }

    fn label(&self) -> String {
        if self.display_name.is_empty() {
            self.upn.clone()
        } else {
            format!("{} ({})", self.upn, self.display_name)
        }
    }
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
    pub users: Vec<PrincipalUser>,
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
}

/// One `appRoleAssignment` of the app's service principal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    pub id: String,
    pub app_role_id: String,
    pub principal_id: String,
    /// `User`, `Group` or `ServicePrincipal`.
    pub principal_type: String,
    pub principal_display_name: String,
}

impl Assignment {
    fn from_graph(v: &Value) -> Option<Assignment> {
        Some(Assignment {
            id: v.get("id")?.as_str()?.to_string(),
            app_role_id: normalize::guid(&str_of(v, "appRoleId")),
            principal_id: v.get("principalId")?.as_str()?.to_ascii_lowercase(),
            principal_type: str_of(v, "principalType"),
            principal_display_name: str_of(v, "principalDisplayName"),
        })
    }
}

/// A group found for a spec entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupHit {
    pub id: String,
    pub display_name: String,
    pub description: Option<String>,
}

/// Direct members of a group, by type.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Members {
    pub users: Vec<String>,
    pub groups: usize,
    pub others: usize,
}

/// What the fetch read for the assignments.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedAssignments {
    /// Per spec user entry (same order): the user, or `None` when it does not exist.
    pub users: Vec<Option<PrincipalUser>>,
    /// Per spec group entry (same order): every group that matched.
    pub groups: Vec<Vec<GroupHit>>,
    /// The app's current assignments (empty when it has no service principal yet).
    pub existing: Vec<Assignment>,
    /// Users assigned but not listed in the spec (read for warnings and the sign-in set);
    /// `None`: the user no longer exists.
    pub assigned_users: BTreeMap<String, Option<PrincipalUser>>,
    /// Direct members of every group that is or will be assigned, by group id.
    pub members: BTreeMap<String, Members>,
    /// Spec user entries (by index) given by object id that are in the deleted items.
    #[serde(default)]
    pub deleted_users: BTreeMap<usize, PrincipalUser>,
}

fn str_of(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

// ---------------------------------------------------------------------------------------------
// Fetch

/// The path of a user by UPN or id: `/users/{upn}`, or `/users('$x@y')` for a UPN starting with
/// `$`; `#` is percent-encoded (it would start a URL fragment).
pub fn user_path(upn_or_id: &str) -> String {
    let s = upn_or_id.trim();
    if s.starts_with('$') {
        format!("/users({})", odata_str(s).replace('#', "%23"))
    } else {
        format!("/users/{}", s.replace('#', "%23"))
    }
}

const USER_SELECT: &[&str] = &["id", "userPrincipalName", "displayName", "accountEnabled"];
const GROUP_SELECT: &[&str] = &["id", "displayName", "description"];

fn members_request(group_id: &str) -> GraphRequest {
    GraphRequest::get(format!("/groups/{group_id}/members"))
        .select(&["id", "userPrincipalName", "accountEnabled"])
        .top(PAGE)
        .label(format!("read the members of group {group_id}"))
}

/// What one read of the assignments is for.
#[derive(Debug, Clone)]
pub(crate) enum Read {
    User(usize),
    Group(usize),
    Skus,
    Existing,
    Members(String),
    AssignedUser(String),
    DeletedUser(usize),
}

impl Read {
    /// A lookup by key: 404 means "does not exist".
    fn absent_on_not_found(&self) -> bool {
        matches!(
            self,
            Read::User(_)
                | Read::AssignedUser(_)
                | Read::Members(_)
                | Read::Group(_)
                | Read::DeletedUser(_)
        )
    }

    /// A read of the first wave (what the spec names, and the license tier).
    fn is_first(&self) -> bool {
        matches!(self, Read::User(_) | Read::Group(_) | Read::Skus)
    }
}

/// Whether the license tier is read (one request in the first wave). The MFA posture may
/// extend this condition.
pub fn wants_license_tier(desired: &Desired) -> bool {
    desired.assignments.is_some()
        || desired
            .mfa
            .as_ref()
            .is_some_and(|m| m.conditional_access.is_some())
}

/// The assignments' part of fetch: reads everything the assignments need into
/// `observed.assignments`, `observed.tier` and `observed.principals`, in waves (never one round
/// per principal):
/// 1. the spec's users and groups, `subscribedSkus` (no service principal id needed);
/// 2. the app's current assignments (`appRoleAssignedTo`, once the service principal's id is
///    known), the direct members of the spec's groups, the spec's users given by id and not
///    found among the deleted items;
/// 3. the members of assigned groups the spec does not list and the assigned users it does not
///    list (only when there are such);
///
/// and every collection's next pages in the waves after. Nothing but the license tier (when the
/// MFA posture needs it) when the spec has no `assignments`.
#[derive(Debug, Default)]
pub(crate) struct AssignmentReads {
    started: bool,
    /// Reads sent and not answered yet (pages included).
    outstanding: usize,
    /// First-wave reads not answered yet.
    first_left: usize,
    existing_asked: bool,
    existing_pending: bool,
    deleted_asked: bool,
    members_asked: BTreeSet<String>,
    users_asked: BTreeSet<String>,
    settled: bool,
    /// UPNs of the user members of the groups read, by lowercase object id: the MFA posture
    /// names users known only by id with them, without another read.
    pub member_upns: BTreeMap<String, String>,
}

impl AssignmentReads {
    /// Every read is answered and `observed.principals` is final.
    pub fn settled(&self) -> bool {
        self.settled
    }

    /// The reads that can go out now. `sp`: `None` while fetch does not know yet whether the app
    /// has a service principal, then `Some(its id)` or `Some(None)`.
    pub fn next_reads(
        &mut self,
        desired: &Desired,
        observed: &mut Observed,
        sp: Option<Option<&str>>,
    ) -> Vec<(GraphRequest, Read)> {
        let mut reads: Vec<(GraphRequest, Read)> = Vec::new();
        if self.settled {
            return reads;
        }
        if !self.started {
            self.started = true;
            if let Some(a) = &desired.assignments {
                observed.assignments = ObservedAssignments {
                    users: vec![None; a.users.len()],
                    groups: vec![Vec::new(); a.groups.len()],
                    ..ObservedAssignments::default()
                };
                for (i, u) in a.users.iter().enumerate() {
                    reads.push((
                        GraphRequest::get(user_path(&u.value))
                            .select(USER_SELECT)
                            .label(format!("find the user `{}`", u.value)),
                        Read::User(i),
                    ));
                }
                for (i, g) in a.groups.iter().enumerate() {
                    let req = if g.is_id() {
                        GraphRequest::get(format!("/groups/{}", g.value.to_ascii_lowercase()))
                    } else {
                        GraphRequest::get("/groups")
                            .query("$filter", format!("displayName eq {}", odata_str(&g.value)))
                    };
                    reads.push((
                        req.select(GROUP_SELECT)
                            .label(format!("find the group `{}`", g.value)),
                        Read::Group(i),
                    ));
                }
            }
            if wants_license_tier(desired) {
                reads.push((skus_request(), Read::Skus));
            }
            self.first_left = reads.len();
        }
        if let Some(a) = &desired.assignments {
            if !self.existing_asked
                && let Some(sp) = sp
            {
                self.existing_asked = true;
                if let Some(sp) = sp {
                    self.existing_pending = true;
                    reads.push((
                        GraphRequest::get(format!("/servicePrincipals/{sp}/appRoleAssignedTo"))
                            .select(&[
                                "id",
                                "appRoleId",
                                "principalId",
                                "principalType",
                                "principalDisplayName",
                            ])
                            .top(PAGE)
                            .label("read the users and groups assigned to the app"),
                        Read::Existing,
                    ));
                }
            }
            if self.first_left == 0 {
                self.second_reads(a, observed, &mut reads);
            }
        }
        self.outstanding += reads.len();
        if reads.is_empty()
            && self.outstanding == 0
            && (desired.assignments.is_none() || self.existing_asked)
        {
            self.settled = true;
            if let Some(a) = &desired.assignments {
                observed.principals = principals(a, observed);
            }
        }
        reads
    }

    /// Reads keyed by what the first wave (and the current assignments) found: members of the
    /// groups that are or stay assigned, assigned users the spec does not list, deleted users.
    fn second_reads(
        &mut self,
        a: &DesiredAssignments,
        observed: &Observed,
        reads: &mut Vec<(GraphRequest, Read)>,
    ) {
        let oa = &observed.assignments;
        let mut group_ids: BTreeSet<String> = oa
            .groups
            .iter()
            .filter(|hits| hits.len() == 1)
            .map(|hits| hits[0].id.clone())
            .collect();
        let mut user_ids: BTreeSet<String> = BTreeSet::new();
        if self.existing_asked && !self.existing_pending && !a.prune {
            let listed: BTreeSet<&str> = oa.users.iter().flatten().map(|u| u.id.as_str()).collect();
            for e in &oa.existing {
                if e.principal_type.eq_ignore_ascii_case("Group") {
                    group_ids.insert(e.principal_id.clone());
                } else if e.principal_type.eq_ignore_ascii_case("User")
                    && !listed.contains(e.principal_id.as_str())
                {
                    user_ids.insert(e.principal_id.clone());
                }
            }
        }
        for g in group_ids {
            if self.members_asked.insert(g.clone()) {
                reads.push((members_request(&g), Read::Members(g)));
            }
        }
        for u in user_ids {
            if self.users_asked.insert(u.clone()) {
                reads.push((
                    GraphRequest::get(user_path(&u))
                        .select(USER_SELECT)
                        .label(format!("read the assigned user {u}")),
                    Read::AssignedUser(u),
                ));
            }
        }
        // A user given by object id and not found may have been deleted (restorable for 30 days).
        if !self.deleted_asked {
            self.deleted_asked = true;
            for (i, e) in a.users.iter().enumerate() {
                if e.is_id() && oa.users.get(i).is_some_and(Option::is_none) {
                    reads.push((
                        GraphRequest::get(format!(
                            "/directory/deletedItems/{}",
                            e.value.to_ascii_lowercase()
                        ))
                        .select(USER_SELECT)
                        .label(format!("look for the user {} among deleted items", e.value)),
                        Read::DeletedUser(i),
                    ));
                }
            }
        }
    }

    /// Takes in one answered read. A failed read fails the fetch, except a 404 on a lookup by
    /// key, which means the object does not exist.
    pub fn absorb(&mut self, observed: &mut Observed, done: Done<Read>) -> Result<(), EngineError> {
        let Done {
            key: read,
            req,
            result,
        } = done;
        self.outstanding = self.outstanding.saturating_sub(1);
        if read.is_first() {
            self.first_left = self.first_left.saturating_sub(1);
        }
        if matches!(read, Read::Existing) {
            self.existing_pending = false;
        }
        let vals = match result {
            Ok(v) => Some(v),
            Err(e) if e.is_not_found() && read.absent_on_not_found() => None,
            Err(source) => {
                return Err(EngineError::Read {
                    what: req.label_text().unwrap_or("read").to_string(),
                    source,
                });
            }
        };
        if let (Read::Members(_), Some(vals)) = (&read, &vals) {
            for v in vals {
                if str_of(v, "@odata.type").ends_with(".user")
                    && let Some(upn) = v.get("userPrincipalName").and_then(Value::as_str)
                {
                    self.member_upns
                        .insert(str_of(v, "id").to_ascii_lowercase(), upn.to_string());
                }
            }
        }
        absorb(observed, read, vals);
        Ok(())
    }
}

fn skus_request() -> GraphRequest {
    GraphRequest::get("/subscribedSkus")
        .select(&["skuPartNumber", "capabilityStatus", "servicePlans"])
        .label("read the tenant's licenses (subscribedSkus)")
}

fn absorb(observed: &mut Observed, read: Read, vals: Option<Vec<Value>>) {
    let oa = &mut observed.assignments;
    match read {
        Read::User(i) => {
            if let Some(slot) = oa.users.get_mut(i) {
                *slot = vals
                    .unwrap_or_default()
                    .first()
                    .and_then(PrincipalUser::from_graph);
            }
        }
        Read::Group(i) => {
            if let Some(slot) = oa.groups.get_mut(i) {
                *slot = vals
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|g| {
                        Some(GroupHit {
                            id: g.get("id")?.as_str()?.to_ascii_lowercase(),
                            display_name: str_of(g, "displayName"),
                            description: g
                                .get("description")
                                .and_then(Value::as_str)
                                .map(str::to_string),
                        })
                    })
                    .collect();
            }
        }
        Read::Skus => {
            observed.tier = Some(LicenseTier::from_subscribed_skus(&vals.unwrap_or_default()));
        }
        Read::Existing => {
            oa.existing = vals
                .unwrap_or_default()
                .iter()
                .filter_map(Assignment::from_graph)
                .collect();
        }
        Read::Members(g) => {
            let mut m = Members::default();
            for v in vals.unwrap_or_default() {
                let ty = str_of(&v, "@odata.type");
                let id = str_of(&v, "id").to_ascii_lowercase();
                if ty.ends_with(".user") {
                    m.users.push(id);
                } else if ty.ends_with(".group") {
                    m.groups += 1;
                } else {
                    m.others += 1;
                }
            }
            m.users.sort();
            oa.members.insert(g, m);
        }
        Read::DeletedUser(i) => {
            if let Some(u) = vals
                .unwrap_or_default()
                .first()
                .and_then(PrincipalUser::from_graph)
            {
                oa.deleted_users.insert(i, u);
            }
        }
        Read::AssignedUser(u) => {
            let found = vals
                .unwrap_or_default()
                .first()
                .and_then(PrincipalUser::from_graph);
            oa.assigned_users.insert(u, found);
        }
    }
}

/// The users and groups that can sign in after apply (pure).
pub fn principals(a: &DesiredAssignments, observed: &Observed) -> Principals {
    let oa = &observed.assignments;
    let mut users: BTreeMap<String, PrincipalUser> = BTreeMap::new();
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
            if e.principal_type.eq_ignore_ascii_case("Group") {
                groups
                    .entry(e.principal_id.clone())
                    .or_insert_with(|| e.principal_display_name.clone());
            } else if e.principal_type.eq_ignore_ascii_case("User")
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

// ---------------------------------------------------------------------------------------------
// Errors

/// A spec entry that does not resolve to exactly one user or group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved {
    pub entry: SpecEntry,
    pub problem: String,
}

/// Why the assignments cannot be planned.
#[derive(Debug, thiserror::Error)]
pub enum AssignmentError {
    #[error(
        "{} user(s) or group(s) under `assignments` cannot be assigned:\n{}\n  hint: fix or remove these entries: users by user principal name or object id (Entra admin center → Users), groups by display name or object id (Entra admin center → Groups); a name shared by several groups must be given by object id",
        .0.len(),
        .0.iter().map(|u| format!("  - {}: {}", u.entry.where_(), u.problem)).collect::<Vec<_>>().join("\n")
    )]
    Unresolved(Vec<Unresolved>),
    #[error(
        "tenant {tenant} has Microsoft Entra ID Free (no Entra ID P1 or P2 in its subscriptions), where only users, not groups, can be assigned to an application; the spec assigns {} group(s): {} ({})\n  hint: on this tier list the people under `assignments.users` (the seed procedure: \"users only on the entry-level tier\") and remove `assignments.groups`; or license Microsoft Entra ID P1 (alone or in Microsoft 365 Business Premium / E3 / E5) and plan again",
        groups.len(),
        groups.join(", "),
        at
    )]
    GroupsNeedPremium {
        tenant: String,
        groups: Vec<String>,
        at: String,
    },
    #[error(
        "the app role `{role}` named in assignments.role does not exist on the app: {}\n  hint: use one of the app's role values, or remove `role` to assign the default access role",
        if available.is_empty() { "the app defines no app roles".to_string() } else { format!("it defines {}", available.join(", ")) }
    )]
    UnknownRole {
        role: String,
        available: Vec<String>,
    },
}

// ---------------------------------------------------------------------------------------------
// Plan

/// An assigned group with the object id Kandji's "Specify per identity provider group" asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignedGroup {
    pub display_name: String,
    pub id: String,
}

/// Adds the assignment changes and notes to the plan; returns the groups assigned after apply.
/// `sp` is the app's existing service principal (`None`: created by this plan).
pub fn plan_assignments(
    desired: &Desired,
    observed: &Observed,
    sp: Option<&ServicePrincipal>,
    changes: &mut Vec<Change>,
    notes: &mut Vec<Note>,
) -> Result<Vec<AssignedGroup>, PlanError> {
    let Some(a) = &desired.assignments else {
        return Ok(Vec::new());
    };
    let oa = &observed.assignments;
    let key = desired.app.identity.key();

    // 1. Every spec entry resolves to exactly one object.
    let mut problems = Vec::new();
    let mut users: Vec<&PrincipalUser> = Vec::new();
    for (i, e) in a.users.iter().enumerate() {
        match oa.users.get(i).and_then(Option::as_ref) {
            Some(u) => users.push(u),
            None if oa.deleted_users.contains_key(&i) => notes.push(Note {
                kind: NoteKind::Warning,
                message: format!(
                    "user {} ({}) was deleted: it is not assigned; restore it (Entra admin center → Users → Deleted users, within 30 days of deletion) or remove it from the spec",
                    oa.deleted_users[&i].label(),
                    e.where_()
                ),
            }),
            None => problems.push(Unresolved {
                entry: e.clone(),
                problem: format!(
                    "no user `{}` in tenant {} (deleted, or a typo in the {})",
                    e.value,
                    desired.tenant,
                    if e.is_id() {
                        "object id"
                    } else {
                        "user principal name"
                    }
                ),
            }),
        }
    }
    let mut groups: Vec<&GroupHit> = Vec::new();
    for (i, e) in a.groups.iter().enumerate() {
        match oa.groups.get(i).map(Vec::as_slice).unwrap_or(&[]) {
            [] => problems.push(Unresolved {
                entry: e.clone(),
                problem: format!(
                    "no group {} `{}` in tenant {}",
                    if e.is_id() { "with object id" } else { "named" },
                    e.value,
                    desired.tenant
                ),
            }),
            [one] => groups.push(one),
            many => problems.push(Unresolved {
                entry: e.clone(),
                problem: format!(
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
                ),
            }),
        }
    }
    if !problems.is_empty() {
        return Err(AssignmentError::Unresolved(problems).into());
    }

    // 2. Groups need Entra ID P1 or P2.
    if !a.groups.is_empty() && observed.tier == Some(LicenseTier::Free) {
        return Err(AssignmentError::GroupsNeedPremium {
            tenant: desired.tenant.clone(),
            groups: groups
                .iter()
                .map(|g| format!("\"{}\"", g.display_name))
                .collect(),
            at: a.groups[0].where_(),
        }
        .into());
    }

    // 3. The app role.
    let (role_id, role_label) = match &a.role {
        None => {
            let roles = sp.map(|s| s.roles.as_slice()).unwrap_or(&[]);
            if !roles.is_empty() && (!a.users.is_empty() || !a.groups.is_empty()) {
                notes.push(Note {
                    kind: NoteKind::Warning,
                    message: format!(
                        "the app defines app roles ({}) and the spec names none, so users and groups get the default access role; Graph documents the default access role for apps that declare no roles: if apply is refused, set `assignments.role`",
                        roles
                            .iter()
                            .map(|(_, v)| format!("`{v}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                });
            }
            (
                DEFAULT_ACCESS_ROLE.to_string(),
                "Default Access".to_string(),
            )
        }
        Some(r) => {
            let roles = sp.map(|s| s.roles.as_slice()).unwrap_or(&[]);
            match roles.iter().find(|(id, value)| {
                value.eq_ignore_ascii_case(r.trim()) || id.eq_ignore_ascii_case(r.trim())
            }) {
                Some((id, value)) => (normalize::guid(id), value.clone()),
                None => {
                    return Err(AssignmentError::UnknownRole {
                        role: r.clone(),
                        available: roles.iter().map(|(_, v)| format!("`{v}`")).collect(),
                    }
                    .into());
                }
            }
        }
    };

    // 4. Assignment required.
    if let Some(want) = a.required {
        required_change(changes, sp, want);
    }

    // 5. Assignments to add.
    let sp_id = sp.map(|s| s.id.clone());
    let has = |principal: &str| {
        oa.existing
            .iter()
            .any(|e| e.principal_id == principal && e.app_role_id == role_id)
    };
    let mut wanted: BTreeSet<String> = BTreeSet::new();
    let mut creates: Vec<(String, Change)> = Vec::new();
    let mut seen = BTreeSet::new();
    for u in &users {
        if !seen.insert(u.id.clone()) {
            continue;
        }
        wanted.insert(u.id.clone());
        if !u.account_enabled {
            notes.push(Note {
                kind: NoteKind::Warning,
                message: format!(
                    "user {} is disabled (accountEnabled: false): the assignment is kept, but the user cannot sign in until the account is enabled",
                    u.label()
                ),
            });
        }
        if !has(&u.id) {
            creates.push((
                format!("0 {}", u.upn.to_lowercase()),
                create(
                    &key,
                    "User",
                    &u.id,
                    &format!("user {}", u.label()),
                    &role_id,
                    &role_label,
                    &sp_id,
                    &desired.app.display_name,
                ),
            ));
        }
    }
    for g in &groups {
        if !seen.insert(g.id.clone()) {
            continue;
        }
        wanted.insert(g.id.clone());
        if !has(&g.id) {
            creates.push((
                format!("1 {}", g.display_name.to_lowercase()),
                create(
                    &key,
                    "Group",
                    &g.id,
                    &format!("group {}", g.display_name),
                    &role_id,
                    &role_label,
                    &sp_id,
                    &desired.app.display_name,
                ),
            ));
        }
    }
    creates.sort_by(|x, y| x.0.cmp(&y.0));
    changes.extend(creates.into_iter().map(|(_, c)| c));

    // 6. Assignments the spec does not list: removed with prune, else kept (noted).
    let mut kept = Vec::new();
    let mut deletes = Vec::new();
    for e in &oa.existing {
        let is_user = e.principal_type.eq_ignore_ascii_case("User");
        let is_group = e.principal_type.eq_ignore_ascii_case("Group");
        if !is_user && !is_group {
            continue;
        }
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
            deletes.push((
                format!("{label} {}", e.id),
                Change {
                    object: ObjectRef {
                        kind: ObjectKind::AppRoleAssignment,
                        key: format!("{key} → {}", e.principal_id),
                        display: label,
                        id: Some(e.id.clone()),
                    },
                    action: Action::Delete,
                    fields: vec![
                        field("principal", json!(name), Value::Null),
                        field("principalId", json!(e.principal_id), Value::Null),
                        field("principalType", json!(e.principal_type), Value::Null),
                        field("appRoleId", json!(e.app_role_id), Value::Null),
                    ],
                    reason: if wanted.contains(&e.principal_id) {
                        "assigned with another app role than the spec's `assignments.role`, and `prune: true`".into()
                    } else {
                        "not listed under `assignments`, and `prune: true`".into()
                    },
                    risks: vec![Risk::Removal],
                    payload: Value::Null,
                },
            ));
        } else {
            kept.push(format!("{label} ({})", e.principal_id));
        }
        if is_user
            && !a.prune
            && let Some(found) = oa.assigned_users.get(&e.principal_id)
        {
            match found {
                None => notes.push(Note {
                    kind: NoteKind::Warning,
                    message: format!(
                        "the assigned user {name} ({}) no longer exists (deleted); its assignment is left as is",
                        e.principal_id
                    ),
                }),
                Some(u) if !u.account_enabled => notes.push(Note {
                    kind: NoteKind::Warning,
                    message: format!(
                        "the assigned user {} is disabled (accountEnabled: false) and cannot sign in",
                        u.label()
                    ),
                }),
                Some(_) => {}
            }
        }
    }
    deletes.sort_by(|x, y| x.0.cmp(&y.0));
    changes.extend(deletes.into_iter().map(|(_, c)| c));
    if !kept.is_empty() {
        kept.sort();
        let shown: Vec<String> = kept.iter().take(10).cloned().collect();
        notes.push(Note {
            kind: NoteKind::Unmanaged,
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

    // 7. Groups assigned after apply: nested-only warning and the output.
    let mut out = Vec::new();
    for g in &observed.principals.groups {
        if g.has_only_group_members {
            notes.push(Note {
                kind: NoteKind::Warning,
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
    for g in &groups {
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
    Ok(out)
}

fn field(path: &str, before: Value, after: Value) -> FieldChange {
    FieldChange {
        path: path.into(),
        before,
        after,
    }
}

#[allow(clippy::too_many_arguments)]
fn create(
    key: &str,
    principal_type: &str,
    principal_id: &str,
    label: &str,
    role_id: &str,
    role_label: &str,
    sp_id: &Option<String>,
    app_name: &str,
) -> Change {
    Change {
        object: ObjectRef {
            kind: ObjectKind::AppRoleAssignment,
            key: format!("{key} → {principal_id}"),
            display: label.to_string(),
            id: None,
        },
        action: Action::Create,
        fields: vec![
            field("principalId", Value::Null, json!(principal_id)),
            field("principalType", Value::Null, json!(principal_type)),
            field("appRole", Value::Null, json!(role_label)),
        ],
        reason: format!("listed under `assignments`: may sign in to {app_name}"),
        risks: vec![],
        payload: json!({
            "principalId": principal_id,
            "resourceId": sp_id,
            "appRoleId": role_id,
        }),
    }
}

/// Sets `appRoleAssignmentRequired` on the service principal's change (create payload, or an
/// update merged with the tag update the diff may already plan).
fn required_change(changes: &mut [Change], sp: Option<&ServicePrincipal>, want: bool) {
    let Some(c) = changes
        .iter_mut()
        .find(|c| c.object.kind == ObjectKind::ServicePrincipal)
    else {
        return;
    };
    let have = sp.and_then(|s| s.app_role_assignment_required);
    let creating = c.action == Action::Create;
    if !creating && have.unwrap_or(false) == want {
        return;
    }
    c.fields.push(field(
        "appRoleAssignmentRequired",
        if creating {
            Value::Null
        } else {
            json!(have.unwrap_or(false))
        },
        json!(want),
    ));
    if !c.payload.is_object() {
        c.payload = json!({});
    }
    c.payload["appRoleAssignmentRequired"] = json!(want);
    if c.action == Action::NoOp {
        c.action = Action::Update;
        c.reason = if want {
            "assignment required: only the users and groups assigned to the app may sign in".into()
        } else {
            "assignment not required: every user of the tenant may sign in".into()
        };
    }
}

// ---------------------------------------------------------------------------------------------
// Apply and simulate

/// The request that makes an assignment change. `sp_id`: the service principal (from the create
/// when it was made in the same apply).
pub fn request_for(c: &Change, sp_id: Option<&str>) -> Result<GraphRequest, String> {
    let sp = sp_id.ok_or("no service principal id")?;
    match c.action {
        Action::Create => {
            let mut body = c.payload.clone();
            body["resourceId"] = json!(sp);
            let principal = body
                .get("principalId")
                .and_then(Value::as_str)
                .ok_or("no principalId")?
                .to_string();
            let role = body
                .get("appRoleId")
                .and_then(Value::as_str)
                .ok_or("no appRoleId")?
                .to_string();
            Ok(
                GraphRequest::post(format!("/servicePrincipals/{sp}/appRoleAssignedTo"))
                    .json(body)
                    .idempotency_probe(
                        GraphRequest::get(format!("/servicePrincipals/{sp}/appRoleAssignedTo"))
                            .query(
                                "$filter",
                                format!(
                                    "principalId eq {} and appRoleId eq {}",
                                    odata_str(&principal),
                                    odata_str(&role)
                                ),
                            ),
                    ),
            )
        }
        Action::Delete => {
            let id = c.object.id.as_deref().ok_or("no assignment id")?;
            Ok(GraphRequest::delete(format!(
                "/servicePrincipals/{sp}/appRoleAssignedTo/{id}"
            )))
        }
        other => Err(format!(
            "{} of an appRoleAssignment is not supported",
            other.as_str()
        )),
    }
}

/// True when a failed write means the assignment is already as planned: a duplicate create
/// ("Permission being assigned already exists") or a delete of one that is gone.
pub fn already_done(c: &Change, e: &GraphError) -> bool {
    c.object.kind == ObjectKind::AppRoleAssignment
        && match c.action {
            Action::Create => e.to_string().contains("already exists on the object"),
            Action::Delete => e.is_not_found(),
            _ => false,
        }
}

/// The journal's "before" of an assignment change.
pub fn prior_state(observed: &Observed, c: &Change) -> Value {
    c.object
        .id
        .as_ref()
        .and_then(|id| observed.assignments.existing.iter().find(|e| &e.id == id))
        .map(|e| serde_json::to_value(e).unwrap_or(Value::Null))
        .unwrap_or(Value::Null)
}

/// Graph's effect of an assignment change on the observed model.
pub fn simulate(o: &mut Observed, c: &Change, new_id: String) -> Result<(), String> {
    match c.action {
        Action::Create => {
            let principal_id = c
                .payload
                .get("principalId")
                .and_then(Value::as_str)
                .ok_or("no principalId")?
                .to_ascii_lowercase();
            let principal_type = c
                .fields
                .iter()
                .find(|f| f.path == "principalType")
                .and_then(|f| f.after.as_str())
                .unwrap_or("User")
                .to_string();
            o.assignments.existing.push(Assignment {
                id: new_id,
                app_role_id: normalize::guid(
                    c.payload
                        .get("appRoleId")
                        .and_then(Value::as_str)
                        .unwrap_or(DEFAULT_ACCESS_ROLE),
                ),
                principal_id,
                principal_type,
                principal_display_name: c.object.display.clone(),
            });
            Ok(())
        }
        Action::Delete => {
            let id = c.object.id.as_deref().ok_or("no id")?;
            o.assignments.existing.retain(|e| e.id != id);
            Ok(())
        }
        other => Err(format!("{} is not supported", other.as_str())),
    }
}

#[cfg(test)]
#[path = "assignments_tests.rs"]
mod tests;

/// The Graph permissions the assignments add (least privileged, from Microsoft's tables).
pub fn required_permissions(
    a: &DesiredAssignments,
    plan: &mut Vec<crate::permissions::Needed>,
    apply: &mut Vec<crate::permissions::Needed>,
) {
    use crate::permissions::Needed;
    if !a.users.is_empty() || !a.prune {
        plan.push(Needed {
            permission: "User.Read.All",
            why: "find the users under assignments.users and read the assigned users (GET /users/{id | userPrincipalName})".into(),
        });
    }
    plan.push(Needed {
        permission: "GroupMember.Read.All",
        why: "find the groups under assignments.groups and read their direct members (GET /groups, /groups/{id}/members)".into(),
    });
    plan.push(Needed {
        permission: "Organization.Read.All",
        why: "read the license tier: groups can be assigned only with Entra ID P1/P2 (GET /subscribedSkus)".into(),
    });
    apply.push(Needed {
        permission: "AppRoleAssignment.ReadWrite.All",
        why: "assign users and groups to the app and, with prune, remove assignments (POST/DELETE /servicePrincipals/{id}/appRoleAssignedTo); it can assign any app role of any API: keep the identity's credential tight".into(),
    });
}

/// The replication answers Graph gives while a service principal created just before is not
/// visible everywhere yet.
fn replication_rules(req: GraphRequest) -> GraphRequest {
    use entractl_graph::RetryRule;
    req.retry_on(RetryRule::message_contains(
        400,
        "does not exist or one of its queried reference-property objects are not present",
    ))
    .retry_on(RetryRule::message_contains(
        404,
        "does not exist or one of its queried reference-property objects are not present",
    ))
    .retry_on(RetryRule::code(404, "Request_ResourceNotFound"))
}

/// Applies every assignment change of a plan together: each is journaled first; the first one
/// goes alone (with retries while a just-created service principal replicates), the others in
/// `$batch`es; a batched one that hits replication is re-sent alone with those retries. A
/// duplicate create or a delete of one already gone counts as done. Every change is attempted;
/// the first failure is returned after. Returns the number of write requests.
pub async fn apply_assignments(
    client: &GraphClient,
    journal: &mut crate::journal::Journal,
    observed: &Observed,
    changes: &[&Change],
    sp_id: Option<&str>,
) -> Result<usize, EngineError> {
    let mut reqs: Vec<(GraphRequest, std::path::PathBuf, &Change)> = Vec::new();
    for c in changes {
        let entry = journal.record(c, &prior_state(observed, c))?;
        let req = request_for(c, sp_id).map_err(|detail| {
            EngineError::Plan(PlanError::BadPayload {
                kind: c.object.kind,
                detail,
            })
        })?;
        let label = format!(
            "{} {} \"{}\"",
            c.action.as_str(),
            c.object.kind,
            c.object.display
        );
        let req = if c.action == Action::Create {
            replication_rules(req)
        } else {
            req
        };
        reqs.push((req.label(label), entry, c));
    }
    let Some(((first, _, _), rest)) = reqs.split_first() else {
        return Ok(0);
    };
    let mut results = vec![client.send(first.clone()).await];
    results.extend(
        client
            .send_all(rest.iter().map(|(r, _, _)| r.clone()).collect())
            .await,
    );
    let mut writes = reqs.len();
    let journal_dir = journal.dir().display().to_string();
    let mut failure: Option<EngineError> = None;
    for ((req, entry, c), res) in reqs.iter().zip(results) {
        let res = match res {
            Err(e) if is_replication(&e) => {
                writes += 1;
                client.send(req.clone()).await
            }
            other => other,
        };
        match res {
            Ok(resp) => {
                if c.action == Action::Create {
                    let body = resp.json();
                    journal.record_created(entry, &json!({"id": body.get("id")}))?;
                }
            }
            Err(e) if already_done(c, &e) => {}
            Err(source) => {
                if failure.is_none() {
                    failure = Some(EngineError::Write {
                        what: req.label_text().unwrap_or("assign").to_string(),
                        journal: journal_dir.clone(),
                        source,
                    });
                }
            }
        }
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(writes),
    }
}

fn is_replication(e: &GraphError) -> bool {
    let text = e.to_string();
    text.contains("reference-property objects are not present")
        || text.contains("Request_ResourceNotFound")
}
