//! The MFA posture's reads: the security defaults, the conditional access policies and the
//! per-user MFA state of the spec's users (addressed as the spec writes them) in the first
//! wave; the per-user state of the other users who can sign in as soon as they are known (the
//! members of assigned groups, by id, page by page: [`member_read`]); the transitive members of the groups the policies name;
//! and, for a user the plan changes and knows only by id, the UPN.
//!
//! A read for a user who turns out not to exist (a typo in the spec, which the assignments
//! report) is not needed and its failure is ignored; every other failed read fails the fetch.

use std::collections::{BTreeMap, BTreeSet};

use entractl_graph::resource::authentication_requirements::{self as requirements, Requirements};
use entractl_graph::resource::conditional_access_policy::{self as ca, ConditionalAccessPolicy};
use entractl_graph::resource::{group, parse, security_defaults, user};
use entractl_graph::{GraphError, Load, Loader};
use futures_util::future::join_all;
use serde_json::Value;

use super::assignments::Parts;
use super::common::{Promise, parsed, promise};
use super::forecast::{self, WhatIf};
use crate::core::desired::{Desired, DesiredMfa};
use crate::core::forecast::SignInTarget;
use crate::core::normalize;
use crate::core::observed::{
    CaObserved, LicenseTier, ObservedForecast, ObservedMfa, ScopeUser, SignInScope, UserMfaState,
};
use crate::error::ReadError;

/// A user's per-user MFA state as read: what was read, and the answer.
type State = (String, Result<String, GraphError>);

fn state_of(r: Result<Value, GraphError>) -> Result<String, GraphError> {
    r.map(|v| {
        parse::<Requirements>(&v)
            .map(|q| q.per_user_mfa_state)
            .unwrap_or_else(|| requirements::DISABLED.to_string())
    })
}

/// What to read: the policies when the spec changes them or needs password sign-in (the
/// forecast; read on a Free tenant too, where a lapsed licence leaves them enforced), the
/// per-user states when the spec changes them or needs password sign-in.
#[derive(Debug, Clone, Copy)]
pub struct Reads {
    pub policies: bool,
    pub per_user: bool,
    pub forecast: bool,
}

impl Reads {
    pub fn of(d: &Desired, m: &DesiredMfa) -> Reads {
        let password = d.password_sign_in();
        Reads {
            policies: m.manages_conditional_access() || password,
            per_user: m.per_user_mfa_disabled || password,
            forecast: password,
        }
    }
}

/// Reads the posture `m` manages (and what the sign-in forecast needs).
pub async fn read(
    l: &Loader,
    d: &Desired,
    m: &DesiredMfa,
    parts: &Parts<'_>,
    what_if: WhatIf,
) -> Result<(ObservedMfa, Option<ObservedForecast>), ReadError> {
    let reads = Reads::of(d, m);
    let sd = l.get(security_defaults::get());
    let policies = promise(async move {
        if !reads.policies {
            return Ok(None);
        }
        Ok(Some(l.list(ca::list()).await))
    });
    let baseline = async move {
        if !reads.forecast {
            return None;
        }
        Some(forecast::baseline(
            l.get(forecast::settings_request()).await,
        ))
    };
    let spec_states = spec_user_states(l, d, reads);
    let early_groups = early_policy_groups(l, parts, policies.clone());
    let (sd, baseline, spec_states, _, settled, tier) = tokio::join!(
        sd,
        baseline,
        spec_states,
        early_groups,
        parts.settled.clone(),
        parts.tier.clone(),
    );
    let sd = sd.map_err(ReadError::of("read the security defaults"))?;
    let (settled, tier, spec) = (settled?, tier?, parts.spec.clone().await?);
    let has_ca = tier.map(|t| t != LicenseTier::Free);
    let mut scope = SignInScope::of(&settled.principals);
    scope.users.sort();
    scope
        .users
        .dedup_by(|a, b| a.id.eq_ignore_ascii_case(&b.id));
    let mut out = ObservedMfa {
        security_defaults: parse(&sd),
        scope,
        ..ObservedMfa::default()
    };
    if reads.policies {
        out.conditional_access = conditional_access(policies.await?.as_ref(), has_ca)?;
    }
    // A spec user's state was read by the spec's address; key it by the id it resolved to.
    let by_id: BTreeMap<String, State> = spec_states?
        .into_iter()
        .filter_map(|(i, s)| Some((spec.users.get(i)?.as_ref()?.id.clone(), s)))
        .collect();
    // The per-user states and the forecast's What-If evaluations go out in the same wave.
    let (scope, policies) = (&out.scope, out.conditional_access.policies());
    let per_user = async {
        if reads.per_user {
            states(l, scope, by_id).await.map(Some)
        } else {
            Ok(None)
        }
    };
    let forecast = async {
        let group_members = policy_group_members(l, scope, policies).await?;
        let Some(baseline) = baseline else {
            return Ok((group_members, None));
        };
        let target = SignInTarget::new(baseline.clone(), &d.app.passport_scopes());
        let people = forecast::People {
            users: &scope.users,
            upns: &settled.upns,
            principals: &settled.principals,
            policy_group_members: &group_members,
            policies,
        };
        let f = forecast::read(l, &target, baseline, people, what_if).await;
        Ok::<_, ReadError>((group_members, Some(f)))
    };
    let (per_user, forecast) = tokio::join!(per_user, forecast);
    let (group_members, forecast) = forecast?;
    if let Some(states) = per_user? {
        out.per_user = states;
    }
    out.policy_groups_with_users = group_members
        .iter()
        .filter(|(_, m)| !m.is_empty())
        .map(|(g, _)| g.clone())
        .collect();
    name_users(l, &mut out, &settled.upns).await?;
    Ok((out, forecast))
}

/// The per-user states of the spec's users, addressed as the spec writes them (wave 1), by the
/// object id each resolved to (spec users not found are left out).
async fn spec_user_states(
    l: &Loader,
    d: &Desired,
    reads: Reads,
) -> Result<BTreeMap<usize, State>, ReadError> {
    let users = d
        .assignments
        .as_ref()
        .map(|a| a.users.as_slice())
        .unwrap_or(&[]);
    if !reads.per_user {
        return Ok(BTreeMap::new());
    }
    // Asked for together, then awaited in turn (one handle per user, not a future each).
    let asked: Vec<_> = users
        .iter()
        .map(|e| {
            let req = requirements::get(e.value.trim(), e.value.trim());
            let what = req.label_text().unwrap_or_default().to_string();
            (what, l.get(req))
        })
        .collect();
    let mut out = BTreeMap::new();
    for (i, (what, load)) in asked.into_iter().enumerate() {
        out.insert(i, (what, state_of(load.await)));
    }
    Ok(out)
}

/// The per-user MFA read of a member of a spec group, started as the page naming them arrives
/// (the loader remembers the answer for [`states`]).
pub fn member_read() -> super::assignments::MemberRead {
    std::sync::Arc::new(|l: &Loader, id: &str| {
        drop(l.get(requirements::get(id, id)));
    })
}

/// Each scope user's state: from the spec's own read when it is a spec user, else by id (a
/// read already made, or one more). Every read is asked for before the first is awaited, so they
/// go out together; waiting holds one small handle per user (10,000 for a large group), not a
/// future each.
async fn states(
    l: &Loader,
    scope: &SignInScope,
    mut by_id: BTreeMap<String, State>,
) -> Result<Vec<UserMfaState>, ReadError> {
    let asked: Vec<_> = scope
        .users
        .iter()
        .map(|u| match by_id.remove(&u.id) {
            Some(known) => (u, Asked::Known(known)),
            None => (u, Asked::Loading(l.get(requirements::get(&u.id, &u.label)))),
        })
        .collect();
    let mut out = Vec::with_capacity(asked.len());
    for (u, asked) in asked {
        let (what, state) = match asked {
            Asked::Known(known) => known,
            Asked::Loading(load) => match state_of(load.await) {
                Ok(state) => (String::new(), Ok(state)),
                Err(e) => (read_label(u), Err(e)),
            },
        };
        let state = state.map_err(|source| ReadError { what, source })?;
        out.push(UserMfaState {
            user: u.clone(),
            state,
        });
    }
    Ok(out)
}

/// A scope user's state: known from the spec's read, or being read.
enum Asked {
    Known(State),
    Loading(Load<Value>),
}

/// What reading `u`'s state is called in an error.
fn read_label(u: &ScopeUser) -> String {
    let req = requirements::get(&u.id, &u.label);
    req.label_text().unwrap_or_default().to_string()
}

fn conditional_access(
    policies: &Option<Result<Vec<Value>, GraphError>>,
    has_ca: Option<bool>,
) -> Result<CaObserved, ReadError> {
    match policies {
        Some(Ok(values)) if has_ca == Some(false) => Ok(CaObserved::Unlicensed {
            policies: values
                .iter()
                .cloned()
                .map(ConditionalAccessPolicy)
                .collect(),
        }),
        Some(Ok(values)) => Ok(CaObserved::Read {
            policies: values
                .iter()
                .cloned()
                .map(ConditionalAccessPolicy)
                .collect(),
        }),
        Some(Err(e)) if has_ca == Some(false) => Ok(CaObserved::Skipped {
            reason: format!(
                "the tenant has no Entra ID P1 or P2 licence, and its conditional access policies could not be read ({e}); a tenant whose licence lapsed may still enforce policies left enabled"
            ),
        }),
        Some(Err(e)) => Err(ReadError {
            what: "read the conditional access policies".into(),
            source: e.clone(),
        }),
        None => Ok(CaObserved::NotRead),
    }
}

/// Groups named by policies (`includeGroups`/`excludeGroups`) that are not among `assigned`
/// (whose members are known already).
fn policy_groups(
    policies: &[ConditionalAccessPolicy],
    assigned: &BTreeSet<String>,
) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for p in policies {
        for key in ["includeGroups", "excludeGroups"] {
            for g in p.users(key) {
                let g = g.trim().to_lowercase();
                if normalize::is_guid(&g) && !assigned.contains(&g) {
                    out.insert(g);
                }
            }
        }
    }
    out
}

/// The transitive members of a group a policy names.
async fn transitive(l: &Loader, g: &str) -> Result<Vec<group::Member>, ReadError> {
    let label = format!("read the members of group {g} (named by a conditional access policy)");
    let found = l
        .list(group::transitive_members(g, label.clone()))
        .await
        .map_err(ReadError::of(label))?;
    Ok(parsed(found))
}

/// The policies' groups, read as soon as the policies are and someone is known to sign in
/// (groups found assigned later are read needlessly at worst, and left out of the result).
async fn early_policy_groups(
    l: &Loader,
    parts: &Parts<'_>,
    policies: Promise<'_, Option<Result<Vec<Value>, GraphError>>>,
) -> Result<(), ReadError> {
    let (policies, spec) = tokio::join!(policies, parts.spec.clone());
    let (policies, spec) = (policies?, spec?);
    let Some(Ok(values)) = policies.as_ref() else {
        return Ok(());
    };
    let mut someone = spec.users.iter().any(Option::is_some);
    if !someone {
        let members = parts.members.clone().await?;
        someone = members.by_group.values().any(|m| !m.users.is_empty());
    }
    if !someone {
        return Ok(());
    }
    let assigned: BTreeSet<String> = spec
        .groups
        .iter()
        .filter_map(|hits| match hits.as_slice() {
            [g] => Some(g.id.to_lowercase()),
            _ => None,
        })
        .collect();
    let policies: Vec<ConditionalAccessPolicy> = values
        .iter()
        .cloned()
        .map(ConditionalAccessPolicy)
        .collect();
    let groups = policy_groups(&policies, &assigned);
    // Errors are reported by `groups_with_users`, for the groups that matter.
    join_all(groups.iter().map(|g| transitive(l, g))).await;
    Ok(())
}

/// The users of the scope among the (transitive) members of each group a policy names.
async fn policy_group_members(
    l: &Loader,
    scope: &SignInScope,
    policies: &[ConditionalAccessPolicy],
) -> Result<BTreeMap<String, BTreeSet<String>>, ReadError> {
    if policies.is_empty() {
        return Ok(BTreeMap::new());
    }
    let users: BTreeSet<String> = scope.users.iter().map(|u| u.id.to_lowercase()).collect();
    if users.is_empty() {
        return Ok(BTreeMap::new());
    }
    let assigned: BTreeSet<String> = scope.groups.iter().map(|g| g.to_lowercase()).collect();
    let groups = policy_groups(policies, &assigned);
    let reads = groups.into_iter().map(|g| async move {
        let members = transitive(l, &g).await?;
        Ok::<_, ReadError>((g, members))
    });
    let mut by_group = BTreeMap::new();
    for answer in join_all(reads).await {
        let (g, members) = answer?;
        let in_scope = members
            .iter()
            .map(|m| m.id.to_lowercase())
            .filter(|id| users.contains(id))
            .collect();
        by_group.insert(g, in_scope);
    }
    Ok(by_group)
}

/// Names, by UPN, the users the plan will change and knows only by id (members of assigned
/// groups): from the UPNs the member reads gave, else one more read.
async fn name_users(
    l: &Loader,
    out: &mut ObservedMfa,
    upns: &BTreeMap<String, String>,
) -> Result<(), ReadError> {
    let unnamed: Vec<String> = out
        .per_user
        .iter()
        .filter(|s| {
            !s.state.eq_ignore_ascii_case(requirements::DISABLED) && s.user.label == s.user.id
        })
        .map(|s| s.user.id.clone())
        .collect();
    let reads = unnamed.into_iter().map(|id| async move {
        if let Some(upn) = upns.get(&id.to_lowercase()) {
            return Ok((id, Some(upn.clone())));
        }
        let label = format!("read the user {id}");
        let v = l
            .get(user::get(&id, label.clone()))
            .await
            .map_err(ReadError::of(label))?;
        let upn = v
            .get("userPrincipalName")
            .and_then(Value::as_str)
            .map(str::to_string);
        Ok::<_, ReadError>((id, upn))
    });
    for answer in join_all(reads).await {
        let (id, upn) = answer?;
        let Some(upn) = upn else { continue };
        for s in out.per_user.iter_mut().filter(|s| s.user.id == id) {
            s.user.label = upn.clone();
        }
        for u in out.scope.users.iter_mut().filter(|u| u.id == id) {
            u.label = upn.clone();
        }
    }
    Ok(())
}
