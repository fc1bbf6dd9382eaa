//! `POST /identity/conditionalAccess/evaluate` (v1.0 and beta): the Conditional Access What-If API,
//! computed by the same evaluator as the emulator's sign-ins ([`crate::conditional_access`]).
//!
//! Source: graph-docs `api-reference/v1.0/api/conditionalaccessroot-evaluate.md`, resources
//! `whatifanalysisresult.md`, `signinconditions.md`, `applicationcontext.md`, `deviceinfo.md`;
//! entra-docs `identity/conditional-access/what-if-tool.md` (only enabled and report-only policies are
//! evaluated; apps by app id, app groups never match; the reason is the first unsatisfied condition).
//! Request: `signInIdentity` (`#microsoft.graph.userSignIn` with `userId`), `signInContext`
//! (`applicationContext` / `userActionContext` / `authContext`), `signInConditions`,
//! `appliedPoliciesOnly`. Answer: a `whatIfAnalysisResult` collection (each policy as stored plus
//! `policyApplies` and `analysisReasons`).

use serde_json::{Map, Value, json};

use super::common::{Ctx, tenant_of};
use crate::baseline_scopes::Audience;
use crate::conditional_access::{self, Conditions, Reason, SignIn, Target};
use crate::graph::odata::GraphError;
use crate::graph::request::GraphResponse;

fn bad(message: impl Into<String>) -> GraphError {
    GraphError::new(400, "BadRequest", message)
}

fn odata_type(v: &Value) -> &str {
    v.get("@odata.type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim_start_matches('#')
}

/// `signInContext` → what the sign-in accesses.
fn target(context: &Value) -> Result<Target, GraphError> {
    match odata_type(context) {
        "microsoft.graph.applicationContext" => {
            let apps: Vec<String> = context
                .get("includeApplications")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_ascii_lowercase)
                        .collect()
                })
                .unwrap_or_default();
            if apps.is_empty() {
                return Err(bad(
                    "signInContext.includeApplications needs at least one application id.",
                ));
            }
            Ok(Target::Applications(Audience {
                apps,
                legacy_baseline: false,
            }))
        }
        "microsoft.graph.userActionContext" => {
            match context.get("userAction").and_then(Value::as_str) {
                Some("registerSecurityInformation") => {
                    Ok(Target::UserAction("urn:user:registersecurityinfo".into()))
                }
                Some("registerOrJoinDevices") => {
                    Ok(Target::UserAction("urn:user:registerdevice".into()))
                }
                _ => Err(bad(
                    "signInContext.userAction must be registerSecurityInformation or registerOrJoinDevices.",
                )),
            }
        }
        "microsoft.graph.authContext" => context
            .get("authenticationContextValue")
            .and_then(Value::as_str)
            .map(|v| Target::AuthenticationContext(v.to_string()))
            .ok_or_else(|| bad("signInContext.authenticationContextValue is required.")),
        other => Err(bad(format!(
            "signInContext must be a microsoft.graph.applicationContext, userActionContext or authContext (got '{other}')."
        ))),
    }
}

/// `signInConditions` → the conditions (absent ones stay unknown, as in the emulator's sign-ins).
fn conditions(c: &Value) -> Result<Conditions, GraphError> {
    let Some(obj) = c.as_object() else {
        return Err(bad("signInConditions is required."));
    };
    let text = |key: &str| obj.get(key).and_then(Value::as_str).map(str::to_string);
    let known = [
        "@odata.type",
        "clientAppType",
        "devicePlatform",
        "deviceInfo",
        "authenticationFlow",
        "signInRiskLevel",
        "userRiskLevel",
        "insiderRiskLevel",
        "servicePrincipalRiskLevel",
        "country",
        "ipAddress",
    ];
    if let Some(k) = obj.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(GraphError::unknown_property(
            k,
            "microsoft.graph.signInConditions",
        ));
    }
    Ok(Conditions {
        client_app_type: text("clientAppType"),
        device_platform: text("devicePlatform"),
        device_info: obj.get("deviceInfo").filter(|v| !v.is_null()).cloned(),
        authentication_flow: obj
            .get("authenticationFlow")
            .and_then(|f| f.get("transferMethod"))
            .and_then(Value::as_str)
            .filter(|m| *m != "none")
            .map(str::to_string),
        sign_in_risk: text("signInRiskLevel"),
        user_risk: text("userRiskLevel"),
        insider_risk: text("insiderRiskLevel"),
    })
}

/// One `whatIfAnalysisResult`: the policy with `policyApplies` and `analysisReasons` after `state`.
fn result(policy: &Map<String, Value>, reason: Reason) -> Value {
    let mut out = Map::new();
    for (k, v) in policy {
        out.insert(k.clone(), v.clone());
        if k == "state" {
            out.insert("policyApplies".into(), json!(reason == Reason::NotSet));
            out.insert("analysisReasons".into(), json!(reason.as_str()));
        }
    }
    Value::Object(out)
}

/// `POST /identity/conditionalAccess/evaluate`.
pub fn evaluate(c: &Ctx) -> Result<GraphResponse, GraphError> {
    let body = c
        .req
        .body
        .as_ref()
        .and_then(Value::as_object)
        .ok_or_else(|| {
            GraphError::new(400, "BadRequest", "Empty Payload. JSON content expected.")
        })?;
    let identity = body.get("signInIdentity").unwrap_or(&Value::Null);
    if odata_type(identity) != "microsoft.graph.userSignIn" {
        return Err(bad(
            "signInIdentity must be a #microsoft.graph.userSignIn with a userId (graph-emulator does not evaluate service principal sign-ins).",
        ));
    }
    let user_id = identity
        .get("userId")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("signInIdentity.userId is required."))?;
    let target = target(body.get("signInContext").unwrap_or(&Value::Null))?;
    let conditions = conditions(body.get("signInConditions").unwrap_or(&Value::Null))?;
    let applied_only = body
        .get("appliedPoliciesOnly")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let emu = c.state.read();
    let t = tenant_of(&emu, c)?;
    let user = t
        .users
        .get(user_id)
        .filter(|u| u.view(c.now).is_some())
        .ok_or_else(|| GraphError::not_found(user_id))?;
    let sign_in = SignIn {
        tenant: t,
        user,
        target,
        conditions,
    };
    let value: Vec<Value> = t
        .conditional_access_policies
        .iter()
        .filter_map(|p| p.view(c.now))
        .map(|o| (o, reason(o, &sign_in)))
        .filter(|(_, r)| !applied_only || *r == Reason::NotSet)
        .map(|(o, r)| result(o, r))
        .collect();
    Ok(GraphResponse::ok(json!({
        "@odata.context": c.context("Collection(microsoft.graph.whatIfAnalysisResult)"),
        "value": value,
    })))
}

/// `policyNotEnabled` for a disabled policy, else the evaluator's verdict.
fn reason(policy: &Map<String, Value>, sign_in: &SignIn<'_>) -> Reason {
    if policy.get("state").and_then(Value::as_str) == Some("disabled") {
        return Reason::PolicyNotEnabled;
    }
    match conditional_access::evaluate(&Value::Object(policy.clone()), sign_in) {
        Ok(()) => Reason::NotSet,
        Err(r) => r,
    }
}
