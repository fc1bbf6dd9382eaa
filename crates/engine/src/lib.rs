//! entractl's engine: `plan = diff(desired, observed)`, with fetch (Graph reads) before it and
//! apply (ordered, journaled writes) after it.
//!
//! The pure core — [`desired`], [`observed`], [`plan`], [`diff()`], [`simulate`], [`render`] —
//! does no I/O and is tested without a network.

pub mod aadsts;
pub mod apply;
pub mod assignments;
pub mod desired;
pub mod diff;
pub mod error;
pub mod export;
pub mod fetch;
pub mod journal;
pub mod mfa;
pub mod normalize;
pub mod observed;
pub mod permissions;
pub mod plan;
pub mod render;
pub mod restore;
pub mod saved;
pub mod simulate;
mod waves;

pub use apply::{ApplyOptions, ApplyReport, apply};
pub use desired::{ApiPermission, AppIdentity, Desired, DesiredApp, OptionalClaim, ResourceRef};
pub use diff::diff;
pub use error::{EngineError, PlanError};
pub use fetch::{FetchStats, fetch};
pub use observed::Observed;
pub use plan::{Action, Change, FieldChange, ObjectKind, ObjectRef, Outputs, Plan, Risk};
pub use saved::SavedPlan;
pub use simulate::simulate_apply;

#[cfg(test)]
mod tests;
