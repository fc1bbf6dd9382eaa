//! The observed state: the tenant objects that matter, as the typed resources of
//! `entractl_graph::resource` parsed them.

mod app;
mod assignments;
mod deleted;
mod forecast;
mod mfa;
mod password_sign_in;
mod records;

pub use app::{Candidate, MatchedBy, ObservedPlaceholder, ResourceLookup};
pub use assignments::{Members, ObservedAssignments, PrincipalGroup, Principals, user_label};
pub use deleted::{DeletedApplication, ObservedDeleted};
pub use forecast::{BaselineRead, ForecastUser, ObservedForecast, PolicyOutcome, Sampling};
pub use mfa::{CaObserved, ObservedMfa, ScopeUser, SignInScope, UserMfaState, UserScope};
pub use password_sign_in::{HomeRealmPolicy, ObservedPasswordSignIn, SignInUser};
pub use records::{ObservedRecords, OtherRecord, Purpose, RecordGroup, RecordMember, app_hash};

pub use entractl_graph::resource::app_role_assignment::AppRoleAssignment;
pub use entractl_graph::resource::application::Application;
pub use entractl_graph::resource::conditional_access_policy::ConditionalAccessPolicy;
pub use entractl_graph::resource::group::Group;
pub use entractl_graph::resource::oauth2_permission_grant::OAuth2PermissionGrant;
pub use entractl_graph::resource::service_principal::ServicePrincipal;
pub use entractl_graph::resource::subscribed_sku::LicenseTier;
pub use entractl_graph::resource::user::User;

use serde::{Deserialize, Serialize};

/// The tenant as far as the desired state is concerned.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Observed {
    /// The tenant id (GUID) when known.
    pub tenant_id: Option<String>,
    /// Applications matched by any of the app lookups (0, 1 or, in error, more).
    pub candidates: Vec<Candidate>,
    /// The managed application's service principal.
    pub service_principal: Option<ServicePrincipal>,
    pub resources: Vec<ResourceLookup>,
    /// Grants whose client is the managed application's service principal.
    pub grants: Vec<OAuth2PermissionGrant>,
    /// The application permissions granted to the managed application's service principal
    /// (its `appRoleAssignments`, every API), read when the spec manages admin consent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub app_role_grants: Vec<AppRoleAssignment>,
    /// The MFA posture, when the spec manages it (`mfa`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa: Option<ObservedMfa>,
    /// What was read for `assignments` (lookups, current assignments, group members).
    #[serde(default)]
    pub assignments: ObservedAssignments,
    /// Who can sign in to the app after apply: assigned users and groups (with their direct
    /// members). Filled by `fetch` when the spec has `assignments`.
    #[serde(default)]
    pub principals: Principals,
    /// The tenant's Entra ID tier from `subscribedSkus`, when it was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<LicenseTier>,
    /// Deleted applications matching the spec (read only when no live one matched).
    #[serde(default, skip_serializing_if = "ObservedDeleted::is_empty")]
    pub deleted: ObservedDeleted,
    /// What the sign-in forecast read (when the spec needs password sign-in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forecast: Option<ObservedForecast>,
    /// What the password sign-in preflight read (when the spec needs password sign-in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_sign_in: Option<ObservedPasswordSignIn>,
    /// The placeholder app, when the spec has one (`mfa.conditionalAccess.placeholder`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<ObservedPlaceholder>,
    /// The placeholder apps entractl made for this app (tagged `entractl-placeholder-for:<key>`),
    /// read whatever the spec says now: one the spec no longer names is taken out of the
    /// policies' exclusions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub linked_placeholders: Vec<Application>,
    /// What entractl weakened, as its record groups say (docs/decisions.md).
    #[serde(default, skip_serializing_if = "ObservedRecords::is_empty")]
    pub records: ObservedRecords,
}

impl Observed {
    /// A copy for simulating the plan's writes when only what they change is wanted (the sign-in
    /// forecast's MFA posture after the plan): without the reads that no change touches and
    /// that the forecast takes from the tenant before the plan — who signs in, the What-If
    /// answers, the password preflight, and the lookups behind the assignments (their current
    /// assignments stay). With thousands of users those are most of the model.
    pub fn for_writes(&self) -> Observed {
        Observed {
            tenant_id: self.tenant_id.clone(),
            candidates: self.candidates.clone(),
            service_principal: self.service_principal.clone(),
            resources: self.resources.clone(),
            grants: self.grants.clone(),
            app_role_grants: self.app_role_grants.clone(),
            mfa: self.mfa.clone(),
            assignments: ObservedAssignments {
                existing: self.assignments.existing.clone(),
                ..ObservedAssignments::default()
            },
            principals: Principals::default(),
            tier: self.tier,
            deleted: self.deleted.clone(),
            forecast: None,
            password_sign_in: None,
            placeholder: self.placeholder.clone(),
            linked_placeholders: self.linked_placeholders.clone(),
            records: self.records.clone(),
        }
    }
}
