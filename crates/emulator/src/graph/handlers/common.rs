//! What every handler shares: the request context, the collections, paging, lookups, errors.

use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Map, Value, json};

use crate::app::{SharedState, lock};
use crate::graph::odata::{self, DEFAULT_PAGE, Filterable, GraphError, Query};
use crate::graph::request::{Caller, GraphRequest, GraphResponse};
use crate::graph::routes::Route;
use crate::graph::schema::{self, Kind};
use crate::state::{Collection, Emulator, Obj, Record, Tenant};

/// Context for one handler run.
pub struct Ctx<'a> {
    /// Shared emulator state.
    pub state: &'a SharedState,
    /// The verified caller.
    pub caller: &'a Caller,
    /// The request.
    pub req: &'a GraphRequest,
    /// Its route.
    pub route: &'a Route,
    /// When it arrived (replication visibility).
    pub now: Instant,
}

impl Ctx<'_> {
    pub fn base(&self) -> String {
        format!("{}/{}", self.state.base_url, self.req.version)
    }
    pub fn context(&self, what: &str) -> String {
        format!("{}/$metadata#{}", self.base(), what)
    }
    pub fn query(&self) -> Result<Query, GraphError> {
        let eventual = self
            .req
            .header("consistencylevel")
            .is_some_and(|v| v.eq_ignore_ascii_case("eventual"));
        Query::parse(&self.req.query, eventual)
    }
    pub fn param(&self, i: usize) -> &str {
        self.route.params.get(i).map(String::as_str).unwrap_or("")
    }
    pub fn replication_until(&self) -> Option<Instant> {
        let ms = self.state.knobs().replication_delay_ms;
        (ms > 0).then(|| self.now + Duration::from_millis(ms))
    }
    pub fn timestamp(&self) -> String {
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    }
    pub fn opaque_id(&self) -> String {
        let mut rng = lock(&self.state.rng);
        let mut bytes = [0u8; 32];
        for chunk in bytes.chunks_mut(8) {
            chunk.copy_from_slice(&rng.next_u64().to_le_bytes());
        }
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }
    /// The caller's service principal object id (app-only) or user id (delegated).
    pub fn caller_object_id(&self, t: &Tenant) -> Option<String> {
        if self.caller.app_only {
            t.service_principal_by_app_id(&self.caller.claims.appid)
                .map(|r| r.id().to_string())
        } else {
            self.caller.claims.oid.clone()
        }
    }
}

/// The top-level collections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coll {
    Applications,
    ServicePrincipals,
    Grants,
    Users,
    Groups,
    Policies,
    HomeRealmPolicies,
}

impl Coll {
    pub fn kind(self) -> Kind {
        match self {
            Coll::Applications => Kind::Application,
            Coll::ServicePrincipals => Kind::ServicePrincipal,
            Coll::Grants => Kind::Grant,
            Coll::Users => Kind::User,
            Coll::Groups => Kind::Group,
            Coll::Policies => Kind::ConditionalAccessPolicy,
            Coll::HomeRealmPolicies => Kind::HomeRealmDiscoveryPolicy,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Coll::Applications => "applications",
            Coll::ServicePrincipals => "servicePrincipals",
            Coll::Grants => "oauth2PermissionGrants",
            Coll::Users => "users",
            Coll::Groups => "groups",
            Coll::Policies => "identity/conditionalAccess/policies",
            Coll::HomeRealmPolicies => "policies/homeRealmDiscoveryPolicies",
        }
    }
    pub fn get(self, t: &Tenant) -> &Collection {
        match self {
            Coll::Applications => &t.applications,
            Coll::ServicePrincipals => &t.service_principals,
            Coll::Grants => &t.oauth2_permission_grants,
            Coll::Users => &t.users,
            Coll::Groups => &t.groups,
            Coll::Policies => &t.conditional_access_policies,
            Coll::HomeRealmPolicies => &t.home_realm_discovery_policies,
        }
    }
    pub fn get_mut(self, t: &mut Tenant) -> &mut Collection {
        match self {
            Coll::Applications => &mut t.applications,
            Coll::ServicePrincipals => &mut t.service_principals,
            Coll::Grants => &mut t.oauth2_permission_grants,
            Coll::Users => &mut t.users,
            Coll::Groups => &mut t.groups,
            Coll::Policies => &mut t.conditional_access_policies,
            Coll::HomeRealmPolicies => &mut t.home_realm_discovery_policies,
        }
    }
    pub fn filterable(self) -> Filterable {
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
            Coll::HomeRealmPolicies => Filterable {
                odata_type,
                eq: &["displayName", "id"],
                starts_with: &["displayName"],
                any: &[],
            },
        }
    }
}

pub fn tenant_of<'a>(emu: &'a Emulator, c: &Ctx) -> Result<&'a Tenant, GraphError> {
    emu.tenants.get(&c.caller.tenant).ok_or_else(|| {
        GraphError::unauthenticated("Access token validation failure. Invalid issuer or tenant.")
    })
}

pub fn tenant_mut<'a>(emu: &'a mut Emulator, c: &Ctx) -> Result<&'a mut Tenant, GraphError> {
    emu.tenants.get_mut(&c.caller.tenant).ok_or_else(|| {
        GraphError::unauthenticated("Access token validation failure. Invalid issuer or tenant.")
    })
}

/// A page of results in Graph's shape, with `@odata.nextLink` when more remain.
pub fn page<'a>(
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
        let versioned = kind.shape_for(obj, &c.req.version);
        let shaped = odata::select(&versioned, q.select.as_deref(), kind.default_select());
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

pub fn list_top(c: &Ctx, coll: Coll) -> Result<GraphResponse, GraphError> {
    let q = c.query()?;
    let kind = coll.kind();
    odata::check_select(
        q.select.as_deref(),
        &kind.template_for(&c.req.version),
        kind.odata_type(),
    )?;
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
pub fn find_key<'a>(c: &Ctx, coll: &'a Collection) -> Option<&'a Record> {
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
pub fn find_record(c: &Ctx, coll: &Collection) -> Result<Record, GraphError> {
    find_key(c, coll).cloned().ok_or_else(|| key_not_found(c))
}

/// DELETE of an object that does not go to deleted items (grants, policies).
pub fn delete_record(c: &Ctx, coll: Coll) -> Result<GraphResponse, GraphError> {
    let mut emu = c.state.write();
    let t = tenant_mut(&mut emu, c)?;
    let id = find_record(c, coll.get(t))?.id().to_string();
    coll.get_mut(t).remove(&id);
    Ok(GraphResponse::no_content())
}

pub fn key_not_found(c: &Ctx) -> GraphError {
    let v = c.param(0);
    if c.route.template.contains("(appId=") {
        GraphError::not_found(&format!("appId={v}"))
    } else if c.route.template.contains("(uniqueName=") {
        GraphError::not_found(&format!("uniqueName={v}"))
    } else {
        GraphError::not_found(v)
    }
}

pub fn get_one(c: &Ctx, coll: Coll) -> Result<GraphResponse, GraphError> {
    let q = c.query()?;
    if q.filter.is_some() || q.top.is_some() {
        return Err(GraphError::bad_request(
            "Query options $filter and $top are not allowed on a single entity.",
        ));
    }
    let kind = coll.kind();
    odata::check_select(
        q.select.as_deref(),
        &kind.template_for(&c.req.version),
        kind.odata_type(),
    )?;
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
        &kind.shape_for(obj, &c.req.version),
        q.select.as_deref(),
        kind.default_select(),
    ));
    Ok(GraphResponse::ok(Value::Object(out)))
}

pub fn entity_body(c: &Ctx, coll_name: &str, obj: &Obj) -> Value {
    let mut out = Map::new();
    out.insert(
        "@odata.context".into(),
        json!(c.context(&format!("{coll_name}/$entity"))),
    );
    out.extend(obj.clone());
    Value::Object(out)
}

pub fn require_str<'a>(obj: &'a Obj, prop: &str) -> Result<&'a str, GraphError> {
    match obj.get(prop) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s),
        _ => Err(GraphError::bad_request(format!(
            "Property '{prop}' is required and must be a non-empty string."
        ))),
    }
}

pub fn conflict(prop: &str) -> GraphError {
    GraphError::bad_request(format!(
        "Another object with the same value for property {prop} already exists."
    ))
    .with_code("Request_MultipleObjectsWithSameKeyValue")
}

impl GraphError {
    pub fn with_code(mut self, code: &str) -> Self {
        self.code = code.to_string();
        self
    }
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }
}

/// OwnedBy callers may only write objects they own.
pub fn check_owner(c: &Ctx, t: &Tenant, rec: &Record) -> Result<(), GraphError> {
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

pub fn update_record(c: &Ctx, rec: &mut Record, patch: &Obj, replace_whole: &[&str]) {
    let before = rec.view(c.now).cloned();
    schema::merge_patch(&mut rec.obj, patch, replace_whole);
    if let Some(until) = c.replication_until() {
        rec.previous = before;
        rec.visible_at = Some(until);
    }
}
