//! The one integration-test binary of the `entractl` package: one module per area.

mod action_runner;
mod assignments;
mod bench_smoke;
mod chaos_campaign;
mod consent;
mod docs_generated;
mod explain;
mod export;
mod fleet;
mod github_action;
mod github_cli;
mod golden;
mod interrupt;
mod kandji_passport;
mod messages;
mod mfa;
mod module_cycles;
mod network;
mod permissions;
mod plan_apply;
mod restore;
mod schema;
mod util;
mod validate;
mod weakened;
mod workflows;
