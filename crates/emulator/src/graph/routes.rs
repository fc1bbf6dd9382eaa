//! The Graph route table: a request path (after the version) parsed into a [`Route`] with its
//! template (the key of the permission table and of the request log).

use crate::graph::odata::GraphError;
use crate::graph::request::GraphRequest;

/// A parsed route.
#[derive(Debug, Clone)]
pub struct Route {
    /// Template without version (`/applications/{id}`).
    pub template: &'static str,
    /// Path parameters in order (ids, or the alternate-key value).
    pub params: Vec<String>,
    /// Only served on beta.
    pub beta_only: bool,
    /// Segment named in "Resource not found for the segment" errors.
    pub segment_hint: String,
    /// `params[0]` is a service principal's appId (`servicePrincipals(appId='…')/…`), resolved to its id
    /// before the handler runs.
    pub sp_by_app_id: bool,
}

fn seg_key(seg: &str) -> (&str, Option<(String, String)>) {
    // name(key='value') or name('value')
    let Some(open) = seg.find('(') else {
        return (seg, None);
    };
    if !seg.ends_with(')') {
        return (seg, None);
    }
    let name = &seg[..open];
    let inner = &seg[open + 1..seg.len() - 1];
    let (k, v) = match inner.split_once('=') {
        Some((k, v)) => (k.trim().to_string(), v.trim()),
        None => (String::new(), inner.trim()),
    };
    let v = v
        .strip_prefix('\'')
        .and_then(|v| v.strip_suffix('\''))
        .unwrap_or(v)
        .replace("''", "'");
    (name, Some((k, v)))
}

/// Parse a request path into a route.
pub fn route(req: &GraphRequest) -> Result<Route, GraphError> {
    let segs: Vec<&str> = req.path.split('/').filter(|s| !s.is_empty()).collect();
    let not_found = |s: &str| {
        GraphError::new(
            400,
            "BadRequest",
            format!("Resource not found for the segment '{s}'."),
        )
    };
    let first = *segs.first().ok_or_else(|| not_found(""))?;
    let (name, key) = seg_key(first);
    let p = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let r = |template: &'static str, params: Vec<String>| Route {
        template,
        params,
        beta_only: false,
        segment_hint: String::new(),
        sp_by_app_id: false,
    };
    let rest = &segs[1..];
    let key = key.as_ref().map(|(k, v)| (k.as_str(), v.clone()));
    if let Some((template, params, sp_by_app_id)) = home_realm_route(name, key.clone(), rest) {
        return Ok(Route {
            sp_by_app_id,
            ..r(template, params)
        });
    }
    let route = match (name, key, rest) {
        ("applications", None, []) => r("/applications", vec![]),
        ("applications", None, [id]) => r("/applications/{id}", p(&[id])),
        ("applications", Some(("appId", v)), []) => r("/applications(appId='{appId}')", vec![v]),
        ("applications", Some(("uniqueName", v)), []) => {
            r("/applications(uniqueName='{uniqueName}')", vec![v])
        }
        ("servicePrincipals", None, []) => r("/servicePrincipals", vec![]),
        ("servicePrincipals", None, [id]) => r("/servicePrincipals/{id}", p(&[id])),
        ("servicePrincipals", Some(("appId", v)), []) => {
            r("/servicePrincipals(appId='{appId}')", vec![v])
        }
        ("servicePrincipals", None, [id, "appRoleAssignedTo"]) => {
            r("/servicePrincipals/{id}/appRoleAssignedTo", p(&[id]))
        }
        ("servicePrincipals", None, [id, "appRoleAssignedTo", aid]) => r(
            "/servicePrincipals/{id}/appRoleAssignedTo/{id}",
            p(&[id, aid]),
        ),
        ("servicePrincipals", Some(("appId", v)), ["appRoleAssignedTo"]) => Route {
            sp_by_app_id: true,
            ..r("/servicePrincipals/{id}/appRoleAssignedTo", vec![v])
        },
        ("servicePrincipals", Some(("appId", v)), ["appRoleAssignedTo", aid]) => Route {
            sp_by_app_id: true,
            ..r(
                "/servicePrincipals/{id}/appRoleAssignedTo/{id}",
                vec![v, aid.to_string()],
            )
        },
        ("servicePrincipals", None, [id, "appRoleAssignments"]) => {
            r("/servicePrincipals/{id}/appRoleAssignments", p(&[id]))
        }
        ("servicePrincipals", None, [id, "appRoleAssignments", aid]) => r(
            "/servicePrincipals/{id}/appRoleAssignments/{id}",
            p(&[id, aid]),
        ),
        ("servicePrincipals", None, [id, "oauth2PermissionGrants"]) => {
            r("/servicePrincipals/{id}/oauth2PermissionGrants", p(&[id]))
        }
        ("oauth2PermissionGrants", None, []) => r("/oauth2PermissionGrants", vec![]),
        ("oauth2PermissionGrants", None, [id]) => r("/oauth2PermissionGrants/{id}", p(&[id])),
        ("users", None, []) => r("/users", vec![]),
        ("users", None, [id]) => r("/users/{id}", p(&[id])),
        ("users", Some(("", v)), []) => r("/users/{id}", vec![v]),
        ("users", None, [id, "authentication", "requirements"]) => Route {
            beta_only: true,
            segment_hint: "authentication".into(),
            ..r("/users/{id}/authentication/requirements", p(&[id]))
        },
        ("users", Some(("", v)), ["authentication", "requirements"]) => Route {
            beta_only: true,
            segment_hint: "authentication".into(),
            ..r("/users/{id}/authentication/requirements", vec![v])
        },
        ("groups", None, []) => r("/groups", vec![]),
        ("groups", None, [id]) => r("/groups/{id}", p(&[id])),
        ("groups", None, [id, "members"]) => r("/groups/{id}/members", p(&[id])),
        ("groups", None, [id, "transitiveMembers"]) => {
            r("/groups/{id}/transitiveMembers", p(&[id]))
        }
        ("groups", None, [id, "members", "$ref"]) => r("/groups/{id}/members/$ref", p(&[id])),
        ("groups", None, [id, "members", mid, "$ref"]) => {
            r("/groups/{id}/members/{id}/$ref", p(&[id, mid]))
        }
        ("subscribedSkus", None, []) => r("/subscribedSkus", vec![]),
        ("organization", None, []) => r("/organization", vec![]),
        ("organization", None, [id]) => r("/organization/{id}", p(&[id])),
        ("identity", None, ["conditionalAccess", "policies"]) => {
            r("/identity/conditionalAccess/policies", vec![])
        }
        ("identity", None, ["conditionalAccess", "policies", id]) => {
            r("/identity/conditionalAccess/policies/{id}", p(&[id]))
        }
        ("identity", None, ["conditionalAccess", "evaluate"]) => {
            r("/identity/conditionalAccess/evaluate", vec![])
        }
        ("identity", None, ["conditionalAccess", "settings"]) => Route {
            beta_only: true,
            segment_hint: "settings".into(),
            ..r("/identity/conditionalAccess/settings", vec![])
        },
        ("policies", None, ["identitySecurityDefaultsEnforcementPolicy"]) => r(
            "/policies/identitySecurityDefaultsEnforcementPolicy",
            vec![],
        ),
        // `graph.application` is the short cast SDKs send.
        (
            "directory",
            None,
            [
                "deletedItems",
                "microsoft.graph.application" | "graph.application",
            ],
        ) => r(
            "/directory/deletedItems/microsoft.graph.application",
            vec![],
        ),
        (
            "directory",
            None,
            [
                "deletedItems",
                "microsoft.graph.servicePrincipal" | "graph.servicePrincipal",
            ],
        ) => r(
            "/directory/deletedItems/microsoft.graph.servicePrincipal",
            vec![],
        ),
        ("directory", None, ["deletedItems", id]) => r("/directory/deletedItems/{id}", p(&[id])),
        ("directory", None, ["deletedItems", id, "restore"]) => {
            r("/directory/deletedItems/{id}/restore", p(&[id]))
        }
        _ => {
            let bad = segs
                .iter()
                .find(|s| !KNOWN_SEGMENTS.contains(&seg_key(s).0))
                .copied()
                .unwrap_or(segs.last().copied().unwrap_or(""));
            return Err(not_found(bad));
        }
    };
    Ok(route)
}

/// The routes of domains and home realm discovery policies: template, parameters, and whether
/// the first is a service principal's appId.
fn home_realm_route(
    name: &str,
    key: Option<(&str, String)>,
    rest: &[&str],
) -> Option<(&'static str, Vec<String>, bool)> {
    const SP: &str = "/servicePrincipals/{id}/homeRealmDiscoveryPolicies";
    const SP_REF: &str = "/servicePrincipals/{id}/homeRealmDiscoveryPolicies/$ref";
    const POLICIES: &str = "/policies/homeRealmDiscoveryPolicies";
    let p = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    Some(match (name, key, rest) {
        ("domains", None, []) => ("/domains", vec![], false),
        ("domains", None, [id]) => ("/domains/{id}", p(&[id]), false),
        ("servicePrincipals", None, [id, "homeRealmDiscoveryPolicies"]) => (SP, p(&[id]), false),
        ("servicePrincipals", None, [id, "homeRealmDiscoveryPolicies", "$ref"]) => {
            (SP_REF, p(&[id]), false)
        }
        ("servicePrincipals", None, [id, "homeRealmDiscoveryPolicies", pid, "$ref"]) => (
            "/servicePrincipals/{id}/homeRealmDiscoveryPolicies/{id}/$ref",
            p(&[id, pid]),
            false,
        ),
        ("servicePrincipals", Some(("appId", v)), ["homeRealmDiscoveryPolicies"]) => {
            (SP, vec![v], true)
        }
        ("servicePrincipals", Some(("appId", v)), ["homeRealmDiscoveryPolicies", "$ref"]) => {
            (SP_REF, vec![v], true)
        }
        ("policies", None, ["homeRealmDiscoveryPolicies"]) => (POLICIES, vec![], false),
        ("policies", None, ["homeRealmDiscoveryPolicies", id]) => {
            ("/policies/homeRealmDiscoveryPolicies/{id}", p(&[id]), false)
        }
        ("policies", None, ["homeRealmDiscoveryPolicies", id, "appliesTo"]) => (
            "/policies/homeRealmDiscoveryPolicies/{id}/appliesTo",
            p(&[id]),
            false,
        ),
        _ => return None,
    })
}

const KNOWN_SEGMENTS: &[&str] = &[
    "applications",
    "servicePrincipals",
    "oauth2PermissionGrants",
    "users",
    "groups",
    "members",
    "transitiveMembers",
    "subscribedSkus",
    "organization",
    "identity",
    "conditionalAccess",
    "evaluate",
    "settings",
    "policies",
    "identitySecurityDefaultsEnforcementPolicy",
    "directory",
    "deletedItems",
    "appRoleAssignedTo",
    "appRoleAssignments",
    "authentication",
    "requirements",
    "domains",
    "homeRealmDiscoveryPolicies",
    "appliesTo",
];
