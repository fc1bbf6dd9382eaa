//! Built-in scenarios and the fixed facts other crates rely on.

use crate::rng::SplitMix64;
use crate::state::Tenant;
use crate::Error;

/// Load a built-in scenario.
pub fn load(name: &str, base_url: &str, rng: &mut SplitMix64) -> Result<Tenant, Error> {
    crate::fixture::load_str(name, "", base_url, rng)
}
