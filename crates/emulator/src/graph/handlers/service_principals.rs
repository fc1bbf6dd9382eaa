//! Service principals: create (from an application of the tenant), update.

use serde_json::{Value, json};

use super::common::*;
use crate::graph::odata::GraphError;
use crate::graph::request::GraphResponse;
use crate::graph::schema::{self, Kind};
use crate::state::Record;

// ---------------------------------------------------------------------------------------------
// service principals

pub fn create_service_principal(c: &Ctx) -> Result<GraphResponse, GraphError> {
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
    let shown = Kind::ServicePrincipal.shape_for(&obj, &c.req.version);
    Ok(GraphResponse::created(entity_body(
        c,
        "servicePrincipals",
        &shown,
    )))
}

pub fn patch_service_principal(c: &Ctx) -> Result<GraphResponse, GraphError> {
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
