//! Fetch: the reads the desired state needs, as plain async code over the batching
//! [`Loader`]: every read issued before the code has to wait for an answer goes out together
//! (one wave: v1.0 and beta `$batch`es and the paced conditional access read, concurrently),
//! so the waves follow from the data dependencies. A failed read is never taken as absence:
//! only an empty result of a successful query, or a 404 on a lookup by key, is.
//!
//! On a tenant where everything exists (a converged plan) that is three waves after the token:
//! 1. the application, its service principal (by tag), the APIs' service principals, the spec's
//!    users and groups, `subscribedSkus`, the security defaults, the conditional access policies
//!    the per-user MFA state of the spec's users and (for the password sign-in preflight) the
//!    tenant's domains;
//! 2. the grants, the granted application permissions and the assignments of the service
//!    principal, the direct members of the spec's groups, the members of groups the policies
//!    name (and, when no live application matched, the deleted applications);
//! 3. the per-user MFA state of the groups' members.
//!
//! entractl's record of what it weakened goes along: its record groups in the first wave, their
//! members in the second, the recorded users' per-user MFA state in the third; a spec that reads
//! no conditional access policies of its own reads them in the second wave once the app exists
//! (to take out what Mac Login excluded: records.rs).
//!
//! The placeholder app of "Customize behavior", when the spec has one, is read in wave 1 too
//! (by uniqueName and tag, its service principal by tag), and so are, for every spec, the
//! placeholder apps entractl made for this app (by their link tag: one request), so that one the
//! spec no longer names is taken out of the policies' exclusions; when one is found, the policies
//! are read in the second wave as for a restore.
//!
//! More only for paged collections (999 members a page: one wave per further page, which also
//! carries the per-user MFA reads of the page before), for a service principal that does not
//! carry its tag yet, and for the preflight on a tenant with a federated domain (its home realm
//! discovery policies, then what each applies to).

mod app;
mod assignments;
mod common;
mod forecast;
mod mfa;
mod password_sign_in;
mod placeholder;
mod records;

use entractl_graph::{GraphClient, LoadStats, Loader};

use common::promise;
pub(crate) use common::{ok_or_absent, parsed};

use crate::core::desired::{Desired, DesiredMfa};
use crate::core::observed::{CaObserved, Observed, ObservedMfa};
use crate::error::{EngineError, ReadError};
use forecast::WhatIf;

/// How much reading a fetch took (waves: sequential rounds; requests: inner `$batch` requests
/// counted one by one).
pub type FetchStats = LoadStats;

/// Reads the observed state for `desired`. See the module documentation for the waves.
pub async fn fetch(
    client: &GraphClient,
    desired: &Desired,
) -> Result<(Observed, FetchStats), EngineError> {
    fetch_with(client, desired, WhatIf::Evaluate).await
}

/// [`fetch`] without the sign-in forecast's What-If evaluations (no verdicts): for apply's
/// read-back, which only checks that the tenant shows what was written.
pub async fn fetch_state(
    client: &GraphClient,
    desired: &Desired,
) -> Result<(Observed, FetchStats), EngineError> {
    fetch_with(client, desired, WhatIf::Skip).await
}

async fn fetch_with(
    client: &GraphClient,
    desired: &Desired,
    what_if: WhatIf,
) -> Result<(Observed, FetchStats), EngineError> {
    let token = client.token().await.map_err(EngineError::read("sign in"))?;
    let loader = Loader::new(client);
    let mut observed = loader
        .run(read(&loader, desired, what_if))
        .await
        .map_err(|e| EngineError::Internal(e.to_string()))??;
    observed.tenant_id = token.claims().tid.clone();
    Ok((observed, loader.stats()))
}

/// Every read, composed.
async fn read(l: &Loader, d: &Desired, what_if: WhatIf) -> Result<Observed, ReadError> {
    let candidates = promise(app::candidates(l, d));
    let sp = promise(app::service_principal(l, d, candidates.clone()));
    let unmanaged = DesiredMfa::default();
    let posture = match &d.mfa {
        Some(m) => Some(m),
        None if d.password_sign_in() => Some(&unmanaged),
        None => None,
    };
    let member_mfa = posture
        .filter(|m| mfa::Reads::of(d, m).per_user)
        .map(|_| mfa::member_read());
    let parts = assignments::Parts::new(l, d, sp.clone(), member_mfa);
    let mfa = async {
        match &d.mfa {
            Some(m) => mfa::read(l, d, m, &parts, what_if).await.map(Some),
            None if d.password_sign_in() => {
                mfa::read(l, d, &unmanaged, &parts, what_if).await.map(Some)
            }
            None => Ok(None),
        }
    };
    let deleted = app::deleted(l, d, candidates.clone());
    let grants = app::grants(l, sp.clone());
    let app_role_grants = app::app_role_grants(l, d, sp.clone());
    let linked = promise(placeholder::linked(l, d));
    let restorable = {
        let (c, linked) = (candidates.clone(), linked.clone());
        async move {
            let (c, linked) = tokio::join!(c, linked);
            c.is_ok_and(|v| !v.is_empty()) || linked.is_ok_and(|v| !v.is_empty())
        }
    };
    let records = records::read(l, d, restorable);
    let preflight = password_sign_in::read(l, d, &parts);
    let placeholder = placeholder::read(l, d);
    let (
        c,
        s,
        resources,
        grants,
        app_role_grants,
        deleted,
        settled,
        tier,
        mfa,
        preflight,
        placeholder,
        linked,
        records,
    ) = tokio::join!(
        candidates,
        sp,
        app::resources(l, d),
        grants,
        app_role_grants,
        deleted,
        parts.settled.clone(),
        parts.tier.clone(),
        mfa,
        preflight,
        placeholder,
        linked,
        records,
    );
    let candidates = c?.as_ref().clone();
    let settled = settled?;
    // Ambiguous application: the plan stops with that error; the posture is not needed.
    let (records, restore) = records?;
    let (mfa, forecast) = match mfa? {
        Some((m, f)) if candidates.len() <= 1 => (Some(with_restore_reads(m, restore)), f),
        // Only a restore needs the policies and the security defaults (records.rs).
        None if candidates.len() <= 1 => (only_restore_reads(restore), None),
        _ => (None, None),
    };
    Ok(Observed {
        tenant_id: None,
        mfa,
        forecast,
        password_sign_in: if candidates.len() > 1 {
            None
        } else {
            preflight?
        },
        candidates,
        service_principal: s?.as_ref().clone(),
        resources: resources?,
        grants: grants?,
        app_role_grants: app_role_grants?,
        assignments: settled.observed.clone(),
        principals: settled.principals.clone(),
        tier: *tier?,
        deleted: deleted?,
        placeholder: placeholder?,
        linked_placeholders: linked?.as_ref().clone(),
        records,
    })
}

/// The posture a spec that reads none of it sees: what only a restore needs (records.rs).
fn only_restore_reads(r: records::RestoreReads) -> Option<ObservedMfa> {
    if r.policies.is_none() && r.security_defaults.is_none() {
        return None;
    }
    Some(with_restore_reads(ObservedMfa::default(), r))
}

/// The posture the spec read, with what only a restore needed read besides (the policies a spec
/// that manages no conditional access does not read).
fn with_restore_reads(mut m: ObservedMfa, r: records::RestoreReads) -> ObservedMfa {
    if let (CaObserved::NotRead, Some(policies)) = (&m.conditional_access, r.policies) {
        m.conditional_access = CaObserved::Read { policies };
    }
    if m.security_defaults.is_none() {
        m.security_defaults = r.security_defaults;
    }
    m
}

#[cfg(test)]
mod tests;
