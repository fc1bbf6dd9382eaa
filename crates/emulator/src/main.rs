//! `graph-emulator`: serve an in-memory Microsoft Graph tenant on loopback.
//!
//! Prints the base URL as the first line of stdout, then serves until SIGINT/SIGTERM.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use graph_emulator::{EmulatorConfig, Knobs, TenantSource, Throttle};

/// An in-memory Microsoft Graph tenant with an identity-platform token endpoint, for tests and sandboxes.
#[derive(Debug, Parser)]
#[command(name = "graph-emulator", version)]
struct Args {
    /// Built-in scenario: p1 (Contoso, Entra ID P1, as Entra behaves today), p1-legacy (the same tenant
    /// with baseline-scope enforcement disabled, no managed policies), free (Fabrikam, security defaults on), free-lapsed (a lapsed P1 licence with an
    /// enabled MFA policy), large (100,000 users), empty. Repeat to serve several tenants.
    #[arg(long, value_name = "NAME", required_unless_present = "fixture")]
    scenario: Vec<String>,
    /// A YAML tenant fixture (see docs/emulator.md). Repeatable.
    #[arg(long, value_name = "FILE")]
    fixture: Vec<PathBuf>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Seed of every random choice (ids, jitter, faults): the same seed replays the same run.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Fixed latency added to each request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Random extra latency, uniform in [0, N] milliseconds.
    #[arg(long, default_value_t = 0)]
    jitter_ms: u64,
    /// New or changed objects stay invisible to other reads for N milliseconds.
    #[arg(long, default_value_t = 0)]
    replication_delay_ms: u64,
    /// Token bucket per tenant, CAPACITY/REFILL_PER_SECOND (e.g. 100/10): 429 with Retry-After when empty.
    #[arg(long, value_name = "CAPACITY/RATE")]
    throttle: Option<Throttle>,
    /// Limit conditional access endpoints to 1 request/s per tenant (429 without Retry-After).
    #[arg(long)]
    ca_throttle: bool,
    /// Probability (0..1) that a request fails with 503, 504 or a dropped connection.
    #[arg(long, default_value_t = 0.0)]
    fault_rate: f64,
    /// Probability (0..1) that one request inside a $batch fails on its own (429, 503, or 504 after it was applied).
    #[arg(long, default_value_t = 0.0)]
    batch_fault_rate: f64,
    /// Throttling (--throttle) answers 429 without a Retry-After header.
    #[arg(long)]
    omit_retry_after: bool,
    /// Microsoft Graph's identity and access limits: resource units per request, per
    /// application+tenant and per tenant quotas by tenant size, 429 with Retry-After and the
    /// x-ms-throttle-* headers (on by default with --scenario large).
    #[arg(long)]
    graph_limits: bool,
    /// Keep the tenants in this JSON file across restarts (loaded if present, written after each change).
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if !(0.0..=1.0).contains(&args.batch_fault_rate) {
        eprintln!(
            "error: --batch-fault-rate must be between 0 and 1 (got {})",
            args.batch_fault_rate
        );
        return ExitCode::from(2);
    }
    if !(0.0..=1.0).contains(&args.fault_rate) {
        eprintln!(
            "error: --fault-rate must be between 0 and 1 (got {})",
            args.fault_rate
        );
        return ExitCode::from(2);
    }
    let config = config(args);
    let emu = match graph_emulator::start(config) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", emu.base_url());
        let _ = out.flush();
    }
    eprintln!(
        "graph-emulator: tenant {} at {} (Graph {}/v1.0, token endpoint {}/{}/oauth2/v2.0/token). Ctrl-C to stop.",
        emu.tenant_id(),
        emu.base_url(),
        emu.base_url(),
        emu.base_url(),
        emu.tenant_id()
    );
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot wait for signals: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            match signal(SignalKind::terminate()) {
                Ok(mut term) => {
                    tokio::select! {
                        _ = tokio::signal::ctrl_c() => {}
                        _ = term.recv() => {}
                    }
                }
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    });
    emu.shutdown();
    ExitCode::SUCCESS
}

/// The emulator's configuration from the command line.
fn config(args: Args) -> EmulatorConfig {
    let mut sources: Vec<TenantSource> = args
        .scenario
        .iter()
        .cloned()
        .map(TenantSource::Scenario)
        .collect();
    sources.extend(args.fixture.iter().cloned().map(TenantSource::FixtureFile));
    EmulatorConfig {
        sources,
        listen: args.listen,
        seed: args.seed,
        knobs: Knobs {
            latency_ms: args.latency_ms,
            jitter_ms: args.jitter_ms,
            replication_delay_ms: args.replication_delay_ms,
            throttle: args.throttle,
            ca_throttle: args.ca_throttle,
            fault_rate: args.fault_rate,
            batch_fault_rate: args.batch_fault_rate,
            omit_retry_after: args.omit_retry_after,
            graph_limits: args.graph_limits
                || args
                    .scenario
                    .iter()
                    .any(|s| Knobs::of_scenario(s).graph_limits),
            failing_writes: Vec::new(),
        },
        state_file: args.state,
    }
}
