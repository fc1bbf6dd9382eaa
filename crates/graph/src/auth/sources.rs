//! Each credential source and how it is recognised in the environment snapshot.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use url::Url;

use super::cert::{CertificateCredential, load_certificate_pem};
use super::oauth::{ClientAuth, client_credentials, device_code};
use super::types::{
    AuthError, AuthMethod, AuthOptions, BoxFuture, DeviceCodeCallback, TokenSource,
};
use crate::config::{GraphConfig, checked_url};
use crate::secret::{AccessToken, Secret};

pub(crate) struct Ctx<'a> {
    pub env: &'a BTreeMap<String, String>,
    pub cfg: &'a GraphConfig,
    pub opts: &'a AuthOptions,
    pub http: reqwest::Client,
}

impl Ctx<'_> {
    fn var(&self, name: &str) -> Option<&str> {
        self.env
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }
    /// `cfg.tenant`, else `AZURE_TENANT_ID`.
    fn tenant(&self) -> Option<String> {
        if !self.cfg.tenant.trim().is_empty() {
            Some(self.cfg.tenant.clone())
        } else {
            self.var("AZURE_TENANT_ID").map(str::to_string)
        }
    }
    /// Names the missing variables, or gives (tenant, client id).
    fn require(&self, extra: &[&str]) -> Result<(String, String), String> {
        let mut missing: Vec<&str> = Vec::new();
        let tenant = self.tenant();
        if tenant.is_none() {
            missing.push("AZURE_TENANT_ID");
        }
        if self.var("AZURE_CLIENT_ID").is_none() {
            missing.push("AZURE_CLIENT_ID");
        }
        for e in extra {
            if self.var(e).is_none() {
                missing.push(e);
            }
        }
        if missing.is_empty() {
            Ok((
                tenant.unwrap_or_default(),
                self.var("AZURE_CLIENT_ID").unwrap_or_default().to_string(),
            ))
        } else {
            Err(format!("{} not set", missing.join(", ")))
        }
    }
}

type Built = Result<Box<dyn TokenSource>, String>;

/// `Ok(Ok(source))` when configured, `Ok(Err(why not))` when not configured, `Err` when configured
/// but unusable (bad file, bad URL).
pub(crate) fn build(m: AuthMethod, ctx: &Ctx<'_>) -> Result<Built, AuthError> {
    match m {
        AuthMethod::ClientSecret => client_secret(ctx),
        AuthMethod::Certificate => certificate(ctx),
        AuthMethod::WorkloadIdentity => workload_identity(ctx),
        AuthMethod::GithubActions => github_actions(ctx),
        AuthMethod::AzureCli => azure_cli(ctx),
        AuthMethod::DeviceCode => device_code_source(ctx),
    }
}

/// `AZURE_CLIENT_SECRET` (with the tenant and `AZURE_CLIENT_ID`).
fn client_secret(ctx: &Ctx<'_>) -> Result<Built, AuthError> {
    let (tenant, client_id) = match ctx.require(&["AZURE_CLIENT_SECRET"]) {
        Ok(v) => v,
        Err(why) => return Ok(Err(why)),
    };
    Ok(Ok(Box::new(ClientSecretCredential {
        http: ctx.http.clone(),
        token_url: ctx.cfg.token_url(&tenant)?,
        client_id,
        secret: Secret::new(ctx.var("AZURE_CLIENT_SECRET").unwrap_or_default()),
        scope: ctx.cfg.scope.clone(),
    })))
}

/// `AZURE_CLIENT_CERTIFICATE_PATH` (and its password, if any): the file must load.
fn certificate(ctx: &Ctx<'_>) -> Result<Built, AuthError> {
    let (tenant, client_id) = match ctx.require(&["AZURE_CLIENT_CERTIFICATE_PATH"]) {
        Ok(v) => v,
        Err(why) => return Ok(Err(why)),
    };
    let path = PathBuf::from(ctx.var("AZURE_CLIENT_CERTIFICATE_PATH").unwrap_or_default());
    let text = std::fs::read_to_string(&path).map_err(|e| AuthError::Certificate {
        path: path.clone(),
        reason: format!("cannot read the file ({e})"),
    })?;
    let password = ctx
        .var("AZURE_CLIENT_CERTIFICATE_PASSWORD")
        .map(Secret::new);
    let cert = load_certificate_pem(&path, &text, password.as_ref())?;
    Ok(Ok(Box::new(CertificateCredential {
        http: ctx.http.clone(),
        token_url: ctx.cfg.token_url(&tenant)?,
        client_id,
        scope: ctx.cfg.scope.clone(),
        path,
        cert,
    })))
}

/// `AZURE_FEDERATED_TOKEN_FILE` (Kubernetes workload identity).
fn workload_identity(ctx: &Ctx<'_>) -> Result<Built, AuthError> {
    let (tenant, client_id) = match ctx.require(&["AZURE_FEDERATED_TOKEN_FILE"]) {
        Ok(v) => v,
        Err(why) => return Ok(Err(why)),
    };
    Ok(Ok(Box::new(WorkloadIdentityCredential {
        http: ctx.http.clone(),
        token_url: ctx.cfg.token_url(&tenant)?,
        client_id,
        scope: ctx.cfg.scope.clone(),
        file: PathBuf::from(ctx.var("AZURE_FEDERATED_TOKEN_FILE").unwrap_or_default()),
    })))
}

/// GitHub Actions' OIDC token request variables (`id-token: write`).
fn github_actions(ctx: &Ctx<'_>) -> Result<Built, AuthError> {
    let (tenant, client_id) = match ctx.require(&[
        "ACTIONS_ID_TOKEN_REQUEST_URL",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    ]) {
        Ok(v) => v,
        Err(why) => return Ok(Err(why)),
    };
    let request_url = checked_url(
        "ACTIONS_ID_TOKEN_REQUEST_URL",
        ctx.var("ACTIONS_ID_TOKEN_REQUEST_URL").unwrap_or_default(),
    )?;
    Ok(Ok(Box::new(GithubActionsCredential {
        http: ctx.http.clone(),
        token_url: ctx.cfg.token_url(&tenant)?,
        client_id,
        scope: ctx.cfg.scope.clone(),
        request_url,
        request_token: Secret::new(
            ctx.var("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
                .unwrap_or_default(),
        ),
    })))
}

/// The Azure CLI (`az`) found on `PATH` (or the program given).
fn azure_cli(ctx: &Ctx<'_>) -> Result<Built, AuthError> {
    let program = match &ctx.opts.az_program {
        Some(p) => p.clone(),
        None => match find_on_path(ctx.env, "az") {
            Some(p) => p,
            None => return Ok(Err("`az` not found on PATH".into())),
        },
    };
    let tenant = ctx.tenant();
    if let Some(t) = &tenant {
        crate::config::check_tenant(t)?;
    }
    Ok(Ok(Box::new(AzureCliCredential {
        program,
        env: ctx.env.clone(),
        tenant,
        resource: ctx
            .cfg
            .scope
            .trim_end_matches(".default")
            .trim_end_matches('/')
            .to_string(),
        timeout: ctx.opts.az_timeout,
    })))
}

/// The device code flow, when there is a terminal to show the code on.
fn device_code_source(ctx: &Ctx<'_>) -> Result<Built, AuthError> {
    let Some(prompt) = ctx.opts.on_device_code.clone() else {
        return Ok(Err("no terminal to show the sign-in code".into()));
    };
    let Some(tenant) = ctx.tenant() else {
        return Ok(Err("AZURE_TENANT_ID (or --tenant) not set".into()));
    };
    Ok(Ok(Box::new(DeviceCodeCredential {
        http: ctx.http.clone(),
        device_url: ctx.cfg.device_code_url(&tenant)?,
        token_url: ctx.cfg.token_url(&tenant)?,
        client_id: ctx
            .var("AZURE_CLIENT_ID")
            .unwrap_or(DeviceCodeCredential::GRAPH_CLI_CLIENT_ID)
            .to_string(),
        scope: ctx.cfg.scope.clone(),
        prompt,
    })))
}

fn find_on_path(env: &BTreeMap<String, String>, name: &str) -> Option<PathBuf> {
    let path = env.get("PATH")?;
    std::env::split_paths(path).find_map(|dir| {
        [
            name.to_string(),
            format!("{name}.cmd"),
            format!("{name}.exe"),
        ]
        .into_iter()
        .map(|n| dir.join(n))
        .find(|p| is_executable(p))
    })
}

#[cfg(unix)]
fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(not(unix))]
fn is_executable(p: &Path) -> bool {
    p.is_file()
}

/// `AZURE_CLIENT_SECRET`.
pub struct ClientSecretCredential {
    http: reqwest::Client,
    token_url: Url,
    client_id: String,
    secret: Secret,
    scope: String,
}

impl TokenSource for ClientSecretCredential {
    fn token(&self) -> BoxFuture<'_, Result<AccessToken, AuthError>> {
        Box::pin(async move {
            client_credentials(
                &self.http,
                &self.describe(),
                &self.token_url,
                &self.client_id,
                ClientAuth::Secret(self.secret.clone()),
                &self.scope,
            )
            .await
        })
    }
    fn describe(&self) -> String {
        format!("client secret credential (client {})", self.client_id)
    }
}

/// `AZURE_FEDERATED_TOKEN_FILE`: the file is re-read on every token request (it is rotated).
pub struct WorkloadIdentityCredential {
    http: reqwest::Client,
    token_url: Url,
    client_id: String,
    scope: String,
    file: PathBuf,
}

impl TokenSource for WorkloadIdentityCredential {
    fn token(&self) -> BoxFuture<'_, Result<AccessToken, AuthError>> {
        Box::pin(async move {
            let text =
                tokio::fs::read_to_string(&self.file)
                    .await
                    .map_err(|e| AuthError::TokenFile {
                        path: self.file.clone(),
                        reason: format!("cannot read it ({e})"),
                    })?;
            let assertion = text.trim();
            if assertion.is_empty() {
                return Err(AuthError::TokenFile {
                    path: self.file.clone(),
                    reason: "the file is empty".into(),
                });
            }
            client_credentials(
                &self.http,
                &self.describe(),
                &self.token_url,
                &self.client_id,
                ClientAuth::Assertion(Secret::new(assertion)),
                &self.scope,
            )
            .await
        })
    }
    fn describe(&self) -> String {
        format!(
            "workload identity credential (client {}, token file {})",
            self.client_id,
            self.file.display()
        )
    }
}

/// GitHub Actions OIDC: asks the runner for an ID token with audience `api://AzureADTokenExchange`
/// and exchanges it as a client assertion.
pub struct GithubActionsCredential {
    http: reqwest::Client,
    token_url: Url,
    client_id: String,
    scope: String,
    request_url: Url,
    request_token: Secret,
}

impl GithubActionsCredential {
    async fn id_token(&self) -> Result<Secret, AuthError> {
        let mut url = self.request_url.clone();
        url.query_pairs_mut()
            .append_pair("audience", "api://AzureADTokenExchange");
        tracing::debug!(endpoint = %self.request_url.origin().ascii_serialization(), "requesting GitHub Actions OIDC token");
        let resp = self
            .http
            .get(url)
            .bearer_auth(self.request_token.expose())
            .header("Accept", "application/json")
            .send()
            .await
            .map_err(|e| {
                AuthError::GithubOidc(format!(
                    "cannot reach ACTIONS_ID_TOKEN_REQUEST_URL: {}",
                    e.without_url()
                ))
            })?;
        let status = resp.status();
        if !status.is_success() {
            return Err(AuthError::GithubOidc(format!(
                "the runner answered HTTP {}",
                status.as_u16()
            )));
        }
        let body: Value = resp
            .json()
            .await
            .map_err(|_| AuthError::GithubOidc("the runner's answer is not JSON".into()))?;
        match body.get("value").and_then(Value::as_str) {
            Some(v) if !v.is_empty() => Ok(Secret::new(v)),
            _ => Err(AuthError::GithubOidc(
                "the runner's answer has no `value`".into(),
            )),
        }
    }
}

impl TokenSource for GithubActionsCredential {
    fn token(&self) -> BoxFuture<'_, Result<AccessToken, AuthError>> {
        Box::pin(async move {
            let assertion = self.id_token().await?;
            client_credentials(
                &self.http,
                &self.describe(),
                &self.token_url,
                &self.client_id,
                ClientAuth::Assertion(assertion),
                &self.scope,
            )
            .await
        })
    }
    fn describe(&self) -> String {
        format!("GitHub Actions OIDC credential (client {})", self.client_id)
    }
}

/// A signed-in Azure CLI: `az account get-access-token --resource <graph> [--tenant T] -o json`.
pub struct AzureCliCredential {
    program: PathBuf,
    env: BTreeMap<String, String>,
    tenant: Option<String>,
    resource: String,
    timeout: Duration,
}

impl AzureCliCredential {
    fn parse(stdout: &[u8]) -> Result<AccessToken, AuthError> {
        let v: Value = serde_json::from_slice(stdout).map_err(|_| {
            AuthError::AzureCli("`az account get-access-token` did not print JSON".into())
        })?;
        let token = v
            .get("accessToken")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                AuthError::AzureCli(
                    "the output of `az account get-access-token` has no accessToken".into(),
                )
            })?;
        let expires_on = v.get("expires_on").and_then(|e| {
            e.as_u64()
                .or_else(|| e.as_str().and_then(|s| s.trim().parse().ok()))
        });
        Ok(AccessToken::new(
            token,
            expires_on.map(|s| UNIX_EPOCH + Duration::from_secs(s)),
        ))
    }
}

impl TokenSource for AzureCliCredential {
    fn token(&self) -> BoxFuture<'_, Result<AccessToken, AuthError>> {
        Box::pin(async move {
            let mut cmd = tokio::process::Command::new(&self.program);
            cmd.args([
                "account",
                "get-access-token",
                "--resource",
                &self.resource,
                "-o",
                "json",
            ]);
            if let Some(t) = &self.tenant {
                cmd.args(["--tenant", t]);
            }
            cmd.env_clear()
                .envs(&self.env)
                .stdin(std::process::Stdio::null())
                .kill_on_drop(true);
            tracing::debug!(program = %self.program.display(), "running az account get-access-token");
            let out = tokio::time::timeout(self.timeout, cmd.output())
                .await
                .map_err(|_| {
                    AuthError::AzureCli(format!(
                        "`az account get-access-token` took longer than {}s",
                        self.timeout.as_secs()
                    ))
                })?
                .map_err(|e| {
                    AuthError::AzureCli(format!("cannot run {} ({e})", self.program.display()))
                })?;
            if !out.status.success() {
                let stderr = String::from_utf8_lossy(&out.stderr);
                let first = stderr
                    .lines()
                    .map(str::trim)
                    .find(|l| !l.is_empty())
                    .unwrap_or("no error output");
                let login = match &self.tenant {
                    Some(t) => format!("az login --tenant {t}"),
                    None => "az login".into(),
                };
                return Err(AuthError::AzureCli(format!(
                    "`az account get-access-token` failed ({}): {first}. Sign in with `{login}`",
                    out.status
                )));
            }
            let token = Self::parse(&out.stdout)?;
            if token.expires_at() <= SystemTime::now() {
                return Err(AuthError::AzureCli(
                    "the CLI returned an expired token: run `az login` again".into(),
                ));
            }
            Ok(token)
        })
    }
    fn describe(&self) -> String {
        format!("Azure CLI credential ({})", self.program.display())
    }
}

/// Interactive device code sign-in (delegated).
pub struct DeviceCodeCredential {
    http: reqwest::Client,
    device_url: Url,
    token_url: Url,
    client_id: String,
    scope: String,
    prompt: DeviceCodeCallback,
}

impl DeviceCodeCredential {
    /// Microsoft Graph Command Line Tools, the public client used when `AZURE_CLIENT_ID` is not set.
    pub const GRAPH_CLI_CLIENT_ID: &'static str = "14d82eec-204b-4c2f-b7e8-296a70dab67e";
}

impl TokenSource for DeviceCodeCredential {
    fn token(&self) -> BoxFuture<'_, Result<AccessToken, AuthError>> {
        Box::pin(async move {
            device_code(
                &self.http,
                &self.device_url,
                &self.token_url,
                &self.client_id,
                &self.scope,
                &self.prompt,
            )
            .await
        })
    }
    fn describe(&self) -> String {
        format!("device code sign-in (client {})", self.client_id)
    }
}
