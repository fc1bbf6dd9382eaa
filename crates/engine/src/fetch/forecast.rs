//! The sign-in forecast's reads: the tenant's baseline-scope setting (wave 1, with the other
//! first reads) and one Conditional Access What-If evaluation per user evaluated, once everyone
//! who signs in and their groups are known. Every user is evaluated when there are few; else one
//! per combination of the groups that matter, and at most [`MAX_EVALUATIONS`]. A failed What-If leaves its users' verdicts unknown
//! (which the forecast counts as failing); a failed settings read means enforcement is assumed.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use entractl_graph::resource::conditional_access_policy::ConditionalAccessPolicy;
use entractl_graph::resource::conditional_access_settings::{self as settings, BaselineScopes};
use entractl_graph::resource::what_if::{self, WhatIfResult};
use entractl_graph::{GraphError, Loader};
use futures_util::future::join_all;
use serde_json::Value;

use crate::core::forecast::SignInTarget;
use crate::core::observed::{
    BaselineRead, ForecastUser, ObservedForecast, PolicyOutcome, Principals, Sampling, ScopeUser,
};

/// Whether a fetch makes the What-If evaluations: a plan does; apply's
/// read-back, which only checks that the tenant shows what was written, does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhatIf {
    Evaluate,
    Skip,
}

/// Up to this many users, every one is evaluated.
pub const EVALUATE_EVERYONE_UP_TO: usize = 10;
/// At most this many What-If evaluations per plan.
pub const MAX_EVALUATIONS: usize = 20;

/// The baseline-scope setting as read (a failed read: unreadable, enforcement assumed).
pub fn baseline(answer: Result<Value, GraphError>) -> BaselineRead {
    match answer {
        Ok(v) => BaselineRead::Read {
            setting: BaselineScopes::from_settings(&v),
        },
        Err(e) => BaselineRead::Unreadable {
            reason: e.to_string(),
        },
    }
}

/// Read the conditional access settings (beta).
pub fn settings_request() -> entractl_graph::GraphRequest {
    settings::get()
}

/// Who signs in and what the forecast needs to know about them.
pub struct People<'a> {
    pub users: &'a [ScopeUser],
    /// UPNs known by id (from the member reads), for users the scope knows only by id.
    pub upns: &'a BTreeMap<String, String>,
    pub principals: &'a Principals,
    /// Members (scope user ids) of each group a policy names, by group id.
    pub policy_group_members: &'a BTreeMap<String, BTreeSet<String>>,
    pub policies: &'a [ConditionalAccessPolicy],
}

/// The What-If evaluations and who they stand for.
pub async fn read(
    l: &Loader,
    target: &SignInTarget,
    baseline: BaselineRead,
    people: People<'_>,
    evaluate: WhatIf,
) -> ObservedForecast {
    let mut users = forecast_users(&people);
    let (sampling, evaluated) = match evaluate {
        WhatIf::Evaluate => choose(&mut users, &named(people.policies)),
        WhatIf::Skip => (Sampling::NotEvaluated, BTreeSet::new()),
    };
    let label_of: BTreeMap<&str, &str> = users
        .iter()
        .map(|u| (u.id.as_str(), u.label.as_str()))
        .collect();
    let resource = target.what_if_resource();
    let reads = evaluated.iter().map(|id| {
        let label = format!(
            "evaluate {}'s sign-in with Conditional Access What-If",
            label_of.get(id.as_str()).copied().unwrap_or(id)
        );
        let req = what_if::mac_desktop_sign_in(id, resource, label);
        async move { (id.clone(), l.get(req).await) }
    });
    let mut what_if = BTreeMap::new();
    for (id, answer) in join_all(reads).await {
        if let Ok(v) = answer {
            what_if.insert(id, outcomes(&v));
        }
    }
    ObservedForecast {
        baseline,
        users,
        what_if,
        sampling,
    }
}

fn outcomes(v: &Value) -> Vec<PolicyOutcome> {
    v.get("value")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .map(WhatIfResult::from_value)
                .map(|r| PolicyOutcome {
                    policy_id: r.policy.id().to_string(),
                    applies: r.applies,
                    reasons: r.analysis_reasons,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Everyone who signs in, with the groups that matter (assigned groups they are a direct member
/// of, groups a policy names they are in), each evaluated as themselves for now.
fn forecast_users(p: &People<'_>) -> Vec<ForecastUser> {
    // The assigned groups of each user, by lower-case id: one pass over the members, not one
    // per user (a 10,000-member group would be 10^8 comparisons).
    // (A short list per user, not a set: a set's first node is ten times a group id.)
    let mut assigned: HashMap<String, Vec<String>> = HashMap::new();
    for g in &p.principals.groups {
        for m in &g.direct_user_member_ids {
            assigned
                .entry(m.to_lowercase())
                .or_default()
                .push(g.id.to_lowercase());
        }
    }
    let mut out: Vec<ForecastUser> = p
        .users
        .iter()
        .map(|u| {
            // Taken, not copied: the scope's users are distinct.
            let mut groups = assigned.remove(&u.id.to_lowercase()).unwrap_or_default();
            groups.extend(
                p.policy_group_members
                    .iter()
                    .filter(|(_, members)| members.contains(&u.id))
                    .map(|(g, _)| g.clone()),
            );
            let label = match p.upns.get(&u.id) {
                Some(upn) if u.label == u.id => upn.clone(),
                _ => u.label.clone(),
            };
            groups.sort();
            groups.dedup();
            ForecastUser {
                id: u.id.clone(),
                label,
                groups,
                evaluated_as: u.id.clone(),
            }
        })
        .collect();
    out.sort();
    out.dedup_by(|a, b| a.id == b.id);
    out
}

/// Users a policy names by id (they stay apart from everyone else).
fn named(policies: &[ConditionalAccessPolicy]) -> BTreeSet<String> {
    policies
        .iter()
        .flat_map(|p| {
            let mut ids = p.users("includeUsers");
            ids.extend(p.users("excludeUsers"));
            ids.into_iter().map(|s| s.trim().to_lowercase())
        })
        .collect()
}

/// Who is evaluated for whom; the users to evaluate (at most [`MAX_EVALUATIONS`]: the users of
/// the other combinations get no answer, so their verdicts are unknown).
fn choose(users: &mut [ForecastUser], named: &BTreeSet<String>) -> (Sampling, BTreeSet<String>) {
    if users.len() <= EVALUATE_EVERYONE_UP_TO {
        let all = users.iter().map(|u| u.id.clone()).collect();
        return (Sampling::Everyone, all);
    }
    let key = |u: &ForecastUser| {
        let mut k = u.groups.clone();
        if named.contains(&u.id) {
            k.push(u.id.clone());
        }
        k
    };
    let mut first_of: BTreeMap<Vec<String>, String> = BTreeMap::new();
    for u in users.iter() {
        first_of.entry(key(u)).or_insert_with(|| u.id.clone());
    }
    for u in users.iter_mut() {
        u.evaluated_as = first_of[&key(u)].clone();
    }
    let chosen = first_of.values().take(MAX_EVALUATIONS).cloned().collect();
    let combinations = first_of.len();
    (Sampling::OnePerGroupCombination { combinations }, chosen)
}
