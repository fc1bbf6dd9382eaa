//! Whether a policy applies to a sign-in, and what the enabled policies that apply demand.
//!
//! Conditions are checked in the order of Graph's `whatIfAnalysisReasons` list, and the first one
//! that is not satisfied is the reason (entra-docs `what-if-tool.md`: "the reason represents the first
//! condition that wasn't satisfied"). `state` is not looked at here: sign-ins enforce `enabled`
//! policies only ([`enforce`]); What-If reports every policy.

use serde_json::Value;

use super::conditions;
use super::json::{contains_ci, get, present, strings};
use super::sign_in::{Reason, SignIn};
use crate::state::Record;

/// Whether `policy` (Graph's JSON shape) applies to the sign-in, ignoring its state; `Err` carries
/// the first condition that is not satisfied.
pub fn evaluate(policy: &Value, s: &SignIn<'_>) -> Result<(), Reason> {
    let Some(cond) = present(policy, "conditions") else {
        return Err(Reason::InvalidPolicy);
    };
    match present(cond, "users") {
        Some(users) if conditions::users(users, s) => {}
        _ => return Err(Reason::Users),
    }
    let apps = present(cond, "applications").unwrap_or(&Value::Null);
    conditions::applications(apps, &s.target)?;
    let c = &s.conditions;
    if let Some(p) = present(cond, "platforms")
        && !conditions::platforms(p, c)
    {
        return Err(Reason::DevicePlatform);
    }
    if let Some(filter) = present(cond, "devices").and_then(|d| present(d, "deviceFilter")) {
        match conditions::device_filter(filter, c) {
            Some(true) => {}
            Some(false) => return Err(Reason::Devices),
            None => return Err(Reason::NotEnoughInformation),
        }
    }
    if !conditions::client_app_types(cond, c) {
        return Err(Reason::ClientApps);
    }
    if let Some(l) = present(cond, "locations")
        && !conditions::locations(l)
    {
        return Err(Reason::Location);
    }
    if !conditions::risk(cond, "signInRiskLevels", c.sign_in_risk.as_deref()) {
        return Err(Reason::SignInRisk);
    }
    if !conditions::risk(cond, "userRiskLevels", c.user_risk.as_deref()) {
        return Err(Reason::UserRisk);
    }
    if !conditions::risk(cond, "insiderRiskLevels", c.insider_risk.as_deref()) {
        return Err(Reason::InsiderRisk);
    }
    if let Some(flows) = present(cond, "authenticationFlows")
        && !conditions::authentication_flows(flows, c)
    {
        return Err(Reason::AuthenticationFlow);
    }
    if present(policy, "grantControls").is_none() && present(policy, "sessionControls").is_none() {
        return Err(Reason::EmptyPolicy);
    }
    Ok(())
}

fn grant_controls(policy: &Value) -> Option<&Value> {
    present(policy, "grantControls")
}

/// Whether the policy's grant controls contain `block`.
pub fn blocks(policy: &Value) -> bool {
    grant_controls(policy).is_some_and(|g| contains_ci(&strings(g, "builtInControls"), "block"))
}

/// Whether the policy's grant controls force MFA on a password or device-code sign-in: `mfa` or an
/// authentication strength, whatever the `operator` — with `OR`, the alternatives (compliant or
/// joined device, approved app, app protection, terms of use) need a device or an interactive client,
/// which these sign-ins do not present.
pub fn requires_mfa(policy: &Value) -> bool {
    let Some(g) = grant_controls(policy) else {
        return false;
    };
    contains_ci(&strings(g, "builtInControls"), "mfa")
        || get(g, "authenticationStrength").is_some_and(|s| !s.is_null())
}

/// The enabled policies that apply to a sign-in and block it or require MFA (ids, in id order).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Enforcement {
    /// Policies with `block`.
    pub blocking: Vec<String>,
    /// Policies that require MFA.
    pub requiring_mfa: Vec<String>,
}

/// What the tenant's enabled policies demand of this sign-in. Report-only
/// (`enabledForReportingButNotEnforced`) and disabled policies never fail a sign-in.
pub fn enforce(s: &SignIn<'_>) -> Enforcement {
    let mut out = Enforcement::default();
    for p in s.tenant.conditional_access_policies.iter() {
        if !is_enabled(p) {
            continue;
        }
        let policy = Value::Object(p.obj.clone());
        if evaluate(&policy, s).is_err() {
            continue;
        }
        if blocks(&policy) {
            out.blocking.push(p.id().to_string());
        }
        if requires_mfa(&policy) {
            out.requiring_mfa.push(p.id().to_string());
        }
    }
    out
}

fn is_enabled(p: &Record) -> bool {
    p.str("state") == Some("enabled")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline_scopes::Audience;
    use crate::conditional_access::sign_in::{Conditions, Target};
    use crate::state::Tenant;
    use serde_json::json;

    const CLIENT: &str = "11111111-1111-1111-1111-111111111111";
    const AAD: &str = "00000002-0000-0000-c000-000000000000";

    fn user() -> Record {
        let mut r = Record::default();
        r.obj.insert("id".into(), json!("u1"));
        r
    }

    fn policy(apps: Value) -> Value {
        json!({"state": "enabled",
               "conditions": {"users": {"includeUsers": ["All"]}, "applications": apps,
                              "clientAppTypes": ["all"]},
               "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}})
    }

    fn sign_in<'a>(t: &'a Tenant, u: &'a Record, apps: &[&str], legacy: bool) -> SignIn<'a> {
        SignIn {
            tenant: t,
            user: u,
            target: Target::Applications(Audience {
                apps: apps.iter().map(|a| a.to_string()).collect(),
                legacy_baseline: legacy,
            }),
            conditions: Conditions::password(),
        }
    }

    #[test]
    fn all_resources_with_exclusions_follow_baseline_enforcement() {
        let (t, u) = (Tenant::default(), user());
        let excl = policy(json!({"includeApplications": ["All"], "excludeApplications": [CLIENT]}));
        let no_excl = policy(json!({"includeApplications": ["All"], "excludeApplications": []}));
        let aad_only = policy(json!({"includeApplications": [AAD]}));
        // Legacy: exempt unless the policy has no exclusion at all.
        assert_eq!(
            evaluate(&excl, &sign_in(&t, &u, &[], true)),
            Err(Reason::Application)
        );
        assert_eq!(evaluate(&no_excl, &sign_in(&t, &u, &[], true)), Ok(()));
        assert_eq!(
            evaluate(&aad_only, &sign_in(&t, &u, &[], true)),
            Err(Reason::Application)
        );
        // Enforced: evaluated against Windows Azure Active Directory.
        for p in [&excl, &no_excl, &aad_only] {
            assert_eq!(evaluate(p, &sign_in(&t, &u, &[AAD], false)), Ok(()));
        }
    }

    #[test]
    fn the_first_unsatisfied_condition_is_the_reason() {
        let (t, u) = (Tenant::default(), user());
        let s = sign_in(&t, &u, &[AAD], false);
        let mut p = policy(json!({"includeApplications": ["All"]}));
        p["conditions"]["clientAppTypes"] = json!(["exchangeActiveSync", "other"]);
        p["conditions"]["signInRiskLevels"] = json!(["high"]);
        assert_eq!(evaluate(&p, &s), Err(Reason::ClientApps));
        p["conditions"]["clientAppTypes"] = json!([]);
        assert_eq!(evaluate(&p, &s), Err(Reason::SignInRisk));
        p["conditions"]["platforms"] =
            json!({"includePlatforms": ["all"], "excludePlatforms": ["iOS", "android"]});
        p["conditions"]["signInRiskLevels"] = json!([]);
        assert_eq!(evaluate(&p, &s), Ok(()), "an unknown platform is in `all`");
        p["conditions"]["platforms"] = json!({"includePlatforms": ["iOS"]});
        assert_eq!(evaluate(&p, &s), Err(Reason::DevicePlatform));
        p["conditions"]["platforms"] = Value::Null;
        p["conditions"]["authenticationFlows"] = json!({"transferMethods": "deviceCodeFlow"});
        assert_eq!(evaluate(&p, &s), Err(Reason::AuthenticationFlow));
        let mut dc = s.clone();
        dc.conditions = Conditions::device_code();
        assert_eq!(evaluate(&p, &dc), Ok(()));
        p["grantControls"] = Value::Null;
        assert_eq!(evaluate(&p, &dc), Err(Reason::EmptyPolicy));
        p["conditions"]["users"] = json!({"includeUsers": ["All"], "excludeUsers": ["u1"]});
        assert_eq!(evaluate(&p, &dc), Err(Reason::Users));
    }

    #[test]
    fn grant_controls_mfa_and_block() {
        let g = |v: Value| json!({"grantControls": v});
        assert!(requires_mfa(&g(
            json!({"operator": "OR", "builtInControls": ["mfa", "compliantDevice"]})
        )));
        assert!(requires_mfa(&g(
            json!({"builtInControls": [], "authenticationStrength": {"id": "x"}})
        )));
        assert!(!requires_mfa(&g(json!({"builtInControls": ["block"]}))));
        assert!(blocks(
            &json!({"GrantControls": {"builtInControls": ["block"]}})
        ));
        assert!(!requires_mfa(&json!({"state": "enabled"})));
    }
}
