//! How to start an emulator: the tenants to load, the address, the seed, the knobs.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::knobs::Knobs;

/// Where the emulator's tenants come from.
#[derive(Debug, Clone)]
pub enum TenantSource {
    /// A built-in scenario (`p1`, `free`, `large`, `empty`).
    Scenario(String),
    /// A YAML fixture file.
    FixtureFile(PathBuf),
    /// A YAML fixture given as text (name used in errors).
    FixtureText {
        /// Name used in error messages.
        name: String,
        /// YAML text.
        text: String,
    },
}

/// How to start an emulator.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Tenants to load; more than one is allowed (many tenants at once).
    pub sources: Vec<TenantSource>,
    /// Address to listen on (`127.0.0.1:0` by default).
    pub listen: SocketAddr,
    /// Seed of every random choice (ids, jitter, faults).
    pub seed: u64,
    /// Realism knobs at start.
    pub knobs: Knobs,
    /// Persist the tenants to this file (JSON) on every write, and load it at start if present.
    pub state_file: Option<PathBuf>,
}

impl EmulatorConfig {
    /// A config serving one built-in scenario on 127.0.0.1:0, seed 0, with the scenario's knobs
    /// ([`Knobs::of_scenario`]: none but Graph's limits in `large`).
    pub fn scenario(name: &str) -> Self {
        EmulatorConfig {
            sources: vec![TenantSource::Scenario(name.to_string())],
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            seed: 0,
            knobs: Knobs::of_scenario(name),
            state_file: None,
        }
    }
}
