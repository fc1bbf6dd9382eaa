//! Users, groups and group members.

use std::time::Instant;

use serde_json::{Map, Value, json};

use super::common::*;
use crate::graph::odata::{self, GraphError};
use crate::graph::perms;
use crate::graph::request::GraphResponse;
use crate::graph::schema::{self, Kind};
use crate::state::{Obj, Record, Tenant};

// ---------------------------------------------------------------------------------------------
// users, groups

pub fn create_user(c: &Ctx) -> Result<GraphResponse, GraphError> {
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

pub fn create_group(c: &Ctx) -> Result<GraphResponse, GraphError> {
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

/// A directory object by id with its OData type; a user whole when `selected` (a `$select`
/// follows), else with a user's default properties.
pub fn directory_object(
    t: &Tenant,
    id: &str,
    now: Instant,
    selected: bool,
) -> Option<(&'static str, Obj)> {
    if let Some(u) = t.users.get(id).and_then(|r| r.view(now)) {
        let u = if selected {
            u.clone()
        } else {
            odata::select(u, None, Kind::User.default_select())
        };
        return Some(("#microsoft.graph.user", u));
    }
    if let Some(g) = t.groups.get(id).and_then(|r| r.view(now)) {
        return Some(("#microsoft.graph.group", g.clone()));
    }
    if let Some(s) = t.service_principals.get(id).and_then(|r| r.view(now)) {
        return Some(("#microsoft.graph.servicePrincipal", s.clone()));
    }
    None
}

pub fn list_members(c: &Ctx, transitive: bool) -> Result<GraphResponse, GraphError> {
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
    // Only the page's objects (and one more: whether a next page follows) are copied out of
    // the tenant: a 10,000-member group's pages are each as cheap as the first.
    let objs: Vec<(String, &'static str, Obj)> = ids[start..]
        .iter()
        .filter_map(|id| {
            directory_object(t, id, c.now, q.select.is_some()).map(|(ty, o)| (id.clone(), ty, o))
        })
        .take(q.top.unwrap_or(odata::DEFAULT_PAGE).saturating_add(1))
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

pub fn add_member(c: &Ctx) -> Result<GraphResponse, GraphError> {
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
    let Some((odata_type, _)) = directory_object(t, &member, c.now, false) else {
        return Err(GraphError::not_found(&member));
    };
    if !odata_id.contains("directoryObjects")
        && !odata_id.contains("users")
        && !odata_id.contains("groups")
        && !odata_id.contains("servicePrincipals")
    {
        return Err(GraphError::not_found(&member));
    }
    if perms::member_add_rule(odata_type).is_some_and(|r| !perms::allowed(&r, &c.caller.granted()))
    {
        return Err(GraphError::denied());
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

/// `DELETE /groups/{id}`: a security group (or a distribution group) is deleted at once and is
/// no longer anyone's member; a Microsoft 365 group (`groupTypes` holds `Unified`) goes to deleted
/// items for 30 days (graph-docs `group-delete.md`).
pub fn delete_group(c: &Ctx) -> Result<GraphResponse, GraphError> {
    let mut emu = c.state.write();
    let t = tenant_mut(&mut emu, c)?;
    let id = find_record(c, &t.groups)?.id().to_string();
    let Some(mut rec) = t.groups.remove(&id) else {
        return Err(key_not_found(c));
    };
    let unified = rec
        .obj
        .get("groupTypes")
        .and_then(Value::as_array)
        .is_some_and(|g| g.iter().any(|x| x.as_str() == Some("Unified")));
    for g in t.groups.iter_mut() {
        g.internal.members.retain(|m| *m != id);
    }
    if unified {
        rec.obj
            .insert("deletedDateTime".into(), json!(c.timestamp()));
        t.deleted_items.insert(
            id,
            crate::state::DeletedItem {
                kind: "groups".into(),
                record: rec,
            },
        );
    }
    Ok(GraphResponse::no_content())
}

pub fn remove_member(c: &Ctx) -> Result<GraphResponse, GraphError> {
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
