//! The record of what entractl weakened (docs/decisions.md): entractl's record groups, found by
//! mailNickname in the first wave; the members of the managed app's record groups in the second;
//! the per-user MFA state of the users recorded under per-user MFA in the third (with the other
//! per-user reads). No wave of its own. When the spec itself reads no conditional access
//! policies (Web Login, no `mfa` section) but the app (or a placeholder app entractl made for it)
//! exists or entractl keeps a record of identities it added to a policy's exclusions, the
//! policies are read too, with the record's
//! members (second wave), so that the plan can take out what entractl excluded (the app by its
//! appId, the identities by the record). When the app's security defaults record has members
//! and the spec reads no security defaults of its own (Web Login without an `mfa` section,
//! destroy), they are read in the second wave, with the members of other apps' security defaults
//! record groups (security defaults are tenant-wide: another app's record keeps them off).

use entractl_graph::Loader;
use entractl_graph::resource::authentication_requirements::{self as requirements, Requirements};
use entractl_graph::resource::conditional_access_policy::{self as ca, ConditionalAccessPolicy};
use entractl_graph::resource::group::{self, Group, Member};
use entractl_graph::resource::parse;
use entractl_graph::resource::security_defaults::{self as sd, SecurityDefaults};
use futures_util::future::join_all;
use serde_json::Value;

use super::common::parsed;
use crate::core::desired::Desired;
use crate::core::observed::{ObservedRecords, OtherRecord, Purpose, RecordGroup, RecordMember};
use crate::error::ReadError;

/// What only a restore needs read, when the spec reads none of it itself.
#[derive(Debug, Default)]
pub struct RestoreReads {
    /// The conditional access policies (to take out what entractl excluded).
    pub policies: Option<Vec<ConditionalAccessPolicy>>,
    /// The security defaults (to turn back on what entractl turned off).
    pub security_defaults: Option<SecurityDefaults>,
}

/// Reads the managed app's records, and what only a restore needs (`app_exists`: the app or a
/// placeholder app made for it was found).
pub async fn read(
    l: &Loader,
    d: &Desired,
    app_exists: impl Future<Output = bool>,
) -> Result<(ObservedRecords, RestoreReads), ReadError> {
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
    let (others, security_defaults) =
        tokio::join!(others(l, &found, &key, &out), security_defaults(l, d, &out));
    out.other_security_defaults = others?;
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
    let restore = RestoreReads {
        policies: policies?,
        security_defaults: security_defaults?,
    };
    Ok((out, restore))
}

/// Whether the app's security defaults record has members.
fn records_security_defaults(records: &ObservedRecords) -> bool {
    records
        .group(&Purpose::SecurityDefaults)
        .is_some_and(|g| !g.members.is_empty())
}

/// The security defaults, when the app's record says entractl turned them off and the spec
/// does not read them itself (it reads them with its `mfa` section, or for password sign-in).
async fn security_defaults(
    l: &Loader,
    d: &Desired,
    records: &ObservedRecords,
) -> Result<Option<SecurityDefaults>, ReadError> {
    let spec_reads = d.mfa.is_some() || d.password_sign_in();
    if spec_reads || !records_security_defaults(records) {
        return Ok(None);
    }
    let v = l
        .get(sd::get())
        .await
        .map_err(ReadError::of("read the security defaults"))?;
    Ok(parse(&v))
}

/// Other apps' security defaults record groups and how many members each has, when the app's
/// own has members (a restore is then possible).
async fn others(
    l: &Loader,
    found: &[Value],
    key: &str,
    records: &ObservedRecords,
) -> Result<Vec<OtherRecord>, ReadError> {
    if !records_security_defaults(records) {
        return Ok(Vec::new());
    }
    let groups: Vec<Group> = found
        .iter()
        .filter(|v| {
            v.get("mailNickname")
                .and_then(Value::as_str)
                .is_some_and(|n| Purpose::is_others_security_defaults(n, key))
        })
        .filter_map(parse::<Group>)
        .collect();
    let reads = groups.into_iter().map(|g| async move {
        let what = format!("read the members of record group \"{}\"", g.display_name);
        let members = l
            .list(group::members(&g.id, what.clone()))
            .await
            .map_err(ReadError::of(what))?;
        Ok::<_, ReadError>(OtherRecord {
            id: g.id.to_lowercase(),
            display_name: g.display_name,
            members: members.len(),
        })
    });
    join_all(reads).await.into_iter().collect()
}
