//! The invariants checked after every run, from the emulator's state and request log and from the
//! journal directory.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use graph_emulator::LogEntry;
use serde_json::Value;

use crate::snapshot::{PlanObjects, Snapshot, prop};

/// Which invariant a violation breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Invariant {
    /// No duplicate application, service principal, grant or assignment.
    NoDuplicates,
    /// No change to an object the plan did not name.
    OnlyPlannedChanges,
    /// Conditional access policies differ only in `excludeApplications`.
    PolicyOnlyExclusions,
    /// Every PATCH/DELETE has a journal entry with the prior state, written before it.
    JournalBeforeWrite,
    /// The rerun without faults converges: `plan --detailed-exitcode` exits 0.
    Converges,
    /// Every entractl process ends on its own (no hang).
    Terminates,
}

impl Invariant {
    /// Every invariant, in report order.
    pub const ALL: [Invariant; 6] = [
        Invariant::NoDuplicates,
        Invariant::OnlyPlannedChanges,
        Invariant::PolicyOnlyExclusions,
        Invariant::JournalBeforeWrite,
        Invariant::Converges,
        Invariant::Terminates,
    ];

    /// How the report names it.
    pub fn describe(self) -> &'static str {
        match self {
            Invariant::NoDuplicates => {
                "no duplicate application, service principal, grant or assignment"
            }
            Invariant::OnlyPlannedChanges => "no change outside the plan",
            Invariant::PolicyOnlyExclusions => {
                "conditional access policies differ only in excludeApplications"
            }
            Invariant::JournalBeforeWrite => {
                "every PATCH/DELETE has a journal entry with the prior state, written before it"
            }
            Invariant::Converges => "the rerun converges to an empty plan",
            Invariant::Terminates => "entractl ends on its own (no hang)",
        }
    }
}

/// One broken invariant, with what and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Which invariant.
    pub invariant: Invariant,
    /// What was seen.
    pub detail: String,
}

fn v(invariant: Invariant, detail: impl Into<String>) -> Violation {
    Violation {
        invariant,
        detail: detail.into(),
    }
}

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
                            plan.creates.contains("appRoleAssignment")
                                && eq_lower(prop(rec, "resourceId"), &managed_sp)
                                && prop(rec, "principalId").is_some_and(|p| {
                                    plan.assigned_principals.contains(&p.to_ascii_lowercase())
                                })
                        }
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
                    if !plan.touches(id, kind) {
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

/// One journal file.
#[derive(Debug, Clone)]
pub struct JournalEntry {
    /// The file.
    pub file: String,
    /// When it was first written (birth time where the filesystem has it, else modification time).
    pub written: DateTime<Utc>,
    /// `kind` of the entry.
    pub kind: String,
    /// `key` of the entry.
    pub key: String,
    /// Object id (absent for creates).
    pub id: Option<String>,
    /// `action` of the entry.
    pub action: String,
    /// Whether `before` holds an object.
    pub has_before: bool,
}

/// Reads every entry under a journal root (all applies of a run).
pub fn read_journal(root: &Path) -> Vec<JournalEntry> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            if p.extension().and_then(|x| x.to_str()) != Some("json") {
                continue;
            }
            let Ok(meta) = std::fs::metadata(&p) else {
                continue;
            };
            let t = meta.created().or_else(|_| meta.modified());
            let Ok(t) = t else { continue };
            let Ok(text) = std::fs::read_to_string(&p) else {
                continue;
            };
            // A file cut short by SIGKILL is not an entry (its write never completed).
            let Ok(j) = serde_json::from_str::<Value>(&text) else {
                continue;
            };
            let s = |k: &str| j.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            out.push(JournalEntry {
                file: p.display().to_string(),
                written: DateTime::<Utc>::from(t),
                kind: s("kind"),
                key: s("key"),
                id: j
                    .get("id")
                    .and_then(Value::as_str)
                    .filter(|x| !x.is_empty())
                    .map(str::to_ascii_lowercase),
                action: s("action"),
                has_before: j.get("before").is_some_and(|b| !b.is_null()),
            });
        }
    }
    out
}

fn entry_matches(j: &JournalEntry, path_lower: &str) -> bool {
    if let Some(id) = &j.id
        && path_lower.contains(id.as_str())
    {
        return true;
    }
    if j.kind == "application"
        && path_lower.contains(&format!("uniquename='{}'", j.key.to_ascii_lowercase()))
    {
        return true;
    }
    j.kind == "securityDefaults" && path_lower.contains("identitysecuritydefaultsenforcementpolicy")
}

/// Truncates to whole milliseconds (the request log's precision).
fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// Every PATCH/DELETE in the request log has a journal entry for its object, written no later than
/// the request was logged; every object the run changed or removed has its prior state journaled.
pub fn journal(
    log: &[LogEntry],
    entries: &[JournalEntry],
    before: &Snapshot,
    after: &Snapshot,
) -> Vec<Violation> {
    let mut out = Vec::new();
    for e in log {
        if !(e.method == "PATCH" || e.method == "DELETE") || e.template.starts_with("/_emulator") {
            continue;
        }
        let Ok(at) = DateTime::parse_from_rfc3339(&e.timestamp) else {
            out.push(v(
                Invariant::JournalBeforeWrite,
                format!("request log timestamp `{}` does not parse", e.timestamp),
            ));
            continue;
        };
        let at = ms(at.with_timezone(&Utc));
        let path = e.path.to_ascii_lowercase();
        let matching: Vec<&JournalEntry> =
            entries.iter().filter(|j| entry_matches(j, &path)).collect();
        let in_time = matching.iter().any(|j| ms(j.written) <= at);
        if !in_time {
            out.push(v(
                Invariant::JournalBeforeWrite,
                format!(
                    "{} {} (status {}, logged {}) has no journal entry written before it ({} later or unrelated)",
                    e.method,
                    e.path,
                    e.status,
                    e.timestamp,
                    matching.len()
                ),
            ));
        }
    }
    for (c, objs) in &before.collections {
        if c == "deletedItems" {
            continue;
        }
        for (id, rec) in objs {
            let changed = after.collections.get(c).and_then(|a| a.get(id)) != Some(rec);
            if !changed {
                continue;
            }
            let idl = id.to_ascii_lowercase();
            let journaled = entries
                .iter()
                .any(|j| j.id.as_deref() == Some(idl.as_str()) && j.has_before);
            if !journaled {
                out.push(v(
                    Invariant::JournalBeforeWrite,
                    format!("{c}/{id} changed but no journal entry holds its prior state"),
                ));
            }
        }
    }
    if before.singletons.get("securityDefaults") != after.singletons.get("securityDefaults")
        && !entries
            .iter()
            .any(|j| j.kind == "securityDefaults" && j.has_before)
    {
        out.push(v(
            Invariant::JournalBeforeWrite,
            "security defaults changed but no journal entry holds their prior state",
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
