//! `GET`/`PATCH /beta/identity/conditionalAccess/settings`: the tenant's conditional access settings.
//!
//! Graph documents (beta `conditionalAccessSettings`) only `exclusions`, read with
//! Policy.Read.ConditionalAccess and written with Policy.ReadWrite.ConditionalAccess; the emulator
//! stores whatever object is given for it (its inner shape could not be verified). Third-party tools
//! report an UNDOCUMENTED read-only `advancedSettings.baselineScopes.resourceAppId` there: the
//! baseline-scope setting (`00000002-…` enforced, the all-zero GUID disabled, another GUID the
//! placeholder app, `advancedSettings: null` never changed). The emulator serves it read-only; it is
//! changed only through the portal (here: the fixture or the control API).

use serde_json::{Map, Value, json};

use super::common::{Ctx, tenant_mut, tenant_of};
use crate::graph::odata::GraphError;
use crate::graph::request::GraphResponse;

/// `GET /beta/identity/conditionalAccess/settings`.
pub fn get_settings(c: &Ctx) -> Result<GraphResponse, GraphError> {
    let emu = c.state.read();
    let t = tenant_of(&emu, c)?;
    let advanced = match t.baseline_scopes.resource_app_id() {
        Some(app) => json!({"baselineScopes": {"resourceAppId": app}}),
        None => Value::Null,
    };
    let mut out = Map::new();
    out.insert(
        "@odata.context".into(),
        json!(c.context("identity/conditionalAccess/settings/$entity")),
    );
    out.insert("exclusions".into(), t.conditional_access_exclusions.clone());
    out.insert("advancedSettings".into(), advanced);
    Ok(GraphResponse::ok(Value::Object(out)))
}

/// `PATCH /beta/identity/conditionalAccess/settings`: `exclusions` only.
pub fn patch_settings(c: &Ctx) -> Result<GraphResponse, GraphError> {
    let Some(Value::Object(body)) = c.req.body.as_ref() else {
        return Err(GraphError::new(
            400,
            "BadRequest",
            "Empty Payload. JSON content expected.",
        ));
    };
    for (k, v) in body {
        match k.as_str() {
            "exclusions" if v.is_object() || v.is_null() => {}
            "exclusions" => {
                return Err(GraphError::bad_request(
                    "Property 'exclusions' must be an object.",
                ));
            }
            "advancedSettings" => return Err(GraphError::read_only_property(k)),
            _ => {
                return Err(GraphError::unknown_property(
                    k,
                    "microsoft.graph.conditionalAccessSettings",
                ));
            }
        }
    }
    let mut emu = c.state.write();
    let t = tenant_mut(&mut emu, c)?;
    if let Some(v) = body.get("exclusions") {
        t.conditional_access_exclusions = v.clone();
    }
    Ok(GraphResponse::no_content())
}
