//! Delegated permission grants (`oauth2PermissionGrants`).

use serde_json::{Map, Value, json};

use super::common::*;
use crate::graph::odata::GraphError;
use crate::graph::request::GraphResponse;
use crate::graph::schema::{self, Kind};
use crate::state::Record;

// ---------------------------------------------------------------------------------------------
// oauth2PermissionGrants

pub fn list_grants_of_sp(c: &Ctx) -> Result<GraphResponse, GraphError> {
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

pub fn create_grant(c: &Ctx) -> Result<GraphResponse, GraphError> {
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
    validate_consent(&consent_type, principal_id.as_deref(), &scope)?;
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

pub fn patch_grant(c: &Ctx) -> Result<GraphResponse, GraphError> {
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

/// `consentType` and `principalId` go together (`AllPrincipals` without, `Principal` with a
/// principal); `scope` is at most 3850 characters (oauth2permissiongrant-post.md).
fn validate_consent(
    consent_type: &str,
    principal_id: Option<&str>,
    scope: &str,
) -> Result<(), GraphError> {
    match (consent_type, principal_id) {
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
    Ok(())
}
