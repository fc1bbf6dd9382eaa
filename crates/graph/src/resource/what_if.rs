//! Conditional Access What-If (`POST /identity/conditionalAccess/evaluate`, graph-docs
//! `api-reference/v1.0/api/conditionalaccessroot-evaluate.md`): which policies would apply to a
//! user's sign-in to a resource under given conditions — an estimate, as Microsoft says
//! (entra-docs `what-if-tool.md`): conditions not given are not evaluated, and it covers conditional
//! access only (not per-user MFA or security defaults).

use serde_json::{Value, json};

use super::common::Operation;
use super::conditional_access_policy::ConditionalAccessPolicy;
use crate::request::GraphRequest;

pub const PATH: &str = "/identity/conditionalAccess/evaluate";

/// Least privilege (Policy.Read.All also allows it).
pub const READ: &str = "Policy.Read.ConditionalAccess";

pub const OPERATIONS: &[Operation] = &[Operation::new("POST", PATH, READ)];

/// Evaluate a sign-in of `user_id` to `resource_app_id` from a Mac desktop client (Kandji
/// Passport: platform macOS, client app type `mobileAppsAndDesktopClients`, no compliant device).
/// Every policy is in the answer, with whether it applies. The POST reads nothing but changes
/// nothing, so it is safe to repeat.
pub fn mac_desktop_sign_in(
    user_id: &str,
    resource_app_id: &str,
    label: impl Into<String>,
) -> GraphRequest {
    GraphRequest::post(PATH)
        .json(json!({
            "signInIdentity": {"@odata.type": "#microsoft.graph.userSignIn", "userId": user_id},
            "signInContext": {
                "@odata.type": "#microsoft.graph.applicationContext",
                "includeApplications": [resource_app_id],
            },
            "signInConditions": {
                "devicePlatform": "macOS",
                "clientAppType": "mobileAppsAndDesktopClients",
                "deviceInfo": {"isCompliant": false},
            },
            "appliedPoliciesOnly": false,
        }))
        .safe_to_repeat()
        .label(label.into())
}

/// One policy of a What-If answer.
#[derive(Debug, Clone, PartialEq)]
pub struct WhatIfResult {
    pub policy: ConditionalAccessPolicy,
    /// The policy applies to the sign-in.
    pub applies: bool,
    /// Why not (`notSet` when it applies).
    pub analysis_reasons: String,
}

impl WhatIfResult {
    /// One item of the answer's `value`.
    pub fn from_value(v: &Value) -> WhatIfResult {
        WhatIfResult {
            applies: v
                .get("policyApplies")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            analysis_reasons: v
                .get("analysisReasons")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            policy: ConditionalAccessPolicy(v.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asks_for_a_mac_desktop_sign_in_and_reads_every_policy() {
        let r = mac_desktop_sign_in("u1", "00000002-0000-0000-c000-000000000000", "what-if");
        let body = r.body.clone().unwrap_or_default();
        assert!(r.is_idempotent(), "an evaluation is safe to repeat");
        assert_eq!(body["signInIdentity"]["userId"], "u1");
        assert_eq!(
            body["signInContext"]["includeApplications"],
            json!(["00000002-0000-0000-c000-000000000000"])
        );
        assert_eq!(body["signInConditions"]["devicePlatform"], "macOS");
        assert_eq!(body["appliedPoliciesOnly"], false);
        let item = json!({"id": "p1", "displayName": "Require MFA", "policyApplies": true,
                          "analysisReasons": "notSet"});
        let w = WhatIfResult::from_value(&item);
        assert!(w.applies);
        assert_eq!(w.policy.display_name(), "Require MFA");
        assert!(!WhatIfResult::from_value(&json!({"id": "p2"})).applies);
    }
}
