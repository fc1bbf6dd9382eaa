//! `directory/deletedItems`: list, get, restore, purge.

use serde_json::{Map, Value, json};

use super::common::*;
use crate::graph::odata::GraphError;
use crate::graph::request::GraphResponse;
use crate::graph::schema::Kind;

// ---------------------------------------------------------------------------------------------
// directory/deletedItems

pub fn list_deleted(c: &Ctx, kind: &str) -> Result<GraphResponse, GraphError> {
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

pub fn get_deleted(c: &Ctx) -> Result<GraphResponse, GraphError> {
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

pub fn restore_deleted(c: &Ctx) -> Result<GraphResponse, GraphError> {
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
    // A service principal whose appId has a live one since (created after its application was
    // restored) cannot come back: "The service principal cannot be created, updated, or restored
    // because the service principal name … is already in use" (409).
    if d.kind == "servicePrincipals"
        && let Some(app_id) = rec.str("appId")
        && t.service_principal_by_app_id(app_id).is_some()
    {
        return Err(conflict("servicePrincipalNames").with_status(409));
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

pub fn purge_deleted(c: &Ctx) -> Result<GraphResponse, GraphError> {
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
