//! What every command that reads a spec or talks to Graph shares: logging, loading a spec, the
//! Graph client built from the flags and the environment, the runtime, colour on stdout.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use entractl_engine::Desired;
use entractl_graph::{AuthOptions, Cloud, GraphClient, GraphConfig, WaitEvent};

use crate::args::{ColorChoice, GraphArgs};
use crate::error::CommandError;

/// Waits at least this long are shown on stderr even without a terminal (a CI log shows why a
/// run is slow); shorter ones only on a terminal.
const SHOWN_WAIT: Duration = Duration::from_secs(2);

/// Text colour on stdout.
pub fn color_stdout(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
        }
    }
}

/// Sets up `-v` logging on stderr (once).
pub fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => return,
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(level))
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}

/// Reads and validates a spec. Returns it with its bytes (for the saved-plan fingerprint).
pub fn load_spec(path: &Path) -> Result<(entractl_spec::LoadedSpec, Vec<u8>), CommandError> {
    let loaded = entractl_spec::load_file(path).map_err(|report| CommandError::InvalidSpecs {
        reports: vec![report],
        files: 1,
    })?;
    let bytes = loaded.text().as_bytes().to_vec();
    Ok((loaded, bytes))
}

/// The Graph configuration for a tenant in a cloud, from the flags.
pub fn graph_config(
    tenant: &str,
    cloud: Cloud,
    g: &GraphArgs,
) -> Result<GraphConfig, CommandError> {
    let mut cfg = GraphConfig::for_cloud(cloud, tenant);
    if let Some(u) = &g.graph_url {
        cfg = cfg.with_graph_url(u).map_err(|source| CommandError::Url {
            flag: "--graph-url",
            source,
        })?;
    }
    if let Some(u) = &g.authority_url {
        cfg = cfg
            .with_authority_url(u)
            .map_err(|source| CommandError::Url {
                flag: "--authority-url",
                source,
            })?;
    }
    if g.naive {
        cfg.max_in_flight = 1;
        cfg.batching = false;
    }
    if let Some(secs) = g.timeout {
        cfg = cfg.with_deadline(Duration::from_secs(secs));
    }
    let terminal = std::io::stderr().is_terminal();
    cfg = cfg.with_on_wait(Arc::new(move |w: &WaitEvent| {
        if terminal || w.delay >= SHOWN_WAIT {
            crate::quiet::note(&format!("  … {w}"));
        }
    }));
    Ok(cfg)
}

/// A Graph client for the tenant, from the flags and a snapshot of the environment.
pub fn client(tenant: &str, cloud: Cloud, g: &GraphArgs) -> Result<GraphClient, CommandError> {
    let cfg = graph_config(tenant, cloud, g)?;
    let env: BTreeMap<String, String> = std::env::vars().collect();
    // One HTTP client for the run: the credential's token requests and the Graph requests share it.
    let http = entractl_graph::build_http_client(&cfg)
        .map_err(|e| CommandError::plain(format!("cannot build the HTTP client: {e}")))?;
    let opts = AuthOptions {
        on_device_code: Some(Arc::new(|p| eprintln!("{}", p.message))),
        http: Some(http.clone()),
        ..AuthOptions::default()
    };
    let creds = entractl_graph::credential_from_env(&env, g.auth, &cfg, &opts)?;
    Ok(GraphClient::with_http(cfg, creds, http)?)
}

/// The cloud a spec names (the spec is validated, so the name is known).
pub fn cloud_of(desired: &Desired) -> Cloud {
    desired.cloud.parse().unwrap_or_default()
}

/// A client for the spec's tenant and cloud.
pub fn spec_client(desired: &Desired, g: &GraphArgs) -> Result<GraphClient, CommandError> {
    client(&desired.tenant, cloud_of(desired), g)
}

/// Says which tenant is read and as whom (stderr, on a terminal only).
pub fn announce(desired: &Desired, client: &GraphClient) {
    if std::io::stderr().is_terminal() {
        crate::quiet::note(&format!(
            "Reading tenant {} (cloud {}) as {}",
            desired.tenant,
            desired.cloud,
            client.credential_description()
        ));
    }
}

/// A multi-threaded runtime for one command.
pub fn runtime() -> Result<tokio::runtime::Runtime, CommandError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CommandError::plain(format!("cannot start the async runtime: {e}")))
}
