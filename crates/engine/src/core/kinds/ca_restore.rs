//! Undoing the identity exclusions entractl added to conditional access policies, once the spec
//! no longer needs them (the users or groups left the assignments, `excludeUsers` no longer
//! selects the policy, or the policy no longer asks the sign-in for MFA): only the users and
//! groups the record says entractl added ([`super::record`]) are ever taken out of
//! `excludeUsers`/`excludeGroups` — an administrator's own exclusion (a break-glass account) is
//! never touched.

use std::collections::BTreeMap;

use entractl_graph::resource::conditional_access_policy::{
    ConditionalAccessPolicy as Policy, Exclusion,
};
use serde_json::{Value, json};

use super::kind::PlanOut;
use super::record::release;
use crate::core::observed::{ObservedRecords, Purpose, RecordGroup, RecordMember};
use crate::core::plan::{Action, Change, FieldChange, ObjectKind, ObjectRef};

/// One recorded identity the plan takes out of a policy's exclusions.
#[derive(Debug, Clone)]
pub struct Removal<'a> {
    pub group: &'a RecordGroup,
    pub member: &'a RecordMember,
}

impl Removal<'_> {
    pub fn list(&self) -> Exclusion {
        if self.member.is_group {
            Exclusion::Groups
        } else {
            Exclusion::Users
        }
    }
}

/// The recorded identities no longer wanted, by policy id (lower case); `wanted(policy, id)`
/// says whether the plan still excludes an identity from a policy.
pub fn unwanted<'a>(
    records: &'a ObservedRecords,
    wanted: impl Fn(&str, &str) -> bool,
) -> BTreeMap<String, Vec<Removal<'a>>> {
    let mut out: BTreeMap<String, Vec<Removal<'a>>> = BTreeMap::new();
    for group in &records.groups {
        let Purpose::CaExclusion(policy) = &group.purpose else {
            continue;
        };
        for member in &group.members {
            if !wanted(policy, &member.id) {
                out.entry(policy.to_lowercase())
                    .or_default()
                    .push(Removal { group, member });
            }
        }
    }
    out
}

/// The removals of `policy`, when any.
pub fn of<'r, 'a>(
    removals: &'r BTreeMap<String, Vec<Removal<'a>>>,
    policy: &Policy,
) -> &'r [Removal<'a>] {
    removals
        .get(&policy.id().to_lowercase())
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// The exclusion lists of `policy` without the removed identities (only lists that change).
pub fn removal_patch(policy: &Policy, removals: &[Removal<'_>]) -> Option<Value> {
    let mut body = json!({"conditions": {"users": {}}});
    let mut changed = false;
    for list in [Exclusion::Users, Exclusion::Groups] {
        let (_, key) = list.path();
        let have = policy.users(key);
        let kept: Vec<&str> = have
            .iter()
            .copied()
            .filter(|id| {
                !removals
                    .iter()
                    .any(|r| r.list() == list && r.member.id.eq_ignore_ascii_case(id))
            })
            .collect();
        if kept.len() != have.len() {
            body["conditions"]["users"][key] = json!(kept);
            changed = true;
        }
    }
    changed.then_some(body)
}

/// The policies as the restore leaves them (the views the remedies are planned on).
pub fn without(policies: &[Policy], removals: &BTreeMap<String, Vec<Removal<'_>>>) -> Vec<Policy> {
    policies
        .iter()
        .map(|p| match removal_patch(p, of(removals, p)) {
            Some(patch) => p.patched(&patch),
            None => p.clone(),
        })
        .collect()
}

/// The words for the identities a change takes out of a policy's exclusions.
pub fn restore_text(removals: &[Removal<'_>], present: impl Fn(&Removal<'_>) -> bool) -> String {
    let names: Vec<String> = removals
        .iter()
        .filter(|r| present(r))
        .map(|r| r.member.label.clone())
        .collect();
    format!(
        "restore: entractl added {} to this policy's exclusions (as the record it kept in the tenant says), and the spec no longer needs them excluded: they are taken out, so the policy applies to them again; other exclusions are left as they are",
        names.join(", ")
    )
}

/// A change that only takes recorded identities out of a policy's exclusions (no downgrade).
pub fn restore_only(policy: &Policy, removals: &[Removal<'_>]) -> Option<Change> {
    let payload = removal_patch(policy, removals)?;
    let mut fields = Vec::new();
    for list in [Exclusion::Users, Exclusion::Groups] {
        let (section, key) = list.path();
        if let Some(after) = payload.pointer(&format!("/conditions/{section}/{key}")) {
            fields.push(FieldChange {
                path: format!("conditions.{section}.{key}"),
                before: json!(policy.users(key)),
                after: after.clone(),
            });
        }
    }
    let object = ObjectRef {
        kind: ObjectKind::ConditionalAccessPolicy,
        key: policy.id().to_string(),
        display: policy.display_name().to_string(),
        id: Some(policy.id().to_string()),
    };
    let present = |r: &Removal<'_>| list_has(policy, r.list(), &r.member.id);
    let mut c = Change::new(object, Action::Update, restore_text(removals, present));
    c.fields = fields;
    c.payload = payload;
    Some(c)
}

/// Whether `id` is in a policy's exclusion list.
pub fn list_has(policy: &Policy, list: Exclusion, id: &str) -> bool {
    let (_, key) = list.path();
    policy.users(key).iter().any(|x| x.eq_ignore_ascii_case(id))
}

/// Releases the record of every removal (after the restores).
pub fn release_all(out: &mut PlanOut, removals: &BTreeMap<String, Vec<Removal<'_>>>) {
    for list in removals.values() {
        for r in list {
            release(
                out,
                r.group,
                r.member,
                "restored: the identity is out of the policy's exclusions (or was taken out by someone already)",
            );
        }
    }
}
