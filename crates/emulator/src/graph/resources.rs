//! Graph resources: the route table and one handler per operation.

use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Map, Value, json};

use super::odata::{self, DEFAULT_PAGE, Filterable, GraphError, Query};
use super::schema::{self, Kind};
use super::{Caller, GraphRequest, GraphResponse};
use crate::state::{Collection, DeletedItem, GRAPH_APP_ID, Obj, Record, Tenant};
use crate::{SharedState, lock};

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
    let route = match (
        name,
        key.as_ref().map(|(k, v)| (k.as_str(), v.clone())),
        rest,
    ) {
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
        ("policies", None, ["identitySecurityDefaultsEnforcementPolicy"]) => r(
            "/policies/identitySecurityDefaultsEnforcementPolicy",
            vec![],
        ),
        ("directory", None, ["deletedItems", "microsoft.graph.application"]) => r(
            "/directory/deletedItems/microsoft.graph.application",
            vec![],
        ),
        ("directory", None, ["deletedItems", "microsoft.graph.servicePrincipal"]) => r(
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
    "policies",
    "identitySecurityDefaultsEnforcementPolicy",
    "directory",
    "deletedItems",
    "appRoleAssignedTo",
    "appRoleAssignments",
    "authentication",
    "requirements",
];

/// Context for one handler run.
struct Ctx<'a> {
    state: &'a SharedState,
    caller: &'a Caller,
    req: &'a GraphRequest,
    route: &'a Route,
    now: Instant,
}

impl Ctx<'_> {
    fn base(&self) -> String {
        format!("{}/{}", self.state.base_url, self.req.version)
    }
    fn context(&self, what: &str) -> String {
        format!("{}/$metadata#{}", self.base(), what)
    }
    fn query(&self) -> Result<Query, GraphError> {
        let eventual = self
            .req
            .header("consistencylevel")
            .is_some_and(|v| v.eq_ignore_ascii_case("eventual"));
        Query::parse(&self.req.query, eventual)
    }
    fn param(&self, i: usize) -> &str {
        self.route.params.get(i).map(String::as_str).unwrap_or("")
    }
    fn replication_until(&self) -> Option<Instant> {
        let ms = self.state.knobs().replication_delay_ms;
        (ms > 0).then(|| self.now + Duration::from_millis(ms))
    }
    fn timestamp(&self) -> String {
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    }
    fn opaque_id(&self) -> String {
        let mut rng = lock(&self.state.rng);
        let mut bytes = [0u8; 32];
        for chunk in bytes.chunks_mut(8) {
            chunk.copy_from_slice(&rng.next_u64().to_le_bytes());
        }
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }
    /// The caller's service principal object id (app-only) or user id (delegated).
    fn caller_object_id(&self, t: &Tenant) -> Option<String> {
        if self.caller.app_only {
            t.service_principal_by_app_id(&self.caller.claims.appid)
                .map(|r| r.id().to_string())
        } else {
            self.caller.claims.oid.clone()
        }
    }
}

/// Run a routed, authorised request.
pub fn execute(
    state: &SharedState,
    caller: &Caller,
    req: &GraphRequest,
    route: &Route,
) -> Result<GraphResponse, GraphError> {
    let resolved;
    let route = if route.sp_by_app_id {
        let app_id = route.params.first().cloned().unwrap_or_default();
        let id = {
            let emu = state.read();
            emu.tenants
                .get(&caller.tenant)
                .and_then(|t| t.service_principal_by_app_id(&app_id))
                .filter(|r| r.is_visible(Instant::now()))
                .map(|r| r.id().to_string())
        }
        .ok_or_else(|| GraphError::not_found(&format!("appId={app_id}")))?;
        let mut r = route.clone();
        r.params[0] = id;
        r.sp_by_app_id = false;
        resolved = r;
        &resolved
    } else {
        route
    };
    let c = Ctx {
        state,
        caller,
        req,
        route,
        now: Instant::now(),
    };
    let m = req.method.as_str();
    match (m, route.template) {
        ("GET", "/applications") => list_top(&c, Coll::Applications),
        ("POST", "/applications") => create_application(&c, None),
        (
            "GET",
            "/applications/{id}"
            | "/applications(appId='{appId}')"
            | "/applications(uniqueName='{uniqueName}')",
        ) => get_one(&c, Coll::Applications),
        (
            "PATCH",
            "/applications/{id}"
            | "/applications(appId='{appId}')"
            | "/applications(uniqueName='{uniqueName}')",
        ) => patch_application(&c),
        (
            "DELETE",
            "/applications/{id}"
            | "/applications(appId='{appId}')"
            | "/applications(uniqueName='{uniqueName}')",
        ) => delete_directory_object(&c, Coll::Applications),
        ("GET", "/servicePrincipals") => list_top(&c, Coll::ServicePrincipals),
        ("POST", "/servicePrincipals") => create_service_principal(&c),
        ("GET", "/servicePrincipals/{id}" | "/servicePrincipals(appId='{appId}')") => {
            get_one(&c, Coll::ServicePrincipals)
        }
        ("PATCH", "/servicePrincipals/{id}" | "/servicePrincipals(appId='{appId}')") => {
            patch_service_principal(&c)
        }
        ("DELETE", "/servicePrincipals/{id}" | "/servicePrincipals(appId='{appId}')") => {
            delete_directory_object(&c, Coll::ServicePrincipals)
        }
        ("GET", "/servicePrincipals/{id}/appRoleAssignedTo") => list_assignments(&c, "resourceId"),
        ("GET", "/servicePrincipals/{id}/appRoleAssignments") => {
            list_assignments(&c, "principalId")
        }
        ("POST", "/servicePrincipals/{id}/appRoleAssignedTo") => create_assignment(&c),
        ("DELETE", "/servicePrincipals/{id}/appRoleAssignedTo/{id}") => delete_assignment(&c),
        ("GET", "/servicePrincipals/{id}/oauth2PermissionGrants") => list_grants_of_sp(&c),
        ("GET", "/oauth2PermissionGrants") => list_top(&c, Coll::Grants),
        ("POST", "/oauth2PermissionGrants") => create_grant(&c),
        ("GET", "/oauth2PermissionGrants/{id}") => get_one(&c, Coll::Grants),
        ("PATCH", "/oauth2PermissionGrants/{id}") => patch_grant(&c),
        ("DELETE", "/oauth2PermissionGrants/{id}") => delete_record(&c, Coll::Grants),
        ("GET", "/users") => list_top(&c, Coll::Users),
        ("POST", "/users") => create_user(&c),
        ("GET", "/users/{id}") => get_one(&c, Coll::Users),
        ("GET", "/users/{id}/authentication/requirements") => get_auth_requirements(&c),
        ("PATCH", "/users/{id}/authentication/requirements") => patch_auth_requirements(&c),
        ("GET", "/groups") => list_top(&c, Coll::Groups),
        ("POST", "/groups") => create_group(&c),
        ("GET", "/groups/{id}") => get_one(&c, Coll::Groups),
        ("GET", "/groups/{id}/members") => list_members(&c, false),
        ("GET", "/groups/{id}/transitiveMembers") => list_members(&c, true),
        ("POST", "/groups/{id}/members/$ref") => add_member(&c),
        ("DELETE", "/groups/{id}/members/{id}/$ref") => remove_member(&c),
        ("GET", "/subscribedSkus") => subscribed_skus(&c),
        ("GET", "/organization") => organization(&c, false),
        ("GET", "/organization/{id}") => organization(&c, true),
        ("GET", "/identity/conditionalAccess/policies") => list_top(&c, Coll::Policies),
        ("POST", "/identity/conditionalAccess/policies") => create_policy(&c),
        ("GET", "/identity/conditionalAccess/policies/{id}") => get_one(&c, Coll::Policies),
        ("PATCH", "/identity/conditionalAccess/policies/{id}") => patch_policy(&c),
        ("DELETE", "/identity/conditionalAccess/policies/{id}") => {
            delete_record(&c, Coll::Policies)
        }
        ("GET", "/policies/identitySecurityDefaultsEnforcementPolicy") => get_security_defaults(&c),
        ("PATCH", "/policies/identitySecurityDefaultsEnforcementPolicy") => {
            patch_security_defaults(&c)
        }
        ("GET", "/directory/deletedItems/microsoft.graph.application") => {
            list_deleted(&c, "applications")
        }
        ("GET", "/directory/deletedItems/microsoft.graph.servicePrincipal") => {
            list_deleted(&c, "servicePrincipals")
        }
        ("GET", "/directory/deletedItems/{id}") => get_deleted(&c),
        ("POST", "/directory/deletedItems/{id}/restore") => restore_deleted(&c),
        ("DELETE", "/directory/deletedItems/{id}") => purge_deleted(&c),
        _ => Err(GraphError::new(
            405,
            "Request_BadRequest",
            "Specified HTTP method is not allowed for the request target.",
        )),
    }
}

/// The top-level collections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Coll {
    Applications,
    ServicePrincipals,
    Grants,
    Users,
    Groups,
    Policies,
}

impl Coll {
    fn kind(self) -> Kind {
        match self {
            Coll::Applications => Kind::Application,
            Coll::ServicePrincipals => Kind::ServicePrincipal,
            Coll::Grants => Kind::Grant,
            Coll::Users => Kind::User,
            Coll::Groups => Kind::Group,
            Coll::Policies => Kind::ConditionalAccessPolicy,
        }
    }
    fn name(self) -> &'static str {
        match self {
            Coll::Applications => "applications",
            Coll::ServicePrincipals => "servicePrincipals",
            Coll::Grants => "oauth2PermissionGrants",
            Coll::Users => "users",
            Coll::Groups => "groups",
            Coll::Policies => "identity/conditionalAccess/policies",
        }
    }
    fn get(self, t: &Tenant) -> &Collection {
        match self {
            Coll::Applications => &t.applications,
            Coll::ServicePrincipals => &t.service_principals,
            Coll::Grants => &t.oauth2_permission_grants,
            Coll::Users => &t.users,
            Coll::Groups => &t.groups,
            Coll::Policies => &t.conditional_access_policies,
        }
    }
    fn get_mut(self, t: &mut Tenant) -> &mut Collection {
        match self {
            Coll::Applications => &mut t.applications,
            Coll::ServicePrincipals => &mut t.service_principals,
            Coll::Grants => &mut t.oauth2_permission_grants,
            Coll::Users => &mut t.users,
            Coll::Groups => &mut t.groups,
            Coll::Policies => &mut t.conditional_access_policies,
        }
    }
    fn filterable(self) -> Filterable {
        let odata_type = self.kind().odata_type();
        match self {
            Coll::Applications => Filterable {
                odata_type,
                eq: &[
                    "displayName",
                    "appId",
                    "uniqueName",
                    "id",
                    "publisherDomain",
                    "signInAudience",
                ],
                starts_with: &["displayName"],
                any: &["tags", "identifierUris"],
            },
            Coll::ServicePrincipals => Filterable {
                odata_type,
                eq: &[
                    "displayName",
                    "appId",
                    "id",
                    "accountEnabled",
                    "servicePrincipalType",
                    "appOwnerOrganizationId",
                ],
                starts_with: &["displayName"],
                any: &["tags", "servicePrincipalNames"],
            },
            Coll::Grants => Filterable {
                odata_type,
                eq: &["clientId", "resourceId", "consentType", "principalId", "id"],
                starts_with: &[],
                any: &[],
            },
            Coll::Users => Filterable {
                odata_type,
                eq: &[
                    "userPrincipalName",
                    "displayName",
                    "mail",
                    "id",
                    "accountEnabled",
                    "givenName",
                    "surname",
                    "userType",
                    "mailNickname",
                ],
                starts_with: &[
                    "displayName",
                    "userPrincipalName",
                    "mail",
                    "givenName",
                    "surname",
                    "mailNickname",
                ],
                any: &["businessPhones"],
            },
            Coll::Groups => Filterable {
                odata_type,
                eq: &[
                    "displayName",
                    "id",
                    "mailNickname",
                    "securityEnabled",
                    "mailEnabled",
                    "mail",
                ],
                starts_with: &["displayName", "mailNickname", "mail"],
                any: &["groupTypes", "proxyAddresses"],
            },
            Coll::Policies => Filterable {
                odata_type,
                eq: &["displayName", "state", "id"],
                starts_with: &["displayName"],
                any: &[],
            },
        }
    }
}

fn tenant_of<'a>(emu: &'a crate::state::Emulator, c: &Ctx) -> Result<&'a Tenant, GraphError> {
    emu.tenants.get(&c.caller.tenant).ok_or_else(|| {
        GraphError::unauthenticated("Access token validation failure. Invalid issuer or tenant.")
    })
}

fn tenant_mut<'a>(
    emu: &'a mut crate::state::Emulator,
    c: &Ctx,
) -> Result<&'a mut Tenant, GraphError> {
    emu.tenants.get_mut(&c.caller.tenant).ok_or_else(|| {
        GraphError::unauthenticated("Access token validation failure. Invalid issuer or tenant.")
    })
}

/// A page of results in Graph's shape, with `@odata.nextLink` when more remain.
fn page<'a>(
    c: &Ctx,
    context: String,
    items: impl Iterator<Item = (&'a str, &'a Obj)>,
    q: &Query,
    kind: Kind,
    extra: impl Fn(&Obj) -> Obj,
) -> Value {
    let size = q.top.unwrap_or(DEFAULT_PAGE);
    let mut out = Vec::with_capacity(size.min(128));
    let mut last_id: Option<&str> = None;
    let mut more = false;
    for (id, obj) in items {
        if out.len() == size {
            more = true;
            break;
        }
        let shaped = odata::select(obj, q.select.as_deref(), kind.default_select());
        out.push(Value::Object(extra(&shaped)));
        last_id = Some(id);
    }
    let mut body = Map::new();
    let ctx = match &q.select {
        Some(s) => format!("{context}({})", s.join(",")),
        None => context,
    };
    body.insert("@odata.context".into(), json!(ctx));
    if more && let Some(last) = last_id {
        let mut ser = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &c.req.query {
            if k != "$skiptoken" && k != "skiptoken" {
                ser.append_pair(k, v);
            }
        }
        ser.append_pair("$skiptoken", &odata::encode_skiptoken(last));
        body.insert(
            "@odata.nextLink".into(),
            json!(format!("{}{}?{}", c.base(), c.req.path, ser.finish())),
        );
    }
    body.insert("value".into(), Value::Array(out));
    Value::Object(body)
}

fn list_top(c: &Ctx, coll: Coll) -> Result<GraphResponse, GraphError> {
    let q = c.query()?;
    let kind = coll.kind();
    odata::check_select(q.select.as_deref(), &kind.template(), kind.odata_type())?;
    if let Some(f) = &q.filter {
        f.check(&coll.filterable())?;
    }
    let emu = c.state.read();
    let t = tenant_of(&emu, c)?;
    let now = c.now;
    let filter = q.filter.clone();
    let items = coll
        .get(t)
        .iter_after(q.skip_after.as_deref())
        .filter_map(move |r| r.view(now).map(|o| (r.id(), o)))
        .filter(move |(_, o)| filter.as_ref().is_none_or(|f| f.matches(o)));
    let mut body = page(c, c.context(coll.name()), items, &q, kind, |o| o.clone());
    if q.count && q.skip_after.is_none() {
        // `$count=true` (with ConsistencyLevel: eventual): `@odata.count` on the first page only.
        let total = coll
            .get(t)
            .iter()
            .filter_map(|r| r.view(now))
            .filter(|o| q.filter.as_ref().is_none_or(|f| f.matches(o)))
            .count();
        if let Value::Object(m) = &mut body {
            let mut out = Map::new();
            for (k, v) in std::mem::take(m) {
                out.insert(k.clone(), v);
                if k == "@odata.context" {
                    out.insert("@odata.count".into(), json!(total));
                }
            }
            *m = out;
        }
    }
    Ok(GraphResponse::ok(body))
}

/// Find a record by the route's key (id, appId or uniqueName), as readers see it.
fn find_key<'a>(c: &Ctx, coll: &'a Collection) -> Option<&'a Record> {
    let v = c.param(0);
    let r = if c.route.template.contains("(appId=") {
        coll.find_by("appId", v)
    } else if c.route.template.contains("(uniqueName=") {
        coll.find_by("uniqueName", v)
    } else if c.route.template.starts_with("/users/") {
        coll.get(v).or_else(|| coll.find_by("userPrincipalName", v))
    } else {
        coll.get(v)
    };
    r.filter(|r| r.view(c.now).is_some())
}

/// A copy of the record the request's key names (see [`find_key`]), or 404.
fn find_record(c: &Ctx, coll: &Collection) -> Result<Record, GraphError> {
    find_key(c, coll).cloned().ok_or_else(|| key_not_found(c))
}

/// DELETE of an object that does not go to deleted items (grants, policies).
fn delete_record(c: &Ctx, coll: Coll) -> Result<GraphResponse, GraphError> {
    let mut emu = c.state.write();
    let t = tenant_mut(&mut emu, c)?;
    let id = find_record(c, coll.get(t))?.id().to_string();
    coll.get_mut(t).remove(&id);
    Ok(GraphResponse::no_content())
}

fn key_not_found(c: &Ctx) -> GraphError {
    let v = c.param(0);
    if c.route.template.contains("(appId=") {
        GraphError::not_found(&format!("appId={v}"))
    } else if c.route.template.contains("(uniqueName=") {
        GraphError::not_found(&format!("uniqueName={v}"))
    } else {
        GraphError::not_found(v)
    }
}

fn get_one(c: &Ctx, coll: Coll) -> Result<GraphResponse, GraphError> {
    let q = c.query()?;
    if q.filter.is_some() || q.top.is_some() {
        return Err(GraphError::bad_request(
            "Query options $filter and $top are not allowed on a single entity.",
        ));
    }
    let kind = coll.kind();
    odata::check_select(q.select.as_deref(), &kind.template(), kind.odata_type())?;
    let emu = c.state.read();
    let t = tenant_of(&emu, c)?;
    let rec = find_key(c, coll.get(t)).ok_or_else(|| key_not_found(c))?;
    let obj = rec.view(c.now).ok_or_else(|| key_not_found(c))?;
    let mut out = Map::new();
    let ctx = match &q.select {
        Some(s) => format!("{}({})/$entity", coll.name(), s.join(",")),
        None => format!("{}/$entity", coll.name()),
    };
    out.insert("@odata.context".into(), json!(c.context(&ctx)));
    out.extend(odata::select(
        obj,
        q.select.as_deref(),
        kind.default_select(),
    ));
    Ok(GraphResponse::ok(Value::Object(out)))
}

fn entity_body(c: &Ctx, coll_name: &str, obj: &Obj) -> Value {
    let mut out = Map::new();
    out.insert(
        "@odata.context".into(),
        json!(c.context(&format!("{coll_name}/$entity"))),
    );
    out.extend(obj.clone());
    Value::Object(out)
}

fn require_str<'a>(obj: &'a Obj, prop: &str) -> Result<&'a str, GraphError> {
    match obj.get(prop) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s),
        _ => Err(GraphError::bad_request(format!(
            "Property '{prop}' is required and must be a non-empty string."
        ))),
    }
}

fn conflict(prop: &str) -> GraphError {
    GraphError::bad_request(format!(
        "Another object with the same value for property {prop} already exists."
    ))
    .with_code("Request_MultipleObjectsWithSameKeyValue")
}

impl GraphError {
    fn with_code(mut self, code: &str) -> Self {
        self.code = code.to_string();
        self
    }
    fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }
}

// ---------------------------------------------------------------------------------------------
// applications

fn create_application(c: &Ctx, unique_name: Option<&str>) -> Result<GraphResponse, GraphError> {
    let allow: &[&str] = &[];
    let body = schema::validate_write(Kind::Application, c.req.body.as_ref(), allow)?;
    require_str(&body, "displayName")?;
    let mut emu = c.state.write();
    let t = tenant_mut(&mut emu, c)?;
    let unique = unique_name.map(str::to_string).or_else(|| {
        body.get("uniqueName")
            .and_then(Value::as_str)
            .map(str::to_string)
    });
    if let Some(u) = &unique
        && t.applications.find_by("uniqueName", u).is_some()
    {
        return Err(conflict("uniqueName"));
    }
    let mut obj = schema::instantiate(Kind::Application, &body);
    let id = c.state.new_guid();
    let app_id = c.state.new_guid();
    obj.insert("id".into(), json!(id));
    obj.insert("appId".into(), json!(app_id));
    obj.insert("createdDateTime".into(), json!(c.timestamp()));
    let domain = t
        .organization
        .get("verifiedDomains")
        .and_then(Value::as_array)
        .and_then(|ds| {
            ds.iter()
                .find(|d| d.get("isDefault").and_then(Value::as_bool) == Some(true))
                .or(ds.first())
        })
        .and_then(|d| d.get("name"))
        .cloned()
        .unwrap_or(Value::Null);
    obj.insert("publisherDomain".into(), domain);
    if let Some(u) = unique {
        obj.insert("uniqueName".into(), json!(u));
    }
    let mut rec = Record::new(obj.clone());
    rec.visible_at = c.replication_until();
    if c.caller.app_only
        && let Some(owner) = c.caller_object_id(t)
    {
        rec.internal.owners.push(owner);
    }
    t.applications.insert(rec);
    Ok(GraphResponse::created(entity_body(c, "applications", &obj)))
}

/// OwnedBy callers may only write objects they own.
fn check_owner(c: &Ctx, t: &Tenant, rec: &Record) -> Result<(), GraphError> {
    let all = c.caller.has("Application.ReadWrite.All") || c.caller.has("Directory.ReadWrite.All");
    if all || !c.caller.app_only {
        return Ok(());
    }
    let me = c.caller_object_id(t).unwrap_or_default();
    if rec.internal.owners.contains(&me) {
        Ok(())
    } else {
        Err(GraphError::denied())
    }
}

fn update_record(c: &Ctx, rec: &mut Record, patch: &Obj, replace_whole: &[&str]) {
    let before = rec.view(c.now).cloned();
    schema::merge_patch(&mut rec.obj, patch, replace_whole);
    if let Some(until) = c.replication_until() {
        rec.previous = before;
        rec.visible_at = Some(until);
    }
}

fn patch_application(c: &Ctx) -> Result<GraphResponse, GraphError> {
    let upsert = c.route.template.contains("(uniqueName=");
    let create_if_missing = c.req.header("prefer").is_some_and(|p| {
        p.split(',')
            .any(|x| x.trim().eq_ignore_ascii_case("create-if-missing"))
    });
    let body = schema::validate_write(Kind::Application, c.req.body.as_ref(), &[])?;
    {
        let mut emu = c.state.write();
        let t = tenant_mut(&mut emu, c)?;
        let id = find_key(c, &t.applications).map(|r| r.id().to_string());
        match id {
            Some(id) => {
                if let Some(u) = body.get("uniqueName") {
                    let current = t
                        .applications
                        .get(&id)
                        .and_then(|r| r.obj.get("uniqueName").cloned());
                    if current.as_ref().is_some_and(|cu| !cu.is_null() && cu != u) {
                        return Err(GraphError::bad_request(
                            "Property 'uniqueName' is immutable once set and cannot be changed.",
                        ));
                    }
                    if let Some(us) = u.as_str()
                        && t.applications
                            .find_by("uniqueName", us)
                            .is_some_and(|r| r.id() != id)
                    {
                        return Err(conflict("uniqueName"));
                    }
                }
                if let Some(Value::String(dn)) = body.get("displayName")
                    && dn.trim().is_empty()
                {
                    return Err(GraphError::bad_request(
                        "Property 'displayName' cannot be empty.",
                    ));
                }
                let rec = t.applications.get(&id).cloned().unwrap_or_default();
                check_owner(c, t, &rec)?;
                let mut rec = rec;
                update_record(c, &mut rec, &body, &["optionalClaims"]);
                t.applications.insert(rec);
                return Ok(GraphResponse::no_content());
            }
            None if upsert && create_if_missing => {}
            None => return Err(key_not_found(c)),
        }
    }
    let unique = c.param(0).to_string();
    if !c.caller.has("Application.ReadWrite.All")
        && !c.caller.has("Application.ReadWrite.OwnedBy")
        && !c.caller.has("AppRegistration.Create")
    {
        return Err(GraphError::denied());
    }
    create_application(c, Some(&unique))
}

fn delete_directory_object(c: &Ctx, coll: Coll) -> Result<GraphResponse, GraphError> {
    let mut emu = c.state.write();
    let t = tenant_mut(&mut emu, c)?;
    let rec = find_record(c, coll.get(t))?;
    check_owner(c, t, &rec)?;
    let mut rec = coll.get_mut(t).remove(rec.id()).unwrap_or(rec);
    let when = c.timestamp();
    rec.obj.insert("deletedDateTime".into(), json!(when));
    rec.visible_at = None;
    rec.previous = None;
    let id = rec.id().to_string();
    if coll == Coll::Applications {
        // Deleting an application also deletes its service principal in the home tenant.
        let app_id = rec.str("appId").unwrap_or("").to_string();
        if let Some(sp) = t
            .service_principal_by_app_id(&app_id)
            .map(|r| r.id().to_string())
            && let Some(mut sp_rec) = t.service_principals.remove(&sp)
        {
            sp_rec.obj.insert("deletedDateTime".into(), json!(when));
            t.deleted_items.insert(
                sp.clone(),
                DeletedItem {
                    kind: "servicePrincipals".into(),
                    record: sp_rec,
                },
            );
        }
    }
    t.deleted_items.insert(
        id,
        DeletedItem {
            kind: coll.name().into(),
            record: rec,
        },
    );
    Ok(GraphResponse::no_content())
}

// ---------------------------------------------------------------------------------------------
// service principals

fn create_service_principal(c: &Ctx) -> Result<GraphResponse, GraphError> {
    let body = schema::validate_write(Kind::ServicePrincipal, c.req.body.as_ref(), &["appId"])?;
    let app_id = require_str(&body, "appId")?.to_string();
    let mut emu = c.state.write();
    let t = tenant_mut(&mut emu, c)?;
    let app = t
        .application_by_app_id(&app_id)
        .filter(|r| r.is_visible(c.now))
        .cloned()
        .ok_or_else(|| {
            GraphError::bad_request(format!(
                "The appId '{app_id}' of the service principal does not reference a valid application object."
            ))
        })?;
    if t.service_principal_by_app_id(&app_id).is_some() {
        return Err(conflict("servicePrincipalNames").with_status(409));
    }
    if c.caller.app_only
        && !c.caller.has("Application.ReadWrite.All")
        && !c.caller.has("Directory.ReadWrite.All")
    {
        check_owner(c, t, &app)?;
    }
    let mut obj = schema::instantiate(Kind::ServicePrincipal, &body);
    obj.insert("id".into(), json!(c.state.new_guid()));
    obj.insert("createdDateTime".into(), json!(c.timestamp()));
    for (sp_prop, app_prop) in [
        ("appDisplayName", "displayName"),
        ("signInAudience", "signInAudience"),
        ("appRoles", "appRoles"),
    ] {
        obj.insert(
            sp_prop.into(),
            app.obj.get(app_prop).cloned().unwrap_or(Value::Null),
        );
    }
    if body.get("displayName").is_none() {
        obj.insert(
            "displayName".into(),
            app.obj.get("displayName").cloned().unwrap_or(Value::Null),
        );
    }
    obj.insert(
        "oauth2PermissionScopes".into(),
        app.obj
            .get("api")
            .and_then(|a| a.get("oauth2PermissionScopes"))
            .cloned()
            .unwrap_or(json!([])),
    );
    obj.insert("appOwnerOrganizationId".into(), json!(t.id));
    let mut names = vec![json!(app_id)];
    if let Some(Value::Array(uris)) = app.obj.get("identifierUris") {
        names.extend(uris.iter().cloned());
    }
    obj.insert("servicePrincipalNames".into(), Value::Array(names));
    let mut rec = Record::new(obj.clone());
    rec.visible_at = c.replication_until();
    if c.caller.app_only
        && let Some(owner) = c.caller_object_id(t)
    {
        rec.internal.owners.push(owner);
    }
    rec.internal
        .owners
        .extend(app.internal.owners.iter().cloned());
    t.service_principals.insert(rec);
    Ok(GraphResponse::created(entity_body(
        c,
        "servicePrincipals",
        &obj,
    )))
}

fn patch_service_principal(c: &Ctx) -> Result<GraphResponse, GraphError> {
    let body = schema::validate_write(Kind::ServicePrincipal, c.req.body.as_ref(), &[])?;
    if body.contains_key("appId") {
        return Err(GraphError::read_only_property("appId"));
    }
    let mut emu = c.state.write();
    let t = tenant_mut(&mut emu, c)?;
    let mut rec = find_record(c, &t.service_principals)?;
    check_owner(c, t, &rec)?;
    update_record(c, &mut rec, &body, &[]);
    t.service_principals.insert(rec);
    Ok(GraphResponse::no_content())
}

// ---------------------------------------------------------------------------------------------
// appRoleAssignedTo / appRoleAssignments

fn list_assignments(c: &Ctx, by: &str) -> Result<GraphResponse, GraphError> {
    let q = c.query()?;
    odata::check_select(
        q.select.as_deref(),
        &Kind::AppRoleAssignment.template(),
        Kind::AppRoleAssignment.odata_type(),
    )?;
    if let Some(f) = &q.filter {
        f.check(&Filterable {
            odata_type: Kind::AppRoleAssignment.odata_type(),
            eq: &["principalId", "resourceId", "appRoleId", "principalType"],
            starts_with: &[],
            any: &[],
        })?;
    }
    let emu = c.state.read();
    let t = tenant_of(&emu, c)?;
    let sp_id = c.param(0).to_ascii_lowercase();
    if t.service_principals
        .get(&sp_id)
        .filter(|r| r.is_visible(c.now))
        .is_none()
    {
        return Err(GraphError::not_found(&sp_id));
    }
    let now = c.now;
    let filter = q.filter.clone();
    let items = t
        .app_role_assignments
        .iter_after(q.skip_after.as_deref())
        .filter(|r| r.str(by) == Some(sp_id.as_str()))
        .filter_map(move |r| r.view(now).map(|o| (r.id(), o)))
        .filter(move |(_, o)| filter.as_ref().is_none_or(|f| f.matches(o)));
    let nav = if by == "resourceId" {
        "appRoleAssignedTo"
    } else {
        "appRoleAssignments"
    };
    let ctx = c.context(&format!("servicePrincipals('{sp_id}')/{nav}"));
    Ok(GraphResponse::ok(page(
        c,
        ctx,
        items,
        &q,
        Kind::AppRoleAssignment,
        |o| o.clone(),
    )))
}

fn create_assignment(c: &Ctx) -> Result<GraphResponse, GraphError> {
    let body = schema::validate_write(Kind::AppRoleAssignment, c.req.body.as_ref(), &[])?;
    let principal_id = require_str(&body, "principalId")?.to_ascii_lowercase();
    let resource_id = require_str(&body, "resourceId")?.to_ascii_lowercase();
    let app_role_id = require_str(&body, "appRoleId")?.to_ascii_lowercase();
    let sp_in_path = c.param(0).to_ascii_lowercase();
    let mut emu = c.state.write();
    let t = tenant_mut(&mut emu, c)?;
    let resource = t
        .service_principals
        .get(&sp_in_path)
        .filter(|r| r.is_visible(c.now))
        .cloned()
        .ok_or_else(|| GraphError::not_found(&sp_in_path))?;
    if resource_id != sp_in_path {
        return Err(GraphError::bad_request(format!(
            "Resource '{resource_id}' does not exist or one of its queried reference-property objects are not present."
        )));
    }
    let (principal_type, principal_name) = if let Some(u) =
        t.users.get(&principal_id).filter(|r| r.is_visible(c.now))
    {
        ("User", u.obj.get("displayName").cloned())
    } else if let Some(g) = t.groups.get(&principal_id).filter(|r| r.is_visible(c.now)) {
        ("Group", g.obj.get("displayName").cloned())
    } else if let Some(s) = t
        .service_principals
        .get(&principal_id)
        .filter(|r| r.is_visible(c.now))
    {
        ("ServicePrincipal", s.obj.get("displayName").cloned())
    } else {
        return Err(GraphError::bad_request(format!(
            "Resource '{principal_id}' does not exist or one of its queried reference-property objects are not present."
        )));
    };
    let default_role = "00000000-0000-0000-0000-000000000000";
    let role_exists = app_role_id == default_role
        || resource
            .obj
            .get("appRoles")
            .and_then(Value::as_array)
            .is_some_and(|rs| {
                rs.iter().any(|r| {
                    r.get("id")
                        .and_then(Value::as_str)
                        .is_some_and(|i| i.eq_ignore_ascii_case(&app_role_id))
                })
            });
    if !role_exists {
        return Err(GraphError::bad_request(format!(
            "Permission being assigned was not found on application '{}'.",
            resource.str("appId").unwrap_or("")
        )));
    }
    let dup = t.app_role_assignments.iter().any(|a| {
        a.str("principalId") == Some(principal_id.as_str())
            && a.str("resourceId") == Some(resource_id.as_str())
            && a.str("appRoleId")
                .is_some_and(|r| r.eq_ignore_ascii_case(&app_role_id))
    });
    if dup {
        return Err(GraphError::bad_request(
            "Permission being assigned already exists on the object.",
        ));
    }
    let mut obj = Kind::AppRoleAssignment.template();
    obj.insert("id".into(), json!(c.opaque_id()));
    obj.insert("appRoleId".into(), json!(app_role_id));
    obj.insert("createdDateTime".into(), json!(c.timestamp()));
    obj.insert(
        "principalDisplayName".into(),
        principal_name.unwrap_or(Value::Null),
    );
    obj.insert("principalId".into(), json!(principal_id));
    obj.insert("principalType".into(), json!(principal_type));
    obj.insert(
        "resourceDisplayName".into(),
        resource
            .obj
            .get("displayName")
            .cloned()
            .unwrap_or(Value::Null),
    );
    obj.insert("resourceId".into(), json!(resource_id));
    let mut rec = Record::new(obj.clone());
    rec.visible_at = c.replication_until();
    t.app_role_assignments.insert(rec);
    let mut out = Map::new();
    out.insert(
        "@odata.context".into(),
        json!(c.context(&format!(
            "servicePrincipals('{sp_in_path}')/appRoleAssignedTo/$entity"
        ))),
    );
    out.extend(obj);
    Ok(GraphResponse::created(Value::Object(out)))
}

fn delete_assignment(c: &Ctx) -> Result<GraphResponse, GraphError> {
    let sp = c.param(0).to_ascii_lowercase();
    let aid = c.param(1);
    let mut emu = c.state.write();
    let t = tenant_mut(&mut emu, c)?;
    if t.service_principals.get(&sp).is_none() {
        return Err(GraphError::not_found(&sp));
    }
    match t.app_role_assignments.get(aid) {
        Some(a) if a.str("resourceId") == Some(sp.as_str()) && a.is_visible(c.now) => {
            t.app_role_assignments.remove(aid);
            Ok(GraphResponse::no_content())
        }
        _ => Err(GraphError::not_found(aid)),
    }
}

// ---------------------------------------------------------------------------------------------
// oauth2PermissionGrants

fn list_grants_of_sp(c: &Ctx) -> Result<GraphResponse, GraphError> {
    let q = c.query()?;
    let emu = c.state.read();
    let t = tenant_of(&emu, c)?;
    let sp = c.param(0).to_ascii_lowercase();
    if t.service_principals
        .get(&sp)
        .filter(|r| r.is_visible(c.now))
        .is_none()
    {
        return Err(GraphError::not_found(&sp));
    }
    let now = c.now;
    let items = t
        .oauth2_permission_grants
        .iter_after(q.skip_after.as_deref())
        .filter(|r| r.str("clientId") == Some(sp.as_str()))
        .filter_map(move |r| r.view(now).map(|o| (r.id(), o)));
    let ctx = c.context("oauth2PermissionGrants");
    Ok(GraphResponse::ok(page(
        c,
        ctx,
        items,
        &q,
        Kind::Grant,
        |o| o.clone(),
    )))
}

fn create_grant(c: &Ctx) -> Result<GraphResponse, GraphError> {
    let body = schema::validate_write(Kind::Grant, c.req.body.as_ref(), &[])?;
    let client_id = require_str(&body, "clientId")?.to_ascii_lowercase();
    let resource_id = require_str(&body, "resourceId")?.to_ascii_lowercase();
    let consent_type = require_str(&body, "consentType")?.to_string();
    let principal_id = body
        .get("principalId")
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase);
    let scope = body
        .get("scope")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    match (consent_type.as_str(), &principal_id) {
        ("AllPrincipals", Some(_)) => {
            return Err(GraphError::bad_request(
                "principalId must be null when consentType is 'AllPrincipals'.",
            ));
        }
        ("Principal", None) => {
            return Err(GraphError::bad_request(
                "principalId is required when consentType is 'Principal'.",
            ));
        }
        ("AllPrincipals" | "Principal", _) => {}
        _ => {
            return Err(GraphError::bad_request(format!(
                "Invalid value '{consent_type}' for property 'consentType'. Valid values are 'AllPrincipals' and 'Principal'."
            )));
        }
    }
    if scope.len() > 3850 {
        return Err(GraphError::bad_request(
            "The scope property cannot exceed 3850 characters.",
        ));
    }
    let mut emu = c.state.write();
    let t = tenant_mut(&mut emu, c)?;
    for id in [&client_id, &resource_id] {
        if t.service_principals
            .get(id)
            .filter(|r| r.is_visible(c.now))
            .is_none()
        {
            return Err(GraphError::bad_request(format!(
                "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
            )));
        }
    }
    if let Some(p) = &principal_id
        && t.users.get(p).filter(|r| r.is_visible(c.now)).is_none()
    {
        return Err(GraphError::bad_request(format!(
            "Resource '{p}' does not exist or one of its queried reference-property objects are not present."
        )));
    }
    let dup = t.oauth2_permission_grants.iter().any(|g| {
        g.str("clientId") == Some(client_id.as_str())
            && g.str("resourceId") == Some(resource_id.as_str())
            && g.str("consentType") == Some(consent_type.as_str())
            && g.str("principalId") == principal_id.as_deref()
    });
    if dup {
        return Err(GraphError::new(
            409,
            "Request_MultipleObjectsWithSameKeyValue",
            "Permission entry already exists.",
        ));
    }
    let mut obj = Map::new();
    obj.insert("clientId".into(), json!(client_id));
    obj.insert("consentType".into(), json!(consent_type));
    obj.insert("id".into(), json!(c.opaque_id()));
    obj.insert("principalId".into(), json!(principal_id));
    obj.insert("resourceId".into(), json!(resource_id));
    obj.insert("scope".into(), json!(scope));
    let mut rec = Record::new(obj.clone());
    rec.visible_at = c.replication_until();
    t.oauth2_permission_grants.insert(rec);
    Ok(GraphResponse::created(entity_body(
        c,
        "oauth2PermissionGrants",
        &obj,
    )))
}

fn patch_grant(c: &Ctx) -> Result<GraphResponse, GraphError> {
    let body = schema::validate_write(Kind::Grant, c.req.body.as_ref(), &[])?;
    for k in body.keys() {
        if k != "scope" {
            return Err(GraphError::bad_request(format!(
                "Property '{k}' cannot be updated; only 'scope' can be changed on an oAuth2PermissionGrant."
            )));
        }
    }
    let mut emu = c.state.write();
    let t = tenant_mut(&mut emu, c)?;
    let mut rec = find_record(c, &t.oauth2_permission_grants)?;
    update_record(c, &mut rec, &body, &[]);
    t.oauth2_permission_grants.insert(rec);
    Ok(GraphResponse::no_content())
}

// ---------------------------------------------------------------------------------------------
// users, groups

fn create_user(c: &Ctx) -> Result<GraphResponse, GraphError> {
    let body = schema::validate_write(Kind::User, c.req.body.as_ref(), &[])?;
    for p in ["displayName", "mailNickname", "userPrincipalName"] {
        require_str(&body, p)?;
    }
    if !body.get("accountEnabled").is_some_and(Value::is_boolean) {
        return Err(GraphError::bad_request(
            "Property 'accountEnabled' is required and must be a boolean.",
        ));
    }
    let password = body
        .get("passwordProfile")
        .and_then(|p| p.get("password"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| {
            GraphError::bad_request("Property 'passwordProfile' with a password is required.")
        })?;
    let upn = require_str(&body, "userPrincipalName")?.to_string();
    let mut emu = c.state.write();
    let t = tenant_mut(&mut emu, c)?;
    let domain = upn
        .rsplit_once('@')
        .map(|(_, d)| d.to_ascii_lowercase())
        .unwrap_or_default();
    if !t.has_domain(&domain) {
        return Err(GraphError::bad_request(format!(
            "The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization. ('{domain}')"
        )));
    }
    if t.user(&upn).is_some() {
        return Err(conflict("userPrincipalName"));
    }
    let mut obj = schema::instantiate(Kind::User, &body);
    obj.insert("id".into(), json!(c.state.new_guid()));
    obj.insert("createdDateTime".into(), json!(c.timestamp()));
    obj.insert("passwordProfile".into(), Value::Null);
    let mut rec = Record::new(obj.clone());
    rec.internal.password = Some(password);
    rec.internal.per_user_mfa_state = Some("disabled".into());
    rec.visible_at = c.replication_until();
    t.users.insert(rec);
    let shaped = odata::select(&obj, None, Kind::User.default_select());
    Ok(GraphResponse::created(entity_body(c, "users", &shaped)))
}

fn create_group(c: &Ctx) -> Result<GraphResponse, GraphError> {
    let body = schema::validate_write(Kind::Group, c.req.body.as_ref(), &[])?;
    require_str(&body, "displayName")?;
    require_str(&body, "mailNickname")?;
    for p in ["mailEnabled", "securityEnabled"] {
        if !body.get(p).is_some_and(Value::is_boolean) {
            return Err(GraphError::bad_request(format!(
                "Property '{p}' is required and must be a boolean."
            )));
        }
    }
    let mut emu = c.state.write();
    let t = tenant_mut(&mut emu, c)?;
    let mut obj = schema::instantiate(Kind::Group, &body);
    obj.insert("id".into(), json!(c.state.new_guid()));
    obj.insert("createdDateTime".into(), json!(c.timestamp()));
    let mut rec = Record::new(obj.clone());
    rec.visible_at = c.replication_until();
    t.groups.insert(rec);
    Ok(GraphResponse::created(entity_body(c, "groups", &obj)))
}

fn directory_object(t: &Tenant, id: &str, now: Instant) -> Option<(&'static str, Obj)> {
    if let Some(u) = t.users.get(id).and_then(|r| r.view(now)) {
        return Some((
            "#microsoft.graph.user",
            odata::select(u, None, Kind::User.default_select()),
        ));
    }
    if let Some(g) = t.groups.get(id).and_then(|r| r.view(now)) {
        return Some(("#microsoft.graph.group", g.clone()));
    }
    if let Some(s) = t.service_principals.get(id).and_then(|r| r.view(now)) {
        return Some(("#microsoft.graph.servicePrincipal", s.clone()));
    }
    None
}

fn list_members(c: &Ctx, transitive: bool) -> Result<GraphResponse, GraphError> {
    let q = c.query()?;
    if q.filter.is_some() {
        return Err(GraphError::unsupported_query(
            "$filter on members needs ConsistencyLevel: eventual and $count=true (advanced query), which graph-emulator does not model.",
        ));
    }
    let emu = c.state.read();
    let t = tenant_of(&emu, c)?;
    let gid = c.param(0).to_ascii_lowercase();
    let g = t
        .groups
        .get(&gid)
        .filter(|r| r.view(c.now).is_some())
        .ok_or_else(|| GraphError::not_found(&gid))?;
    let mut ids: Vec<String> = if transitive {
        t.transitive_members_of(&gid)
    } else {
        g.internal.members.clone()
    };
    ids.sort();
    let start = match &q.skip_after {
        Some(after) => ids.partition_point(|i| i.as_str() <= after.as_str()),
        None => 0,
    };
    let objs: Vec<(String, &'static str, Obj)> = ids[start..]
        .iter()
        .filter_map(|id| directory_object(t, id, c.now).map(|(ty, o)| (id.clone(), ty, o)))
        .collect();
    let items = objs.iter().map(|(id, _, o)| (id.as_str(), o));
    let types: std::collections::HashMap<&str, &str> =
        objs.iter().map(|(id, ty, _)| (id.as_str(), *ty)).collect();
    let ctx = c.context("directoryObjects");
    let body = page(c, ctx, items, &q, Kind::Group, |o| {
        let mut out = Map::new();
        let ty = o
            .get("id")
            .and_then(Value::as_str)
            .and_then(|i| types.get(i))
            .copied()
            .unwrap_or("#microsoft.graph.directoryObject");
        out.insert("@odata.type".into(), json!(ty));
        out.extend(o.clone());
        out
    });
    Ok(GraphResponse::ok(body))
}

fn add_member(c: &Ctx) -> Result<GraphResponse, GraphError> {
    let body = c
        .req
        .body
        .as_ref()
        .and_then(Value::as_object)
        .ok_or_else(|| {
            GraphError::new(400, "BadRequest", "Empty Payload. JSON content expected.")
        })?;
    let odata_id = body
        .get("@odata.id")
        .and_then(Value::as_str)
        .ok_or_else(|| GraphError::bad_request("Invalid request body: '@odata.id' is required."))?;
    let member = odata_id
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let gid = c.param(0).to_ascii_lowercase();
    let mut emu = c.state.write();
    let t = tenant_mut(&mut emu, c)?;
    if t.groups.get(&gid).filter(|r| r.is_visible(c.now)).is_none() {
        return Err(GraphError::not_found(&gid));
    }
    if directory_object(t, &member, c.now).is_none()
        || !odata_id.contains("directoryObjects")
            && !odata_id.contains("users")
            && !odata_id.contains("groups")
            && !odata_id.contains("servicePrincipals")
    {
        return Err(GraphError::not_found(&member));
    }
    let g = t
        .groups
        .get_mut(&gid)
        .ok_or_else(|| GraphError::not_found(&gid))?;
    if g.internal.members.contains(&member) {
        return Err(GraphError::bad_request(
            "One or more added object references already exist for the following modified properties: 'members'.",
        ));
    }
    g.internal.members.push(member);
    Ok(GraphResponse::no_content())
}

fn remove_member(c: &Ctx) -> Result<GraphResponse, GraphError> {
    let gid = c.param(0).to_ascii_lowercase();
    let mid = c.param(1).to_ascii_lowercase();
    let mut emu = c.state.write();
    let t = tenant_mut(&mut emu, c)?;
    let g = t
        .groups
        .get_mut(&gid)
        .ok_or_else(|| GraphError::not_found(&gid))?;
    let before = g.internal.members.len();
    g.internal.members.retain(|m| *m != mid);
    if g.internal.members.len() == before {
        return Err(GraphError::not_found(&mid));
    }
    Ok(GraphResponse::no_content())
}

// ---------------------------------------------------------------------------------------------
// organization, subscribedSkus

fn subscribed_skus(c: &Ctx) -> Result<GraphResponse, GraphError> {
    let q = c.query()?;
    if q.filter.is_some() {
        return Err(GraphError::bad_request(
            "$filter is not supported on subscribedSkus.",
        ));
    }
    let emu = c.state.read();
    let t = tenant_of(&emu, c)?;
    let value: Vec<Value> = t
        .subscribed_skus
        .iter()
        .map(|s| Value::Object(odata::select(s, q.select.as_deref(), None)))
        .collect();
    Ok(GraphResponse::ok(
        json!({"@odata.context": c.context("subscribedSkus"), "value": value}),
    ))
}

fn organization(c: &Ctx, one: bool) -> Result<GraphResponse, GraphError> {
    let q = c.query()?;
    let emu = c.state.read();
    let t = tenant_of(&emu, c)?;
    let org = odata::select(&t.organization, q.select.as_deref(), None);
    if one {
        if !c.param(0).eq_ignore_ascii_case(&t.id) {
            return Err(GraphError::not_found(c.param(0)));
        }
        return Ok(GraphResponse::ok(entity_body(c, "organization", &org)));
    }
    Ok(GraphResponse::ok(
        json!({"@odata.context": c.context("organization"), "value": [org]}),
    ))
}

// ---------------------------------------------------------------------------------------------
// conditional access, security defaults, per-user MFA

fn validate_policy_body(body: &Obj, creating: bool) -> Result<(), GraphError> {
    if let Some(s) = body.get("state") {
        match s.as_str() {
            Some("enabled" | "disabled" | "enabledForReportingButNotEnforced") => {}
            _ => {
                return Err(GraphError::bad_request(format!(
                    "Invalid value '{s}' for property 'state'. Valid values are 'enabled', 'disabled' and 'enabledForReportingButNotEnforced'."
                )));
            }
        }
    }
    if let Some(Value::Object(g)) = body.get("grantControls") {
        if let Some(op) = g.get("operator")
            && !matches!(op.as_str(), Some("AND" | "OR"))
        {
            return Err(GraphError::bad_request(
                "grantControls.operator must be 'AND' or 'OR'.",
            ));
        }
        if let Some(Value::Array(ctrls)) = g.get("builtInControls") {
            for ctl in ctrls {
                if !matches!(
                    ctl.as_str(),
                    Some(
                        "block"
                            | "mfa"
                            | "compliantDevice"
                            | "domainJoinedDevice"
                            | "approvedApplication"
                            | "compliantApplication"
                            | "passwordChange"
                            | "unknownFutureValue"
                    )
                ) {
                    return Err(GraphError::bad_request(format!(
                        "Invalid value '{ctl}' in grantControls.builtInControls."
                    )));
                }
            }
        }
    }
    if creating {
        require_str(body, "displayName")?;
        if !body.contains_key("state") {
            return Err(GraphError::bad_request("Property 'state' is required."));
        }
        let conditions = body
            .get("conditions")
            .and_then(Value::as_object)
            .ok_or_else(|| GraphError::bad_request("Property 'conditions' is required."))?;
        if !conditions.contains_key("applications") || !conditions.contains_key("users") {
            return Err(GraphError::bad_request(
                "conditions.applications and conditions.users are required.",
            ));
        }
        if body.get("grantControls").is_none_or(Value::is_null)
            && body.get("sessionControls").is_none_or(Value::is_null)
        {
            return Err(GraphError::bad_request(
                "A policy needs grantControls or sessionControls.",
            ));
        }
    }
    Ok(())
}

fn expand_strength(c: &Ctx, obj: &mut Obj) {
    if let Some(Value::Object(g)) = obj.get_mut("grantControls") {
        if !g.contains_key("authenticationStrength") {
            g.insert("authenticationStrength".into(), Value::Null);
        }
        for (k, d) in [
            ("customAuthenticationFactors", json!([])),
            ("termsOfUse", json!([])),
        ] {
            g.entry(k).or_insert(d);
        }
        let ctx = c.context(&format!(
            "identity/conditionalAccess/policies('{}')/grantControls/authenticationStrength/$entity",
            obj.get("id").and_then(Value::as_str).unwrap_or("")
        ));
        if let Some(Value::Object(g)) = obj.get_mut("grantControls") {
            let mut fresh = Map::new();
            for (k, v) in g.iter() {
                if k == "authenticationStrength" {
                    fresh.insert("authenticationStrength@odata.context".into(), json!(ctx));
                }
                if k != "authenticationStrength@odata.context" {
                    fresh.insert(k.clone(), v.clone());
                }
            }
            *g = fresh;
        }
    }
}

fn create_policy(c: &Ctx) -> Result<GraphResponse, GraphError> {
    let body = schema::validate_write(Kind::ConditionalAccessPolicy, c.req.body.as_ref(), &[])?;
    validate_policy_body(&body, true)?;
    let mut emu = c.state.write();
    let t = tenant_mut(&mut emu, c)?;
    let mut obj = schema::instantiate(Kind::ConditionalAccessPolicy, &body);
    obj.insert("id".into(), json!(c.state.new_guid()));
    obj.insert("createdDateTime".into(), json!(c.timestamp()));
    expand_strength(c, &mut obj);
    let mut rec = Record::new(obj.clone());
    rec.visible_at = c.replication_until();
    t.conditional_access_policies.insert(rec);
    Ok(GraphResponse::created(entity_body(
        c,
        "identity/conditionalAccess/policies",
        &obj,
    )))
}

fn patch_policy(c: &Ctx) -> Result<GraphResponse, GraphError> {
    let body = schema::validate_write(Kind::ConditionalAccessPolicy, c.req.body.as_ref(), &[])?;
    validate_policy_body(&body, false)?;
    let mut emu = c.state.write();
    let t = tenant_mut(&mut emu, c)?;
    let mut rec = find_record(c, &t.conditional_access_policies)?;
    update_record(c, &mut rec, &body, &["grantControls", "sessionControls"]);
    rec.obj
        .insert("modifiedDateTime".into(), json!(c.timestamp()));
    expand_strength(c, &mut rec.obj);
    t.conditional_access_policies.insert(rec);
    Ok(GraphResponse::no_content())
}

fn get_security_defaults(c: &Ctx) -> Result<GraphResponse, GraphError> {
    let emu = c.state.read();
    let t = tenant_of(&emu, c)?;
    let mut out = Map::new();
    out.insert(
        "@odata.context".into(),
        json!(c.context("policies/identitySecurityDefaultsEnforcementPolicy")),
    );
    out.extend(t.security_defaults.clone());
    Ok(GraphResponse::ok(Value::Object(out)))
}

fn patch_security_defaults(c: &Ctx) -> Result<GraphResponse, GraphError> {
    let Some(Value::Object(body)) = c.req.body.as_ref() else {
        return Err(GraphError::new(
            400,
            "BadRequest",
            "Empty Payload. JSON content expected.",
        ));
    };
    for (k, v) in body {
        match k.as_str() {
            "isEnabled" if v.is_boolean() => {}
            "isEnabled" => {
                return Err(GraphError::bad_request(
                    "Property 'isEnabled' must be a boolean.",
                ));
            }
            "displayName" | "description" | "id" => return Err(GraphError::read_only_property(k)),
            _ => {
                return Err(GraphError::unknown_property(
                    k,
                    "microsoft.graph.identitySecurityDefaultsEnforcementPolicy",
                ));
            }
        }
    }
    let mut emu = c.state.write();
    let t = tenant_mut(&mut emu, c)?;
    if let Some(v) = body.get("isEnabled") {
        t.security_defaults.insert("isEnabled".into(), v.clone());
    }
    Ok(GraphResponse::no_content())
}

fn get_auth_requirements(c: &Ctx) -> Result<GraphResponse, GraphError> {
    let emu = c.state.read();
    let t = tenant_of(&emu, c)?;
    let u = find_key(c, &t.users).ok_or_else(|| key_not_found(c))?;
    let state = u
        .internal
        .per_user_mfa_state
        .clone()
        .unwrap_or_else(|| "disabled".into());
    Ok(GraphResponse::ok(json!({
        "@odata.context": c.context(&format!("users('{}')/authentication/requirements/$entity", c.param(0))),
        "perUserMfaState": state
    })))
}

fn patch_auth_requirements(c: &Ctx) -> Result<GraphResponse, GraphError> {
    let Some(Value::Object(body)) = c.req.body.as_ref() else {
        return Err(GraphError::new(
            400,
            "BadRequest",
            "Empty Payload. JSON content expected.",
        ));
    };
    let mut new_state = None;
    for (k, v) in body {
        match (k.as_str(), v.as_str()) {
            ("perUserMfaState", Some(s @ ("disabled" | "enabled" | "enforced"))) => {
                new_state = Some(s.to_string())
            }
            ("perUserMfaState", _) => {
                return Err(GraphError::bad_request(format!(
                    "Invalid value '{v}' for property 'perUserMfaState'. Valid values are 'disabled', 'enabled' and 'enforced'."
                )));
            }
            _ => {
                return Err(GraphError::unknown_property(
                    k,
                    "microsoft.graph.strongAuthenticationRequirements",
                ));
            }
        }
    }
    let mut emu = c.state.write();
    let t = tenant_mut(&mut emu, c)?;
    let id = find_key(c, &t.users)
        .map(|r| r.id().to_string())
        .ok_or_else(|| key_not_found(c))?;
    if let (Some(s), Some(u)) = (new_state, t.users.get_mut(&id)) {
        u.internal.per_user_mfa_state = Some(s);
    }
    Ok(GraphResponse::no_content())
}

// ---------------------------------------------------------------------------------------------
// directory/deletedItems

fn list_deleted(c: &Ctx, kind: &str) -> Result<GraphResponse, GraphError> {
    let q = c.query()?;
    let emu = c.state.read();
    let t = tenant_of(&emu, c)?;
    let items = t
        .deleted_items
        .iter()
        .filter(|(id, d)| d.kind == kind && q.skip_after.as_deref().is_none_or(|a| id.as_str() > a))
        .map(|(id, d)| (id.as_str(), &d.record.obj))
        .filter(|(_, o)| q.filter.as_ref().is_none_or(|f| f.matches(o)));
    let ty = if kind == "applications" {
        "application"
    } else {
        "servicePrincipal"
    };
    let ctx = c.context(&format!("directory/deletedItems/microsoft.graph.{ty}"));
    let k = if kind == "applications" {
        Kind::Application
    } else {
        Kind::ServicePrincipal
    };
    Ok(GraphResponse::ok(page(c, ctx, items, &q, k, |o| o.clone())))
}

fn get_deleted(c: &Ctx) -> Result<GraphResponse, GraphError> {
    let emu = c.state.read();
    let t = tenant_of(&emu, c)?;
    let d = t
        .deleted_items
        .get(&c.param(0).to_ascii_lowercase())
        .ok_or_else(|| GraphError::not_found(c.param(0)))?;
    let ty = if d.kind == "applications" {
        "application"
    } else {
        "servicePrincipal"
    };
    let mut out = Map::new();
    out.insert(
        "@odata.context".into(),
        json!(c.context("directory/deletedItems/$entity")),
    );
    out.insert(
        "@odata.type".into(),
        json!(format!("#microsoft.graph.{ty}")),
    );
    out.extend(d.record.obj.clone());
    Ok(GraphResponse::ok(Value::Object(out)))
}

fn restore_deleted(c: &Ctx) -> Result<GraphResponse, GraphError> {
    let id = c.param(0).to_ascii_lowercase();
    let mut emu = c.state.write();
    let t = tenant_mut(&mut emu, c)?;
    let d = t
        .deleted_items
        .get(&id)
        .cloned()
        .ok_or_else(|| GraphError::not_found(&id))?;
    check_owner(c, t, &d.record)?;
    let mut rec = d.record;
    if d.kind == "applications"
        && let Some(u) = rec.str("uniqueName")
        && t.applications.find_by("uniqueName", u).is_some()
    {
        return Err(conflict("uniqueName"));
    }
    t.deleted_items.remove(&id);
    rec.obj.insert("deletedDateTime".into(), Value::Null);
    let obj = rec.obj.clone();
    match d.kind.as_str() {
        "applications" => t.applications.insert(rec),
        "servicePrincipals" => t.service_principals.insert(rec),
        "users" => t.users.insert(rec),
        _ => t.groups.insert(rec),
    }
    let ty = if d.kind == "applications" {
        "application"
    } else {
        "servicePrincipal"
    };
    let mut out = Map::new();
    out.insert(
        "@odata.context".into(),
        json!(c.context("directoryObjects/$entity")),
    );
    out.insert(
        "@odata.type".into(),
        json!(format!("#microsoft.graph.{ty}")),
    );
    out.extend(obj);
    Ok(GraphResponse::ok(Value::Object(out)))
}

fn purge_deleted(c: &Ctx) -> Result<GraphResponse, GraphError> {
    let id = c.param(0).to_ascii_lowercase();
    let mut emu = c.state.write();
    let t = tenant_mut(&mut emu, c)?;
    let d = t
        .deleted_items
        .get(&id)
        .cloned()
        .ok_or_else(|| GraphError::not_found(&id))?;
    check_owner(c, t, &d.record)?;
    t.deleted_items.remove(&id);
    Ok(GraphResponse::no_content())
}

/// The Microsoft Graph service principal's app id (re-exported for handlers).
pub const MICROSOFT_GRAPH_APP_ID: &str = GRAPH_APP_ID;
