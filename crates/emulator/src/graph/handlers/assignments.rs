//! App role assignments (`appRoleAssignedTo`, `appRoleAssignments`).

use std::time::Instant;

use serde_json::{Map, Value, json};

use super::common::*;
use crate::graph::odata::{self, Filterable, GraphError};
use crate::graph::request::GraphResponse;
use crate::graph::schema::{self, Kind};
use crate::state::{Record, Tenant};

// ---------------------------------------------------------------------------------------------
// appRoleAssignedTo / appRoleAssignments

pub fn list_assignments(c: &Ctx, by: &str) -> Result<GraphResponse, GraphError> {
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

/// Which end of the assignment the path names: the resource (`appRoleAssignedTo`, Graph's
/// recommended way) or the principal (`appRoleAssignments`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// `/servicePrincipals/{resource}/appRoleAssignedTo` (`serviceprincipal-post-approleassignedto.md`).
    Resource,
    /// `/servicePrincipals/{client}/appRoleAssignments`: the principal is a client service
    /// principal granted an app role, an application permission
    /// (`serviceprincipal-post-approleassignments.md`).
    Principal,
}

impl Side {
    /// The body property the path's service principal must equal.
    fn key(self) -> &'static str {
        match self {
            Side::Resource => "resourceId",
            Side::Principal => "principalId",
        }
    }

    fn nav(self) -> &'static str {
        match self {
            Side::Resource => "appRoleAssignedTo",
            Side::Principal => "appRoleAssignments",
        }
    }
}

fn reference_missing(id: &str) -> GraphError {
    GraphError::bad_request(format!(
        "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
    ))
}

/// Creates an assignment through either end: the same object, the same checks.
pub fn create_assignment(c: &Ctx, side: Side) -> Result<GraphResponse, GraphError> {
    let body = schema::validate_write(Kind::AppRoleAssignment, c.req.body.as_ref(), &[])?;
    let principal_id = require_str(&body, "principalId")?.to_ascii_lowercase();
    let resource_id = require_str(&body, "resourceId")?.to_ascii_lowercase();
    let app_role_id = require_str(&body, "appRoleId")?.to_ascii_lowercase();
    let sp_in_path = c.param(0).to_ascii_lowercase();
    let mut emu = c.state.write();
    let t = tenant_mut(&mut emu, c)?;
    if t.service_principals
        .get(&sp_in_path)
        .filter(|r| r.is_visible(c.now))
        .is_none()
    {
        return Err(GraphError::not_found(&sp_in_path));
    }
    let named = match side {
        Side::Resource => &resource_id,
        Side::Principal => &principal_id,
    };
    if *named != sp_in_path {
        return Err(reference_missing(named));
    }
    let resource = t
        .service_principals
        .get(&resource_id)
        .filter(|r| r.is_visible(c.now))
        .cloned()
        .ok_or_else(|| reference_missing(&resource_id))?;
    let (principal_type, principal_name) = principal(t, &principal_id, c.now)?;
    check_role_exists(&resource, &app_role_id)?;
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
            "servicePrincipals('{sp_in_path}')/{}/$entity",
            side.nav()
        ))),
    );
    out.extend(obj);
    Ok(GraphResponse::created(Value::Object(out)))
}

/// Deletes an assignment through either end (`serviceprincipal-delete-approleassignedto.md`,
/// `serviceprincipal-delete-approleassignments.md`): the path's service principal must be that
/// end of the assignment.
pub fn delete_assignment(c: &Ctx, side: Side) -> Result<GraphResponse, GraphError> {
    let sp = c.param(0).to_ascii_lowercase();
    let aid = c.param(1);
    let mut emu = c.state.write();
    let t = tenant_mut(&mut emu, c)?;
    if t.service_principals.get(&sp).is_none() {
        return Err(GraphError::not_found(&sp));
    }
    match t.app_role_assignments.get(aid) {
        Some(a) if a.str(side.key()) == Some(sp.as_str()) && a.is_visible(c.now) => {
            t.app_role_assignments.remove(aid);
            Ok(GraphResponse::no_content())
        }
        _ => Err(GraphError::not_found(aid)),
    }
}

/// The type and display name of an assignment's principal (a user, group or service principal).
fn principal(
    t: &Tenant,
    principal_id: &str,
    now: Instant,
) -> Result<(&'static str, Option<Value>), GraphError> {
    let found = if let Some(u) = t.users.get(principal_id).filter(|r| r.is_visible(now)) {
        ("User", u.obj.get("displayName").cloned())
    } else if let Some(g) = t.groups.get(principal_id).filter(|r| r.is_visible(now)) {
        ("Group", g.obj.get("displayName").cloned())
    } else if let Some(s) = t
        .service_principals
        .get(principal_id)
        .filter(|r| r.is_visible(now))
    {
        ("ServicePrincipal", s.obj.get("displayName").cloned())
    } else {
        return Err(reference_missing(principal_id));
    };
    Ok(found)
}

/// The app role must be one the resource defines (or the default role).
fn check_role_exists(resource: &Record, app_role_id: &str) -> Result<(), GraphError> {
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
                        .is_some_and(|i| i.eq_ignore_ascii_case(app_role_id))
                })
            });
    if !role_exists {
        return Err(GraphError::bad_request(format!(
            "Permission being assigned was not found on application '{}'.",
            resource.str("appId").unwrap_or("")
        )));
    }
    Ok(())
}
