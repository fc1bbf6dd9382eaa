//! Domains and home realm discovery policies: what decides whether the password grant can sign in
//! a federated user (see [`crate::home_realm`]).
//!
//! Sources (graph-docs `api-reference/v1.0/`): `resources/domain.md`, `api/domain-list.md`,
//! `api/domain-get.md` (the tenant's domains come from `organization.verifiedDomains`, the one home
//! of that fact here); `resources/homerealmdiscoverypolicy.md`,
//! `api/homerealmdiscoverypolicy-post-homerealmdiscoverypolicies.md`,
//! `api/homerealmdiscoverypolicy-list-appliesto.md`,
//! `api/serviceprincipal-list-homerealmdiscoverypolicies.md`,
//! `api/serviceprincipal-post-homerealmdiscoverypolicies.md`,
//! `api/serviceprincipal-delete-homerealmdiscoverypolicies.md`.

use serde_json::{Map, Value, json};

use super::common::*;
use crate::graph::odata::{self, GraphError};
use crate::graph::request::GraphResponse;
use crate::graph::schema::{self, Kind};
use crate::state::{Obj, Record, Tenant};

/// Runs a request for a domain or a home realm discovery policy (`None`: another route).
pub fn execute(c: &Ctx, method: &str, template: &str) -> Option<Result<GraphResponse, GraphError>> {
    Some(match (method, template) {
        ("GET", "/domains") => list_domains(c),
        ("GET", "/domains/{id}") => get_domain(c),
        ("GET", "/policies/homeRealmDiscoveryPolicies") => list_top(c, Coll::HomeRealmPolicies),
        ("POST", "/policies/homeRealmDiscoveryPolicies") => create_policy(c),
        ("GET", "/policies/homeRealmDiscoveryPolicies/{id}") => get_one(c, Coll::HomeRealmPolicies),
        ("GET", "/policies/homeRealmDiscoveryPolicies/{id}/appliesTo") => list_applies_to(c),
        ("GET", "/servicePrincipals/{id}/homeRealmDiscoveryPolicies") => {
            list_of_service_principal(c)
        }
        ("POST", "/servicePrincipals/{id}/homeRealmDiscoveryPolicies/$ref") => assign(c),
        ("DELETE", "/servicePrincipals/{id}/homeRealmDiscoveryPolicies/{id}/$ref") => unassign(c),
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------------
// domains

/// The tenant's domains in Graph's shape, from `organization.verifiedDomains`.
fn domains(t: &Tenant) -> Vec<Obj> {
    let verified = t
        .organization
        .get("verifiedDomains")
        .and_then(Value::as_array);
    verified
        .into_iter()
        .flatten()
        .map(|d| {
            let s = |k: &str| d.get(k).cloned().unwrap_or(Value::Null);
            let name = d.get("name").and_then(Value::as_str).unwrap_or("");
            let initial = d.get("isInitial").and_then(Value::as_bool) == Some(true);
            let mut o = Kind::Domain.template();
            o.insert("authenticationType".into(), s("type"));
            o.insert("id".into(), json!(name));
            o.insert("isDefault".into(), s("isDefault"));
            o.insert("isInitial".into(), json!(initial));
            // The initial domain's DNS is Microsoft's (`isAdminManaged: false` in real tenants).
            o.insert("isAdminManaged".into(), json!(!initial));
            o.insert(
                "supportedServices".into(),
                json!(["Email", "OfficeCommunicationsOnline"]),
            );
            o
        })
        .collect()
}

/// `GET /domains`.
pub fn list_domains(c: &Ctx) -> Result<GraphResponse, GraphError> {
    let q = c.query()?;
    if q.filter.is_some() {
        return Err(GraphError::unsupported_query(
            "$filter on domains is not modelled by graph-emulator.",
        ));
    }
    odata::check_select(
        q.select.as_deref(),
        &Kind::Domain.template(),
        Kind::Domain.odata_type(),
    )?;
    let emu = c.state.read();
    let t = tenant_of(&emu, c)?;
    let all = domains(t);
    let items = all.iter().map(|o| (o["id"].as_str().unwrap_or(""), o));
    let ctx = c.context("domains");
    Ok(GraphResponse::ok(page(
        c,
        ctx,
        items,
        &q,
        Kind::Domain,
        |o| o.clone(),
    )))
}

/// `GET /domains/{id}`.
pub fn get_domain(c: &Ctx) -> Result<GraphResponse, GraphError> {
    let q = c.query()?;
    odata::check_select(
        q.select.as_deref(),
        &Kind::Domain.template(),
        Kind::Domain.odata_type(),
    )?;
    let emu = c.state.read();
    let t = tenant_of(&emu, c)?;
    let d = domains(t)
        .into_iter()
        .find(|d| {
            d["id"]
                .as_str()
                .is_some_and(|i| i.eq_ignore_ascii_case(c.param(0)))
        })
        .ok_or_else(|| GraphError::not_found(c.param(0)))?;
    let shaped = odata::select(&d, q.select.as_deref(), None);
    Ok(GraphResponse::ok(entity_body(c, "domains", &shaped)))
}

// ---------------------------------------------------------------------------------------------
// homeRealmDiscoveryPolicies

/// `POST /policies/homeRealmDiscoveryPolicies`: `displayName` and `definition` required; one
/// organization default at most ("only one can be activated as the organization default").
pub fn create_policy(c: &Ctx) -> Result<GraphResponse, GraphError> {
    let body = schema::validate_write(Kind::HomeRealmDiscoveryPolicy, c.req.body.as_ref(), &[])?;
    require_str(&body, "displayName")?;
    let definition_ok = body
        .get("definition")
        .and_then(Value::as_array)
        .is_some_and(|d| !d.is_empty() && d.iter().all(Value::is_string));
    if !definition_ok {
        return Err(GraphError::bad_request(
            "Property 'definition' is required: a collection with the policy's JSON string.",
        ));
    }
    let default = body.get("isOrganizationDefault").and_then(Value::as_bool) == Some(true);
    let mut emu = c.state.write();
    let t = tenant_mut(&mut emu, c)?;
    let taken = t
        .home_realm_discovery_policies
        .iter()
        .any(|p| p.bool("isOrganizationDefault") == Some(true));
    if default && taken {
        return Err(GraphError::bad_request(
            "Another homeRealmDiscoveryPolicy is already the organization default.",
        ));
    }
    let mut obj = schema::instantiate(Kind::HomeRealmDiscoveryPolicy, &body);
    obj.insert("id".into(), json!(c.state.new_guid()));
    let mut rec = Record::new(obj.clone());
    rec.visible_at = c.replication_until();
    t.home_realm_discovery_policies.insert(rec);
    Ok(GraphResponse::created(entity_body(
        c,
        Coll::HomeRealmPolicies.name(),
        &obj,
    )))
}

/// `GET /policies/homeRealmDiscoveryPolicies/{id}/appliesTo`: the service principals the policy
/// is assigned to, as directory objects.
pub fn list_applies_to(c: &Ctx) -> Result<GraphResponse, GraphError> {
    let q = c.query()?;
    let emu = c.state.read();
    let t = tenant_of(&emu, c)?;
    let policy = find_key(c, &t.home_realm_discovery_policies).ok_or_else(|| key_not_found(c))?;
    let sps: Vec<Obj> = policy
        .internal
        .applies_to
        .iter()
        .filter_map(|id| t.service_principals.get(id))
        .filter_map(|r| r.view(c.now))
        .map(|o| {
            let mut out = Map::new();
            out.insert(
                "@odata.type".into(),
                json!("#microsoft.graph.servicePrincipal"),
            );
            out.extend(o.clone());
            out
        })
        .collect();
    let items = sps.iter().map(|o| (o["id"].as_str().unwrap_or(""), o));
    let ctx = c.context("directoryObjects");
    Ok(GraphResponse::ok(page(
        c,
        ctx,
        items,
        &q,
        Kind::ServicePrincipal,
        |o| o.clone(),
    )))
}

/// `GET /servicePrincipals/{id}/homeRealmDiscoveryPolicies`.
pub fn list_of_service_principal(c: &Ctx) -> Result<GraphResponse, GraphError> {
    let q = c.query()?;
    let emu = c.state.read();
    let t = tenant_of(&emu, c)?;
    let sp = visible_sp(c, t)?;
    let now = c.now;
    let items = t
        .home_realm_discovery_policies
        .iter()
        .filter(|p| p.internal.applies_to.contains(&sp))
        .filter_map(move |r| r.view(now).map(|o| (r.id(), o)));
    let ctx = c.context("Collection(microsoft.graph.homeRealmDiscoveryPolicy)");
    Ok(GraphResponse::ok(page(
        c,
        ctx,
        items,
        &q,
        Kind::HomeRealmDiscoveryPolicy,
        |o| o.clone(),
    )))
}

/// `POST /servicePrincipals/{id}/homeRealmDiscoveryPolicies/$ref`: "Only one HRD policy can be
/// active on a service principal at any one time" (entra-docs `home-realm-discovery-policy.md`).
pub fn assign(c: &Ctx) -> Result<GraphResponse, GraphError> {
    let odata_id = c
        .req
        .body
        .as_ref()
        .and_then(|b| b.get("@odata.id"))
        .and_then(Value::as_str)
        .ok_or_else(|| GraphError::bad_request("Invalid request body: '@odata.id' is required."))?;
    let policy_id = odata_id
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let mut emu = c.state.write();
    let t = tenant_mut(&mut emu, c)?;
    let sp = visible_sp(c, t)?;
    if t.home_realm_discovery_policies
        .get(&policy_id)
        .filter(|r| r.is_visible(c.now))
        .is_none()
    {
        return Err(GraphError::not_found(&policy_id));
    }
    if t.home_realm_discovery_policies
        .iter()
        .any(|p| p.internal.applies_to.contains(&sp))
    {
        return Err(GraphError::bad_request(
            "A homeRealmDiscoveryPolicy is already assigned to this servicePrincipal; only one can be.",
        ));
    }
    if let Some(p) = t.home_realm_discovery_policies.get_mut(&policy_id) {
        p.internal.applies_to.push(sp);
    }
    Ok(GraphResponse::no_content())
}

/// `DELETE /servicePrincipals/{id}/homeRealmDiscoveryPolicies/{policyId}/$ref`.
pub fn unassign(c: &Ctx) -> Result<GraphResponse, GraphError> {
    let policy_id = c.param(1).to_ascii_lowercase();
    let mut emu = c.state.write();
    let t = tenant_mut(&mut emu, c)?;
    let sp = visible_sp(c, t)?;
    let p = t
        .home_realm_discovery_policies
        .get_mut(&policy_id)
        .filter(|p| p.internal.applies_to.contains(&sp))
        .ok_or_else(|| GraphError::not_found(&policy_id))?;
    p.internal.applies_to.retain(|a| *a != sp);
    Ok(GraphResponse::no_content())
}

/// The id of the service principal the route names (visible now), or 404.
fn visible_sp(c: &Ctx, t: &Tenant) -> Result<String, GraphError> {
    let sp = c.param(0).to_ascii_lowercase();
    t.service_principals
        .get(&sp)
        .filter(|r| r.is_visible(c.now))
        .map(|_| sp.clone())
        .ok_or_else(|| GraphError::not_found(&sp))
}
