//! Shared by the engine's emulator tests: a Graph client signed in to a graph-emulator tenant as
//! the scenarios' automation client.

use std::collections::BTreeMap;
use std::time::Duration;

use entractl_graph::{AuthOptions, Cloud, GraphClient, GraphConfig, credential_from_env};
use graph_emulator::RunningEmulator;
use graph_emulator::scenarios::{CI_CLIENT_ID, CI_CLIENT_SECRET};

/// A client of `tenant` on the emulator, with short backoffs and conditional-access pacing;
/// `operation_budget` replaces the default budget when given.
pub fn client_for(
    emu: &RunningEmulator,
    tenant: &str,
    operation_budget: Option<Duration>,
) -> GraphClient {
    let base = emu.base_url();
    let mut cfg = GraphConfig::for_cloud(Cloud::Public, tenant)
        .with_graph_url(&base)
        .unwrap()
        .with_authority_url(&base)
        .unwrap();
    cfg.backoff_base = Duration::from_millis(20);
    cfg.backoff_cap = Duration::from_millis(200);
    if let Some(budget) = operation_budget {
        cfg.operation_budget = budget;
    }
    cfg.conditional_access_interval = Duration::from_millis(1);
    let env: BTreeMap<String, String> = [
        ("AZURE_TENANT_ID", tenant),
        ("AZURE_CLIENT_ID", CI_CLIENT_ID),
        ("AZURE_CLIENT_SECRET", CI_CLIENT_SECRET),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let creds = credential_from_env(&env, None, &cfg, &AuthOptions::default()).unwrap();
    GraphClient::new(cfg, creds).unwrap()
}
