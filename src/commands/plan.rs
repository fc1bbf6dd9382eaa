//! `entractl plan SPEC`: read the tenant, print what would change. Also the shared pieces of
//! `plan`, `apply` and `permissions`: the Graph/auth options, loading a spec, building a client.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use entractl_engine::render::{Format, render};
use entractl_engine::{Desired, EngineError, SavedPlan, diff, fetch};
use entractl_graph::{AuthMethod, AuthOptions, Cloud, GraphClient, GraphConfig};

use crate::cli::ColorChoice;
use crate::error::{CliError, Outcome};
use crate::output;

/// How to reach Microsoft Graph and sign in (global flags).
#[derive(Debug, Clone, Args)]
pub struct GraphArgs {
    /// Credential: client-secret, certificate, workload-identity, github-actions, azure-cli or
    /// device-code. Default: the first one configured in the environment, in that order.
    #[arg(long, global = true, value_name = "METHOD")]
    pub auth: Option<String>,
    /// Microsoft Graph root URL (default: the spec's cloud), e.g. a graph-emulator's base URL.
    #[arg(long, global = true, env = "ENTRACTL_GRAPH_URL", value_name = "URL")]
    pub graph_url: Option<String>,
    /// Identity platform root URL (default: the spec's cloud).
    #[arg(long, global = true, env = "AZURE_AUTHORITY_HOST", value_name = "URL")]
    pub authority_url: Option<String>,
    /// More diagnostics on stderr: -v info, -vv debug, -vvv trace (never tokens or secrets).
    #[arg(short = 'v', long = "verbose", global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Naive Graph traffic, for benchmarks: no `$batch`, one request in flight at a time (what
    /// a script over the Graph SDK does). Slower; same results.
    #[arg(long, global = true, env = "ENTRACTL_NAIVE", hide = true)]
    pub naive: bool,
}

/// Output formats of a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    Text,
    Json,
    Markdown,
}

impl FormatArg {
    pub fn format(self) -> Format {
        match self {
            FormatArg::Text => Format::Text,
            FormatArg::Json => Format::Json,
            FormatArg::Markdown => Format::Markdown,
        }
    }
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The spec file.
    #[arg(
        value_name = "SPEC",
        required_unless_present = "fleet",
        conflicts_with = "fleet"
    )]
    pub spec: Option<PathBuf>,
    /// Output format: text for people, json for machines, markdown for pull-request comments.
    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    pub format: FormatArg,
    /// Exit 0 when there is nothing to change, 2 when there are changes, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Save the plan (with fingerprints of the spec and the tenant objects) for `entractl apply FILE`.
    #[arg(long, value_name = "FILE", conflicts_with = "fleet")]
    pub out: Option<PathBuf>,
    /// Many tenants: `--fleet FILE`, `--shard I/N`, `--parallel N`, `--report FILE`.
    #[command(flatten)]
    pub fleet: super::fleet::FleetArgs,
}

/// A command failure with a message that already says what, where and how to fix it.
pub fn fail(message: impl std::fmt::Display) -> CliError {
    CliError::Run(message.to_string())
}

fn engine(e: EngineError) -> CliError {
    fail(e)
}

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
pub fn load_spec(path: &Path) -> Result<(entractl_spec::LoadedSpec, Vec<u8>), CliError> {
    let loaded = entractl_spec::load_file(path).map_err(|report| CliError::InvalidSpecs {
        reports: vec![report],
        files: 1,
    })?;
    let bytes = loaded.text().as_bytes().to_vec();
    Ok((loaded, bytes))
}

fn cloud(name: &str) -> Cloud {
    match name {
        "usgov" => Cloud::UsGov,
        "usgov-dod" => Cloud::UsGovDod,
        "china" => Cloud::China,
        _ => Cloud::Public,
    }
}

/// A Graph client for the tenant, from the flags and a snapshot of the environment.
pub fn client(tenant: &str, cloud_name: &str, g: &GraphArgs) -> Result<GraphClient, CliError> {
    let mut cfg = GraphConfig::for_cloud(cloud(cloud_name), tenant);
    if let Some(u) = &g.graph_url {
        cfg = cfg
            .with_graph_url(u)
            .map_err(|e| fail(format!("--graph-url: {e}")))?;
    }
    if let Some(u) = &g.authority_url {
        cfg = cfg
            .with_authority_url(u)
            .map_err(|e| fail(format!("--authority-url: {e}")))?;
    }
    if g.naive {
        cfg.max_in_flight = 1;
        cfg.batching = false;
    }
    if std::io::stderr().is_terminal() {
        cfg = cfg.with_on_wait(Arc::new(|w| eprintln!("  … {w}")));
    }
    let choice = match &g.auth {
        Some(name) => Some(
            name.parse::<AuthMethod>()
                .map_err(|e| fail(format!("--auth {name}: {e}")))?,
        ),
        None => None,
    };
    let env: BTreeMap<String, String> = std::env::vars().collect();
    // One HTTP client for the run: the credential's token requests and the Graph requests share it.
    let http = entractl_graph::build_http_client(&cfg)
        .map_err(|e| fail(format!("cannot build the HTTP client: {e}")))?;
    let opts = AuthOptions {
        on_device_code: Some(Arc::new(|p| eprintln!("{}", p.message))),
        http: Some(http.clone()),
        ..AuthOptions::default()
    };
    let creds = entractl_graph::credential_from_env(&env, choice, &cfg, &opts).map_err(fail)?;
    GraphClient::with_http(cfg, creds, http).map_err(fail)
}

/// Says which tenant is read and as whom (stderr, on a terminal only).
pub fn announce(desired: &Desired, client: &GraphClient) {
    if std::io::stderr().is_terminal() {
        eprintln!(
            "Reading tenant {} (cloud {}) as {}",
            desired.tenant,
            desired.cloud,
            client.credential_description()
        );
    }
}

/// A multi-threaded runtime for one command.
pub fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| fail(format!("cannot start the async runtime: {e}")))
}

pub fn run(args: &PlanArgs, g: &GraphArgs, color: ColorChoice) -> Result<Outcome, CliError> {
    let Some(spec_path) = args.spec.as_deref() else {
        return super::fleet::plan(args, g, color);
    };
    init_logging(g.verbose);
    let (loaded, bytes) = load_spec(spec_path)?;
    let desired = Desired::from_spec(&loaded.spec, g.authority_url.as_deref()).locate(&loaded);
    let client = client(&desired.tenant, &desired.cloud, g)?;
    announce(&desired, &client);
    let rt = runtime()?;
    let (observed, plan) = rt.block_on(async {
        let (observed, _) = fetch(&client, &desired).await.map_err(engine)?;
        let plan = diff(&desired, &observed).map_err(|e| engine(e.into()))?;
        Ok::<_, CliError>((observed, plan))
    })?;
    let format = args.format.format();
    output::stdout(&render(
        &plan,
        format,
        format == Format::Text && color_stdout(color),
    ))?;
    if let Some(out) = &args.out {
        let saved = SavedPlan::new_now(
            &spec_path.display().to_string(),
            &bytes,
            &desired,
            &observed,
            &plan,
        );
        std::fs::write(out, saved.to_json()).map_err(|e| {
            fail(format!(
                "cannot write the plan to {}: {e}\n  hint: choose a writable path for --out",
                out.display()
            ))
        })?;
        eprintln!(
            "Saved the plan to {}: apply exactly it with `entractl apply {}`",
            out.display(),
            out.display()
        );
    }
    if args.detailed_exitcode && plan.has_changes() {
        Ok(Outcome::ChangesPresent)
    } else {
        Ok(Outcome::Success)
    }
}
