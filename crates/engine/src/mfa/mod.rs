//! Conditional access analysis for the MFA posture (issue 7): which policies stop the app's
//! password sign-in (ROPC cannot do MFA), and the one change entractl makes to them.
//!
//! Pure: the input is the JSON Graph returns from `GET /identity/conditionalAccess/policies`
//! (one `serde_json::Value` per policy), read tolerantly (missing keys, `null`, keys in the wrong
//! case, OData annotations, placeholders). No I/O.
//!
//! - [`requires_mfa`] / [`blocks`]: what the grant controls ask for.
//! - [`applies_to_app`] / [`app_targeting`], [`covers_users`], [`client_app_types_cover_ropc`]:
//!   whether the policy is evaluated for the app's sign-ins.
//! - [`select_policies`]: a [`PolicyDecision`] with a reason for every policy.
//! - [`exclusion_patch`]: the PATCH body adding only the appId to `excludeApplications`;
//!   [`apply_exclusion_patch`] shows the policy after Graph applies it.
//!
//! The decisions (report-only policies are excluded, OR-ed MFA counts, disabled policies are left
//! alone, block policies are reported, `Office365` does not cover Passport) are explained in
//! `docs/mfa.md`.

mod grant;
mod json;
mod patch;
pub mod posture;
mod select;
mod target;

pub use grant::{MfaRequirement, blocks, describe_grant, requires_mfa};
pub use patch::{apply_exclusion_patch, exclusion_patch};
pub use select::{
    PolicyDecision, Reason, Selection, SelectionError, Verdict, check_selection, select_policies,
};
pub use target::{
    AppTargeting, Coverage, PolicyState, UserScope, app_targeting, applies_to_app,
    authentication_flows, client_app_types_cover_ropc, covers_users, policy_state,
};
