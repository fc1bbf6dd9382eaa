//! The spec's `mfa` section in the engine's terms.

use serde::{Deserialize, Serialize};

/// `mfa.conditionalAccess.excludeApp` of the spec: which policies get the app added to
/// `excludeApplications`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CaSelection {
    /// `from-policies-requiring-mfa`: every policy that would ask Passport's sign-in for MFA.
    FromPoliciesRequiringMfa,
    /// A list of policy display names or ids.
    Named(Vec<String>),
}

/// The `mfa` section of the spec. `None`/`false`: unmanaged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DesiredMfa {
    /// `identitySecurityDefaultsEnforcementPolicy.isEnabled`.
    pub security_defaults: Option<bool>,
    /// `perUserMfaState: disabled` for every user who can sign in to the app.
    pub per_user_mfa_disabled: bool,
    /// Which conditional access policies get the app added to `excludeApplications`.
    pub conditional_access: Option<CaSelection>,
}

impl DesiredMfa {
    /// From the expanded spec's `mfa` section.
    pub fn from_spec(m: &entractl_spec::Mfa) -> DesiredMfa {
        DesiredMfa {
            security_defaults: m.security_defaults.map(|s| s.is_enabled()),
            per_user_mfa_disabled: m.per_user_mfa.is_some(),
            conditional_access: m.conditional_access.as_ref().map(|c| match c {
                entractl_spec::ConditionalAccess::ExcludeFromPoliciesRequiringMfa => {
                    CaSelection::FromPoliciesRequiringMfa
                }
                entractl_spec::ConditionalAccess::ExcludeFromPolicies(n) => {
                    CaSelection::Named(n.clone())
                }
            }),
        }
    }

    /// Whether the spec needs Passport's password sign-in to get through MFA requirements
    /// (per-user MFA or conditional access managed).
    pub fn needs_password_sign_in(&self) -> bool {
        self.per_user_mfa_disabled || self.conditional_access.is_some()
    }
}
