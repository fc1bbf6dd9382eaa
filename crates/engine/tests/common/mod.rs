//! Shared by the engine's emulator tests: a Graph client signed in to a graph-emulator tenant as
//! the scenarios' automation client, the seed spec, scratch directories and plain Graph reads
//! (the oracle: the emulator's state, not entractl's plan). Not every test uses every helper.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::Duration;

use entractl_engine::{ApplyOptions, Desired, apply, diff, fetch};
use entractl_graph::{
    AuthOptions, Cloud, GraphClient, GraphConfig, GraphRequest, credential_from_env,
};
use graph_emulator::RunningEmulator;
use graph_emulator::scenarios::{CI_CLIENT_ID, CI_CLIENT_SECRET};
use serde_json::Value;

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

/// The seed spec (`specs/kandji-passport-mac-login.yaml`) as the engine desires it.
pub fn seed_spec() -> Desired {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../specs/kandji-passport-mac-login.yaml"
    );
    let loaded = entractl_spec::load_file(std::path::Path::new(path)).expect("spec loads");
    Desired::from_spec(&loaded.spec, None)
}

/// A fresh scratch directory (a journal directory no earlier run has seen).
pub fn tempdir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!(
        "entractl-engine-{name}-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A plain GET's JSON answer (panics on an error).
pub async fn get(client: &GraphClient, path: &str) -> Value {
    client
        .send(GraphRequest::get(path))
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
        .json()
        .clone()
}

/// Applies `d` with a journal of its own (no memory of earlier
/// applies, as on a fresh machine), allowing security downgrades; it converges.
pub async fn apply_fresh(client: &GraphClient, d: &Desired, name: &str) {
    let (observed, _) = fetch(client, d).await.unwrap();
    let plan = diff(d, &observed).unwrap();
    let mut o = ApplyOptions::new(tempdir(name));
    o.verify_interval = Duration::from_millis(50);
    o.verify_budget = Duration::from_secs(30);
    o.allow_security_downgrade = true;
    let report = apply(client, d, &plan, &observed, &o).await.unwrap();
    assert!(report.converged, "{:#?}", report.final_plan.changes);
}
