//! What a policy's grant controls ask of a sign-in.

use entractl_graph::resource::conditional_access_policy::{
    ConditionalAccessPolicy as Policy, list_contains as contains,
};
use serde::Serialize;

/// Whether a policy's grant controls require multifactor authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MfaRequirement {
    /// MFA is required: `builtInControls` has `mfa` or an authentication strength is set, and it
    /// is the only control or the controls are combined with `AND`.
    Required,
    /// MFA is one of several controls combined with `OR` (`mfa OR compliantDevice`): the user may
    /// satisfy another control instead.
    OneOfSeveral,
    /// The grant controls do not ask for MFA (none, block only, device or app controls only).
    No,
}

impl MfaRequirement {
    /// Whether entractl excludes the app from a policy with this requirement. `OneOfSeveral`
    /// counts: a Mac signing in through the password grant (ROPC) cannot prove device compliance
    /// or a domain join either, so the other controls cannot be met and the sign-in fails.
    pub fn counts_for_exclusion(self) -> bool {
        matches!(
            self,
            MfaRequirement::Required | MfaRequirement::OneOfSeveral
        )
    }
}

/// Whether `policy` requires MFA. See [`MfaRequirement`] for the rules. A policy that blocks
/// (`block` in `builtInControls`) is reported by [`blocks`], and never requires MFA here.
pub fn requires_mfa(policy: &Policy) -> MfaRequirement {
    let Some(g) = policy.grant_controls() else {
        return MfaRequirement::No;
    };
    if contains(&g.built_in, "block") {
        return MfaRequirement::No;
    }
    let mfa = contains(&g.built_in, "mfa") || g.strength;
    if !mfa {
        return MfaRequirement::No;
    }
    let other_controls = g
        .built_in
        .iter()
        .filter(|c| !c.trim().eq_ignore_ascii_case("mfa"))
        .count()
        + g.others;
    if g.and || other_controls == 0 {
        MfaRequirement::Required
    } else {
        MfaRequirement::OneOfSeveral
    }
}

/// Whether `policy`'s grant controls block access (`builtInControls` has `block`): a sign-in it
/// covers fails with AADSTS53003.
pub fn blocks(policy: &Policy) -> bool {
    policy
        .grant_controls()
        .is_some_and(|g| contains(&g.built_in, "block"))
}

/// The grant controls in words, for plan notes: `mfa`, `mfa AND passwordChange`,
/// `authentication strength "Phishing-resistant MFA" OR compliantDevice`, `none`.
pub fn describe_grant(policy: &Policy) -> String {
    let Some(g) = policy.grant_controls() else {
        return "none".to_string();
    };
    let mut parts: Vec<String> = g.built_in.iter().map(|c| c.to_string()).collect();
    if g.strength {
        parts.push(match g.strength_name {
            Some(name) => format!("authentication strength \"{name}\""),
            None => "authentication strength".to_string(),
        });
    }
    if g.others > 0 {
        parts.push(format!("{} terms of use or custom control(s)", g.others));
    }
    if parts.is_empty() {
        return "none".to_string();
    }
    parts.join(if g.and { " AND " } else { " OR " })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn policy(grant: Value) -> Policy {
        Policy(json!({"displayName": "p", "state": "enabled", "grantControls": grant}))
    }

    #[test]
    fn sole_mfa_is_required_whatever_the_operator() {
        for op in ["OR", "AND", "or"] {
            let p = policy(json!({"operator": op, "builtInControls": ["mfa"]}));
            assert_eq!(requires_mfa(&p), MfaRequirement::Required, "{op}");
        }
        let p = policy(json!({"builtInControls": ["mfa"]}));
        assert_eq!(requires_mfa(&p), MfaRequirement::Required, "no operator");
    }

    #[test]
    fn authentication_strength_is_mfa() {
        let p = policy(json!({"operator": "OR", "builtInControls": [],
            "authenticationStrength": {"id": "00000000-0000-0000-0000-000000000004"}}));
        assert_eq!(requires_mfa(&p), MfaRequirement::Required);
        let p = policy(
            json!({"operator": "AND", "builtInControls": ["riskRemediation"],
            "authenticationStrength": {"displayName": "Phishing-resistant MFA"}}),
        );
        assert_eq!(requires_mfa(&p), MfaRequirement::Required);
        assert_eq!(
            describe_grant(&p),
            "riskRemediation AND authentication strength \"Phishing-resistant MFA\""
        );
        let p = policy(
            json!({"operator": "OR", "builtInControls": ["compliantDevice"],
            "authenticationStrength@odata.context": "x", "authenticationStrength": null}),
        );
        assert_eq!(requires_mfa(&p), MfaRequirement::No);
    }

    #[test]
    fn or_with_other_controls_is_one_of_several() {
        let p = policy(json!({"operator": "OR",
            "builtInControls": ["mfa", "compliantDevice", "domainJoinedDevice"]}));
        assert_eq!(requires_mfa(&p), MfaRequirement::OneOfSeveral);
        assert!(requires_mfa(&p).counts_for_exclusion());
        let p = policy(json!({"operator": "OR", "builtInControls": ["mfa"], "termsOfUse": ["t"]}));
        assert_eq!(requires_mfa(&p), MfaRequirement::OneOfSeveral);
        let p = policy(json!({"operator": "AND", "builtInControls": ["mfa", "passwordChange"]}));
        assert_eq!(requires_mfa(&p), MfaRequirement::Required);
    }

    #[test]
    fn block_and_session_only_policies_do_not_require_mfa() {
        let p = policy(json!({"operator": "OR", "builtInControls": ["block"]}));
        assert_eq!(requires_mfa(&p), MfaRequirement::No);
        assert!(blocks(&p));
        assert!(!MfaRequirement::No.counts_for_exclusion());
        let p = Policy(json!({"displayName": "session", "grantControls": null}));
        assert_eq!(requires_mfa(&p), MfaRequirement::No);
        assert!(!blocks(&p));
        assert_eq!(describe_grant(&p), "none");
        let p = Policy(json!({"displayName": "no key"}));
        assert_eq!(requires_mfa(&p), MfaRequirement::No);
    }

    #[test]
    fn wrong_case_grant_controls_are_read() {
        let p = Policy(json!({"GrantControls": {"Operator": "OR", "BuiltInControls": ["MFA"]}}));
        assert_eq!(requires_mfa(&p), MfaRequirement::Required);
        let p = Policy(json!({"GrantControls": {}}));
        assert_eq!(requires_mfa(&p), MfaRequirement::No);
    }
}
