//! `organization` and `subscribedSkus`.

use serde_json::{Value, json};

use super::common::*;
use crate::graph::odata::{self, GraphError};
use crate::graph::request::GraphResponse;

// ---------------------------------------------------------------------------------------------
// organization, subscribedSkus

pub fn subscribed_skus(c: &Ctx) -> Result<GraphResponse, GraphError> {
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

pub fn organization(c: &Ctx, one: bool) -> Result<GraphResponse, GraphError> {
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
