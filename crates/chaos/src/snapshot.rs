//! The tenant as data: every directory object by collection and id, and the objects a plan names.

use std::collections::{BTreeMap, BTreeSet};

use graph_emulator::RunningEmulator;
use serde_json::Value;

/// Collections compared object by object.
pub const COLLECTIONS: &[&str] = &[
    "users",
    "groups",
    "applications",
    "servicePrincipals",
    "oauth2PermissionGrants",
    "appRoleAssignments",
    "conditionalAccessPolicies",
    "deletedItems",
];

/// Single objects of the tenant compared whole.
pub const SINGLETONS: &[&str] = &[
    "organization",
    "subscribedSkus",
    "securityDefaults",
    "license",
];

/// One tenant's state: collection → id → stored record (`{"obj", "internal"}`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// Objects per collection.
    pub collections: BTreeMap<String, BTreeMap<String, Value>>,
    /// The single objects.
    pub singletons: BTreeMap<String, Value>,
}

impl Snapshot {
    /// The first tenant of a running emulator.
    pub fn take(emu: &RunningEmulator) -> Snapshot {
        let v = emu.with_tenant(|t| serde_json::to_value(&*t).unwrap_or(Value::Null));
        Snapshot::from_tenant_json(&v)
    }

    /// From the tenant JSON the emulator serialises (`GET /_emulator/state` shape of one tenant).
    pub fn from_tenant_json(v: &Value) -> Snapshot {
        let mut s = Snapshot::default();
        for c in COLLECTIONS {
            let items = v
                .get(*c)
                .and_then(Value::as_object)
                .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default();
            s.collections.insert((*c).to_string(), items);
        }
        for k in SINGLETONS {
            s.singletons
                .insert((*k).to_string(), v.get(*k).cloned().unwrap_or(Value::Null));
        }
        s
    }

    /// The objects of a collection.
    pub fn objects(&self, collection: &str) -> impl Iterator<Item = (&String, &Value)> {
        self.collections.get(collection).into_iter().flatten()
    }

    /// The Graph object (`obj`) of a record.
    pub fn graph_obj(record: &Value) -> &Value {
        record.get("obj").unwrap_or(record)
    }
}

/// A string property of a record's Graph object.
pub fn prop<'a>(record: &'a Value, key: &str) -> Option<&'a str> {
    Snapshot::graph_obj(record).get(key).and_then(Value::as_str)
}

/// What a plan (`entractl plan --format json`) will do, as the invariants need it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlanObjects {
    /// The spec's key (`uniqueName`) of the managed application.
    pub app_key: Option<String>,
    /// Kinds the plan creates (`application`, `servicePrincipal`, …).
    pub creates: BTreeSet<String>,
    /// Object ids the plan updates, adopts or deletes, with their kind and action.
    pub touched: BTreeMap<String, (String, String)>,
    /// Principal ids the plan assigns (appRoleAssignment creates).
    pub assigned_principals: BTreeSet<String>,
    /// `(resourceId, appRoleId)` of the application permissions the plan grants
    /// (applicationPermissionGrant creates; the principal is the managed app's service principal).
    pub granted_roles: BTreeSet<(String, String)>,
    /// Number of changes that write (not `no-op`).
    pub writes: usize,
}

impl PlanObjects {
    /// Reads the JSON plan.
    pub fn from_plan_json(plan: &Value) -> PlanObjects {
        let mut p = PlanObjects::default();
        for c in plan
            .get("changes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let action = c.get("action").and_then(Value::as_str).unwrap_or("");
            let obj = c.get("object").cloned().unwrap_or(Value::Null);
            let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
            if kind == "application" {
                p.app_key = obj.get("key").and_then(Value::as_str).map(str::to_string);
            }
            if action == "no-op" {
                continue;
            }
            p.writes += 1;
            if action == "create" {
                p.creates.insert(kind.to_string());
                if kind == "appRoleAssignment"
                    && let Some(pid) = c
                        .get("payload")
                        .and_then(|b| b.get("principalId"))
                        .and_then(Value::as_str)
                {
                    p.assigned_principals.insert(pid.to_ascii_lowercase());
                }
                if kind == "applicationPermissionGrant" {
                    let body = c.get("payload").cloned().unwrap_or(Value::Null);
                    let s = |k: &str| {
                        body.get(k)
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_ascii_lowercase()
                    };
                    p.granted_roles.insert((s("resourceId"), s("appRoleId")));
                }
            } else if let Some(id) = obj.get("id").and_then(Value::as_str) {
                p.touched.insert(
                    id.to_ascii_lowercase(),
                    (kind.to_string(), action.to_string()),
                );
            }
        }
        p
    }

    /// Whether the plan updates, adopts or deletes the object with this id as `kind`.
    pub fn touches(&self, id: &str, kind: &str) -> bool {
        self.touched
            .get(&id.to_ascii_lowercase())
            .is_some_and(|(k, _)| k == kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plan_objects_from_json() {
        let plan = json!({"changes": [
            {"object": {"kind": "application", "key": "kp"}, "action": "create", "payload": {}},
            {"object": {"kind": "appRoleAssignment", "key": "kp → A"}, "action": "create", "payload": {"principalId": "A"}},
            {"object": {"kind": "applicationPermissionGrant", "key": "kp → G: R"}, "action": "create", "payload": {"principalId": null, "resourceId": "G", "appRoleId": "R"}},
            {"object": {"kind": "securityDefaults", "key": "s", "id": "S"}, "action": "no-op"},
            {"object": {"kind": "conditionalAccessPolicy", "key": "P", "id": "P"}, "action": "update"}
        ]});
        let p = PlanObjects::from_plan_json(&plan);
        assert_eq!(p.app_key.as_deref(), Some("kp"));
        assert_eq!(p.writes, 4);
        assert!(p.creates.contains("application"));
        assert!(p.assigned_principals.contains("a"));
        assert!(
            p.granted_roles
                .contains(&("g".to_string(), "r".to_string()))
        );
        assert!(p.touches("p", "conditionalAccessPolicy"));
        assert!(!p.touches("s", "securityDefaults"), "no-op is not a change");
    }

    #[test]
    fn snapshot_reads_collections_and_singletons() {
        let t = json!({"users": {"u1": {"obj": {"id": "u1"}}}, "securityDefaults": {"isEnabled": false}});
        let s = Snapshot::from_tenant_json(&t);
        assert_eq!(s.objects("users").count(), 1);
        assert_eq!(s.objects("groups").count(), 0);
        assert_eq!(
            s.singletons["securityDefaults"],
            json!({"isEnabled": false})
        );
    }
}
