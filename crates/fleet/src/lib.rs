//! entractl fleets: many tenants in one run.
//!
//! A fleet file ([`file`]) lists tenants, each with a spec (a shared spec plus per-tenant values)
//! and how to sign in to it (secrets only by reference). [`run()`] plans or applies every tenant
//! of a [`Shard`] with a bounded number in flight and reports on each ([`FleetReport`]); shard
//! reports [`merge`] into the report of the whole fleet.
//!
//! The library reads no environment variables and does no terminal I/O: the binary passes an
//! environment snapshot in [`RunOptions::env`] and prints the report.

mod check;
pub mod file;
mod model;
mod raw;
pub mod report;
pub mod run;
pub mod shard;
pub mod tenant;

pub use file::{
    Auth, Fleet, FleetFileError, FleetIssue, SecretRef, TenantEntry, json_schema, load_file,
    parse_str,
};
pub use report::{
    ErrorKind, FleetReport, FleetSummary, MergeError, Operation, Status, TenantError, TenantResult,
    merge,
};
pub use run::{
    ApplySettings, DEFAULT_PARALLEL, OnTenantDone, OnTenantWait, RunOptions, run, select,
};
pub use shard::{Shard, ShardError, fnv1a64, shard_of};
