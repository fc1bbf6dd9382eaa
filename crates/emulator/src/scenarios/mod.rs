//! Built-in scenarios (YAML fixtures embedded in the binary) and the fixed facts other crates rely on.

use crate::error::Error;
use crate::rng::SplitMix64;
use crate::state::Tenant;

/// Tenant id of scenario `p1` (Contoso, Entra ID P1).
pub const P1_TENANT_ID: &str = "3f2a6c1e-5b7d-4c1a-9e2f-0a1b2c3d4e5f";
/// Tenant id of scenario `p1-legacy` (the same Contoso tenant as `p1`, with the legacy behaviour).
pub const P1_LEGACY_TENANT_ID: &str = P1_TENANT_ID;
/// Tenant id of scenario `free-lapsed` (Tailspin: a lapsed P1 licence, an enabled MFA policy left).
pub const FREE_LAPSED_TENANT_ID: &str = "7e1a5b2c-3d4f-4a6b-8c9d-0e1f2a3b4c5d";
/// Tenant id of scenario `free` (Fabrikam, Entra ID Free, security defaults on).
pub const FREE_TENANT_ID: &str = "8d2b7e4a-1c3f-4e5d-a6b7-c8d9e0f1a2b3";
/// Tenant id of scenario `large` (100,000 users).
pub const LARGE_TENANT_ID: &str = "5c0ffee0-0000-4000-8000-000000000100";
/// Tenant id of scenario `empty`.
pub const EMPTY_TENANT_ID: &str = "11111111-2222-4333-8444-555555555555";
/// Client id of the automation client `entractl-ci` (all roles entractl needs).
pub const CI_CLIENT_ID: &str = "0e1c5f7a-2b3d-4e6f-8a9b-c0d1e2f3a4b5";
/// Sandbox secret of `entractl-ci` (sandbox only).
pub const CI_CLIENT_SECRET: &str = "sandbox-ci-secret";
/// Client id of `entractl-readonly` (read roles only).
pub const READONLY_CLIENT_ID: &str = "0e1c5f7a-2b3d-4e6f-8a9b-c0d1e2f3a4b6";
/// Sandbox secret of `entractl-readonly`.
pub const READONLY_CLIENT_SECRET: &str = "sandbox-ro-secret";
/// Subject of the federated credential on `entractl-ci` (issuer = the emulator's base URL).
pub const CI_FEDERATED_SUBJECT: &str = "repo:contoso/entra-config:ref:refs/heads/main";
/// Audience of the federated credential on `entractl-ci`.
pub const CI_FEDERATED_AUDIENCE: &str = "api://AzureADTokenExchange";
/// Password of every scenario user (sandbox only).
pub const SANDBOX_PASSWORD: &str = crate::fixture::DEFAULT_PASSWORD;
/// The Microsoft Graph application id.
pub const GRAPH_APP_ID: &str = crate::state::GRAPH_APP_ID;
/// Names of the built-in scenarios.
pub const NAMES: &[&str] = &["p1", "p1-legacy", "free", "free-lapsed", "large", "empty"];

/// The automation clients every built-in scenario contains (`entractl-ci`, `entractl-readonly`),
/// as fixture YAML: append it to a fixture of your own to sign in as them.
pub const CLIENTS: &str = include_str!("clients.yaml");

/// The YAML text of a built-in scenario (automation clients included).
pub fn text(name: &str) -> Option<String> {
    let body = match name {
        "p1" => include_str!("p1.yaml"),
        "p1-legacy" => return Some(format!("{}\n{CLIENTS}", p1_legacy())),
        "free" => include_str!("free.yaml"),
        "free-lapsed" => include_str!("free-lapsed.yaml"),
        "large" => include_str!("large.yaml"),
        "empty" => include_str!("empty.yaml"),
        _ => return None,
    };
    Some(format!("{body}\n{CLIENTS}"))
}

/// `p1` with the legacy behaviour for baseline scopes, as a tenant has it today: its admin chose
/// "Disable enforcement" (Graph reports the all-zero GUID, so a reader can tell), and no
/// Microsoft-managed policies yet.
fn p1_legacy() -> String {
    include_str!("p1.yaml")
        .replace(
            "  baselineScopes: enforced\n",
            "  baselineScopes: disabled\n",
        )
        .replace("microsoftManagedPolicies: true\n", "")
}

/// Load a built-in scenario.
pub fn load(name: &str, base_url: &str, rng: &mut SplitMix64) -> Result<Tenant, Error> {
    let text = text(name).ok_or_else(|| Error::UnknownScenario(name.to_string()))?;
    crate::fixture::load_str(&format!("scenario {name}"), &text, base_url, rng)
}
