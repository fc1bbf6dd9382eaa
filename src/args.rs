//! Flags shared by several subcommands. A leaf module: it imports nothing from the rest of the
//! binary, so `cli.rs` and every command can use it without a module cycle.

use std::path::PathBuf;

use clap::Args;
use entractl_engine::render::Format;
use entractl_fleet::Shard;
use entractl_graph::AuthMethod;

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// How to reach Microsoft Graph and sign in: flattened into the commands that talk to Graph
/// (plan, apply, destroy, verify, verify-signin, export), so only their `--help` shows them.
#[derive(Debug, Clone, Args)]
pub struct GraphArgs {
    /// Credential: client-secret, certificate, workload-identity, github-actions, azure-cli or
    /// device-code. Default: the first one configured in the environment, in that order.
    #[arg(long, value_name = "METHOD")]
    pub auth: Option<AuthMethod>,
    /// Microsoft Graph root URL (default: the spec's cloud), e.g. a graph-emulator's base URL.
    #[arg(long, env = "ENTRACTL_GRAPH_URL", value_name = "URL")]
    pub graph_url: Option<String>,
    /// Identity platform root URL (default: the spec's cloud).
    #[arg(long, env = "AZURE_AUTHORITY_HOST", value_name = "URL")]
    pub authority_url: Option<String>,
    /// Overall time budget for talking to Graph and the identity platform (token requests
    /// included), in seconds: when it runs out, the request in flight is given up and the command
    /// fails (apply says which changes were made). Default: none; each Graph operation still
    /// gives up after 120 s of retries.
    #[arg(long, env = "ENTRACTL_TIMEOUT", value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: Option<u64>,
    /// Naive Graph traffic, for benchmarks: the same reads and writes, one at a time, no
    /// `$batch` (apply's changes kind after kind). Slower; same results.
    #[arg(long, env = "ENTRACTL_NAIVE", hide = true)]
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

/// Output formats of the commands that report (validate, apply, explain, permissions, export,
/// verify-signin): text for people, json for machines (documented in docs/plan-format.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ReportFormat {
    #[default]
    Text,
    Json,
}

/// A JSON document as printed: pretty, ending in a newline.
pub fn json_text(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default() + "\n"
}

/// The fleet flags of `plan` and `apply`.
#[derive(Debug, Clone, Args)]
pub struct FleetArgs {
    /// Plan (or apply) every tenant of a fleet file instead of one spec (see docs/fleet.md).
    /// Exit 2 when any tenant drifted, 1 when any failed (1 wins).
    #[arg(long, value_name = "FILE")]
    pub fleet: Option<PathBuf>,
    /// Only the tenants of shard I of N, numbered from 0 (`--shard 0/4` … `--shard 3/4`); a
    /// tenant's shard depends only on its name. Merge the shards' `--report` files with
    /// `entractl fleet merge`.
    #[arg(long, value_name = "I/N", requires = "fleet")]
    pub shard: Option<Shard>,
    /// How many tenants are read (or applied) at once.
    #[arg(long, value_name = "N", default_value_t = 16, requires = "fleet",
          value_parser = clap::value_parser!(u16).range(1..))]
    pub parallel: u16,
    /// Also write the JSON fleet report to FILE (for `entractl fleet merge`), whatever `--format`.
    #[arg(long, value_name = "FILE", requires = "fleet")]
    pub report: Option<PathBuf>,
}
