//! The invariants checked after every run, from the emulator's state and request log and from the
//! journal directory.

use std::collections::BTreeMap;

use serde_json::Value;

pub use crate::journal_check::{JournalEntry, journal, read_journal};
use crate::snapshot::{PlanObjects, Snapshot, prop};
use crate::violation::v;

/// Whether a group is one of entractl's record groups (by its mailNickname).
fn record_group(record: &Value) -> bool {
    prop(record, "mailNickname").is_some_and(|n| n.starts_with("entractl-record-"))
}
pub use crate::violation::{Invariant, Violation};

/// Duplicates in the final state (and objects created then deleted, which would hide one).
pub fn duplicates(before: &Snapshot, after: &Snapshot) -> Vec<Violation> {
    let mut out = Vec::new();
    let new_ids = |c: &str| -> Vec<String> {
        after
            .objects(c)
            .filter(|(id, _)| !before.collections[c].contains_key(*id))
            .map(|(id, _)| id.clone())
            .collect()
    };
    for c in ["applications", "servicePrincipals"] {
        let n = new_ids(c);
        if n.len() > 1 {
            out.push(v(
                Invariant::NoDuplicates,
                format!("{} new {c}: {}", n.len(), n.join(", ")),
            ));
        }
    }
    let lower = |s: Option<&str>| s.map(str::to_ascii_lowercase);
    keyed(after, &mut out, "applications", "uniqueName", &|r| {
        lower(prop(r, "uniqueName"))
    });
    keyed(after, &mut out, "servicePrincipals", "appId", &|r| {
        lower(prop(r, "appId"))
    });
    for c in ["applications", "servicePrincipals"] {
        let tags = |r: &Value| -> Vec<String> {
            Snapshot::graph_obj(r)
                .get("tags")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .filter(|t| t.starts_with("entractl:"))
                .map(str::to_ascii_lowercase)
                .collect()
        };
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for (_, rec) in after.objects(c) {
            for t in tags(rec) {
                *seen.entry(t).or_default() += 1;
            }
        }
        for (t, n) in seen {
            if n > 1 {
                out.push(v(
                    Invariant::NoDuplicates,
                    format!("{n} {c} carry the tag {t}"),
                ));
            }
        }
    }
    keyed(
        after,
        &mut out,
        "oauth2PermissionGrants",
        "(client, resource, consentType, principal)",
        &|r| {
            Some(format!(
                "({}, {}, {}, {})",
                lower(prop(r, "clientId")).unwrap_or_default(),
                lower(prop(r, "resourceId")).unwrap_or_default(),
                prop(r, "consentType").unwrap_or_default(),
                lower(prop(r, "principalId")).unwrap_or_default()
            ))
        },
    );
    keyed(
        after,
        &mut out,
        "appRoleAssignments",
        "(principal, resource, appRole)",
        &|r| {
            Some(format!(
                "({}, {}, {})",
                lower(prop(r, "principalId")).unwrap_or_default(),
                lower(prop(r, "resourceId")).unwrap_or_default(),
                lower(prop(r, "appRoleId")).unwrap_or_default()
            ))
        },
    );
    let deleted = new_ids("deletedItems");
    if !deleted.is_empty() {
        out.push(v(
            Invariant::NoDuplicates,
            format!(
                "objects were deleted (a duplicate removed, or an unplanned delete): {}",
                deleted.join(", ")
            ),
        ));
    }
    out
}

/// Objects of `c` that share a key.
fn keyed(
    after: &Snapshot,
    out: &mut Vec<Violation>,
    c: &str,
    what: &str,
    key: &dyn Fn(&Value) -> Option<String>,
) {
    let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (id, rec) in after.objects(c) {
        if let Some(k) = key(rec) {
            seen.entry(k).or_default().push(id.clone());
        }
    }
    for (k, ids) in seen {
        if ids.len() > 1 {
            out.push(v(
                Invariant::NoDuplicates,
                format!("{} {c} share the {what} {k}: {}", ids.len(), ids.join(", ")),
            ));
        }
    }
}

/// A policy with the parts the apply may change blanked out.
fn policy_without_exclusions(rec: &Value) -> Value {
    let mut r = rec.clone();
    if let Some(obj) = r.get_mut("obj").and_then(Value::as_object_mut) {
        obj.remove("modifiedDateTime");
        if let Some(apps) = obj
            .get_mut("conditions")
            .and_then(|c| c.get_mut("applications"))
            .and_then(Value::as_object_mut)
        {
            apps.remove("excludeApplications");
        }
    }
    r
}

/// A user with its per-user MFA state blanked out.
fn user_without_mfa(rec: &Value) -> Value {
    let mut r = rec.clone();
    if let Some(i) = r.get_mut("internal").and_then(Value::as_object_mut) {
        i.remove("perUserMfaState");
    }
    r
}

/// Changes between `before` and `after` that the plan does not explain.
pub fn outside_plan(before: &Snapshot, after: &Snapshot, plan: &PlanObjects) -> Vec<Violation> {
    let mut out = Vec::new();
    let managed_app = after
        .objects("applications")
        .find(|(_, r)| {
            plan.app_key
                .as_deref()
                .is_some_and(|k| prop(r, "uniqueName").is_some_and(|u| u.eq_ignore_ascii_case(k)))
        })
        .and_then(|(_, r)| prop(r, "appId"))
        .map(str::to_ascii_lowercase);
    let managed_sp = after
        .objects("servicePrincipals")
        .find(|(_, r)| {
            managed_app.is_some() && prop(r, "appId").map(str::to_ascii_lowercase) == managed_app
        })
        .map(|(id, _)| id.to_ascii_lowercase());
    let eq_lower = |a: Option<&str>, b: &Option<String>| {
        a.map(str::to_ascii_lowercase).as_ref() == b.as_ref() && b.is_some()
    };
    for c in crate::snapshot::COLLECTIONS {
        if *c == "deletedItems" {
            continue; // duplicates() reports new deleted items
        }
        let empty = BTreeMap::new();
        let b = before.collections.get(*c).unwrap_or(&empty);
        let a = after.collections.get(*c).unwrap_or(&empty);
        for (id, rec) in a {
            match b.get(id) {
                None => {
                    let ok = match *c {
                        "applications" => {
                            plan.creates.contains("application")
                                && plan.app_key.as_deref().is_some_and(|k| {
                                    prop(rec, "uniqueName")
                                        .is_some_and(|u| u.eq_ignore_ascii_case(k))
                                })
                        }
                        "servicePrincipals" => {
                            plan.creates.contains("servicePrincipal")
                                && eq_lower(prop(rec, "appId"), &managed_app)
                        }
                        "oauth2PermissionGrants" => {
                            plan.creates.contains("oauth2PermissionGrant")
                                && eq_lower(prop(rec, "clientId"), &managed_sp)
                        }
                        "appRoleAssignments" => {
                            let assigned = plan.creates.contains("appRoleAssignment")
                                && eq_lower(prop(rec, "resourceId"), &managed_sp)
                                && prop(rec, "principalId").is_some_and(|p| {
                                    plan.assigned_principals.contains(&p.to_ascii_lowercase())
                                });
                            // An application permission granted to the managed app.
                            let granted = plan.granted_roles.contains(&(
                                prop(rec, "resourceId").unwrap_or("").to_ascii_lowercase(),
                                prop(rec, "appRoleId").unwrap_or("").to_ascii_lowercase(),
                            )) && eq_lower(prop(rec, "principalId"), &managed_sp);
                            assigned || granted
                        }
                        // A record group (entractl's record of what it weakened).
                        "groups" => plan.creates.contains("recordGroup") && record_group(rec),
                        _ => false,
                    };
                    if !ok {
                        out.push(v(
                            Invariant::OnlyPlannedChanges,
                            format!("{c}/{id} was created but the plan does not create it"),
                        ));
                    }
                }
                Some(prev) if prev != rec => {
                    let kind = match *c {
                        "users" => "perUserMfa",
                        "applications" => "application",
                        "servicePrincipals" => "servicePrincipal",
                        "oauth2PermissionGrants" => "oauth2PermissionGrant",
                        "appRoleAssignments" => "appRoleAssignment",
                        "conditionalAccessPolicies" => "conditionalAccessPolicy",
                        _ => "",
                    };
                    let recorded = *c == "groups"
                        && record_group(rec)
                        && (plan.creates.contains("record")
                            || plan.touched.values().any(|(k, _)| k == "record"));
                    if !recorded && !plan.touches(id, kind) {
                        out.push(v(
                            Invariant::OnlyPlannedChanges,
                            format!("{c}/{id} changed but the plan does not change it"),
                        ));
                    } else if *c == "conditionalAccessPolicies"
                        && policy_without_exclusions(prev) != policy_without_exclusions(rec)
                    {
                        out.push(v(
                            Invariant::PolicyOnlyExclusions,
                            format!(
                                "conditional access policy {id} changed beyond excludeApplications"
                            ),
                        ));
                    } else if *c == "users" && user_without_mfa(prev) != user_without_mfa(rec) {
                        out.push(v(
                            Invariant::OnlyPlannedChanges,
                            format!("user {id} changed beyond its per-user MFA state"),
                        ));
                    }
                }
                Some(_) => {}
            }
        }
        for id in b.keys() {
            if !a.contains_key(id) {
                let planned_delete = plan
                    .touched
                    .get(&id.to_ascii_lowercase())
                    .is_some_and(|(_, action)| action == "delete");
                if !planned_delete {
                    out.push(v(
                        Invariant::OnlyPlannedChanges,
                        format!("{c}/{id} disappeared but the plan does not delete it"),
                    ));
                }
            }
        }
    }
    for (k, bv) in &before.singletons {
        let av = after.singletons.get(k).unwrap_or(&Value::Null);
        if av != bv {
            let planned = k == "securityDefaults"
                && plan
                    .touched
                    .values()
                    .any(|(kind, _)| kind == "securityDefaults");
            if !planned {
                out.push(v(
                    Invariant::OnlyPlannedChanges,
                    format!("{k} changed but the plan does not change it"),
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};
    use graph_emulator::LogEntry;
    use serde_json::json;

    #[test]
    fn record_groups_are_recognised_by_their_mail_nickname() {
        let rec =
            json!({"obj": {"id": "G", "mailNickname": "entractl-record-mfa-enforced-0011aabb"}});
        assert!(record_group(&rec));
        let other = json!({"obj": {"id": "G", "mailNickname": "sales"}});
        assert!(!record_group(&other));
    }

    fn snap(v: Value) -> Snapshot {
        Snapshot::from_tenant_json(&v)
    }

    fn log(method: &str, path: &str, ts: &str) -> LogEntry {
        LogEntry {
            seq: 0,
            timestamp: ts.into(),
            elapsed_ms: 0,
            method: method.into(),
            path: path.into(),
            template: "/v1.0/x".into(),
            status: 204,
            tenant: None,
            batch_id: None,
        }
    }

    fn entry(id: &str, at: &str) -> JournalEntry {
        JournalEntry {
            file: "f".into(),
            written: DateTime::parse_from_rfc3339(at)
                .unwrap()
                .with_timezone(&Utc),
            kind: "conditionalAccessPolicy".into(),
            key: id.into(),
            id: Some(id.into()),
            action: "update".into(),
            has_before: true,
        }
    }

    #[test]
    fn duplicate_apps_grants_and_assignments_are_found() {
        let before = snap(json!({"applications": {}}));
        let after = snap(json!({
            "applications": {
                "a1": {"obj": {"id": "a1", "uniqueName": "kp", "tags": ["entractl:kp"]}},
                "a2": {"obj": {"id": "a2", "uniqueName": null, "tags": ["entractl:kp"]}}
            },
            "oauth2PermissionGrants": {
                "g1": {"obj": {"clientId": "C", "resourceId": "R", "consentType": "AllPrincipals", "principalId": null}},
                "g2": {"obj": {"clientId": "c", "resourceId": "r", "consentType": "AllPrincipals", "principalId": null}}
            },
            "appRoleAssignments": {
                "x1": {"obj": {"principalId": "P", "resourceId": "S", "appRoleId": "0"}},
                "x2": {"obj": {"principalId": "P", "resourceId": "S", "appRoleId": "0"}},
                "x3": {"obj": {"principalId": "Q", "resourceId": "S", "appRoleId": "0"}}
            }
        }));
        let d = duplicates(&before, &after);
        let text = format!("{d:?}");
        assert!(text.contains("2 new applications"), "{text}");
        assert!(text.contains("tag entractl:kp"), "{text}");
        assert!(text.contains("oauth2PermissionGrants share"), "{text}");
        assert!(text.contains("appRoleAssignments share"), "{text}");
        assert!(
            duplicates(&after, &after).len() == 3,
            "pre-existing duplicates are still reported"
        );
        assert!(duplicates(&before, &before).is_empty());
    }

    #[test]
    fn unplanned_and_beyond_exclusion_changes_are_found() {
        let pol = |excl: Value, state: &str| {
            json!({"obj": {"id": "P", "state": state, "modifiedDateTime": "x",
                "conditions": {"applications": {"includeApplications": ["All"], "excludeApplications": excl}}}})
        };
        let before = snap(json!({
            "conditionalAccessPolicies": {"P": pol(json!([]), "enabled"), "Q": pol(json!([]), "enabled")},
            "groups": {"G": {"obj": {"id": "G"}}}
        }));
        let plan = PlanObjects::from_plan_json(&json!({"changes": [
            {"object": {"kind": "conditionalAccessPolicy", "key": "P", "id": "P"}, "action": "update"}
        ]}));
        let ok = snap(json!({
            "conditionalAccessPolicies": {"P": pol(json!(["app"]), "enabled"), "Q": pol(json!([]), "enabled")},
            "groups": {"G": {"obj": {"id": "G"}}}
        }));
        assert!(outside_plan(&before, &ok, &plan).is_empty());
        let beyond = snap(json!({
            "conditionalAccessPolicies": {"P": pol(json!(["app"]), "disabled"), "Q": pol(json!([]), "enabled")},
            "groups": {"G": {"obj": {"id": "G"}}}
        }));
        let d = outside_plan(&before, &beyond, &plan);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].invariant, Invariant::PolicyOnlyExclusions);
        let unplanned = snap(json!({
            "conditionalAccessPolicies": {"P": pol(json!([]), "enabled"), "Q": pol(json!(["app"]), "enabled")},
            "groups": {}
        }));
        let d = outside_plan(&before, &unplanned, &plan);
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(
            d.iter()
                .all(|x| x.invariant == Invariant::OnlyPlannedChanges)
        );
    }

    #[test]
    fn writes_need_a_journal_entry_written_before_them() {
        let s = snap(json!({}));
        let l = vec![log(
            "PATCH",
            "/identity/conditionalAccess/policies/p1",
            "2026-01-01T00:00:01.000Z",
        )];
        assert!(journal(&l, &[entry("p1", "2026-01-01T00:00:00.900Z")], &s, &s).is_empty());
        assert!(journal(&l, &[entry("p1", "2026-01-01T00:00:01.000Z")], &s, &s).is_empty());
        let late = journal(&l, &[entry("p1", "2026-01-01T00:00:01.200Z")], &s, &s);
        assert_eq!(late.len(), 1);
        assert!(late[0].detail.contains("1 later or unrelated"));
        assert_eq!(
            journal(&l, &[entry("p2", "2026-01-01T00:00:00Z")], &s, &s).len(),
            1
        );
        assert_eq!(journal(&l, &[], &s, &s).len(), 1);
        // GETs and POSTs need no entry.
        let gets = vec![log("GET", "/applications", "2026-01-01T00:00:01Z")];
        assert!(journal(&gets, &[], &s, &s).is_empty());
    }

    #[test]
    fn changed_objects_need_their_prior_state_journaled() {
        let before = snap(
            json!({"users": {"u1": {"obj": {"id": "u1"}, "internal": {"perUserMfaState": "enforced"}}}}),
        );
        let after = snap(
            json!({"users": {"u1": {"obj": {"id": "u1"}, "internal": {"perUserMfaState": "disabled"}}}}),
        );
        let d = journal(&[], &[], &before, &after);
        assert_eq!(d.len(), 1);
        let mut e = entry("u1", "2026-01-01T00:00:00Z");
        e.kind = "perUserMfa".into();
        assert!(journal(&[], &[e.clone()], &before, &after).is_empty());
        e.has_before = false;
        assert_eq!(journal(&[], &[e], &before, &after).len(), 1);
    }
}
