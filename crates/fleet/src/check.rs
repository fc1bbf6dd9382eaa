//! The checks of a fleet file: every error at once, each at `file:line:col` with a hint.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};
use serde_saphyr::Spanned;

use crate::model::{AUTH_METHODS, Auth, Fleet, FleetFileError, FleetIssue, SecretRef, TenantEntry};
use crate::raw::{RawAuth, RawFleet};
use crate::shard::fnv1a64;

pub(crate) struct Issues {
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

pub(crate) fn validate(
    name: &str,
    text: &str,
    dir: &Path,
    raw: RawFleet,
) -> Result<Fleet, FleetFileError> {
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
