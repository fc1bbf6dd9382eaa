//! The record of what entractl weakened (docs/decisions.md): entractl's record groups, found by
//! mailNickname in the first wave; the members of the managed app's record groups in the second;
//! the per-user MFA state of the users recorded under per-user MFA in the third (with the other
//! per-user reads). No wave of its own. When the spec itself reads no conditional access
//! policies (Web Login, no `mfa` section) but the app (or a placeholder app entractl made for it)
//! exists or entractl keeps a record of identities it added to a policy's exclusions, the
//! policies are read too, with the record's
//! members (second wave), so that the plan can take out what entractl excluded (the app by its
//! appId, the identities by the record).

use entractl_graph::Loader;
use entractl_graph::resource::authentication_requirements::{self as requirements, Requirements};
use entractl_graph::resource::conditional_access_policy::{self as ca, ConditionalAccessPolicy};
use entractl_graph::resource::group::{self, Group, Member};
use entractl_graph::resource::parse;
use futures_util::future::join_all;
use serde_json::Value;

use super::common::parsed;
use crate::core::desired::Desired;
use crate::core::observed::{ObservedRecords, Purpose, RecordGroup, RecordMember};
use crate::error::ReadError;

/// Reads the managed app's records, and the conditional access policies when only a restore
/// needs them (`app_exists`: the app or a placeholder app made for it was found).
pub async fn read(
    l: &Loader,
    d: &Desired,
    app_exists: impl Future<Output = bool>,
) -> Result<(ObservedRecords, Option<Vec<ConditionalAccessPolicy>>), ReadError> {
    let key = d.app.identity.key();
    let found = l
        .list(group::find_records("find entractl's record groups"))
        .await
        .map_err(ReadError::of("find entractl's record groups"))?;
    let mine: Vec<(Group, Purpose)> = found
        .iter()
        .filter_map(|v| {
            let nickname = v.get("mailNickname")?.as_str()?;
            let p = Purpose::of_nickname(nickname, &key)?;
            Some((parse::<Group>(v)?, p))
        })
        .collect();
    let reads = mine.into_iter().map(|(g, purpose)| async move {
        let what = format!("read the members of record group \"{}\"", g.display_name);
        let values = l
            .list(group::members(&g.id, what.clone()))
            .await
            .map_err(ReadError::of(what))?;
        let members = parsed::<Member>(values)
            .into_iter()
            .map(|m| RecordMember {
                label: m
                    .user_principal_name
                    .clone()
                    .unwrap_or_else(|| m.id.to_lowercase()),
                id: m.id.to_lowercase(),
                is_group: m.is_group(),
            })
            .collect();
        Ok::<_, ReadError>(RecordGroup {
            id: g.id.to_lowercase(),
            purpose,
            members,
        })
    });
    let spec_reads_policies = d.password_sign_in()
        || d.mfa
            .as_ref()
            .is_some_and(|m| m.manages_conditional_access());
    let records_exclusions = found.iter().any(|v| {
        v.get("mailNickname")
            .and_then(Value::as_str)
            .and_then(|n| Purpose::of_nickname(n, &key))
            .is_some_and(|p| matches!(p, Purpose::CaExclusion(_)))
    });
    let policies = async {
        let needed = d.destroying() || records_exclusions || app_exists.await;
        if spec_reads_policies || !needed {
            return Ok(None);
        }
        let what =
            "read the conditional access policies (to take out the exclusions entractl added)";
        let values = l.list(ca::list()).await.map_err(ReadError::of(what))?;
        Ok::<_, ReadError>(Some(
            values.into_iter().map(ConditionalAccessPolicy).collect(),
        ))
    };
    let (groups, policies) = tokio::join!(join_all(reads), policies);
    let mut out = ObservedRecords::default();
    for g in groups {
        out.groups.push(g?);
    }
    out.groups.sort_by(|a, b| a.purpose.cmp(&b.purpose));
    let users: Vec<&RecordMember> = out
        .entries(|p| matches!(p, Purpose::PerUserMfa(_)))
        .map(|(_, m)| m)
        .filter(|m| !m.is_group)
        .collect();
    let states = users.into_iter().map(|m| async move {
        let req = requirements::get(&m.id, &m.label);
        let what = req.label_text().unwrap_or_default().to_string();
        match l.get(req).await {
            Ok(v) => Ok(Some((
                m.id.clone(),
                parse::<Requirements>(&v)
                    .map(|q| q.per_user_mfa_state)
                    .unwrap_or_else(|| requirements::DISABLED.to_string()),
            ))),
            // A recorded user deleted since: nothing to restore.
            Err(e) if e.is_not_found() => Ok(None),
            Err(source) => Err(ReadError { what, source }),
        }
    });
    for s in join_all(states).await {
        if let Some((id, state)) = s? {
            out.mfa_states.insert(id, state);
        }
    }
    Ok((out, policies?))
}
