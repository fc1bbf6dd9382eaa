//! Conditional access policies, the security defaults policy, per-user MFA requirements.

use serde_json::{Map, Value, json};

use super::common::*;
use crate::graph::odata::GraphError;
use crate::graph::request::GraphResponse;
use crate::graph::schema::{self, Kind};
use crate::managed_policies;
use crate::state::{LicenseTier, Obj, Record, Tenant};

// ---------------------------------------------------------------------------------------------
// conditional access, security defaults, per-user MFA

/// Graph's evolvable enums: members after `unknownFutureValue` (here `riskRemediation`) are only
/// accepted with `Prefer: include-unknown-enum-members` (graph-docs
/// `concepts/best-practices-concept.md`, "Handling future members in evolvable enumerations";
/// `conditionalaccessgrantcontrols.md` lists the values).
const BUILT_IN_CONTROLS: &[&str] = &[
    "block",
    "mfa",
    "compliantDevice",
    "domainJoinedDevice",
    "approvedApplication",
    "compliantApplication",
    "passwordChange",
    "unknownFutureValue",
];
const BUILT_IN_CONTROLS_EVOLVED: &[&str] = &["riskRemediation"];

/// `conditionalAccessClientApp` (conditionalaccessconditionset.md).
const CLIENT_APP_TYPES: &[&str] = &[
    "all",
    "browser",
    "mobileAppsAndDesktopClients",
    "exchangeActiveSync",
    "easSupported",
    "other",
    "unknownFutureValue",
];

/// Whether the request asks for evolvable enum members (`Prefer: include-unknown-enum-members`).
pub fn includes_unknown_enum_members(c: &Ctx) -> bool {
    c.req.header("prefer").is_some_and(|p| {
        p.split(',').any(|x| {
            x.trim()
                .eq_ignore_ascii_case("include-unknown-enum-members")
        })
    })
}

fn validate_grant_controls(g: &Obj, evolved: bool) -> Result<(), GraphError> {
    if let Some(op) = g.get("operator")
        && !matches!(op.as_str(), Some("AND" | "OR"))
    {
        return Err(GraphError::bad_request(
            "grantControls.operator must be 'AND' or 'OR'.",
        ));
    }
    for ctl in g
        .get("builtInControls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let v = ctl.as_str().unwrap_or("");
        let known =
            BUILT_IN_CONTROLS.contains(&v) || (evolved && BUILT_IN_CONTROLS_EVOLVED.contains(&v));
        if !known {
            return Err(GraphError::bad_request(format!(
                "Invalid value '{ctl}' in grantControls.builtInControls."
            )));
        }
    }
    Ok(())
}

fn validate_client_app_types(body: &Obj) -> Result<(), GraphError> {
    let types = body
        .get("conditions")
        .and_then(|c| c.get("clientAppTypes"))
        .and_then(Value::as_array);
    for t in types.into_iter().flatten() {
        let v = t.as_str().unwrap_or("");
        if !CLIENT_APP_TYPES.iter().any(|k| k.eq_ignore_ascii_case(v)) {
            return Err(GraphError::bad_request(format!(
                "Invalid value '{t}' in conditions.clientAppTypes."
            )));
        }
    }
    Ok(())
}

pub fn validate_policy_body(body: &Obj, creating: bool, evolved: bool) -> Result<(), GraphError> {
    if let Some(s) = body.get("state") {
        match s.as_str() {
            Some("enabled" | "disabled" | "enabledForReportingButNotEnforced") => {}
            _ => {
                return Err(GraphError::bad_request(format!(
                    "Invalid value '{s}' for property 'state'. Valid values are 'enabled', 'disabled' and 'enabledForReportingButNotEnforced'."
                )));
            }
        }
    }
    if let Some(Value::Object(g)) = body.get("grantControls") {
        validate_grant_controls(g, evolved)?;
    }
    validate_client_app_types(body)?;
    if creating {
        require_str(body, "displayName")?;
        if !body.contains_key("state") {
            return Err(GraphError::bad_request("Property 'state' is required."));
        }
        let conditions = body
            .get("conditions")
            .and_then(Value::as_object)
            .ok_or_else(|| GraphError::bad_request("Property 'conditions' is required."))?;
        if !conditions.contains_key("applications") || !conditions.contains_key("users") {
            return Err(GraphError::bad_request(
                "conditions.applications and conditions.users are required.",
            ));
        }
        if body.get("grantControls").is_none_or(Value::is_null)
            && body.get("sessionControls").is_none_or(Value::is_null)
        {
            return Err(GraphError::bad_request(
                "A policy needs grantControls or sessionControls.",
            ));
        }
    }
    Ok(())
}

pub fn expand_strength(c: &Ctx, obj: &mut Obj) {
    if let Some(Value::Object(g)) = obj.get_mut("grantControls") {
        if !g.contains_key("authenticationStrength") {
            g.insert("authenticationStrength".into(), Value::Null);
        }
        for (k, d) in [
            ("customAuthenticationFactors", json!([])),
            ("termsOfUse", json!([])),
        ] {
            g.entry(k).or_insert(d);
        }
        let ctx = c.context(&format!(
            "identity/conditionalAccess/policies('{}')/grantControls/authenticationStrength/$entity",
            obj.get("id").and_then(Value::as_str).unwrap_or("")
        ));
        if let Some(Value::Object(g)) = obj.get_mut("grantControls") {
            let mut fresh = Map::new();
            for (k, v) in g.iter() {
                if k == "authenticationStrength" {
                    fresh.insert("authenticationStrength@odata.context".into(), json!(ctx));
                }
                if k != "authenticationStrength@odata.context" {
                    fresh.insert(k.clone(), v.clone());
                }
            }
            *g = fresh;
        }
    }
}

/// Conditional access needs Entra ID P1: a tenant whose licence lapsed keeps its policies (enforced)
/// but cannot create or change them (entra-docs `conditional-access/overview.md`). Graph's answer for
/// the P1 case is not documented; the P2 one is `400 BadRequest` "1039: Cannot create or update
/// policies with premium P2 features. Upgrade to a premium P2 license and try again." (quoted in
/// crossplane-contrib/provider-upjet-azuread#5); this is its P1 counterpart.
fn require_premium(t: &Tenant) -> Result<(), GraphError> {
    if t.license == LicenseTier::Free {
        return Err(GraphError::new(
            400,
            "BadRequest",
            "Cannot create or update policies with premium P1 features. Upgrade to a premium P1 license and try again.",
        ));
    }
    Ok(())
}

/// Security defaults and enabled conditional access policies exclude each other (entra-docs
/// `fundamentals/security-defaults.md`: disable security defaults before enabling Conditional
/// Access). Graph's wording is not documented; this is the emulator's.
fn refuse_enabled_policy_under_security_defaults(
    t: &Tenant,
    state: Option<&Value>,
) -> Result<(), GraphError> {
    if t.security_defaults_enabled() && state.and_then(Value::as_str) == Some("enabled") {
        return Err(GraphError::new(
            400,
            "BadRequest",
            "Security defaults must be disabled to enable a Conditional Access policy.",
        ));
    }
    Ok(())
}

pub fn create_policy(c: &Ctx) -> Result<GraphResponse, GraphError> {
    let body = schema::validate_write_for(
        Kind::ConditionalAccessPolicy,
        &c.req.version,
        c.req.body.as_ref(),
        &[],
    )?;
    validate_policy_body(&body, true, includes_unknown_enum_members(c))?;
    let mut emu = c.state.write();
    let t = tenant_mut(&mut emu, c)?;
    require_premium(t)?;
    refuse_enabled_policy_under_security_defaults(t, body.get("state"))?;
    let mut obj = schema::instantiate(Kind::ConditionalAccessPolicy, &body);
    obj.insert("id".into(), json!(c.state.new_guid()));
    obj.insert("createdDateTime".into(), json!(c.timestamp()));
    expand_strength(c, &mut obj);
    let mut rec = Record::new(obj.clone());
    rec.visible_at = c.replication_until();
    t.conditional_access_policies.insert(rec);
    Ok(GraphResponse::created(entity_body(
        c,
        "identity/conditionalAccess/policies",
        &obj,
    )))
}

pub fn patch_policy(c: &Ctx) -> Result<GraphResponse, GraphError> {
    let body = schema::validate_write_for(
        Kind::ConditionalAccessPolicy,
        &c.req.version,
        c.req.body.as_ref(),
        &[],
    )?;
    validate_policy_body(&body, false, includes_unknown_enum_members(c))?;
    let mut emu = c.state.write();
    let t = tenant_mut(&mut emu, c)?;
    let mut rec = find_record(c, &t.conditional_access_policies)?;
    require_premium(t)?;
    refuse_enabled_policy_under_security_defaults(t, body.get("state"))?;
    if rec.internal.microsoft_managed
        && let Some(prop) = managed_policies::refused_change(&rec.obj, &body)
    {
        return Err(managed_refusal(&format!("'{prop}' cannot be changed")));
    }
    update_record(c, &mut rec, &body, &["grantControls", "sessionControls"]);
    rec.obj
        .insert("modifiedDateTime".into(), json!(c.timestamp()));
    expand_strength(c, &mut rec.obj);
    t.conditional_access_policies.insert(rec);
    Ok(GraphResponse::no_content())
}

/// A Microsoft-managed policy can only have its state and user/group exclusions changed, and cannot
/// be deleted (managed-policies.md). Graph's wording is not documented; this is the emulator's.
fn managed_refusal(what: &str) -> GraphError {
    GraphError::new(
        400,
        "BadRequest",
        format!(
            "Microsoft-managed policies can only have their state and excluded users and groups changed: {what}."
        ),
    )
}

/// `DELETE …/policies/{id}`: refused for Microsoft-managed policies.
pub fn delete_policy(c: &Ctx) -> Result<GraphResponse, GraphError> {
    let mut emu = c.state.write();
    let t = tenant_mut(&mut emu, c)?;
    let rec = find_record(c, &t.conditional_access_policies)?;
    if rec.internal.microsoft_managed {
        return Err(managed_refusal("they cannot be deleted"));
    }
    t.conditional_access_policies.remove(rec.id());
    Ok(GraphResponse::no_content())
}

pub fn get_security_defaults(c: &Ctx) -> Result<GraphResponse, GraphError> {
    let emu = c.state.read();
    let t = tenant_of(&emu, c)?;
    let mut out = Map::new();
    out.insert(
        "@odata.context".into(),
        json!(c.context("policies/identitySecurityDefaultsEnforcementPolicy")),
    );
    out.extend(t.security_defaults.clone());
    Ok(GraphResponse::ok(Value::Object(out)))
}

pub fn patch_security_defaults(c: &Ctx) -> Result<GraphResponse, GraphError> {
    let Some(Value::Object(body)) = c.req.body.as_ref() else {
        return Err(GraphError::new(
            400,
            "BadRequest",
            "Empty Payload. JSON content expected.",
        ));
    };
    for (k, v) in body {
        match k.as_str() {
            "isEnabled" if v.is_boolean() => {}
            "isEnabled" => {
                return Err(GraphError::bad_request(
                    "Property 'isEnabled' must be a boolean.",
                ));
            }
            "displayName" | "description" | "id" => return Err(GraphError::read_only_property(k)),
            _ => {
                return Err(GraphError::unknown_property(
                    k,
                    "microsoft.graph.identitySecurityDefaultsEnforcementPolicy",
                ));
            }
        }
    }
    let mut emu = c.state.write();
    let t = tenant_mut(&mut emu, c)?;
    let enabling = body.get("isEnabled") == Some(&Value::Bool(true));
    let enabled_policies = t
        .conditional_access_policies
        .iter()
        .any(|p| p.str("state") == Some("enabled"));
    if enabling && enabled_policies && !t.security_defaults_enabled() {
        // entra-docs fundamentals/security-defaults.md: security defaults cannot be turned on while
        // Conditional Access policies are enabled (the portal says so); Graph's wording is the
        // emulator's.
        return Err(GraphError::new(
            400,
            "BadRequest",
            "Security defaults cannot be enabled while Conditional Access policies are enabled. Disable the policies first.",
        ));
    }
    if let Some(v) = body.get("isEnabled") {
        t.security_defaults.insert("isEnabled".into(), v.clone());
    }
    Ok(GraphResponse::no_content())
}

pub fn get_auth_requirements(c: &Ctx) -> Result<GraphResponse, GraphError> {
    let emu = c.state.read();
    let t = tenant_of(&emu, c)?;
    let u = find_key(c, &t.users).ok_or_else(|| key_not_found(c))?;
    let state = u.per_user_mfa_state();
    Ok(GraphResponse::ok(json!({
        "@odata.context": c.context(&format!("users('{}')/authentication/requirements/$entity", c.param(0))),
        "perUserMfaState": state
    })))
}

pub fn patch_auth_requirements(c: &Ctx) -> Result<GraphResponse, GraphError> {
    let Some(Value::Object(body)) = c.req.body.as_ref() else {
        return Err(GraphError::new(
            400,
            "BadRequest",
            "Empty Payload. JSON content expected.",
        ));
    };
    let mut new_state = None;
    for (k, v) in body {
        match (k.as_str(), v.as_str()) {
            ("perUserMfaState", Some(s @ ("disabled" | "enabled" | "enforced"))) => {
                new_state = Some(s.to_string())
            }
            ("perUserMfaState", _) => {
                return Err(GraphError::bad_request(format!(
                    "Invalid value '{v}' for property 'perUserMfaState'. Valid values are 'disabled', 'enabled' and 'enforced'."
                )));
            }
            _ => {
                return Err(GraphError::unknown_property(
                    k,
                    "microsoft.graph.strongAuthenticationRequirements",
                ));
            }
        }
    }
    let mut emu = c.state.write();
    let t = tenant_mut(&mut emu, c)?;
    let id = find_key(c, &t.users)
        .map(|r| r.id().to_string())
        .ok_or_else(|| key_not_found(c))?;
    if let (Some(s), Some(u)) = (new_state, t.users.get_mut(&id)) {
        u.internal.per_user_mfa_state = Some(s);
    }
    Ok(GraphResponse::no_content())
}
