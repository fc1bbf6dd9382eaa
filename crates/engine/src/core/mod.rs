//! The pure core: desired state, observed state, the kinds that turn their difference into a
//! plan, the plan itself, its renderings, and Graph's effect of a plan (`simulate_apply`). No
//! I/O: nothing here reads the network, the disk, the clock (but `chrono::Utc::now` as a default
//! where the observed state carries no time) or the terminal; it is tested without an emulator.

pub mod checks;
pub mod desired;
pub mod diff;
pub mod error;
pub mod forecast;
pub mod kinds;
pub mod normalize;
pub mod observed;
pub mod plan;
pub mod policy;
pub mod refs;
pub mod render;
pub mod simulate;

#[cfg(test)]
pub(crate) mod tests;
