//! entractl's engine: `plan = diff(desired, observed)`, with fetch (Graph reads) before it and
//! apply (ordered, journaled writes) after it.
//!
//! - [`core`]: the pure core — desired and observed state, the object kinds behind one trait,
//!   the plan, its renderings — with no I/O, tested without a network;
//! - [`fetch`]: the reads, as plain async code over `entractl_graph`'s batching loader;
//! - [`apply`]: the writes, each kind's way, journaled ([`journal`]), then read back;
//! - [`saved`] plans, [`permissions`], [`export`] and the sign-in error catalogue ([`aadsts`]).

pub mod aadsts;
pub mod apply;
pub mod core;
pub mod error;
pub mod export;
pub mod fetch;
pub mod journal;
pub mod permissions;
pub mod saved;

pub use crate::core::kinds::identify_app;
pub use crate::core::{
    desired, diff::diff, forecast, observed, plan, policy, render, simulate::simulate_apply,
};
pub use apply::{ApplyEvent, ApplyOptions, ApplyReport, apply};
pub use desired::{ApiPermission, AppIdentity, Desired, DesiredApp, OptionalClaim, ResourceRef};
pub use error::{EngineError, PlanError, ReadError};
pub use fetch::{FetchStats, fetch};
pub use observed::Observed;
pub use plan::{Action, Change, FieldChange, ObjectKind, ObjectRef, Outputs, Plan, Risk};
pub use saved::SavedPlan;
