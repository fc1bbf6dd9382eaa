//! Credentials: where tokens come from, in the order of the Azure SDKs' `DefaultAzureCredential`.
//!
//! The library never reads the process environment: the binary passes a snapshot of it to
//! [`credential_from_env`].

mod cert;
mod oauth;
mod sources;
mod types;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::config::GraphConfig;

pub use cert::{CertificateCredential, load_certificate_pem};
pub use sources::{
    AzureCliCredential, ClientSecretCredential, DeviceCodeCredential, GithubActionsCredential,
    WorkloadIdentityCredential,
};
pub use types::{
    AuthError, AuthMethod, AuthOptions, BoxFuture, CachedTokenSource, DeviceCodeCallback,
    DeviceCodePrompt, StaticToken, TokenSource,
};

/// Builds the credential from an environment snapshot.
///
/// With `choice`, that method is used (its missing settings are an error). Without, the first
/// configured source wins, in this order: client secret, certificate, federated token file, GitHub
/// Actions OIDC, Azure CLI (when `az` is found). Device code is used only when chosen. The tenant is
/// `cfg.tenant`, or `AZURE_TENANT_ID` when that is empty. Tokens are cached for the run.
pub fn credential_from_env(
    env: &BTreeMap<String, String>,
    choice: Option<AuthMethod>,
    cfg: &GraphConfig,
    opts: &AuthOptions,
) -> Result<Arc<dyn TokenSource>, AuthError> {
    let http = match &opts.http {
        Some(h) => h.clone(),
        None => crate::transport::build_http_client(cfg).map_err(|e| AuthError::Transport {
            source_name: "HTTP client".into(),
            endpoint: cfg.authority_url.to_string(),
            reason: e.to_string(),
        })?,
    };
    let ctx = sources::Ctx {
        env,
        cfg,
        opts,
        http,
    };
    let source: Box<dyn TokenSource> = match choice {
        Some(m) => match sources::build(m, &ctx)? {
            Ok(s) => s,
            Err(missing) => return Err(AuthError::Incomplete { method: m, missing }),
        },
        None => {
            let mut tried = Vec::new();
            let mut found = None;
            for m in AuthMethod::ALL
                .into_iter()
                .filter(|m| *m != AuthMethod::DeviceCode)
            {
                match sources::build(m, &ctx)? {
                    Ok(s) => {
                        found = Some(s);
                        break;
                    }
                    Err(why) => tried.push((m, why)),
                }
            }
            match found {
                Some(s) => s,
                None => {
                    tried.push((
                        AuthMethod::DeviceCode,
                        "not chosen (interactive only)".into(),
                    ));
                    return Err(AuthError::NotConfigured { tried });
                }
            }
        }
    };
    tracing::debug!(credential = %source.describe(), "credential selected");
    Ok(Arc::new(CachedTokenSource::new(source)))
}

#[cfg(test)]
mod tests;
