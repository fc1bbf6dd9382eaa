//! The reads of `export`: the app, then (together) its service principal, the security
//! defaults and the APIs it asks permissions of, then its grants and assignments, then the names
//! of the users, groups and APIs involved (and whether each name is unique).

use std::collections::BTreeMap;

use entractl_graph::{GraphClient, GraphRequest};
use serde_json::Value;

use super::{ExportError, ExportOptions, ExportTarget, s, same_guid};
use crate::error::EngineError;
use crate::fetch::{APP_SELECT, grants_read, list, odata_str};
use crate::mfa::posture::SECURITY_DEFAULTS_PATH;
use crate::observed::{Application, OAuth2PermissionGrant, ServicePrincipal};

/// A resource API the app asks permissions of (or holds a grant to).
#[derive(Debug, Clone)]
pub struct Resource {
    pub sp: ServicePrincipal,
    /// Its display name is shared by no other service principal.
    pub name_unique: bool,
}

/// One assignment of a user, group or service principal to the app.
#[derive(Debug, Clone)]
pub struct Assigned {
    pub principal_id: String,
    pub principal_type: String,
    pub principal_display_name: String,
    pub app_role_id: String,
}

/// Everything export reads.
#[derive(Debug, Clone)]
pub struct Facts {
    pub app: Application,
    pub sp: Option<ServicePrincipal>,
    /// Resource APIs by appId (lower case); `None`: no service principal in the tenant.
    pub resources: BTreeMap<String, Option<Resource>>,
    pub grants: Vec<OAuth2PermissionGrant>,
    pub assigned: Vec<Assigned>,
    /// User object id → UPN (`None`: the user could not be read, e.g. deleted).
    pub upns: BTreeMap<String, Option<String>>,
    /// Group object id → its display name is unique in the tenant.
    pub group_name_unique: BTreeMap<String, bool>,
    /// `identitySecurityDefaultsEnforcementPolicy.isEnabled`.
    pub security_defaults: bool,
}

impl Facts {
    /// The resource API with this service principal object id.
    pub fn resource_by_sp_id(&self, id: &str) -> Option<&Resource> {
        self.resources
            .values()
            .flatten()
            .find(|r| same_guid(&r.sp.id, id))
    }
}

const SP_SELECT: &[&str] = &[
    "id",
    "appId",
    "displayName",
    "tags",
    "appRoleAssignmentRequired",
    "appRoles",
    "oauth2PermissionScopes",
];

/// Sends requests together; each answer as a list of objects (a single object is a list of
/// one; a 404 is an empty list where `absent_ok`).
async fn run(
    client: &GraphClient,
    reqs: Vec<(GraphRequest, bool)>,
) -> Result<Vec<Vec<Value>>, EngineError> {
    if reqs.is_empty() {
        return Ok(Vec::new());
    }
    let sent: Vec<GraphRequest> = reqs.iter().map(|(r, _)| r.clone()).collect();
    let results = client.send_all(sent).await;
    let mut out = Vec::new();
    for ((req, absent_ok), res) in reqs.into_iter().zip(results) {
        let what = req.label_text().unwrap_or("read").to_string();
        let resp = match res {
            Ok(r) => r,
            Err(e) if absent_ok && e.is_not_found() => {
                out.push(Vec::new());
                continue;
            }
            Err(source) => return Err(EngineError::Read { what, source }),
        };
        let json = resp.json();
        if json.get("value").is_some() {
            if json.get("@odata.nextLink").is_some() {
                out.push(
                    client
                        .list_all(req)
                        .await
                        .map_err(|source| EngineError::Read { what, source })?,
                );
            } else {
                out.push(resp.values());
            }
        } else {
            out.push(vec![json.clone()]);
        }
    }
    Ok(out)
}

pub async fn read(
    client: &GraphClient,
    target: &ExportTarget,
    opts: &ExportOptions,
) -> Result<Facts, ExportError> {
    // 1. The application.
    let mut select: Vec<&str> = APP_SELECT.to_vec();
    select.push("createdDateTime");
    let (filter, what) = match target {
        ExportTarget::AppId(a) => (
            format!("appId eq {}", odata_str(a.trim())),
            format!("with client id {}", a.trim()),
        ),
        ExportTarget::DisplayName(n) => (
            format!("displayName eq {}", odata_str(n)),
            format!("named `{n}`"),
        ),
    };
    let apps = client
        .list_all(list(
            "/applications",
            filter,
            &select,
            format!("find the application {what}"),
        ))
        .await
        .map_err(EngineError::read("find the application to export"))?;
    let app = match apps.as_slice() {
        [] => {
            return Err(ExportError::NotFound {
                what,
                tenant: opts.tenant.clone(),
            });
        }
        [one] => one,
        many => {
            return Err(ExportError::AmbiguousName {
                name: match target {
                    ExportTarget::DisplayName(n) => n.clone(),
                    ExportTarget::AppId(a) => a.clone(),
                },
                candidates: many
                    .iter()
                    .map(|a| {
                        format!(
                            "appId {}, object id {}, created {}",
                            s(a, "appId"),
                            s(a, "id"),
                            a.get("createdDateTime")
                                .and_then(Value::as_str)
                                .unwrap_or("(unknown)")
                        )
                    })
                    .collect(),
            });
        }
    };
    let app = Application::from_graph(app).ok_or_else(|| ExportError::NotFound {
        what: what.clone(),
        tenant: opts.tenant.clone(),
    })?;

    // 2. Its service principal, the security defaults, the APIs it asks permissions of.
    let mut reqs = vec![
        (
            list(
                "/servicePrincipals",
                format!("appId eq {}", odata_str(&app.app_id)),
                SP_SELECT,
                "read the app's service principal",
            ),
            false,
        ),
        (
            GraphRequest::get(SECURITY_DEFAULTS_PATH).label("read the security defaults"),
            false,
        ),
    ];
    let mut api_ids: Vec<String> = app
        .required_resource_access
        .iter()
        .map(|r| r.resource_app_id.to_ascii_lowercase())
        .collect();
    api_ids.sort();
    api_ids.dedup();
    for a in &api_ids {
        reqs.push((
            list(
                "/servicePrincipals",
                format!("appId eq {}", odata_str(a)),
                SP_SELECT,
                format!("read the API {a} and its permissions"),
            ),
            false,
        ));
    }
    let mut r = run(client, reqs).await?.into_iter();
    let sp = r
        .next()
        .unwrap_or_default()
        .iter()
        .find_map(ServicePrincipal::from_graph);
    let security_defaults = r
        .next()
        .unwrap_or_default()
        .first()
        .and_then(|v| v.get("isEnabled"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut resources: BTreeMap<String, Option<Resource>> = BTreeMap::new();
    for a in &api_ids {
        let sp = r
            .next()
            .unwrap_or_default()
            .iter()
            .find_map(ServicePrincipal::from_graph);
        resources.insert(
            a.clone(),
            sp.map(|sp| Resource {
                sp,
                name_unique: false,
            }),
        );
    }

    // 3. Grants and assignments.
    let mut grants = Vec::new();
    let mut assigned = Vec::new();
    if let Some(sp) = &sp {
        let reqs = vec![
            (grants_read(&sp.id), false),
            (
                GraphRequest::get(format!("/servicePrincipals/{}/appRoleAssignedTo", sp.id))
                    .select(&[
                        "id",
                        "appRoleId",
                        "principalId",
                        "principalType",
                        "principalDisplayName",
                    ])
                    .top(999)
                    .label("read the users and groups assigned to the app"),
                false,
            ),
        ];
        let mut r = run(client, reqs).await?.into_iter();
        grants = r
            .next()
            .unwrap_or_default()
            .iter()
            .filter_map(OAuth2PermissionGrant::from_graph)
            .collect();
        assigned = r
            .next()
            .unwrap_or_default()
            .iter()
            .map(|v| Assigned {
                principal_id: s(v, "principalId").to_ascii_lowercase(),
                principal_type: s(v, "principalType"),
                principal_display_name: s(v, "principalDisplayName"),
                app_role_id: crate::normalize::guid(&s(v, "appRoleId")),
            })
            .collect();
    }

    // 4. APIs granted but not declared; then names: users' UPNs, group and API name uniqueness.
    let mut reqs = Vec::new();
    let mut extra: Vec<String> = grants
        .iter()
        .map(|g| g.resource_id.to_ascii_lowercase())
        .filter(|id| {
            !resources
                .values()
                .flatten()
                .any(|r| same_guid(&r.sp.id, id))
        })
        .collect();
    extra.sort();
    extra.dedup();
    for id in &extra {
        reqs.push((
            GraphRequest::get(format!("/servicePrincipals/{id}"))
                .select(SP_SELECT)
                .label(format!("read the granted API {id}")),
            true,
        ));
    }
    for got in run(client, reqs).await? {
        if let Some(sp) = got.iter().find_map(ServicePrincipal::from_graph) {
            resources
                .entry(sp.app_id.to_ascii_lowercase())
                .or_insert(Some(Resource {
                    sp,
                    name_unique: false,
                }));
        }
    }

    let mut reqs = Vec::new();
    let named: Vec<(String, String)> = resources
        .iter()
        .filter_map(|(k, r)| r.as_ref().map(|r| (k.clone(), r.sp.display_name.clone())))
        .filter(|(k, n)| k != crate::desired::MICROSOFT_GRAPH_APP_ID && !n.is_empty())
        .collect();
    for (_, name) in &named {
        reqs.push((
            list(
                "/servicePrincipals",
                format!("displayName eq {}", odata_str(name)),
                &["id"],
                format!("check that the API name `{name}` is unique"),
            ),
            false,
        ));
    }
    let users: Vec<String> = assigned
        .iter()
        .filter(|a| a.principal_type.eq_ignore_ascii_case("User"))
        .map(|a| a.principal_id.clone())
        .collect();
    for u in &users {
        reqs.push((
            GraphRequest::get(format!("/users/{u}"))
                .select(&["id", "userPrincipalName"])
                .label(format!("read the assigned user {u}")),
            true,
        ));
    }
    let groups: Vec<(String, String)> = assigned
        .iter()
        .filter(|a| a.principal_type.eq_ignore_ascii_case("Group"))
        .map(|a| (a.principal_id.clone(), a.principal_display_name.clone()))
        .collect();
    for (_, name) in &groups {
        reqs.push((
            list(
                "/groups",
                format!("displayName eq {}", odata_str(name)),
                &["id"],
                format!("check that the group name `{name}` is unique"),
            ),
            false,
        ));
    }
    let mut r = run(client, reqs).await?.into_iter();
    for (key, _) in &named {
        let n = r.next().unwrap_or_default().len();
        if let Some(Some(res)) = resources.get_mut(key) {
            res.name_unique = n == 1;
        }
    }
    let mut upns = BTreeMap::new();
    for u in &users {
        let upn = r
            .next()
            .unwrap_or_default()
            .first()
            .and_then(|v| v.get("userPrincipalName"))
            .and_then(Value::as_str)
            .map(str::to_string);
        upns.insert(u.clone(), upn);
    }
    let mut group_name_unique = BTreeMap::new();
    for (id, name) in &groups {
        let hits = r.next().unwrap_or_default();
        let unique = !name.is_empty()
            && hits.len() == 1
            && hits[0]
                .get("id")
                .and_then(Value::as_str)
                .is_some_and(|h| same_guid(h, id));
        group_name_unique.insert(id.clone(), unique);
    }
    Ok(Facts {
        app,
        sp,
        resources,
        grants,
        assigned,
        upns,
        group_name_unique,
        security_defaults,
    })
}
