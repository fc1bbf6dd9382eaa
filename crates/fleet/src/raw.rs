//! The fleet file as written (camelCase keys, unknown keys are errors, values with locations),
//! and its JSON Schema.

use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::{Map, Value};
use serde_saphyr::Spanned;

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
