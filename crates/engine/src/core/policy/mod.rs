//! Conditional access policies, analysed for Passport's sign-in: what a policy's grant controls
//! ask of a sign-in ([`grant`]), whom and what it targets ([`target`]), and which policies the
//! app must be excluded from, with a reason for every policy ([`select`]). Pure: policies in,
//! decisions out.

pub mod grant;
pub mod select;
pub mod target;

pub use grant::{MfaRequirement, blocks, describe_grant, requires_mfa};
pub use select::{
    PolicyDecision, Reason, SelectionError, Verdict, check_selection, select_policies,
};
pub use target::{
    AppTargeting, Coverage, PolicyState, app_targeting, applies_to_app, authentication_flows,
    client_app_types_cover_ropc, covers_users, policy_state,
};
