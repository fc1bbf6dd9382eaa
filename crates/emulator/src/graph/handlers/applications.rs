//! Applications: create, update (also upsert by `uniqueName`), delete.

use serde_json::{Value, json};

use super::common::*;
use crate::graph::odata::GraphError;
use crate::graph::request::GraphResponse;
use crate::graph::schema::{self, Kind};
use crate::state::{DeletedItem, Obj, Record};

// ---------------------------------------------------------------------------------------------
// applications

pub fn create_application(c: &Ctx, unique_name: Option<&str>) -> Result<GraphResponse, GraphError> {
    let allow: &[&str] = &[];
    let body = schema::validate_write(Kind::Application, c.req.body.as_ref(), allow)?;
    validate_group_membership_claims(&body)?;
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

pub fn patch_application(c: &Ctx) -> Result<GraphResponse, GraphError> {
    let upsert = c.route.template.contains("(uniqueName=");
    let create_if_missing = c.req.header("prefer").is_some_and(|p| {
        p.split(',')
            .any(|x| x.trim().eq_ignore_ascii_case("create-if-missing"))
    });
    let body = schema::validate_write(Kind::Application, c.req.body.as_ref(), &[])?;
    validate_group_membership_claims(&body)?;
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

pub fn delete_directory_object(c: &Ctx, coll: Coll) -> Result<GraphResponse, GraphError> {
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

/// `groupMembershipClaims` is one of Graph's values (graph-docs `application.md`; the manifest
/// reference adds `DirectoryRole` and `ApplicationGroup`), not a list.
fn validate_group_membership_claims(body: &Obj) -> Result<(), GraphError> {
    match body.get("groupMembershipClaims") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(v))
            if [
                "None",
                "SecurityGroup",
                "DirectoryRole",
                "ApplicationGroup",
                "All",
            ]
            .iter()
            .any(|k| k.eq_ignore_ascii_case(v.as_str())) =>
        {
            Ok(())
        }
        Some(v) => Err(GraphError::bad_request(format!(
            "Invalid value '{v}' for property 'groupMembershipClaims'. Valid values are None, SecurityGroup, DirectoryRole, ApplicationGroup and All."
        ))),
    }
}
