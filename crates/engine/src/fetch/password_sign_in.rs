//! The password sign-in preflight's reads, only when the spec needs password sign-in
//! ([`password_sign_in::needed`]): the tenant's domains (first wave); when one of them is
//! federated, the home realm discovery policies (the wave after) and what each applies to (the
//! wave after that). Who signs in, with their UPN and `userType`, comes from the assignments'
//! reads, which select `userType` anyway; their per-user MFA state from the MFA posture's.

use std::collections::BTreeMap;

use entractl_graph::Loader;
use entractl_graph::resource::domain::{self, Domain};
use entractl_graph::resource::home_realm_discovery_policy::{
    self as hrd, AppliesTo, HomeRealmDiscoveryPolicy,
};
use futures_util::future::join_all;

use super::assignments::{Parts, Settled};
use super::{Promise, parsed, promise};
use crate::core::checks::password_sign_in;
use crate::core::desired::Desired;
use crate::core::observed::{HomeRealmPolicy, ObservedPasswordSignIn, SignInUser};
use crate::error::ReadError;

/// Reads what the preflight needs; `None` when the spec does not need password sign-in.
pub async fn read(
    l: &Loader,
    d: &Desired,
    parts: &Parts<'_>,
) -> Result<Option<ObservedPasswordSignIn>, ReadError> {
    if !password_sign_in::needed(d) {
        return Ok(None);
    }
    let domains = promise(domains(l));
    let policies = home_realm_policies(l, domains.clone());
    let users = async {
        let settled = parts.settled.clone().await?;
        Ok::<_, ReadError>(sign_in_users(&settled))
    };
    let (domains, policies, users) = tokio::join!(domains, policies, users);
    Ok(Some(ObservedPasswordSignIn {
        users: users?,
        domains: domains?.as_ref().clone(),
        home_realm_policies: policies?,
    }))
}

async fn domains(l: &Loader) -> Result<Vec<Domain>, ReadError> {
    let req = domain::list();
    let label = req.label_text().unwrap_or("read domains").to_string();
    let found = l.list(req).await.map_err(ReadError::of(label))?;
    Ok(parsed(found))
}

/// Every home realm discovery policy with what it applies to; not read (`None`) when no domain
/// is federated.
async fn home_realm_policies(
    l: &Loader,
    domains: Promise<'_, Vec<Domain>>,
) -> Result<Option<Vec<HomeRealmPolicy>>, ReadError> {
    if !domains.await?.iter().any(Domain::is_federated) {
        return Ok(None);
    }
    let req = hrd::list();
    let label = req.label_text().unwrap_or("read policies").to_string();
    let found = l.list(req).await.map_err(ReadError::of(label))?;
    let policies: Vec<HomeRealmDiscoveryPolicy> = parsed(found);
    let reads = policies.into_iter().map(|policy| async move {
        let req = hrd::applies_to(&policy.id);
        let label = req.label_text().unwrap_or("read appliesTo").to_string();
        let targets = l.list(req).await.map_err(ReadError::of(label))?;
        let applies_to = parsed::<AppliesTo>(targets)
            .into_iter()
            .map(|t| t.id)
            .collect();
        Ok::<_, ReadError>(HomeRealmPolicy { policy, applies_to })
    });
    join_all(reads)
        .await
        .into_iter()
        .collect::<Result<_, _>>()
        .map(Some)
}

/// Everyone who can sign in after apply: the assigned users and the direct user members of the
/// assigned groups, by lower-case id.
fn sign_in_users(s: &Settled) -> Vec<SignInUser> {
    let mut by_id: BTreeMap<String, SignInUser> = BTreeMap::new();
    for u in &s.principals.users {
        let id = u.id.to_lowercase();
        by_id.insert(
            id.clone(),
            SignInUser {
                id,
                user_principal_name: u.user_principal_name.clone(),
                user_type: u.user_type.clone(),
            },
        );
    }
    for id in s.principals.sign_in_user_ids() {
        let id = id.to_lowercase();
        by_id.entry(id.clone()).or_insert_with(|| SignInUser {
            user_principal_name: s.upns.get(&id).cloned().unwrap_or_default(),
            user_type: s.user_types.get(&id).cloned(),
            id,
        });
    }
    by_id.into_values().collect()
}
