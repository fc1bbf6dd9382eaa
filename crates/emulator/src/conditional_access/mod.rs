//! Conditional access evaluation: the ONE evaluator behind password (ROPC), device-code and refresh
//! sign-ins and the What-If API (`POST /identity/conditionalAccess/evaluate`).
//!
//! [`SignIn`] describes a sign-in (user, target resources, conditions); [`evaluate`] decides whether a
//! policy applies to it and, if not, the first condition that was not satisfied (Graph's
//! `whatIfAnalysisReasons`); [`enforce`] lists the enabled policies that block or require MFA.

pub mod conditions;
pub mod evaluate;
pub mod json;
pub mod sign_in;

pub use evaluate::{Enforcement, blocks, enforce, evaluate, requires_mfa};
pub use sign_in::{Conditions, Reason, SignIn, Target};
