//! The MFA posture in plan and apply (issue 7): security defaults, legacy per-user MFA and the
//! conditional access exclusions, as desired state, observed state, plan changes, Graph writes
//! and their simulation. The analysis of policies is in [`super::select`]; this module wires it
//! into the engine's contracts (`docs/architecture.md`, "New kinds").
//!
//! Reads ([`MfaReads`], a part of fetch's waves): the security defaults, the conditional access
//! policies and the per-user MFA state of the spec's users (by UPN) in the first wave; the
//! per-user MFA state of the other users who can sign in (members of assigned groups) as soon as
//! they are known, and the transitive members of the groups the policies name.

use std::collections::{BTreeMap, BTreeSet};

use entractl_graph::{GraphClient, GraphError, GraphRequest};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::json::{path, strings};
use super::patch::{apply_exclusion_patch, exclusion_patch};
use super::select::{PolicyDecision, Reason, Selection, Verdict, check_selection, select_policies};
use super::target::UserScope;
use crate::error::{EngineError, PlanError};
use crate::fetch::FetchStats;
use crate::plan::{Action, Change, FieldChange, Note, NoteKind, ObjectKind, ObjectRef, Risk};
use crate::waves::{Done, Runner};

/// Graph path of the security defaults policy.
pub const SECURITY_DEFAULTS_PATH: &str = "/policies/identitySecurityDefaultsEnforcementPolicy";
/// Graph path of the conditional access policies.
pub const CA_POLICIES_PATH: &str = "/identity/conditionalAccess/policies";
/// Plan key of the security defaults change.
pub const SECURITY_DEFAULTS_KEY: &str = "identitySecurityDefaultsEnforcementPolicy";
/// What the plan shows in place of the appId of an app created by the same apply.
pub const APP_ID_AFTER_APPLY: &str = "(the app's appId, known after apply)";

/// `mfa.conditionalAccess.excludeApp` of the spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CaSelection {
    /// `from-policies-requiring-mfa`.
    FromPoliciesRequiringMfa,
    /// A list of policy display names or ids.
    Named(Vec<String>),
}

impl CaSelection {
    /// The selection of [`select_policies`].
    pub fn selection(&self) -> Selection {
        match self {
            CaSelection::FromPoliciesRequiringMfa => Selection::Auto,
            CaSelection::Named(n) => Selection::Named(n.clone()),
        }
    }
}

/// The `mfa` section of the spec in the engine's terms. `None`/`false`: unmanaged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DesiredMfa {
    /// `identitySecurityDefaultsEnforcementPolicy.isEnabled`.
    pub security_defaults: Option<bool>,
    /// `perUserMfaState: disabled` for every user who can sign in to the app.
    pub per_user_mfa_disabled: bool,
    /// Which conditional access policies get the app added to `excludeApplications`.
    pub conditional_access: Option<CaSelection>,
}

impl DesiredMfa {
    /// From the expanded spec's `mfa` section.
    pub fn from_spec(m: &entractl_spec::Mfa) -> DesiredMfa {
        DesiredMfa {
            security_defaults: m.security_defaults.map(|s| s.is_enabled()),
            per_user_mfa_disabled: m.per_user_mfa.is_some(),
            conditional_access: m.conditional_access.as_ref().map(|c| match c {
                entractl_spec::ConditionalAccess::ExcludeFromPoliciesRequiringMfa => {
                    CaSelection::FromPoliciesRequiringMfa
                }
                entractl_spec::ConditionalAccess::ExcludeFromPolicies(n) => {
                    CaSelection::Named(n.clone())
                }
            }),
        }
    }

    /// Whether the spec needs Passport's password sign-in to get through MFA requirements
    /// (per-user MFA or conditional access managed).
    pub fn needs_password_sign_in(&self) -> bool {
        self.per_user_mfa_disabled || self.conditional_access.is_some()
    }
}

/// One user who can sign in to the app.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ScopeUser {
    /// Object id.
    pub id: String,
    /// What a person calls the user (UPN when known, else the id).
    pub label: String,
}

/// Who can sign in to the app: assigned users and the direct members of assigned groups
/// (resolved by the assignments part of fetch), and the assigned groups.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInScope {
    pub users: Vec<ScopeUser>,
    pub groups: Vec<String>,
}

/// A user's legacy per-user MFA state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserMfaState {
    pub user: ScopeUser,
    /// `disabled`, `enabled` or `enforced`.
    pub state: String,
}

/// What was read of conditional access.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum CaObserved {
    /// Not managed by the spec: not read.
    #[default]
    NotRead,
    /// Not read, with the reason the plan shows (free tier).
    Skipped { reason: String },
    /// Every policy as Graph returned it.
    Read { policies: Vec<Value> },
}

/// The MFA posture of the tenant, as far as the spec manages it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ObservedMfa {
    /// The security defaults policy as Graph returned it (when read).
    pub security_defaults: Option<Value>,
    /// Who can sign in to the app (as used for per-user MFA and policy coverage).
    pub scope: SignInScope,
    /// `perUserMfaState` of every user of `scope` (when per-user MFA is managed).
    pub per_user: Vec<UserMfaState>,
    pub conditional_access: CaObserved,
    /// Groups named by a policy (`includeGroups`/`excludeGroups`) that have at least one user of
    /// `scope` among their transitive members.
    pub policy_groups_with_users: Vec<String>,
}

impl ObservedMfa {
    /// `isEnabled` of the security defaults, when read.
    pub fn security_defaults_enabled(&self) -> Option<bool> {
        self.security_defaults
            .as_ref()
            .map(|v| v.get("isEnabled").and_then(Value::as_bool).unwrap_or(false))
    }

    /// The users and groups policies are checked against.
    pub fn user_scope(&self) -> UserScope {
        let mut groups: BTreeSet<String> =
            self.scope.groups.iter().map(|g| g.to_lowercase()).collect();
        groups.extend(
            self.policy_groups_with_users
                .iter()
                .map(|g| g.to_lowercase()),
        );
        UserScope {
            user_ids: self.scope.users.iter().map(|u| u.id.clone()).collect(),
            group_ids: groups.into_iter().collect(),
            role_ids: Vec::new(),
        }
    }
}

// ------------------------------------------------------------------------------------------
// Fetch

fn read_err(what: &str) -> impl FnOnce(GraphError) -> EngineError + '_ {
    EngineError::read(what)
}

/// Reads the MFA posture `desired` manages for a known sign-in scope (without the rest of fetch).
/// `has_conditional_access`: the tenant's licence includes conditional access (Entra ID P1 or
/// P2); `Some(false)` skips conditional access with a note, `None` (unknown) reads it.
///
/// Waves: the security defaults, the policies and the per-user MFA state of every user of
/// `scope` together; then the members of the groups the policies name (only when one does);
/// then, only when the plan changes a user known only by id, that user's UPN.
pub async fn fetch_mfa(
    client: &GraphClient,
    desired: &DesiredMfa,
    scope: SignInScope,
    has_conditional_access: Option<bool>,
    stats: &mut FetchStats,
) -> Result<ObservedMfa, EngineError> {
    let upns = BTreeMap::new();
    let inputs = MfaInputs {
        spec_users: Vec::new(),
        known_users: BTreeSet::new(),
        known_groups: scope.groups.iter().map(|g| g.to_lowercase()).collect(),
        scope: Some(scope),
        has_conditional_access,
        upns: &upns,
    };
    let mut part = MfaReads::default();
    let mut runner = Runner::new(client);
    loop {
        let reads = part.next_reads(desired, &inputs)?;
        if reads.is_empty() && runner.idle() {
            break;
        }
        for done in runner.wave(reads).await {
            part.absorb(done);
        }
    }
    stats.waves += runner.stats.waves;
    stats.requests += runner.stats.requests;
    Ok(part.take().unwrap_or_default())
}

/// What one read of the MFA posture is for.
#[derive(Debug, Clone)]
pub(crate) enum MfaRead {
    SecurityDefaults,
    Policies,
    /// Per-user MFA of `assignments.users[i]`, addressed as the spec writes it (UPN or id).
    SpecUser(usize),
    /// Per-user MFA of a user by object id.
    User(String),
    /// The transitive members of a group a policy names.
    PolicyGroup(String),
    /// The UPN of a user the plan changes and knows only by id.
    Name(String),
}

/// What the MFA posture's reads go by, as fetch learns it.
pub(crate) struct MfaInputs<'a> {
    /// The spec's `assignments.users` as written, each with the object id it resolved to (once
    /// read; `None` before, or when it does not exist).
    pub spec_users: Vec<(&'a str, Option<String>)>,
    /// Object ids (lowercase) of users known so far to be able to sign in: members of assigned
    /// groups, assigned users.
    pub known_users: BTreeSet<String>,
    /// Ids (lowercase) of groups known so far to be assigned.
    pub known_groups: BTreeSet<String>,
    /// Who can sign in, once every principal is known.
    pub scope: Option<SignInScope>,
    /// Whether the tenant has conditional access: `Some(false)` skips it; `None`: unknown.
    pub has_conditional_access: Option<bool>,
    /// UPNs by lowercase object id, known from other reads (members of groups).
    pub upns: &'a BTreeMap<String, String>,
}

type Answer<T> = Result<T, GraphError>;

/// The MFA posture's part of fetch. Reads, as soon as what they are keyed by is known:
/// - first wave: the security defaults, the conditional access policies (paced, sent alone and
///   concurrently with the `$batch`es) and the per-user MFA state of the spec's users, addressed
///   by UPN as the spec writes them (`/users/{upn}/authentication/requirements`);
/// - then the per-user MFA state of every other user who can sign in (members of assigned
///   groups, assigned users), by id, in the wave after their group's members are read;
/// - the transitive members of the groups the policies name (once the policies are read and
///   someone can sign in);
/// - the UPN of a user the plan changes and knows only by id (when no read gave it).
///
/// A read for a user who turns out not to exist (a typo in the spec, which the assignments
/// report) is not needed and its failure is ignored; every other failed read fails the fetch.
#[derive(Debug, Default)]
pub(crate) struct MfaReads {
    started: bool,
    outstanding: usize,
    security_defaults: Option<Answer<Value>>,
    policies: Option<Answer<Vec<Value>>>,
    policies_asked: bool,
    spec_asked: BTreeSet<usize>,
    by_spec: BTreeMap<usize, (String, Answer<String>)>,
    ids_asked: BTreeSet<String>,
    by_id: BTreeMap<String, (String, Answer<String>)>,
    groups_asked: BTreeSet<String>,
    groups: BTreeMap<String, (String, Answer<Vec<Value>>)>,
    names_asked: BTreeSet<String>,
    names: BTreeMap<String, (String, Answer<Value>)>,
    result: Option<ObservedMfa>,
    named: bool,
}

impl MfaReads {
    /// The posture, once every read it needs is answered.
    pub fn take(self) -> Option<ObservedMfa> {
        self.result.filter(|_| self.named)
    }

    fn per_user_request(path_of_user: &str, label: &str) -> GraphRequest {
        GraphRequest::get(format!("{path_of_user}/authentication/requirements"))
            .beta()
            .label(format!("read the per-user MFA state of {label}"))
    }

    /// The object ids the spec's users resolved to, for those whose state was asked by the
    /// spec's own address (UPN), with their index.
    fn spec_ids(&self, inp: &MfaInputs) -> BTreeMap<String, usize> {
        inp.spec_users
            .iter()
            .enumerate()
            .filter(|(i, _)| self.spec_asked.contains(i))
            .filter_map(|(i, (_, r))| Some((r.clone()?, i)))
            .collect()
    }

    /// The per-user state read for user `id`, by id or through the spec entry it resolved to.
    fn state_of<'s>(
        &'s self,
        id: &str,
        spec_ids: &BTreeMap<String, usize>,
    ) -> Option<&'s (String, Answer<String>)> {
        self.by_id
            .get(id)
            .or_else(|| spec_ids.get(id).and_then(|i| self.by_spec.get(i)))
    }

    /// The reads that can go out now; an error once a read the posture needs has failed.
    pub fn next_reads(
        &mut self,
        desired: &DesiredMfa,
        inp: &MfaInputs,
    ) -> Result<Vec<(GraphRequest, MfaRead)>, EngineError> {
        let mut reads: Vec<(GraphRequest, MfaRead)> = Vec::new();
        if self.named {
            return Ok(reads);
        }
        if !self.started {
            self.started = true;
            reads.push((
                GraphRequest::get(SECURITY_DEFAULTS_PATH).label(
                    "read the security defaults (identitySecurityDefaultsEnforcementPolicy)",
                ),
                MfaRead::SecurityDefaults,
            ));
            if desired.conditional_access.is_some() && inp.has_conditional_access != Some(false) {
                self.policies_asked = true;
                reads.push((policies_request(), MfaRead::Policies));
            }
            if desired.per_user_mfa_disabled {
                for (i, (written, _)) in inp.spec_users.iter().enumerate() {
                    self.spec_asked.insert(i);
                    reads.push((
                        Self::per_user_request(
                            &crate::assignments::user_path(written),
                            written.trim(),
                        ),
                        MfaRead::SpecUser(i),
                    ));
                }
            }
        }
        if self.result.is_none() {
            self.more_reads(desired, inp, &mut reads);
            if reads.is_empty() && self.outstanding == 0 && inp.scope.is_some() {
                self.finish(desired, inp, &mut reads)?;
            }
        }
        if reads.is_empty() && self.outstanding == 0 && self.result.is_some() {
            self.name_users(inp, &mut reads)?;
        }
        self.outstanding += reads.len();
        Ok(reads)
    }

    /// Per-user states of the users known so far, and the members of the policies' groups.
    fn more_reads(
        &mut self,
        desired: &DesiredMfa,
        inp: &MfaInputs,
        reads: &mut Vec<(GraphRequest, MfaRead)>,
    ) {
        let scope_users: BTreeSet<String> = inp
            .scope
            .iter()
            .flat_map(|s| s.users.iter().map(|u| u.id.to_lowercase()))
            .collect();
        if desired.per_user_mfa_disabled {
            let spec_ids = self.spec_ids(inp);
            for id in inp.known_users.iter().chain(&scope_users) {
                if !self.ids_asked.contains(id) && !spec_ids.contains_key(id) {
                    self.ids_asked.insert(id.clone());
                    reads.push((
                        Self::per_user_request(&format!("/users/{id}"), id),
                        MfaRead::User(id.clone()),
                    ));
                }
            }
        }
        // Policy groups, as soon as the policies are read and someone can sign in (groups
        // found assigned later are read needlessly at worst, and left out of the result).
        let someone = match &inp.scope {
            Some(s) => !s.users.is_empty(),
            None => !inp.known_users.is_empty() || inp.spec_users.iter().any(|(_, r)| r.is_some()),
        };
        if let (Some(Ok(policies)), true) = (&self.policies, someone)
            && inp.has_conditional_access != Some(false)
        {
            let ca = CaObserved::Read {
                policies: policies.clone(),
            };
            let assigned: Vec<String> = inp.known_groups.iter().cloned().collect();
            for g in policy_groups(&ca, &assigned) {
                if self.groups_asked.insert(g.clone()) {
                    reads.push((transitive_members_request(&g), MfaRead::PolicyGroup(g)));
                }
            }
        }
    }

    /// Every principal is known and every read answered: builds the posture, or asks for what
    /// is still missing.
    fn finish(
        &mut self,
        desired: &DesiredMfa,
        inp: &MfaInputs,
        reads: &mut Vec<(GraphRequest, MfaRead)>,
    ) -> Result<(), EngineError> {
        let Some(mut scope) = inp.scope.clone() else {
            return Ok(());
        };
        scope.users.sort();
        scope
            .users
            .dedup_by(|a, b| a.id.eq_ignore_ascii_case(&b.id));
        let mut out = ObservedMfa {
            scope,
            ..ObservedMfa::default()
        };
        match self.security_defaults.clone() {
            Some(Ok(v)) => out.security_defaults = Some(v),
            Some(Err(e)) => return Err(read_err("read the security defaults")(e)),
            None => return Ok(()),
        }
        if desired.conditional_access.is_some() {
            out.conditional_access = match inp.has_conditional_access {
                Some(false) => CaObserved::Skipped {
                    reason: "the tenant has no Entra ID P1 or P2 licence, so it has no conditional access: nothing to exclude the app from".to_string(),
                },
                _ => match self.policies.clone() {
                    Some(Ok(policies)) => CaObserved::Read { policies },
                    Some(Err(e)) => {
                        return Err(read_err("read the conditional access policies")(e));
                    }
                    None => {
                        if !self.policies_asked {
                            self.policies_asked = true;
                            reads.push((policies_request(), MfaRead::Policies));
                        }
                        return Ok(());
                    }
                },
            };
        }
        if desired.per_user_mfa_disabled {
            let spec_ids = self.spec_ids(inp);
            for u in &out.scope.users {
                let id = u.id.to_lowercase();
                match self.state_of(&id, &spec_ids) {
                    Some((_, Ok(state))) => out.per_user.push(UserMfaState {
                        user: u.clone(),
                        state: state.clone(),
                    }),
                    Some((what, Err(e))) => {
                        return Err(EngineError::Read {
                            what: what.clone(),
                            source: e.clone(),
                        });
                    }
                    None => {
                        if self.ids_asked.insert(id.clone()) {
                            reads.push((
                                Self::per_user_request(&format!("/users/{id}"), &u.label),
                                MfaRead::User(id),
                            ));
                        }
                    }
                }
            }
        }
        let users: BTreeSet<String> = out
            .scope
            .users
            .iter()
            .map(|u| u.id.to_lowercase())
            .collect();
        if !users.is_empty() {
            for g in policy_groups(&out.conditional_access, &out.scope.groups) {
                match self.groups.get(&g) {
                    Some((_, Ok(members))) => {
                        if members.iter().any(|m| {
                            m.get("id")
                                .and_then(Value::as_str)
                                .is_some_and(|id| users.contains(&id.to_lowercase()))
                        }) {
                            out.policy_groups_with_users.push(g);
                        }
                    }
                    Some((what, Err(e))) => {
                        return Err(EngineError::Read {
                            what: what.clone(),
                            source: e.clone(),
                        });
                    }
                    None => {
                        if self.groups_asked.insert(g.clone()) {
                            reads.push((transitive_members_request(&g), MfaRead::PolicyGroup(g)));
                        }
                    }
                }
            }
        }
        if reads.is_empty() {
            self.result = Some(out);
        }
        Ok(())
    }

    /// Names, by UPN, the users the plan will change and knows only by id (members of assigned
    /// groups): from the UPNs other reads gave, else one more read.
    fn name_users(
        &mut self,
        inp: &MfaInputs,
        reads: &mut Vec<(GraphRequest, MfaRead)>,
    ) -> Result<(), EngineError> {
        let Some(out) = self.result.as_mut() else {
            return Ok(());
        };
        let mut missing = false;
        for i in 0..out.per_user.len() {
            let s = &out.per_user[i];
            if s.state.eq_ignore_ascii_case("disabled") || s.user.label != s.user.id {
                continue;
            }
            let id = s.user.id.clone();
            let upn = match (inp.upns.get(&id.to_lowercase()), self.names.get(&id)) {
                (Some(upn), _) => Some(upn.clone()),
                (None, Some((_, Ok(v)))) => v
                    .get("userPrincipalName")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                (None, Some((what, Err(e)))) => {
                    return Err(EngineError::Read {
                        what: what.clone(),
                        source: e.clone(),
                    });
                }
                (None, None) => {
                    missing = true;
                    if self.names_asked.insert(id.clone()) {
                        reads.push((
                            GraphRequest::get(format!("/users/{id}"))
                                .select(&["id", "userPrincipalName"])
                                .label(format!("read the user {id}")),
                            MfaRead::Name(id.clone()),
                        ));
                    }
                    None
                }
            };
            if let Some(upn) = upn {
                out.per_user[i].user.label = upn.clone();
                if let Some(u) = out.scope.users.iter_mut().find(|u| u.id == id) {
                    u.label = upn;
                }
            }
        }
        if !missing {
            self.named = true;
        }
        Ok(())
    }

    /// Takes in one answered read (errors are kept: whether they matter is decided once the
    /// scope is known).
    pub fn absorb(&mut self, done: Done<MfaRead>) {
        self.outstanding = self.outstanding.saturating_sub(1);
        let what = done.req.label_text().unwrap_or("read").to_string();
        let one = |r: Answer<Vec<Value>>| r.map(|v| v.into_iter().next().unwrap_or(Value::Null));
        let state = |r: Answer<Vec<Value>>| {
            r.map(|v| {
                v.first()
                    .and_then(|b| b.get("perUserMfaState"))
                    .and_then(Value::as_str)
                    .unwrap_or("disabled")
                    .to_string()
            })
        };
        match done.key {
            MfaRead::SecurityDefaults => self.security_defaults = Some(one(done.result)),
            MfaRead::Policies => self.policies = Some(done.result),
            MfaRead::SpecUser(i) => {
                self.by_spec.insert(i, (what, state(done.result)));
            }
            MfaRead::User(id) => {
                self.by_id.insert(id, (what, state(done.result)));
            }
            MfaRead::PolicyGroup(g) => {
                self.groups.insert(g, (what, done.result));
            }
            MfaRead::Name(id) => {
                self.names.insert(id, (what, one(done.result)));
            }
        }
    }
}

fn policies_request() -> GraphRequest {
    GraphRequest::get(CA_POLICIES_PATH).label("read the conditional access policies")
}

fn transitive_members_request(g: &str) -> GraphRequest {
    GraphRequest::get(format!("/groups/{g}/transitiveMembers"))
        .select(&["id"])
        .top(999)
        .label(format!(
            "read the members of group {g} (named by a conditional access policy)"
        ))
}

/// Groups named by policies that are not assigned groups (whose members are known already).
fn policy_groups(ca: &CaObserved, assigned: &[String]) -> Vec<String> {
    let CaObserved::Read { policies } = ca else {
        return Vec::new();
    };
    let assigned: BTreeSet<String> = assigned.iter().map(|g| g.to_lowercase()).collect();
    let mut out: BTreeSet<String> = BTreeSet::new();
    for p in policies {
        for key in ["includeGroups", "excludeGroups"] {
            for g in strings(path(p, &["conditions", "users", key])) {
                let g = g.trim().to_lowercase();
                if crate::normalize::is_guid(&g) && !assigned.contains(&g) {
                    out.insert(g);
                }
            }
        }
    }
    out.into_iter().collect()
}

// ------------------------------------------------------------------------------------------
// Plan

/// The MFA part of the plan: changes (security defaults, per-user MFA, conditional access
/// exclusions) and notes. `app_id`: the managed app's appId, `None` while it is to be created.
pub fn plan_mfa(
    desired: &DesiredMfa,
    observed: &ObservedMfa,
    app_id: Option<&str>,
) -> Result<(Vec<Change>, Vec<Note>), PlanError> {
    let mut changes = Vec::new();
    let mut notes = Vec::new();
    let note = |notes: &mut Vec<Note>, kind: NoteKind, message: String| {
        notes.push(Note { kind, message });
    };

    // Security defaults.
    let sd_on = observed.security_defaults_enabled();
    if let (Some(want), Some(have)) = (desired.security_defaults, sd_on) {
        let object = ObjectRef {
            kind: ObjectKind::SecurityDefaults,
            key: SECURITY_DEFAULTS_KEY.to_string(),
            display: "Security defaults".to_string(),
            id: observed
                .security_defaults
                .as_ref()
                .and_then(|v| v.get("id"))
                .and_then(Value::as_str)
                .map(str::to_string),
        };
        if want == have {
            changes.push(Change {
                object,
                action: Action::NoOp,
                fields: vec![],
                reason: format!(
                    "security defaults are {} as the spec asks",
                    if have { "on" } else { "off" }
                ),
                risks: vec![],
                payload: Value::Null,
            });
        } else {
            changes.push(Change {
                object,
                action: Action::Update,
                fields: vec![FieldChange {
                    path: "isEnabled".into(),
                    before: json!(have),
                    after: json!(want),
                }],
                reason: if want {
                    "the spec sets `mfa.securityDefaults: enabled`".to_string()
                } else {
                    "the spec sets `mfa.securityDefaults: disabled`: security defaults are tenant-wide, so EVERY user of the tenant stops being asked for MFA by them (keep MFA with a conditional access policy on P1/P2)".to_string()
                },
                risks: if want {
                    vec![]
                } else {
                    vec![Risk::SecurityDowngrade]
                },
                payload: json!({ "isEnabled": want }),
            });
        }
    }
    let sd_on_after = desired.security_defaults.or(sd_on).unwrap_or(false);
    if sd_on_after && desired.needs_password_sign_in() {
        note(
            &mut notes,
            NoteKind::Warning,
            "security defaults are on in this tenant: they ask every user for MFA with no exceptions, so Passport's password sign-in fails (AADSTS50076) whatever else this plan changes; the fix is `mfa.securityDefaults: disabled` (see docs/mfa.md for the trade-off)".to_string(),
        );
    }

    // Legacy per-user MFA.
    if desired.per_user_mfa_disabled {
        if observed.scope.users.is_empty() {
            note(
                &mut notes,
                NoteKind::Warning,
                "per-user MFA: the app has no users to check yet (no assigned users, and no members in the assigned groups)".to_string(),
            );
        }
        let mut states: Vec<&UserMfaState> = observed.per_user.iter().collect();
        states.sort_by(|a, b| {
            a.user
                .label
                .to_lowercase()
                .cmp(&b.user.label.to_lowercase())
                .then_with(|| a.user.id.cmp(&b.user.id))
        });
        for s in states {
            if s.state.eq_ignore_ascii_case("disabled") {
                continue;
            }
            changes.push(Change {
                object: ObjectRef {
                    kind: ObjectKind::PerUserMfa,
                    key: s.user.id.to_lowercase(),
                    display: s.user.label.clone(),
                    id: Some(s.user.id.clone()),
                },
                action: Action::Update,
                fields: vec![FieldChange {
                    path: "perUserMfaState".into(),
                    before: json!(s.state),
                    after: json!("disabled"),
                }],
                reason: format!(
                    "legacy per-user MFA is `{}` for a user who signs in to the app; per-user MFA is per user, not per app: this user stops being asked for MFA by it in every app",
                    s.state
                ),
                risks: vec![Risk::SecurityDowngrade],
                payload: json!({ "perUserMfaState": "disabled" }),
            });
        }
    }

    // Conditional access.
    if let Some(sel) = &desired.conditional_access {
        match &observed.conditional_access {
            CaObserved::NotRead => {}
            CaObserved::Skipped { reason } => note(
                &mut notes,
                NoteKind::Unmanaged,
                format!("conditional access skipped: {reason}"),
            ),
            CaObserved::Read { policies } if policies.is_empty() => note(
                &mut notes,
                NoteKind::Unmanaged,
                "conditional access: the tenant has no policies; nothing to exclude the app from"
                    .to_string(),
            ),
            CaObserved::Read { policies } => {
                let selection = sel.selection();
                let errors = check_selection(policies, &selection);
                if !errors.is_empty() {
                    return Err(PlanError::PolicySelection(
                        errors.iter().map(ToString::to_string).collect(),
                    ));
                }
                let scope = observed.user_scope();
                let decisions = select_policies(policies, app_id.unwrap_or(""), &scope, &selection);
                let mut all_resources = Vec::new();
                for d in decisions {
                    let policy = policies
                        .iter()
                        .find(|p| p.get("id").and_then(Value::as_str) == Some(d.id.as_str()));
                    if d.verdict == Verdict::Exclude
                        && policy.is_some_and(|p| {
                            strings(path(
                                p,
                                &["conditions", "applications", "includeApplications"],
                            ))
                            .iter()
                            .any(|a| a.trim().eq_ignore_ascii_case("All"))
                        })
                    {
                        all_resources.push(format!("\"{}\"", d.display_name));
                    }
                    policy_change(&d, policy, app_id, &mut changes, &mut notes);
                }
                if !all_resources.is_empty() {
                    note(
                        &mut notes,
                        NoteKind::Warning,
                        format!(
                            "{} target(s) All resources: once Microsoft's baseline-scope enforcement reaches the tenant (rollout from June 15, 2026, unless disabled or customized in the Baseline scopes settings), excluding the app no longer lets Passport's sign-in through such a policy; check with `entractl verify-signin` (docs/mfa.md)",
                            all_resources.join(", ")
                        ),
                    );
                }
            }
        }
    }
    Ok((changes, notes))
}

fn policy_label(d: &PolicyDecision) -> String {
    format!(
        "conditional access policy \"{}\" ({})",
        d.display_name, d.id
    )
}

fn policy_change(
    d: &PolicyDecision,
    policy: Option<&Value>,
    app_id: Option<&str>,
    changes: &mut Vec<Change>,
    notes: &mut Vec<Note>,
) {
    let label = policy_label(d);
    for n in &d.notes {
        notes.push(Note {
            kind: NoteKind::Warning,
            message: format!("{label}: {n}"),
        });
    }
    let object = ObjectRef {
        kind: ObjectKind::ConditionalAccessPolicy,
        key: d.id.clone(),
        display: d.display_name.clone(),
        id: Some(d.id.clone()),
    };
    match d.verdict {
        Verdict::Exclude => {
            let Some(policy) = policy else { return };
            let Some((before, payload)) = exclusion_of(policy, app_id) else {
                return;
            };
            let mut after: Vec<Value> = before.clone();
            after.push(json!(app_id.unwrap_or(APP_ID_AFTER_APPLY)));
            changes.push(Change {
                object,
                action: Action::Update,
                fields: vec![FieldChange {
                    path: "conditions.applications.excludeApplications".into(),
                    before: json!(before),
                    after: json!(after),
                }],
                reason: format!(
                    "{}: exclude the app so Passport's password sign-in (which cannot do MFA) gets through; the policy keeps applying to every other app, and only excludeApplications changes",
                    d.reason_text()
                ),
                risks: vec![Risk::SecurityDowngrade],
                payload,
            });
        }
        Verdict::AlreadyExcluded => changes.push(Change {
            object,
            action: Action::NoOp,
            fields: vec![],
            reason: d.reason_text(),
            risks: vec![],
            payload: Value::Null,
        }),
        Verdict::Blocks => notes.push(Note {
            kind: NoteKind::Warning,
            message: format!("{label}: {}", d.reason_text()),
        }),
        Verdict::Skip => {
            let mut message = format!("{label}: left alone: {}", d.reason_text());
            if let (Reason::UsersNotCovered { .. }, Some(p)) = (&d.reason, policy)
                && !strings(path(p, &["conditions", "users", "includeRoles"])).is_empty()
            {
                message.push_str(
                    "; it targets directory roles, and entractl does not read which roles the app's users hold: if one of them holds such a role, name the policy in mfa.conditionalAccess.excludeApp",
                );
            }
            notes.push(Note {
                kind: NoteKind::Unmanaged,
                message,
            });
        }
    }
}

/// The current `excludeApplications` and the PATCH body adding the app (the appId, or `null`
/// for `apply` to fill in when the app is created by the same apply). `None`: already excluded.
fn exclusion_of(policy: &Value, app_id: Option<&str>) -> Option<(Vec<Value>, Value)> {
    // A sentinel that no policy lists stands for an app that does not exist yet.
    const PENDING: &str = "\u{0}entractl-pending-app";
    let mut patch = exclusion_patch(policy, app_id.unwrap_or(PENDING))?;
    let list = patch["conditions"]["applications"]["excludeApplications"].as_array_mut()?;
    if app_id.is_none()
        && let Some(last) = list.last_mut()
    {
        *last = Value::Null;
    }
    let before = list[..list.len() - 1].to_vec();
    Some((before, patch))
}

// ------------------------------------------------------------------------------------------
// Apply and simulate

/// The Graph write of an MFA change (security defaults, per-user MFA, policy exclusion).
/// `app_id`: the managed app's appId (fills the `null` of an exclusion planned before the app
/// existed). `None` when `change` is not an MFA change.
pub fn request_for(change: &Change, app_id: Option<&str>) -> Option<Result<GraphRequest, String>> {
    if change.action != Action::Update {
        return None;
    }
    let r = match change.object.kind {
        ObjectKind::SecurityDefaults => {
            Ok(GraphRequest::patch(SECURITY_DEFAULTS_PATH).json(change.payload.clone()))
        }
        ObjectKind::PerUserMfa => match change.object.id.as_deref() {
            Some(id) => Ok(
                GraphRequest::patch(format!("/users/{id}/authentication/requirements"))
                    .beta()
                    .json(change.payload.clone()),
            ),
            None => Err("no user id".to_string()),
        },
        ObjectKind::ConditionalAccessPolicy => {
            let id = change.object.id.as_deref().unwrap_or(&change.object.key);
            match filled_payload(&change.payload, app_id) {
                Ok(body) => Ok(GraphRequest::patch(format!("{CA_POLICIES_PATH}/{id}")).json(body)),
                Err(e) => Err(e),
            }
        }
        _ => return None,
    };
    Some(r)
}

/// The exclusion payload with a `null` (the app created by this apply) replaced by `app_id`.
fn filled_payload(payload: &Value, app_id: Option<&str>) -> Result<Value, String> {
    let mut body = payload.clone();
    let Some(list) = body
        .pointer_mut("/conditions/applications/excludeApplications")
        .and_then(Value::as_array_mut)
    else {
        return Err("no conditions.applications.excludeApplications list".to_string());
    };
    for v in list.iter_mut() {
        if v.is_null() {
            match app_id {
                Some(a) => *v = json!(a),
                None => return Err("the application's appId is unknown".to_string()),
            }
        }
    }
    Ok(body)
}

/// The object as it was before an MFA change (for the journal).
pub fn prior_state(observed: &ObservedMfa, change: &Change) -> Option<Value> {
    match change.object.kind {
        ObjectKind::SecurityDefaults => Some(observed.security_defaults.clone().unwrap_or_default()),
        ObjectKind::PerUserMfa => Some(
            observed
                .per_user
                .iter()
                .find(|s| Some(&s.user.id) == change.object.id.as_ref())
                .map(|s| json!({"id": s.user.id, "userPrincipalName": s.user.label, "perUserMfaState": s.state}))
                .unwrap_or_default(),
        ),
        ObjectKind::ConditionalAccessPolicy => Some(match &observed.conditional_access {
            CaObserved::Read { policies } => policies
                .iter()
                .find(|p| p.get("id").and_then(Value::as_str) == change.object.id.as_deref())
                .cloned()
                .unwrap_or_default(),
            _ => Value::Null,
        }),
        _ => None,
    }
}

/// Applies an MFA change to the observed model as Graph would. `Ok(false)`: not an MFA change.
pub fn simulate(
    observed: &mut ObservedMfa,
    change: &Change,
    app_id: Option<&str>,
) -> Result<bool, String> {
    match (change.object.kind, change.action) {
        (ObjectKind::SecurityDefaults, Action::Update) => {
            let mut sd = observed
                .security_defaults
                .clone()
                .unwrap_or_else(|| json!({}));
            if let (Some(obj), Some(body)) = (sd.as_object_mut(), change.payload.as_object()) {
                for (k, v) in body {
                    obj.insert(k.clone(), v.clone());
                }
            }
            observed.security_defaults = Some(sd);
            Ok(true)
        }
        (ObjectKind::PerUserMfa, Action::Update) => {
            let state = change
                .payload
                .get("perUserMfaState")
                .and_then(Value::as_str)
                .ok_or("no perUserMfaState")?;
            let s = observed
                .per_user
                .iter_mut()
                .find(|s| Some(&s.user.id) == change.object.id.as_ref())
                .ok_or("per-user MFA change of a user that was not read")?;
            s.state = state.to_string();
            Ok(true)
        }
        (ObjectKind::ConditionalAccessPolicy, Action::Update) => {
            let body = filled_payload(&change.payload, app_id)?;
            let CaObserved::Read { policies } = &mut observed.conditional_access else {
                return Err("policy change without policies read".to_string());
            };
            let p = policies
                .iter_mut()
                .find(|p| p.get("id").and_then(Value::as_str) == change.object.id.as_deref())
                .ok_or("policy not found")?;
            *p = apply_exclusion_patch(p, &body);
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// Applies the per-user MFA changes together: every prior state journaled first, then the
/// PATCHes sent in `$batch`es (concurrently, at most 20 each) instead of one round trip per user.
/// Returns the number of writes. The first failure stops with [`EngineError::Write`] naming the
/// user; the others of the same batches may have been made (the journal has them all).
pub async fn apply_per_user(
    client: &GraphClient,
    journal: &mut crate::journal::Journal,
    observed: &ObservedMfa,
    changes: &[&Change],
) -> Result<usize, EngineError> {
    let mut reqs = Vec::new();
    for c in changes {
        journal.record(c, &prior_state(observed, c).unwrap_or_default())?;
        let req = match request_for(c, None) {
            Some(Ok(r)) => r,
            Some(Err(detail)) => {
                return Err(EngineError::Plan(PlanError::BadPayload {
                    kind: c.object.kind,
                    detail,
                }));
            }
            None => {
                return Err(EngineError::Plan(PlanError::BadPayload {
                    kind: c.object.kind,
                    detail: format!("{} of a per-user MFA state", c.action.as_str()),
                }));
            }
        };
        reqs.push(req.label(format!("disable per-user MFA for {}", c.object.display)));
    }
    let results = client.send_all(reqs.clone()).await;
    let journal_dir = journal.dir().display().to_string();
    for (req, res) in reqs.iter().zip(results) {
        res.map_err(|source| EngineError::Write {
            what: req
                .label_text()
                .unwrap_or("update per-user MFA")
                .to_string(),
            journal: journal_dir.clone(),
            source,
        })?;
    }
    Ok(reqs.len())
}

/// Who can sign in to the app after apply, from the principals the assignments part found: the
/// assigned users (named by UPN) and the direct user members of the assigned groups (by id).
pub fn sign_in_scope(p: &crate::assignments::Principals) -> SignInScope {
    let mut users: Vec<ScopeUser> = p
        .users
        .iter()
        .map(|u| ScopeUser {
            id: u.id.to_lowercase(),
            label: if u.upn.is_empty() {
                u.id.clone()
            } else {
                u.upn.clone()
            },
        })
        .collect();
    let known: BTreeSet<String> = users.iter().map(|u| u.id.clone()).collect();
    for id in p.sign_in_user_ids() {
        if !known.contains(&id.to_lowercase()) {
            users.push(ScopeUser {
                id: id.to_lowercase(),
                label: id.clone(),
            });
        }
    }
    SignInScope {
        users,
        groups: p.groups.iter().map(|g| g.id.to_lowercase()).collect(),
    }
}

/// The Graph application permissions the MFA posture needs (added to `entractl permissions`).
pub fn required_permissions(
    m: &DesiredMfa,
    plan: &mut Vec<crate::permissions::Needed>,
    apply: &mut Vec<crate::permissions::Needed>,
) {
    use crate::permissions::Needed;
    let add = |v: &mut Vec<Needed>, permission: &'static str, why: &str| {
        if !v.iter().any(|n| n.permission == permission) {
            v.push(Needed {
                permission,
                why: why.to_string(),
            });
        }
    };
    add(
        plan,
        "Policy.Read.All",
        "read the security defaults, the conditional access policies and the users' per-user MFA state (GET /policies/identitySecurityDefaultsEnforcementPolicy, /identity/conditionalAccess/policies, beta /users/{id}/authentication/requirements)",
    );
    if m.conditional_access.is_some() {
        add(
            plan,
            "GroupMember.Read.All",
            "read the members of groups named by conditional access policies (GET /groups/{id}/transitiveMembers)",
        );
        add(
            apply,
            "Policy.ReadWrite.ConditionalAccess",
            "add the app to excludeApplications of conditional access policies (PATCH /identity/conditionalAccess/policies/{id}; with Policy.Read.All)",
        );
    }
    if m.security_defaults.is_some() {
        add(
            apply,
            "Policy.ReadWrite.SecurityDefaults",
            "turn security defaults on or off (PATCH /policies/identitySecurityDefaultsEnforcementPolicy)",
        );
    }
    if m.per_user_mfa_disabled {
        add(
            apply,
            "Policy.ReadWrite.AuthenticationMethod",
            "set the per-user MFA state of the app's users (PATCH beta /users/{id}/authentication/requirements)",
        );
    }
}

#[cfg(test)]
#[path = "posture_fetch_tests.rs"]
mod fetch_tests;
