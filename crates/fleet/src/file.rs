//! The fleet file: which tenants, which spec for each (with per-tenant values), and how to sign
//! in to each. Parsed with locations; every error of a file is reported at once, at
//! `file:line:col`, with a hint.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::{Map, Value};
use serde_saphyr::Spanned;

use crate::shard::fnv1a64;

/// The largest fleet file entractl reads (a few thousand tenants fit easily).
pub const MAX_FLEET_BYTES: usize = 16 * 1024 * 1024;

/// An entractl fleet file: many tenants, each with a spec (a shared spec plus its own values) and
/// how to sign in to it. Keys are camelCase; unknown keys are errors.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(title = "entractl fleet file")]
pub struct RawFleet {
    /// The file format version. Always `1`.
    #[schemars(with = "u32")]
    pub version: Spanned<u32>,
    /// What every tenant gets unless it says otherwise.
    #[serde(default)]
    pub defaults: Option<RawDefaults>,
    /// The tenants of the fleet (at least one).
    pub tenants: Vec<RawTenant>,
}

/// Values shared by every tenant.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawDefaults {
    /// The spec file every tenant uses unless it names its own (relative to the fleet file).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub spec: Option<Spanned<String>>,
    /// How to sign in to every tenant unless it says otherwise (typically one multi-tenant
    /// automation app consented in every customer tenant).
    #[serde(default)]
    pub auth: Option<RawAuth>,
}

/// One tenant of the fleet.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawTenant {
    /// A short, unique name: used in reports, for sharding and as the journal directory
    /// (letters, digits, `.`, `_`, `-`).
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// The tenant: its id (a GUID) or a verified domain such as `contoso.onmicrosoft.com`.
    /// Replaces the spec's `tenant`.
    #[schemars(with = "String")]
    pub tenant: Spanned<String>,
    /// This tenant's spec file (relative to the fleet file); default: `defaults.spec`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub spec: Option<Spanned<String>>,
    /// Values merged into the spec for this tenant before it is validated (mappings are merged
    /// key by key, anything else replaces), e.g. `assignments: {users: [...]}`.
    #[serde(default)]
    #[schemars(with = "Option<Map<String, Value>>")]
    pub values: Option<Spanned<Value>>,
    /// How to sign in to this tenant; replaces `defaults.auth` as a whole.
    #[serde(default)]
    pub auth: Option<RawAuth>,
}

/// How to sign in to a tenant. Secrets are given only by reference: an environment variable or a
/// file, never inline.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawAuth {
    /// `client-secret`, `certificate`, `federated` (a federated token file, e.g. Kubernetes
    /// workload identity), `github-actions` (GitHub's OIDC token) or `azure-cli`.
    #[schemars(with = "String")]
    pub method: Spanned<String>,
    /// The Application (client) ID of the automation app (all methods but `azure-cli`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub client_id: Option<Spanned<String>>,
    /// `client-secret`: the environment variable that holds the secret.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub secret_env: Option<Spanned<String>>,
    /// `client-secret`: a file that holds the secret (relative to the fleet file).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub secret_file: Option<Spanned<String>>,
    /// `certificate`: a PEM file with the private key and the certificate (relative to the fleet
    /// file).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub certificate_path: Option<Spanned<String>>,
    /// `certificate`: the environment variable that holds the key's password, if it has one.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub certificate_password_env: Option<Spanned<String>>,
    /// `federated`: the federated token file (default: `AZURE_FEDERATED_TOKEN_FILE`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub token_file: Option<Spanned<String>>,
    // Inline secrets: recognised only to refuse them with a helpful message.
    #[serde(default)]
    #[schemars(skip)]
    pub secret: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    #[schemars(skip)]
    pub client_secret: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    #[schemars(skip)]
    pub password: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    #[schemars(skip)]
    pub certificate_password: Option<Spanned<IgnoredAny>>,
}

/// The JSON Schema of the fleet file, pretty-printed with a trailing newline
/// (`docs/fleet.schema.json`).
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(RawFleet);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

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

struct Issues {
    list: Vec<FleetIssue>,
}

impl Issues {
    fn at<T>(&mut self, s: &Spanned<T>, path: String, message: String, help: &str) {
        self.list.push(FleetIssue {
            line: Some(s.referenced.line() as usize).filter(|l| *l > 0),
            column: Some(s.referenced.column() as usize).filter(|_| s.referenced.line() > 0),
            path: Some(path),
            message,
            help: help.to_string(),
        });
    }
    fn line(&mut self, line: usize, path: String, message: String, help: &str) {
        self.list.push(FleetIssue {
            line: Some(line).filter(|l| *l > 0),
            column: None,
            path: Some(path),
            message,
            help: help.to_string(),
        });
    }
}

/// Reads, parses and validates a fleet file. Relative paths in it are resolved against its
/// directory.
pub fn load_file(path: &Path) -> Result<Fleet, FleetFileError> {
    let name = path.display().to_string();
    let fail = |message: String, help: &str| FleetFileError {
        file: name.clone(),
        issues: vec![FleetIssue {
            line: None,
            column: None,
            path: None,
            message,
            help: help.to_string(),
        }],
    };
    let bytes = std::fs::read(path).map_err(|e| {
        fail(
            format!("cannot read the fleet file: {e}"),
            "check the path given to `--fleet`",
        )
    })?;
    if bytes.len() > MAX_FLEET_BYTES {
        return Err(fail(
            format!(
                "the file is too large ({} bytes; at most {MAX_FLEET_BYTES})",
                bytes.len()
            ),
            "split the fleet into several files",
        ));
    }
    let text = String::from_utf8(bytes).map_err(|_| {
        fail(
            "the file is not UTF-8 text".to_string(),
            "save the file as UTF-8",
        )
    })?;
    let dir = path.parent().unwrap_or(Path::new("")).to_path_buf();
    parse_str(&name, &text, &dir)
}

fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_depth: 32,
            max_documents: 1,
            max_aliases: 1_000,
            max_anchors: 1_000,
            max_reader_input_bytes: Some(MAX_FLEET_BYTES),
        },
        with_snippet: false,
    }
}

/// Parses and validates fleet text. `name` is used in messages; relative paths are resolved
/// against `dir`.
pub fn parse_str(name: &str, text: &str, dir: &Path) -> Result<Fleet, FleetFileError> {
    let raw: RawFleet = serde_saphyr::from_str_with_options(text, yaml_options()).map_err(|e| {
        let inner = e.without_snippet();
        let mut message = inner.to_string();
        if let Some(i) = message.find(" at line ") {
            message.truncate(i);
        }
        let loc = e.location().filter(|l| l.line() > 0);
        let help = if message.contains("unknown field") {
            "remove or correct the key; `docs/fleet.md` and `docs/fleet.schema.json` list every key"
        } else if message.contains("missing field") {
            "add the key; every tenant needs `name` and `tenant`, the file needs `version` and `tenants`"
        } else {
            "check the YAML near this place (indentation, quotes, a missing `:`); see `docs/fleet.md`"
        };
        FleetFileError {
            file: name.to_string(),
            issues: vec![FleetIssue {
                line: loc.map(|l| l.line() as usize),
                column: loc.map(|l| l.column() as usize),
                path: None,
                message: format!("not a valid fleet file: {message}"),
                help: help.to_string(),
            }],
        }
    })?;
    validate(name, text, dir, raw)
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && !s.starts_with('.')
}

fn valid_tenant(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    if ["common", "organizations", "consumers"].contains(&lower.as_str()) {
        return false;
    }
    entractl_spec::is_guid(s)
        || (s.contains('.')
            && !s.starts_with('.')
            && !s.ends_with('.')
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-')))
}

fn validate(name: &str, text: &str, dir: &Path, raw: RawFleet) -> Result<Fleet, FleetFileError> {
    let mut issues = Issues { list: Vec::new() };
    if raw.version.value != 1 {
        issues.at(
            &raw.version,
            "version".into(),
            format!("unsupported fleet file version {}", raw.version.value),
            "write `version: 1`",
        );
    }
    if raw.tenants.is_empty() {
        issues.line(
            1,
            "tenants".into(),
            "the fleet has no tenants".into(),
            "list at least one tenant under `tenants:` with `name`, `tenant` and (unless defaults give them) `spec` and `auth`",
        );
    }
    let defaults = raw.defaults.as_ref();
    let default_auth = defaults
        .and_then(|d| d.auth.as_ref())
        .and_then(|a| check_auth(a, "defaults.auth", dir, &mut issues));
    let default_spec = defaults.and_then(|d| d.spec.as_ref());
    if let Some(s) = default_spec
        && s.value.trim().is_empty()
    {
        issues.at(
            s,
            "defaults.spec".into(),
            "the spec path is empty".into(),
            "name a spec file, e.g. `spec: kandji-passport.yaml`",
        );
    }
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut tenants = Vec::new();
    for (i, t) in raw.tenants.iter().enumerate() {
        let p = |field: &str| format!("tenants[{i}].{field}");
        let line = t.name.referenced.line() as usize;
        if !valid_name(&t.name.value) {
            issues.at(
                &t.name,
                p("name"),
                format!("`{}` is not a valid tenant name", t.name.value),
                "use 1 to 64 letters, digits, `.`, `_` or `-` (not starting with `.`): the name is a directory of the journal",
            );
        } else if let Some(first) = seen.get(&t.name.value.to_ascii_lowercase()) {
            issues.at(
                &t.name,
                p("name"),
                format!(
                    "the tenant name `{}` is used twice (first on line {first})",
                    t.name.value
                ),
                "give every tenant its own name (names are compared case-insensitively)",
            );
        } else {
            seen.insert(t.name.value.to_ascii_lowercase(), line);
        }
        if !valid_tenant(&t.tenant.value) {
            issues.at(
                &t.tenant,
                p("tenant"),
                format!("`{}` is not a tenant id or verified domain", t.tenant.value),
                "write the tenant id (a GUID, Entra admin center → Overview) or a verified domain such as `contoso.onmicrosoft.com`; `common`/`organizations` are not tenants",
            );
        }
        let spec = match (&t.spec, default_spec) {
            (Some(s), _) | (None, Some(s)) => {
                if s.value.trim().is_empty() {
                    None
                } else {
                    Some(dir.join(&s.value))
                }
            }
            (None, None) => {
                issues.at(
                    &t.name,
                    p("spec"),
                    format!("tenant `{}` has no spec", t.name.value),
                    "add `spec: FILE` to the tenant, or `defaults: {spec: FILE}` for every tenant",
                );
                None
            }
        };
        if let Some(s) = &t.spec
            && s.value.trim().is_empty()
        {
            issues.at(
                s,
                p("spec"),
                "the spec path is empty".into(),
                "name a spec file, or leave `spec` out to use `defaults.spec`",
            );
        }
        let values = match &t.values {
            None => Map::new(),
            Some(v) => match &v.value {
                Value::Object(m) => {
                    if m.contains_key("tenant") {
                        issues.at(
                            v,
                            p("values.tenant"),
                            "`values` may not set `tenant`".into(),
                            "the tenant's `tenant:` key sets the spec's tenant; remove it from `values`",
                        );
                    }
                    m.clone()
                }
                Value::Null => Map::new(),
                _ => {
                    issues.at(
                        v,
                        p("values"),
                        "`values` must be a mapping of spec keys".into(),
                        "write e.g. `values: {assignments: {users: [alice@contoso.com]}}`",
                    );
                    Map::new()
                }
            },
        };
        let auth = match &t.auth {
            Some(a) => check_auth(a, &p("auth"), dir, &mut issues),
            None => {
                if default_auth.is_none() && defaults.and_then(|d| d.auth.as_ref()).is_none() {
                    issues.at(
                        &t.name,
                        p("auth"),
                        format!("tenant `{}` has no `auth`", t.name.value),
                        "add `auth:` to the tenant, or `defaults: {auth: …}` for every tenant (see docs/fleet.md)",
                    );
                }
                default_auth.clone()
            }
        };
        if let (Some(spec), Some(auth)) = (spec, auth) {
            tenants.push(TenantEntry {
                name: t.name.value.clone(),
                tenant: t.tenant.value.clone(),
                spec,
                values,
                auth,
                line,
            });
        }
    }
    if !issues.list.is_empty() {
        let mut list = issues.list;
        list.sort_by_key(|i| (i.line.unwrap_or(usize::MAX), i.column.unwrap_or(0)));
        return Err(FleetFileError {
            file: name.to_string(),
            issues: list,
        });
    }
    Ok(Fleet {
        name: name.to_string(),
        fingerprint: format!("fnv1a64:{:016x}", fnv1a64(text.as_bytes())),
        tenants,
    })
}

fn check_auth(a: &RawAuth, at: &str, dir: &Path, issues: &mut Issues) -> Option<Auth> {
    let before = issues.list.len();
    for (field, s) in [
        ("secret", &a.secret),
        ("clientSecret", &a.client_secret),
        ("password", &a.password),
        ("certificatePassword", &a.certificate_password),
    ] {
        if let Some(s) = s {
            issues.at(
                s,
                format!("{at}.{field}"),
                format!("a secret may not be written in the fleet file (`{field}`)"),
                "reference it instead: `secretEnv: VARIABLE` or `secretFile: PATH` (for a certificate password: `certificatePasswordEnv: VARIABLE`), and remove the secret from git history if it was committed",
            );
        }
    }
    let method = a.method.value.as_str();
    if !AUTH_METHODS.contains(&method) {
        let hint = match entractl_spec::did_you_mean(method, AUTH_METHODS.iter().copied()) {
            Some(s) => format!(
                "did you mean `{s}`? The methods are: {}",
                AUTH_METHODS.join(", ")
            ),
            None => format!("use one of: {}", AUTH_METHODS.join(", ")),
        };
        issues.at(
            &a.method,
            format!("{at}.method"),
            format!("unknown auth method `{method}`"),
            &hint,
        );
        return None;
    }
    let allowed: &[&str] = match method {
        "client-secret" => &["clientId", "secretEnv", "secretFile"],
        "certificate" => &["clientId", "certificatePath", "certificatePasswordEnv"],
        "federated" => &["clientId", "tokenFile"],
        "github-actions" => &["clientId"],
        _ => &[],
    };
    for (field, s) in [
        ("clientId", &a.client_id),
        ("secretEnv", &a.secret_env),
        ("secretFile", &a.secret_file),
        ("certificatePath", &a.certificate_path),
        ("certificatePasswordEnv", &a.certificate_password_env),
        ("tokenFile", &a.token_file),
    ] {
        if let Some(s) = s {
            if !allowed.contains(&field) {
                issues.at(
                    s,
                    format!("{at}.{field}"),
                    format!("`{field}` does not apply to the auth method `{method}`"),
                    &if allowed.is_empty() {
                        format!("`{method}` takes no other keys; remove it")
                    } else {
                        format!("`{method}` takes {}", allowed.join(", "))
                    },
                );
            } else if s.value.trim().is_empty() {
                issues.at(
                    s,
                    format!("{at}.{field}"),
                    format!("`{field}` is empty"),
                    "give it a value or leave the key out",
                );
            }
        }
    }
    let client_id = match (&a.client_id, method) {
        (_, "azure-cli") => String::new(),
        (Some(c), _) => {
            if !entractl_spec::is_guid(&c.value) {
                issues.at(
                    c,
                    format!("{at}.clientId"),
                    format!("`{}` is not an Application (client) ID", c.value),
                    "copy the GUID from Entra admin center → App registrations → the automation app → Application (client) ID",
                );
            }
            c.value.clone()
        }
        (None, _) => {
            issues.at(
                &a.method,
                format!("{at}.clientId"),
                format!("the auth method `{method}` needs `clientId`"),
                "add `clientId: <the automation app's Application (client) ID>`",
            );
            String::new()
        }
    };
    let env_name_ok = |s: &str| {
        !s.is_empty()
            && !s.starts_with(|c: char| c.is_ascii_digit())
            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    for (field, s) in [
        ("secretEnv", &a.secret_env),
        ("certificatePasswordEnv", &a.certificate_password_env),
    ] {
        if let Some(s) = s
            && !s.value.trim().is_empty()
            && !env_name_ok(&s.value)
        {
            issues.at(
                s,
                format!("{at}.{field}"),
                format!("`{}` is not an environment variable name", s.value),
                "name the variable (letters, digits, `_`), not its value: the secret itself never goes in this file",
            );
        }
    }
    let auth = match method {
        "client-secret" => {
            let secret = match (&a.secret_env, &a.secret_file) {
                (Some(e), None) => Some(SecretRef::Env(e.value.clone())),
                (None, Some(f)) => Some(SecretRef::File(dir.join(&f.value))),
                (Some(e), Some(_)) => {
                    issues.at(
                        e,
                        format!("{at}.secretEnv"),
                        "both `secretEnv` and `secretFile` are given".into(),
                        "keep one of them",
                    );
                    None
                }
                (None, None) => {
                    issues.at(
                        &a.method,
                        format!("{at}.secretEnv"),
                        "`client-secret` needs `secretEnv` or `secretFile`".into(),
                        "add `secretEnv: VARIABLE` (the variable holding the secret) or `secretFile: PATH`",
                    );
                    None
                }
            };
            secret.map(|secret| Auth::ClientSecret { client_id, secret })
        }
        "certificate" => match &a.certificate_path {
            Some(p) => Some(Auth::Certificate {
                client_id,
                path: dir.join(&p.value),
                password_env: a.certificate_password_env.as_ref().map(|s| s.value.clone()),
            }),
            None => {
                issues.at(
                    &a.method,
                    format!("{at}.certificatePath"),
                    "`certificate` needs `certificatePath`".into(),
                    "add `certificatePath: PATH` (a PEM file with the private key and the certificate)",
                );
                None
            }
        },
        "federated" => Some(Auth::Federated {
            client_id,
            token_file: a.token_file.as_ref().map(|s| dir.join(&s.value)),
        }),
        "github-actions" => Some(Auth::GithubActions { client_id }),
        _ => Some(Auth::AzureCli),
    };
    if issues.list.len() > before {
        None
    } else {
        auth
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "\
version: 1
defaults:
  spec: kandji.yaml
  auth:
    method: client-secret
    clientId: 0e1c5f7a-2b3d-4e6f-8a9b-c0d1e2f3a4b5
    secretEnv: FLEET_SECRET
tenants:
  - name: contoso
    tenant: 3f2a6c1e-5b7d-4c1a-9e2f-0a1b2c3d4e5f
    values:
      assignments:
        users: [alice@contoso.com]
  - name: fabrikam
    tenant: fabrikam.onmicrosoft.com
    spec: other.yaml
    auth:
      method: certificate
      clientId: 0e1c5f7a-2b3d-4e6f-8a9b-c0d1e2f3a4b5
      certificatePath: certs/fabrikam.pem
  - name: cli
    tenant: 8d2b7e4a-1c3f-4e5d-a6b7-c8d9e0f1a2b3
    auth: {method: azure-cli}
";

    fn parse(text: &str) -> Result<Fleet, FleetFileError> {
        parse_str("fleet.yaml", text, Path::new("conf"))
    }

    #[test]
    fn parses_defaults_and_overrides() {
        let f = parse(GOOD).unwrap();
        assert_eq!(f.tenants.len(), 3);
        let c = &f.tenants[0];
        assert_eq!(c.name, "contoso");
        assert_eq!(c.spec, Path::new("conf/kandji.yaml"));
        assert_eq!(
            c.auth,
            Auth::ClientSecret {
                client_id: "0e1c5f7a-2b3d-4e6f-8a9b-c0d1e2f3a4b5".into(),
                secret: SecretRef::Env("FLEET_SECRET".into())
            }
        );
        assert_eq!(c.values["assignments"]["users"][0], "alice@contoso.com");
        assert_eq!(c.line, 9);
        let fab = &f.tenants[1];
        assert_eq!(fab.spec, Path::new("conf/other.yaml"));
        assert!(
            matches!(&fab.auth, Auth::Certificate { path, .. } if path == Path::new("conf/certs/fabrikam.pem"))
        );
        assert_eq!(f.tenants[2].auth, Auth::AzureCli);
        assert!(f.fingerprint.starts_with("fnv1a64:"));
        assert_eq!(f.fingerprint, parse(GOOD).unwrap().fingerprint);
    }

    #[test]
    fn literal_secret_is_refused_at_its_place() {
        let text = GOOD.replace("secretEnv: FLEET_SECRET", "clientSecret: s3cr3t-value");
        let e = parse(&text).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("fleet.yaml:7:19"), "{msg}");
        assert!(msg.contains("a secret may not be written"), "{msg}");
        assert!(!msg.contains("s3cr3t-value"), "the secret is echoed: {msg}");
        assert!(msg.contains("secretEnv"), "{msg}");
    }

    #[test]
    fn every_error_is_reported_with_location() {
        let text = "\
version: 2
tenants:
  - name: contoso
    tenant: common
  - name: Contoso
    tenant: 3f2a6c1e-5b7d-4c1a-9e2f-0a1b2c3d4e5f
    auth: {method: client-secrte, clientId: x}
  - name: bad/name
    tenant: a.example.com
    spec: s.yaml
    values: [1]
    auth: {method: azure-cli, clientId: 0e1c5f7a-2b3d-4e6f-8a9b-c0d1e2f3a4b5}
";
        let e = parse(text).unwrap_err();
        let msg = e.to_string();
        for want in [
            "fleet.yaml:1:10: unsupported fleet file version 2",
            "fleet.yaml:4:13: `common` is not a tenant id",
            "tenant `contoso` has no spec",
            "tenant `contoso` has no `auth`",
            "fleet.yaml:5:11: the tenant name `Contoso` is used twice (first on line 3)",
            "unknown auth method `client-secrte`",
            "did you mean `client-secret`?",
            "`bad/name` is not a valid tenant name",
            "`values` must be a mapping",
            "`clientId` does not apply to the auth method `azure-cli`",
        ] {
            assert!(msg.contains(want), "missing {want:?} in:\n{msg}");
        }
        // Sorted by place.
        let lines: Vec<usize> = e.issues.iter().filter_map(|i| i.line).collect();
        let mut sorted = lines.clone();
        sorted.sort();
        assert_eq!(lines, sorted);
    }

    #[test]
    fn unknown_key_and_syntax_errors_have_a_place() {
        let e = parse(
            "version: 1\ntenants:\n  - name: a\n    tenant: a.example.com\n    tenantId: x\n",
        )
        .unwrap_err();
        let i = &e.issues[0];
        assert_eq!(i.line, Some(5), "{e}");
        assert!(i.message.contains("unknown field `tenantId`"), "{e}");
        let e = parse("version: 1\ntenants: [\n").unwrap_err();
        assert!(e.issues[0].line.is_some(), "{e}");
    }

    #[test]
    fn auth_requirements_per_method() {
        let base = "version: 1\ndefaults: {spec: s.yaml}\ntenants:\n  - name: a\n    tenant: a.example.com\n    auth: ";
        let cases = [
            (
                "{method: client-secret, clientId: 0e1c5f7a-2b3d-4e6f-8a9b-c0d1e2f3a4b5}",
                "needs `secretEnv` or `secretFile`",
            ),
            ("{method: client-secret, secretEnv: X}", "needs `clientId`"),
            (
                "{method: client-secret, clientId: 0e1c5f7a-2b3d-4e6f-8a9b-c0d1e2f3a4b5, secretEnv: X, secretFile: f}",
                "both `secretEnv` and `secretFile`",
            ),
            (
                "{method: client-secret, clientId: 0e1c5f7a-2b3d-4e6f-8a9b-c0d1e2f3a4b5, secretEnv: 'abc def!'}",
                "is not an environment variable name",
            ),
            (
                "{method: certificate, clientId: 0e1c5f7a-2b3d-4e6f-8a9b-c0d1e2f3a4b5}",
                "needs `certificatePath`",
            ),
            (
                "{method: federated, clientId: nope}",
                "is not an Application (client) ID",
            ),
            (
                "{method: github-actions, clientId: 0e1c5f7a-2b3d-4e6f-8a9b-c0d1e2f3a4b5, secretEnv: X}",
                "`secretEnv` does not apply",
            ),
            (
                "{method: azure-cli, password: hunter2}",
                "a secret may not be written",
            ),
        ];
        for (auth, want) in cases {
            let e = parse(&format!("{base}{auth}\n")).unwrap_err().to_string();
            assert!(e.contains(want), "{auth}: missing {want:?} in {e}");
            assert!(e.contains("fleet.yaml:6:"), "{auth}: no place in {e}");
        }
        let ok = parse(&format!(
            "{base}{{method: federated, clientId: 0e1c5f7a-2b3d-4e6f-8a9b-c0d1e2f3a4b5}}\n"
        ))
        .unwrap();
        assert_eq!(
            ok.tenants[0].auth,
            Auth::Federated {
                client_id: "0e1c5f7a-2b3d-4e6f-8a9b-c0d1e2f3a4b5".into(),
                token_file: None
            }
        );
    }

    #[test]
    fn values_may_not_set_the_tenant() {
        let text = GOOD.replace(
            "      assignments:\n",
            "      tenant: other.example.com\n      assignments:\n",
        );
        let e = parse(&text).unwrap_err().to_string();
        assert!(e.contains("`values` may not set `tenant`"), "{e}");
    }
}
