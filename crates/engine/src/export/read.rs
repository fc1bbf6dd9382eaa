//! The reads of `export`: the app, then (together) its service principal, the security
//! defaults and the APIs it asks permissions of, then its grants and assignments, then the names
//! of the users, groups and APIs involved (and whether each name is unique) — plain async code
//! over the batching loader.

use std::collections::BTreeMap;

use entractl_graph::resource::{
    app_role_assignment, application, eq, group, oauth2_permission_grant, parse, security_defaults,
    service_principal, user,
};
use entractl_graph::{GraphClient, Loader};
use futures_util::future::join_all;
use serde_json::Value;

use super::types::{ExportError, ExportOptions, ExportTarget, same_guid};
use crate::core::desired::MICROSOFT_GRAPH_APP_ID;
use crate::core::observed::{
    AppRoleAssignment, Application, OAuth2PermissionGrant, ServicePrincipal,
};
use crate::error::{EngineError, ReadError};
use crate::fetch::parsed;

/// A resource API the app asks permissions of (or holds a grant to).
#[derive(Debug, Clone)]
pub struct Resource {
    pub sp: ServicePrincipal,
    /// Its display name is shared by no other service principal.
    pub name_unique: bool,
}

/// Everything export reads.
#[derive(Debug, Clone)]
pub struct Facts {
    pub app: Application,
    pub sp: Option<ServicePrincipal>,
    /// Resource APIs by appId (lower case); `None`: no service principal in the tenant.
    pub resources: BTreeMap<String, Option<Resource>>,
    pub grants: Vec<OAuth2PermissionGrant>,
    pub assigned: Vec<AppRoleAssignment>,
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

type Read<T> = Result<T, ReadError>;

/// A list read, failing with what it was for.
async fn list(l: &Loader, req: entractl_graph::GraphRequest) -> Read<Vec<Value>> {
    let what = req.label_text().unwrap_or("read").to_string();
    l.list(req).await.map_err(ReadError::of(what))
}

/// A lookup by key: `None` for a 404.
async fn get(l: &Loader, req: entractl_graph::GraphRequest) -> Read<Option<Value>> {
    let what = req.label_text().unwrap_or("read").to_string();
    crate::fetch::ok_or_absent(l.get(req).await, &what)
}

pub async fn read(
    client: &GraphClient,
    target: &ExportTarget,
    opts: &ExportOptions,
) -> Result<Facts, ExportError> {
    let l = Loader::new(client);
    l.run(read_all(&l, target, opts))
        .await
        .map_err(|e| EngineError::Internal(e.to_string()))?
}

async fn read_all(
    l: &Loader,
    target: &ExportTarget,
    opts: &ExportOptions,
) -> Result<Facts, ExportError> {
    let app = find_app(l, target, opts).await?;
    let (sp, security_defaults, resources) = tokio::join!(
        async {
            first_sp(
                list(
                    l,
                    service_principal::find_by_app_id(
                        &app.app_id,
                        "read the app's service principal",
                    ),
                )
                .await,
            )
        },
        async {
            let v = l
                .get(security_defaults::get().label("read the security defaults"))
                .await;
            v.map(|v| v.get("isEnabled").and_then(Value::as_bool).unwrap_or(false))
                .map_err(ReadError::of("read the security defaults"))
        },
        declared_apis(l, &app),
    );
    let (sp, security_defaults) = (sp?, security_defaults?);
    let (grants, assigned) = match &sp {
        Some(sp) => {
            let (g, a) = tokio::join!(
                list(l, oauth2_permission_grant::list_tenant_wide(&sp.id)),
                list(
                    l,
                    app_role_assignment::list_assigned_to(
                        &sp.id,
                        "read the users and groups assigned to the app"
                    )
                ),
            );
            (parsed(g?), parsed(a?))
        }
        None => (Vec::new(), Vec::new()),
    };
    let mut resources = resources.map_err(EngineError::from)?;
    granted_apis(l, &grants, &mut resources).await?;
    let (upns, group_name_unique) = names(l, &assigned, &mut resources).await?;
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

fn first_sp(found: Read<Vec<Value>>) -> Read<Option<ServicePrincipal>> {
    Ok(parsed::<ServicePrincipal>(found?).into_iter().next())
}

/// The application, by client id or by a display name no other application has.
async fn find_app(
    l: &Loader,
    target: &ExportTarget,
    opts: &ExportOptions,
) -> Result<Application, ExportError> {
    let (filter, what) = match target {
        ExportTarget::AppId(a) => (
            eq("appId", a.trim()),
            format!("with client id {}", a.trim()),
        ),
        ExportTarget::DisplayName(n) => (eq("displayName", n), format!("named `{n}`")),
    };
    let apps = list(
        l,
        application::find(filter, format!("find the application {what}")),
    )
    .await
    .map_err(|e| EngineError::Read {
        what: "find the application to export".into(),
        source: e.source,
    })?;
    let not_found = || ExportError::NotFound {
        what: what.clone(),
        tenant: opts.tenant.clone(),
    };
    match apps.as_slice() {
        [] => Err(not_found()),
        [one] => parse::<Application>(one).ok_or_else(not_found),
        many => Err(ExportError::AmbiguousName {
            name: match target {
                ExportTarget::DisplayName(n) => n.clone(),
                ExportTarget::AppId(a) => a.clone(),
            },
            candidates: many.iter().map(describe_app).collect(),
        }),
    }
}

fn describe_app(a: &Value) -> String {
    let s = |k: &str| {
        a.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    format!(
        "appId {}, object id {}, created {}",
        s("appId"),
        s("id"),
        a.get("createdDateTime")
            .and_then(Value::as_str)
            .unwrap_or("(unknown)")
    )
}

/// The service principals of the APIs the app asks permissions of, by appId.
async fn declared_apis(l: &Loader, app: &Application) -> Read<BTreeMap<String, Option<Resource>>> {
    let mut ids: Vec<String> = app
        .required_resource_access
        .iter()
        .map(|r| r.resource_app_id.to_ascii_lowercase())
        .collect();
    ids.sort();
    ids.dedup();
    let reads = ids.into_iter().map(|a| async move {
        let label = format!("read the API {a} and its permissions");
        let sp = first_sp(list(l, service_principal::find_by_app_id(&a, label)).await)?;
        Ok((
            a,
            sp.map(|sp| Resource {
                sp,
                name_unique: false,
            }),
        ))
    });
    join_all(reads).await.into_iter().collect()
}

/// APIs the app holds grants to without declaring them.
async fn granted_apis(
    l: &Loader,
    grants: &[OAuth2PermissionGrant],
    resources: &mut BTreeMap<String, Option<Resource>>,
) -> Read<()> {
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
    let reads = extra.iter().map(|id| {
        get(
            l,
            service_principal::get(id, format!("read the granted API {id}")),
        )
    });
    for got in join_all(reads).await {
        if let Some(sp) = got?.as_ref().and_then(parse::<ServicePrincipal>) {
            resources
                .entry(sp.app_id.to_ascii_lowercase())
                .or_insert(Some(Resource {
                    sp,
                    name_unique: false,
                }));
        }
    }
    Ok(())
}

type Names = (BTreeMap<String, Option<String>>, BTreeMap<String, bool>);

/// The assigned users' UPNs, and whether the names of the APIs and assigned groups are unique.
async fn names(
    l: &Loader,
    assigned: &[AppRoleAssignment],
    resources: &mut BTreeMap<String, Option<Resource>>,
) -> Read<Names> {
    let named: Vec<(String, String)> = resources
        .iter()
        .filter_map(|(k, r)| r.as_ref().map(|r| (k.clone(), r.sp.display_name.clone())))
        .filter(|(k, n)| k != MICROSOFT_GRAPH_APP_ID && !n.is_empty())
        .collect();
    let api_names = join_all(named.iter().map(|(_, name)| {
        list(
            l,
            service_principal::find_by_display_name(
                name,
                format!("check that the API name `{name}` is unique"),
            ),
        )
    }));
    let users = join_all(assigned.iter().filter(|a| a.is_user()).map(|a| async move {
        let v = get(
            l,
            user::get(
                &a.principal_id,
                format!("read the assigned user {}", a.principal_id),
            ),
        )
        .await?;
        let upn = v
            .as_ref()
            .and_then(|v| v.get("userPrincipalName"))
            .and_then(Value::as_str);
        Ok::<_, ReadError>((a.principal_id.clone(), upn.map(str::to_string)))
    }));
    let groups = join_all(
        assigned
            .iter()
            .filter(|a| a.is_group())
            .map(|a| async move {
                let name = &a.principal_display_name;
                let hits = list(
                    l,
                    group::find_by_display_name(
                        name,
                        format!("check that the group name `{name}` is unique"),
                    ),
                )
                .await?;
                let unique = !name.is_empty()
                    && hits.len() == 1
                    && hits[0]
                        .get("id")
                        .and_then(Value::as_str)
                        .is_some_and(|h| same_guid(h, &a.principal_id));
                Ok::<_, ReadError>((a.principal_id.clone(), unique))
            }),
    );
    let (api_names, users, groups) = tokio::join!(api_names, users, groups);
    for ((key, _), hits) in named.iter().zip(api_names) {
        if let Some(Some(res)) = resources.get_mut(key) {
            res.name_unique = hits?.len() == 1;
        }
    }
    Ok((
        users.into_iter().collect::<Read<_>>()?,
        groups.into_iter().collect::<Read<_>>()?,
    ))
}
