//! One tenant's inputs: its spec (the shared spec with the tenant's values merged in) and its
//! credential settings (an environment snapshot for `entractl_graph::credential_from_env`).

use std::collections::BTreeMap;
use std::path::Path;

use entractl_graph::AuthMethod;
use serde_json::{Map, Value};

use crate::file::{Auth, SecretRef, TenantEntry};

/// Reads a spec file as a YAML value (once per file and run; every tenant using it starts from
/// this value). Errors say which file and where.
pub fn read_spec_value(path: &Path) -> Result<Value, String> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!("cannot read the spec file {name}: {e}\n  hint: spec paths in a fleet file are relative to the fleet file")
    })?;
    if text.len() > entractl_spec::MAX_FILE_BYTES {
        return Err(format!(
            "the spec file {name} is too large ({} bytes; at most {})",
            text.len(),
            entractl_spec::MAX_FILE_BYTES
        ));
    }
    match serde_saphyr::from_str::<Value>(&text) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) | Err(_) => {
            // Let the spec parser say what is wrong, at file:line:col.
            match entractl_spec::parse_str(&name, &text) {
                Err(report) => Err(report.render_plain()),
                Ok(_) => Err(format!(
                    "the spec file {name} is not a YAML mapping\n  hint: a spec starts with `version: 1`"
                )),
            }
        }
    }
}

/// Merges `overlay` into `base`: mappings key by key (recursively), anything else replaces.
pub fn deep_merge(base: &mut Value, overlay: &Map<String, Value>) {
    if !base.is_object() {
        *base = Value::Object(Map::new());
    }
    let Value::Object(target) = base else { return };
    for (k, v) in overlay {
        match (target.get_mut(k), v) {
            (Some(existing @ Value::Object(_)), Value::Object(o)) => deep_merge(existing, o),
            _ => {
                target.insert(k.clone(), v.clone());
            }
        }
    }
}

/// The tenant's spec: the shared spec with the tenant's `values` merged in and its `tenant`
/// set, then validated like a spec file. Errors name the tenant and point into the merged text.
pub fn tenant_spec(entry: &TenantEntry, base: &Value) -> Result<entractl_spec::LoadedSpec, String> {
    let mut merged = base.clone();
    deep_merge(&mut merged, &entry.values);
    if let Value::Object(m) = &mut merged {
        m.insert("tenant".into(), Value::String(entry.tenant.clone()));
    }
    let text = serde_saphyr::to_string(&merged).map_err(|e| {
        format!(
            "cannot write the spec of tenant `{}` with its values as YAML: {e}",
            entry.name
        )
    })?;
    let name = format!(
        "{} with the values of tenant `{}`",
        entry.spec.display(),
        entry.name
    );
    entractl_spec::parse_str(&name, &text).map_err(|report| {
        format!(
            "the spec of tenant `{}` ({} merged with the tenant's `values` from the fleet file, line {}) is not valid:\n{}",
            entry.name,
            entry.spec.display(),
            entry.line,
            report.render_plain().trim_end()
        )
    })
}

/// Variables of the process environment that configure credentials; a tenant's snapshot never
/// inherits them, so what the fleet file says is what is used.
fn is_credential_var(k: &str) -> bool {
    (k.starts_with("AZURE_") && k != "AZURE_CONFIG_DIR")
        || k.starts_with("ACTIONS_ID_TOKEN_REQUEST_")
}

/// The credential method and the environment snapshot that makes
/// `entractl_graph::credential_from_env` build this tenant's credential. Secrets are read from the
/// variable or file the fleet file names; an error says which and how to fix it (never the
/// secret).
pub fn credential_env(
    entry: &TenantEntry,
    env: &BTreeMap<String, String>,
) -> Result<(AuthMethod, BTreeMap<String, String>), String> {
    let mut out: BTreeMap<String, String> = env
        .iter()
        .filter(|(k, _)| !is_credential_var(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    out.insert("AZURE_TENANT_ID".into(), entry.tenant.clone());
    let nonempty = |name: &str| env.get(name).filter(|v| !v.trim().is_empty()).cloned();
    let method = match &entry.auth {
        Auth::ClientSecret { client_id, secret } => {
            out.insert("AZURE_CLIENT_ID".into(), client_id.clone());
            let value = match secret {
                SecretRef::Env(var) => nonempty(var).ok_or_else(|| {
                    format!(
                        "tenant `{}`: the environment variable {var} (auth.secretEnv) is not set or empty\n  hint: export {var} with the automation app's client secret (in CI: from the secret store)",
                        entry.name
                    )
                })?,
                SecretRef::File(path) => {
                    let text = std::fs::read_to_string(path).map_err(|e| {
                        format!(
                            "tenant `{}`: cannot read the secret file {} (auth.secretFile): {e}\n  hint: check the path (relative to the fleet file) and its permissions",
                            entry.name,
                            path.display()
                        )
                    })?;
                    let secret = text.trim_end_matches(['\n', '\r']).to_string();
                    if secret.trim().is_empty() {
                        return Err(format!(
                            "tenant `{}`: the secret file {} (auth.secretFile) is empty\n  hint: write the client secret into it",
                            entry.name,
                            path.display()
                        ));
                    }
                    secret
                }
            };
            out.insert("AZURE_CLIENT_SECRET".into(), value);
            AuthMethod::ClientSecret
        }
        Auth::Certificate {
            client_id,
            path,
            password_env,
        } => {
            out.insert("AZURE_CLIENT_ID".into(), client_id.clone());
            out.insert(
                "AZURE_CLIENT_CERTIFICATE_PATH".into(),
                path.display().to_string(),
            );
            if let Some(var) = password_env {
                let value = nonempty(var).ok_or_else(|| {
                    format!(
                        "tenant `{}`: the environment variable {var} (auth.certificatePasswordEnv) is not set or empty\n  hint: export it with the key's password, or remove `certificatePasswordEnv` for a key without one",
                        entry.name
                    )
                })?;
                out.insert("AZURE_CLIENT_CERTIFICATE_PASSWORD".into(), value);
            }
            AuthMethod::Certificate
        }
        Auth::Federated {
            client_id,
            token_file,
        } => {
            out.insert("AZURE_CLIENT_ID".into(), client_id.clone());
            let file = match token_file {
                Some(p) => p.display().to_string(),
                None => nonempty("AZURE_FEDERATED_TOKEN_FILE").ok_or_else(|| {
                    format!(
                        "tenant `{}`: auth method `federated` without `tokenFile` needs AZURE_FEDERATED_TOKEN_FILE in the environment\n  hint: set `tokenFile:` in the fleet file, or run where workload identity sets the variable",
                        entry.name
                    )
                })?,
            };
            out.insert("AZURE_FEDERATED_TOKEN_FILE".into(), file);
            AuthMethod::WorkloadIdentity
        }
        Auth::GithubActions { client_id } => {
            out.insert("AZURE_CLIENT_ID".into(), client_id.clone());
            for k in [
                "ACTIONS_ID_TOKEN_REQUEST_URL",
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
            ] {
                if let Some(v) = nonempty(k) {
                    out.insert(k.into(), v);
                }
            }
            AuthMethod::GithubActions
        }
        Auth::AzureCli => AuthMethod::AzureCli,
    };
    Ok((method, out))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use serde_json::json;

    use super::*;

    fn entry(values: Value, auth: Auth) -> TenantEntry {
        TenantEntry {
            name: "contoso".into(),
            tenant: "3f2a6c1e-5b7d-4c1a-9e2f-0a1b2c3d4e5f".into(),
            spec: PathBuf::from("specs/shared.yaml"),
            values: values.as_object().cloned().unwrap_or_default(),
            auth,
            line: 7,
        }
    }

    fn secret_auth(var: &str) -> Auth {
        Auth::ClientSecret {
            client_id: "0e1c5f7a-2b3d-4e6f-8a9b-c0d1e2f3a4b5".into(),
            secret: SecretRef::Env(var.into()),
        }
    }

    const SHARED: &str = "version: 1\npreset: kandji-passport\npassport: {mode: web-login}\napp:\n  displayName: Kandji Passport\n  uniqueName: kandji-passport\nassignments:\n  users: [alice@contoso.com]\n  groups: [Mac Users]\n";

    #[test]
    fn merge_is_deep_for_mappings_and_replaces_the_rest() {
        let mut base = json!({"a": {"b": 1, "c": [1, 2]}, "d": "x"});
        deep_merge(
            &mut base,
            json!({"a": {"c": [3], "e": true}, "f": null})
                .as_object()
                .unwrap(),
        );
        assert_eq!(
            base,
            json!({"a": {"b": 1, "c": [3], "e": true}, "d": "x", "f": null})
        );
    }

    #[test]
    fn tenant_values_override_the_shared_spec() {
        let base: Value = serde_saphyr::from_str(SHARED).unwrap();
        let e = entry(
            json!({"assignments": {"users": ["bob@fabrikam.com"]}, "app": {"displayName": "Passport (Fabrikam)"}}),
            secret_auth("X"),
        );
        let loaded = tenant_spec(&e, &base).unwrap();
        assert_eq!(loaded.spec.tenant, "3f2a6c1e-5b7d-4c1a-9e2f-0a1b2c3d4e5f");
        assert_eq!(loaded.spec.app.display_name, "Passport (Fabrikam)");
        assert_eq!(
            loaded.spec.app.unique_name.as_deref(),
            Some("kandji-passport")
        );
        let a = loaded.spec.assignments.as_ref().unwrap();
        assert_eq!(a.users, ["bob@fabrikam.com"]);
        // The groups of the shared spec stay (mappings merge key by key).
        assert_eq!(a.groups, ["Mac Users"]);
    }

    #[test]
    fn invalid_merged_spec_names_the_tenant_and_the_place() {
        let base: Value = serde_saphyr::from_str(SHARED).unwrap();
        let e = entry(
            json!({"assignments": {"users": ["not a upn"]}}),
            secret_auth("X"),
        );
        let err = tenant_spec(&e, &base).unwrap_err();
        assert!(err.contains("tenant `contoso`"), "{err}");
        assert!(err.contains("line 7"), "{err}");
        assert!(err.contains("not a upn"), "{err}");
        assert!(
            err.contains("with the values of tenant `contoso`:"),
            "{err}"
        );
    }

    #[test]
    fn unreadable_or_broken_spec_files_are_reported() {
        let err = read_spec_value(Path::new("/nonexistent/spec.yaml")).unwrap_err();
        assert!(err.contains("/nonexistent/spec.yaml"), "{err}");
        let dir = std::env::temp_dir().join(format!("entractl-fleet-spec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("broken.yaml");
        std::fs::write(&p, "version: 1\napp: [\n").unwrap();
        let err = read_spec_value(&p).unwrap_err();
        assert!(err.contains("broken.yaml:"), "{err}");
        std::fs::write(&p, SHARED).unwrap();
        assert!(read_spec_value(&p).unwrap().is_object());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn credential_env_uses_only_what_the_fleet_file_says() {
        let env: BTreeMap<String, String> = [
            ("FLEET_SECRET", "s3cret"),
            ("AZURE_CLIENT_SECRET", "ambient-secret"),
            ("AZURE_CLIENT_ID", "ambient-id"),
            ("AZURE_CONFIG_DIR", "/home/x/.azure"),
            ("PATH", "/usr/bin"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let (m, out) =
            credential_env(&entry(json!({}), secret_auth("FLEET_SECRET")), &env).unwrap();
        assert_eq!(m, AuthMethod::ClientSecret);
        assert_eq!(out["AZURE_CLIENT_SECRET"], "s3cret");
        assert_eq!(
            out["AZURE_CLIENT_ID"],
            "0e1c5f7a-2b3d-4e6f-8a9b-c0d1e2f3a4b5"
        );
        assert_eq!(
            out["AZURE_TENANT_ID"],
            "3f2a6c1e-5b7d-4c1a-9e2f-0a1b2c3d4e5f"
        );
        assert_eq!(out["AZURE_CONFIG_DIR"], "/home/x/.azure");
        assert_eq!(out["PATH"], "/usr/bin");

        let err = credential_env(&entry(json!({}), secret_auth("MISSING_VAR")), &env).unwrap_err();
        assert!(
            err.contains("MISSING_VAR") && err.contains("tenant `contoso`"),
            "{err}"
        );
        assert!(!err.contains("s3cret") && !err.contains("ambient-secret"));

        let (m, out) = credential_env(&entry(json!({}), Auth::AzureCli), &env).unwrap();
        assert_eq!(m, AuthMethod::AzureCli);
        assert!(!out.contains_key("AZURE_CLIENT_SECRET") && !out.contains_key("AZURE_CLIENT_ID"));

        let dir =
            std::env::temp_dir().join(format!("entractl-fleet-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("secret.txt");
        std::fs::write(&f, "from-file\n").unwrap();
        let auth = Auth::ClientSecret {
            client_id: "0e1c5f7a-2b3d-4e6f-8a9b-c0d1e2f3a4b5".into(),
            secret: SecretRef::File(f.clone()),
        };
        let (_, out) = credential_env(&entry(json!({}), auth), &env).unwrap();
        assert_eq!(out["AZURE_CLIENT_SECRET"], "from-file");
        std::fs::write(&f, "\n").unwrap();
        let auth = Auth::ClientSecret {
            client_id: "0e1c5f7a-2b3d-4e6f-8a9b-c0d1e2f3a4b5".into(),
            secret: SecretRef::File(f),
        };
        assert!(
            credential_env(&entry(json!({}), auth), &env)
                .unwrap_err()
                .contains("is empty")
        );
        let _ = std::fs::remove_dir_all(&dir);

        let fed = Auth::Federated {
            client_id: "0e1c5f7a-2b3d-4e6f-8a9b-c0d1e2f3a4b5".into(),
            token_file: None,
        };
        assert!(
            credential_env(&entry(json!({}), fed), &env)
                .unwrap_err()
                .contains("AZURE_FEDERATED_TOKEN_FILE")
        );
    }
}
