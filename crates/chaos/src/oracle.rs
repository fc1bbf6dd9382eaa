//! Checks that do not trust entractl: the faulted tenant against a reference tenant (a fault-free
//! apply of the same spec on a fresh emulator with the same seed), compared object by object with
//! ids and timestamps replaced by stable names; and the spec's own facts read from the emulator's
//! state (the app, its service principal, the consented scopes, the assignments).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;

use crate::snapshot::{Snapshot, prop};
use crate::violation::{Invariant, Violation, v};

/// Microsoft Graph's appId (the resource of the spec's delegated permissions).
const MICROSOFT_GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

fn is_guid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Every id (and appId) of the tenant → a name that is the same in any emulator seeded alike.
fn labels(s: &Snapshot) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let named = |r: &Value, keys: &[&str]| {
        keys.iter()
            .find_map(|k| prop(r, k))
            .unwrap_or("?")
            .to_string()
    };
    for (collection, keys) in [
        ("users", &["userPrincipalName"][..]),
        ("groups", &["displayName"]),
        ("applications", &["uniqueName", "displayName"]),
        ("servicePrincipals", &["appDisplayName", "displayName"]),
        ("conditionalAccessPolicies", &["displayName"]),
    ] {
        for (id, r) in s.objects(collection) {
            let name = format!("{collection}:{}", named(r, keys));
            if let Some(app_id) = prop(r, "appId")
                && collection == "applications"
            {
                out.insert(app_id.to_string(), format!("appId:{name}"));
            }
            out.insert(id.clone(), name);
        }
    }
    out
}

/// A value with ids replaced by names, unknown GUIDs and timestamps blanked, keys sorted.
fn canonical(v: &Value, names: &BTreeMap<String, String>) -> Value {
    match v {
        Value::String(s) => match names.get(s) {
            Some(n) => Value::String(n.clone()),
            None if is_guid(s) => Value::String("[guid]".into()),
            None => v.clone(),
        },
        Value::Array(items) => {
            let mut items: Vec<Value> = items.iter().map(|i| canonical(i, names)).collect();
            items.sort_by_key(|i| i.to_string());
            Value::Array(items)
        }
        Value::Object(o) => {
            let sorted: BTreeMap<&String, Value> = o
                .iter()
                // Ids and times differ by design; OData annotations name the emulator's port.
                .filter(|(k, _)| {
                    k.as_str() != "id" && !k.ends_with("DateTime") && !k.contains("@odata.")
                })
                .map(|(k, v)| (k, canonical(v, names)))
                .collect();
            Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
        }
        other => other.clone(),
    }
}

/// Each collection as a sorted list of canonical objects.
pub fn normalize(s: &Snapshot) -> BTreeMap<String, Vec<String>> {
    let names = labels(s);
    s.collections
        .keys()
        .map(|c| {
            let mut objs: Vec<String> = s
                .objects(c)
                .map(|(_, r)| canonical(Snapshot::graph_obj(r), &names).to_string())
                .collect();
            objs.sort();
            (c.clone(), objs)
        })
        .collect()
}

/// Objects that are in one tenant and not the other (as a multiset per collection).
pub fn against_reference(after: &Snapshot, reference: &Snapshot) -> Vec<Violation> {
    let (a, r) = (normalize(after), normalize(reference));
    let mut out = Vec::new();
    for (collection, objs) in &a {
        let empty = Vec::new();
        let want = r.get(collection).unwrap_or(&empty);
        let (mut extra, mut missing) = (objs.clone(), Vec::new());
        for o in want {
            match extra.iter().position(|x| x == o) {
                Some(i) => {
                    extra.remove(i);
                }
                None => missing.push(o.clone()),
            }
        }
        for (what, list) in [("not in the reference", extra), ("missing", missing)] {
            for o in list {
                out.push(v(
                    Invariant::MatchesReference,
                    format!("{collection}: {what}: {o}"),
                ));
            }
        }
    }
    out
}

fn strings(v: Option<&Value>) -> BTreeSet<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_ascii_lowercase)
                .collect()
        })
        .unwrap_or_default()
}

/// The spec's facts in the tenant, read from the emulator's state.
pub fn spec_facts(spec_path: &Path, s: &Snapshot) -> Vec<Violation> {
    let spec = match entractl_spec::load_file(spec_path) {
        Ok(l) => l.spec,
        Err(e) => {
            return vec![v(
                Invariant::SpecFacts,
                format!("{}: {}", spec_path.display(), e.render_plain()),
            )];
        }
    };
    let app = &spec.app;
    let Some(key) = app.unique_name.as_deref() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut fail = |detail: String| out.push(v(Invariant::SpecFacts, detail));
    let apps: Vec<&Value> = s
        .objects("applications")
        .filter(|(_, r)| prop(r, "uniqueName") == Some(key))
        .map(|(_, r)| Snapshot::graph_obj(r))
        .collect();
    let [obj] = apps[..] else {
        fail(format!(
            "{} applications with uniqueName `{key}`",
            apps.len()
        ));
        return out;
    };
    if obj["displayName"].as_str() != Some(app.display_name.as_str()) {
        fail(format!(
            "application `{key}`: displayName {}",
            obj["displayName"]
        ));
    }
    if let Some(b) = app.public_client_flows
        && obj["isFallbackPublicClient"].as_bool() != Some(b)
    {
        fail(format!(
            "application `{key}`: isFallbackPublicClient is not {b}"
        ));
    }
    if !strings(obj.get("tags")).contains(&format!("entractl:{key}")) {
        fail(format!("application `{key}`: no `entractl:{key}` tag"));
    }
    let app_id = obj["appId"].as_str().unwrap_or_default();
    let sps: Vec<(&String, &Value)> = s
        .objects("servicePrincipals")
        .filter(|(_, r)| prop(r, "appId") == Some(app_id))
        .collect();
    let [(sp_id, _)] = sps[..] else {
        fail(format!(
            "{} service principals for application `{key}`",
            sps.len()
        ));
        return out;
    };
    out.extend(consent_facts(&spec, key, sp_id, s));
    out.extend(assignment_facts(&spec, key, sp_id, s));
    out
}

/// The tenant-wide grant to Microsoft Graph holds exactly the spec's delegated scopes.
fn consent_facts(
    spec: &entractl_spec::Spec,
    key: &str,
    sp_id: &str,
    s: &Snapshot,
) -> Vec<Violation> {
    let app = &spec.app;
    let graph_sp = s
        .objects("servicePrincipals")
        .find(|(_, r)| prop(r, "appId") == Some(MICROSOFT_GRAPH_APP_ID))
        .map(|(id, _)| id.clone());
    let delegated: BTreeSet<String> = app
        .api_permissions
        .iter()
        .flatten()
        .filter(|p| p.resource == "Microsoft Graph" || p.resource == MICROSOFT_GRAPH_APP_ID)
        .flat_map(|p| p.delegated.iter().map(|d| d.to_ascii_lowercase()))
        .collect();
    if app.admin_consent != Some(true) || delegated.is_empty() {
        return Vec::new();
    }
    let granted: Vec<BTreeSet<String>> = s
        .objects("oauth2PermissionGrants")
        .filter(|(_, r)| {
            prop(r, "clientId") == Some(sp_id)
                && prop(r, "consentType") == Some("AllPrincipals")
                && prop(r, "resourceId") == graph_sp.as_deref()
        })
        .map(|(_, r)| {
            prop(r, "scope")
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_ascii_lowercase)
                .collect()
        })
        .collect();
    if granted == [delegated.clone()] {
        return Vec::new();
    }
    vec![v(
        Invariant::SpecFacts,
        format!(
            "application `{key}`: tenant-wide consent to Microsoft Graph is {granted:?}, the spec says {delegated:?}"
        ),
    )]
}

/// Every user and group the spec assigns has an assignment to the app's service principal.
fn assignment_facts(
    spec: &entractl_spec::Spec,
    key: &str,
    sp_id: &str,
    s: &Snapshot,
) -> Vec<Violation> {
    let Some(a) = &spec.assignments else {
        return Vec::new();
    };
    // A principal is named by its object id or by its userPrincipalName / displayName.
    let principal = |collection: &str, prop_name: &str, name: &str| {
        s.objects(collection)
            .find(|(id, r)| {
                id.eq_ignore_ascii_case(name)
                    || prop(r, prop_name).is_some_and(|x| x.eq_ignore_ascii_case(name))
            })
            .map(|(id, _)| id.clone())
    };
    let wanted = a
        .users
        .iter()
        .map(|u| (u, principal("users", "userPrincipalName", u)))
        .chain(
            a.groups
                .iter()
                .map(|g| (g, principal("groups", "displayName", g))),
        );
    let mut out = Vec::new();
    for (name, id) in wanted {
        let assigned = id.as_deref().is_some_and(|id| {
            s.objects("appRoleAssignments").any(|(_, r)| {
                prop(r, "principalId") == Some(id) && prop(r, "resourceId") == Some(sp_id)
            })
        });
        if !assigned {
            out.push(v(
                Invariant::SpecFacts,
                format!("`{name}` is not assigned to application `{key}`"),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tenant(app: &str, sp: &str, user: &str, scope: &str) -> Snapshot {
        let rec = |v: Value| json!({"obj": v, "internal": {}});
        Snapshot::from_tenant_json(&json!({
            "users": {user: rec(json!({"id": user, "userPrincipalName": "alice@contoso.com"}))},
            "applications": {"o1": rec(json!({
                "id": "o1", "appId": app, "uniqueName": "x", "displayName": "X",
                "tags": ["entractl:x"], "createdDateTime": "2026-01-01T00:00:00Z"
            }))},
            "servicePrincipals": {
                sp: rec(json!({"id": sp, "appId": app, "displayName": "X"})),
                "g": rec(json!({"id": "g", "appId": MICROSOFT_GRAPH_APP_ID, "displayName": "Microsoft Graph"}))
            },
            "oauth2PermissionGrants": {"k": rec(json!({
                "id": "k", "clientId": sp, "resourceId": "g", "consentType": "AllPrincipals", "scope": scope
            }))},
            "appRoleAssignments": {"a": rec(json!({"id": "a", "principalId": user, "resourceId": sp}))}
        }))
    }

    const APP_1: &str = "11111111-1111-4111-8111-111111111111";
    const APP_2: &str = "22222222-2222-4222-8222-222222222222";

    #[test]
    fn ids_and_times_aside_the_same_tenant_matches_and_a_difference_does_not() {
        let a = tenant(APP_1, "sp1", "u1", "openid User.Read");
        let b = tenant(APP_2, "sp2", "u2", "openid User.Read");
        assert_eq!(against_reference(&a, &b), []);
        let c = tenant(APP_2, "sp2", "u2", "openid User.Read Mail.Read");
        let found = against_reference(&c, &b);
        assert_eq!(found.len(), 2, "{found:#?}");
        assert!(
            found
                .iter()
                .all(|f| f.invariant == Invariant::MatchesReference)
        );
    }

    #[test]
    fn spec_facts_are_read_from_the_tenant() {
        let dir = std::env::temp_dir().join(format!("entractl-oracle-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let spec = dir.join("spec.yaml");
        std::fs::write(
            &spec,
            "version: 1\ntenant: contoso.onmicrosoft.com\napp:\n  displayName: X\n  uniqueName: x\n  apiPermissions:\n    Microsoft Graph:\n      delegated: [openid, User.Read]\n  adminConsent: true\nassignments:\n  users: [alice@contoso.com, bob@contoso.com]\n",
        )
        .unwrap();
        let found = spec_facts(&spec, &tenant(APP_1, "sp1", "u1", "User.Read openid"));
        let details: Vec<&str> = found.iter().map(|f| f.detail.as_str()).collect();
        assert_eq!(
            details,
            ["`bob@contoso.com` is not assigned to application `x`"]
        );
        let found = spec_facts(&spec, &tenant(APP_1, "sp1", "u1", "openid"));
        assert_eq!(found.len(), 2, "{found:#?}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
