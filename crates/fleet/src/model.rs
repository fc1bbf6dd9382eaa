//! A fleet file once validated: the tenants, how to sign in to each, and the errors of a file.

use std::fmt;
use std::path::PathBuf;

use serde_json::{Map, Value};

/// How to sign in to one tenant (validated; secrets still only references).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// Client credentials with a secret read from an environment variable or a file.
    ClientSecret {
        client_id: String,
        secret: SecretRef,
    },
    /// Client credentials with a certificate (PEM with key and certificate).
    Certificate {
        client_id: String,
        path: PathBuf,
        password_env: Option<String>,
    },
    /// A federated token file (`None`: `AZURE_FEDERATED_TOKEN_FILE` of the environment).
    Federated {
        client_id: String,
        token_file: Option<PathBuf>,
    },
    /// GitHub Actions OIDC (`ACTIONS_ID_TOKEN_REQUEST_*` of the environment).
    GithubActions { client_id: String },
    /// A signed-in `az` CLI (`az account get-access-token --tenant …`).
    AzureCli,
}

/// Where a secret is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    /// An environment variable.
    Env(String),
    /// A file (the secret is its content without the trailing newline).
    File(PathBuf),
}

impl Auth {
    /// The method's name as written in the fleet file.
    pub fn method(&self) -> &'static str {
        match self {
            Auth::ClientSecret { .. } => "client-secret",
            Auth::Certificate { .. } => "certificate",
            Auth::Federated { .. } => "federated",
            Auth::GithubActions { .. } => "github-actions",
            Auth::AzureCli => "azure-cli",
        }
    }
}

/// The auth methods a fleet file may name.
pub const AUTH_METHODS: &[&str] = &[
    "client-secret",
    "certificate",
    "federated",
    "github-actions",
    "azure-cli",
];

/// One tenant, validated, with paths resolved against the fleet file's directory.
#[derive(Debug, Clone, PartialEq)]
pub struct TenantEntry {
    /// Unique name in the fleet.
    pub name: String,
    /// Tenant id or verified domain.
    pub tenant: String,
    /// The spec file.
    pub spec: PathBuf,
    /// Values merged into the spec (a mapping; empty when none).
    pub values: Map<String, Value>,
    /// How to sign in.
    pub auth: Auth,
    /// Line of the entry in the fleet file (for messages).
    pub line: usize,
}

/// A parsed and validated fleet file.
#[derive(Debug, Clone, PartialEq)]
pub struct Fleet {
    /// The file name as given (used in reports).
    pub name: String,
    /// FNV-1a 64 of the file's bytes, `fnv1a64:<16 hex digits>`: shards of one run carry the same.
    pub fingerprint: String,
    /// The tenants, in file order.
    pub tenants: Vec<TenantEntry>,
}

/// One error in a fleet file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetIssue {
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// The dotted path of the value (`tenants[2].auth.secretEnv`), when it has one.
    pub path: Option<String>,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: String,
}

/// Every error of one fleet file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", render_issues(.file, .issues))]
pub struct FleetFileError {
    /// The file name.
    pub file: String,
    /// The errors, in file order.
    pub issues: Vec<FleetIssue>,
}

fn render_issues(file: &str, issues: &[FleetIssue]) -> String {
    let mut out = format!(
        "the fleet file {file} is not valid ({} error(s)):",
        issues.len()
    );
    for i in issues {
        let at = match (i.line, i.column) {
            (Some(l), Some(c)) => format!("{file}:{l}:{c}"),
            (Some(l), None) => format!("{file}:{l}"),
            _ => file.to_string(),
        };
        let path = i
            .path
            .as_ref()
            .map(|p| format!(" ({p})"))
            .unwrap_or_default();
        out.push_str(&format!(
            "\n  {at}: {}{path}\n    hint: {}",
            i.message, i.help
        ));
    }
    out
}

impl fmt::Display for TenantEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name, self.tenant)
    }
}
