//! The spec's `mfa` section in the engine's terms: what Mac Login (Passport's password sign-in,
//! which cannot do MFA) needs weakened, and how.

use serde::{Deserialize, Serialize};

use super::app::AppIdentity;

/// Which conditional access policies one way of excluding applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CaSelection {
    /// `from-policies-requiring-mfa`: every policy that would ask Passport's sign-in for MFA.
    FromPoliciesRequiringMfa,
    /// A list of policy display names or ids.
    Named(Vec<String>),
}

impl CaSelection {
    /// The spec's policy selection.
    pub fn from_spec(s: &entractl_spec::PolicySelection) -> CaSelection {
        match s {
            entractl_spec::PolicySelection::FromPoliciesRequiringMfa => {
                CaSelection::FromPoliciesRequiringMfa
            }
            entractl_spec::PolicySelection::Named(n) => CaSelection::Named(n.clone()),
        }
    }
}

/// The placeholder application of Microsoft's "Customize behavior" for baseline scopes
/// (`mfa.conditionalAccess.placeholder`): entractl creates and manages it, and excludes it from
/// the selected "All resources" policies; an admin then picks it on the Baseline scopes settings
/// page (no API exists for that step).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DesiredPlaceholder {
    pub display_name: String,
    /// The managed tag's name (as `app.uniqueName`).
    pub unique_name: String,
    /// The policies it is excluded from.
    pub exclude_from: CaSelection,
}

impl DesiredPlaceholder {
    /// Its identity: found and created by `uniqueName`, tagged `entractl:<uniqueName>`.
    pub fn identity(&self) -> AppIdentity {
        AppIdentity {
            unique_name: Some(self.unique_name.clone()),
            adopt_app_id: None,
        }
    }
}

/// The `mfa` section of the spec. `None`/`false`: unmanaged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DesiredMfa {
    /// `identitySecurityDefaultsEnforcementPolicy.isEnabled`.
    pub security_defaults: Option<bool>,
    /// `perUserMfaState: disabled` for every user who can sign in to the app.
    pub per_user_mfa_disabled: bool,
    /// `excludeApp`: which policies get Passport's app added to `excludeApplications` (effective
    /// only where the tenant keeps the legacy behaviour for baseline scopes).
    pub conditional_access: Option<CaSelection>,
    /// `excludeUsers`: which policies get the app's assigned users and groups added to
    /// `excludeUsers`/`excludeGroups` (those people then lose MFA from these policies for every
    /// app).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude_identities: Option<CaSelection>,
    /// `placeholder`: "Customize behavior" with an entractl-managed placeholder app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<DesiredPlaceholder>,
}

impl DesiredMfa {
    /// From the expanded spec's `mfa` section.
    pub fn from_spec(m: &entractl_spec::Mfa) -> DesiredMfa {
        DesiredMfa {
            security_defaults: m.security_defaults.map(|s| s.is_enabled()),
            per_user_mfa_disabled: m.per_user_mfa.is_some(),
            conditional_access: m.exclude_app.as_ref().map(CaSelection::from_spec),
            exclude_identities: m.exclude_users.as_ref().map(CaSelection::from_spec),
            placeholder: m.placeholder.as_ref().map(|p| DesiredPlaceholder {
                display_name: p.display_name.clone(),
                unique_name: p.unique_name.clone(),
                exclude_from: CaSelection::from_spec(&p.exclude_from),
            }),
        }
    }

    /// Whether any conditional access policy is to be changed.
    pub fn manages_conditional_access(&self) -> bool {
        self.conditional_access.is_some()
            || self.exclude_identities.is_some()
            || self.placeholder.is_some()
    }

    /// Whether the spec needs Passport's password sign-in to get through MFA requirements
    /// (per-user MFA or conditional access managed).
    pub fn needs_password_sign_in(&self) -> bool {
        self.per_user_mfa_disabled || self.manages_conditional_access()
    }
}
