use super::*;
use crate::config::Cloud;

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn no_credential_lists_every_source_and_what_it_needs() {
    let cfg = GraphConfig::for_cloud(Cloud::Public, "");
    let err = credential_from_env(
        &env(&[("PATH", "/nonexistent")]),
        None,
        &cfg,
        &AuthOptions::default(),
    )
    .err()
    .expect("no credential");
    let text = err.to_string();
    for m in AuthMethod::ALL {
        assert!(text.contains(m.name()), "{m} missing in: {text}");
    }
    assert!(text.contains("AZURE_CLIENT_SECRET"));
    assert!(text.contains("ACTIONS_ID_TOKEN_REQUEST_URL"));
    assert!(text.contains("`az` not found on PATH"));
}

#[test]
fn first_configured_source_wins_and_choice_is_honoured() {
    let cfg = GraphConfig::for_cloud(Cloud::Public, "");
    let e = env(&[
        ("AZURE_TENANT_ID", "t1"),
        ("AZURE_CLIENT_ID", "c1"),
        ("AZURE_CLIENT_SECRET", "canary-secret"),
        ("AZURE_FEDERATED_TOKEN_FILE", "/tmp/x"),
    ]);
    let s = credential_from_env(&e, None, &cfg, &AuthOptions::default()).unwrap();
    assert_eq!(s.describe(), "client secret credential (client c1)");
    let s = credential_from_env(
        &e,
        Some(AuthMethod::WorkloadIdentity),
        &cfg,
        &AuthOptions::default(),
    )
    .unwrap();
    assert!(s.describe().starts_with("workload identity credential"));
    let err = credential_from_env(
        &e,
        Some(AuthMethod::GithubActions),
        &cfg,
        &AuthOptions::default(),
    )
    .err()
    .unwrap();
    assert!(
        err.to_string()
            .contains("ACTIONS_ID_TOKEN_REQUEST_URL, ACTIONS_ID_TOKEN_REQUEST_TOKEN not set"),
        "{err}"
    );
    let err = credential_from_env(
        &e,
        Some(AuthMethod::DeviceCode),
        &cfg,
        &AuthOptions::default(),
    )
    .err()
    .unwrap();
    assert!(err.to_string().contains("no terminal"), "{err}");
    assert!(!format!("{err:?}{err}").contains("canary-secret"));
    assert_eq!(
        "Azure-CLI".parse::<AuthMethod>().unwrap(),
        AuthMethod::AzureCli
    );
    assert!("kerberos".parse::<AuthMethod>().is_err());
}

#[test]
fn github_request_url_must_be_https_or_loopback() {
    let cfg = GraphConfig::for_cloud(Cloud::Public, "t");
    let e = env(&[
        ("AZURE_CLIENT_ID", "c1"),
        (
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            "http://token.example.com/x?a=1",
        ),
        ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "rt"),
    ]);
    let err = credential_from_env(&e, None, &cfg, &AuthOptions::default())
        .err()
        .unwrap();
    assert!(err.to_string().contains("https"), "{err}");
}

mod against_a_loopback_identity_platform {
    use super::*;
    use crate::secret::fake_jwt;
    use crate::testutil::{Reply, json, serve};
    use base64::Engine as _;
    use serde_json::json;
    use std::sync::Mutex;

    fn cfg_for(base: &str) -> GraphConfig {
        GraphConfig::for_cloud(Cloud::Public, "tenant-1")
            .with_authority_url(base)
            .unwrap()
            .with_graph_url(base)
            .unwrap()
    }

    fn temp_dir() -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("entractl-graph-test-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn token_reply(expires_in: u64) -> Reply {
        let jwt = fake_jwt(
            &json!({"tid": "tenant-1", "roles": ["Application.Read.All"], "appid": "client-1"}),
        );
        json(
            200,
            json!({"token_type": "Bearer", "expires_in": expires_in, "access_token": jwt}),
        )
    }

    #[tokio::test]
    async fn client_secret_posts_the_client_credentials_grant() {
        let srv = serve(|_, _| token_reply(3599)).await;
        let cfg = cfg_for(&srv.base);
        let e = env(&[
            ("AZURE_CLIENT_ID", "client-1"),
            ("AZURE_CLIENT_SECRET", "s3cret-value"),
        ]);
        let src = credential_from_env(&e, None, &cfg, &AuthOptions::default()).unwrap();
        let t = src.token().await.unwrap();
        assert_eq!(t.claims().roles, vec!["Application.Read.All".to_string()]);
        src.token().await.unwrap(); // cached
        let seen = srv.seen();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].target, "/tenant-1/oauth2/v2.0/token");
        assert_eq!(
            seen[0].form_value("grant_type").as_deref(),
            Some("client_credentials")
        );
        assert_eq!(seen[0].form_value("client_id").as_deref(), Some("client-1"));
        assert_eq!(
            seen[0].form_value("client_secret").as_deref(),
            Some("s3cret-value")
        );
        assert_eq!(
            seen[0].form_value("scope").as_deref(),
            Some("https://graph.microsoft.com/.default")
        );
    }

    #[tokio::test]
    async fn a_rejected_secret_is_explained_without_echoing_it() {
        let srv = serve(|_, _| {
            json(401, json!({"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided: wrong-canary-77.\r\nTrace ID: 1", "error_codes": [7000215]}))
        })
        .await;
        let cfg = cfg_for(&srv.base);
        let e = env(&[
            ("AZURE_CLIENT_ID", "client-1"),
            ("AZURE_CLIENT_SECRET", "wrong-canary-77"),
        ]);
        let src = credential_from_env(&e, None, &cfg, &AuthOptions::default()).unwrap();
        let err = src.token().await.unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(!text.contains("wrong-canary-77"), "{text}");
        assert!(text.contains("AADSTS7000215"), "{text}");
        assert!(text.contains("give entractl the new value"), "{text}");
        assert!(!text.contains("Trace ID"), "{text}");
    }

    fn test_pem() -> (String, String) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../emulator/testdata");
        let key = std::fs::read_to_string(dir.join("entractl-test-key.pem")).unwrap();
        let cert = std::fs::read_to_string(dir.join("entractl-test-cert.pem")).unwrap();
        (key, cert)
    }

    #[tokio::test]
    async fn certificate_signs_an_assertion_with_the_sha256_thumbprint() {
        let srv = serve(|_, _| token_reply(3599)).await;
        let cfg = cfg_for(&srv.base);
        let dir = temp_dir();
        let (key, cert) = test_pem();
        let path = dir.join("both.pem");
        std::fs::write(&path, format!("{key}\n{cert}")).unwrap();
        let e = env(&[
            ("AZURE_CLIENT_ID", "client-1"),
            ("AZURE_CLIENT_CERTIFICATE_PATH", path.to_str().unwrap()),
        ]);
        let src = credential_from_env(&e, None, &cfg, &AuthOptions::default()).unwrap();
        assert!(src.describe().contains("certificate credential"));
        src.token().await.unwrap();
        let seen = &srv.seen()[0];
        assert_eq!(seen.form_value("client_secret"), None);
        assert_eq!(
            seen.form_value("client_assertion_type").as_deref(),
            Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
        );
        let assertion = seen.form_value("client_assertion").unwrap();
        let parts: Vec<&str> = assertion.split('.').collect();
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header: serde_json::Value =
            serde_json::from_slice(&b64.decode(parts[0]).unwrap()).unwrap();
        let claims: serde_json::Value =
            serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
        // testdata/README.md: SHA-256 thumbprint 9011C03A…248D.
        let hex = "9011C03A4850C0F4FA7E9F97333CA8AE44B450666809D1A40A148073217E248D";
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        assert_eq!(header["alg"], "RS256");
        assert_eq!(header["x5t#S256"], json!(b64.encode(bytes)));
        assert_eq!(
            claims["aud"],
            json!(format!("{}/tenant-1/oauth2/v2.0/token", srv.base))
        );
        assert_eq!(claims["iss"], "client-1");
        assert_eq!(claims["sub"], "client-1");
        assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
        assert!(claims["exp"].as_u64().unwrap() > claims["nbf"].as_u64().unwrap());
    }

    #[test]
    fn certificate_files_that_cannot_work_are_explained() {
        let (key, cert) = test_pem();
        let p = std::path::Path::new("/x/cert.pem");
        let err = load_certificate_pem(p, &cert, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("no private key block"), "{err}");
        let err = load_certificate_pem(p, &key, None).unwrap_err().to_string();
        assert!(err.contains("no certificate block"), "{err}");
        let enc =
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
        let err = load_certificate_pem(
            p,
            &format!("{enc}{cert}"),
            Some(&crate::Secret::new("pw-canary")),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("encrypted") && err.contains("openssl pkcs8"),
            "{err}"
        );
        assert!(!err.contains("pw-canary"));
        let err = load_certificate_pem(p, "hello", None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("no PEM blocks"), "{err}");
        let ok = load_certificate_pem(p, &format!("{cert}{key}"), None).unwrap();
        assert!(!format!("{ok:?}").contains("PRIVATE"));
    }

    #[tokio::test]
    async fn the_federated_token_file_is_read_on_every_token_request() {
        let srv = serve(|_, _| token_reply(0)).await;
        let cfg = cfg_for(&srv.base);
        let dir = temp_dir();
        let file = dir.join("token");
        std::fs::write(&file, "first-assertion\n").unwrap();
        let e = env(&[
            ("AZURE_CLIENT_ID", "client-1"),
            ("AZURE_FEDERATED_TOKEN_FILE", file.to_str().unwrap()),
        ]);
        let src = credential_from_env(&e, None, &cfg, &AuthOptions::default()).unwrap();
        src.token().await.unwrap();
        std::fs::write(&file, "second-assertion").unwrap();
        src.token().await.unwrap(); // expired at once (expires_in 0): fetched again
        let seen = srv.seen();
        assert_eq!(
            seen[0].form_value("client_assertion").as_deref(),
            Some("first-assertion")
        );
        assert_eq!(
            seen[1].form_value("client_assertion").as_deref(),
            Some("second-assertion")
        );
        std::fs::remove_file(&file).unwrap();
        let err = src.token().await.unwrap_err().to_string();
        assert!(err.contains("AZURE_FEDERATED_TOKEN_FILE"), "{err}");
    }

    #[tokio::test]
    async fn github_actions_oidc_token_is_exchanged() {
        let srv = serve(|s, _| {
            if s.target.starts_with("/oidc") {
                if s.header("authorization") == Some("Bearer runner-canary") {
                    json(200, json!({"value": "gh-id-token"}))
                } else {
                    Reply::Empty(401)
                }
            } else {
                token_reply(3599)
            }
        })
        .await;
        let cfg = cfg_for(&srv.base);
        let e = env(&[
            ("AZURE_CLIENT_ID", "client-1"),
            (
                "ACTIONS_ID_TOKEN_REQUEST_URL",
                &format!("{}/oidc?api-version=2.0", srv.base),
            ),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "runner-canary"),
        ]);
        let src = credential_from_env(&e, None, &cfg, &AuthOptions::default()).unwrap();
        assert!(src.describe().contains("GitHub Actions"));
        src.token().await.unwrap();
        let seen = srv.seen();
        assert_eq!(
            seen[0].target,
            "/oidc?api-version=2.0&audience=api%3A%2F%2FAzureADTokenExchange"
        );
        assert_eq!(
            seen[1].form_value("client_assertion").as_deref(),
            Some("gh-id-token")
        );
    }

    #[cfg(unix)]
    fn stub_az(dir: &std::path::Path, script: &str) {
        use std::os::unix::fs::PermissionsExt;
        let p = dir.join("az");
        std::fs::write(&p, script).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn azure_cli_is_found_on_the_snapshot_path_and_asked_for_the_tenant() {
        let dir = temp_dir();
        let jwt = fake_jwt(
            &json!({"tid": "tenant-1", "scp": "Application.ReadWrite.All", "upn": "admin@contoso.com"}),
        );
        stub_az(
            &dir,
            &format!(
                "#!/bin/sh\necho \"$@\" > \"$ARGS_FILE\"\necho '{{\"accessToken\":\"{jwt}\",\"expires_on\":4102444800,\"tokenType\":\"Bearer\"}}'\n"
            ),
        );
        let args = dir.join("args");
        let cfg = GraphConfig::for_cloud(Cloud::UsGov, "tenant-1");
        let e = env(&[
            ("PATH", &format!("{}:/usr/bin:/bin", dir.display())),
            ("ARGS_FILE", args.to_str().unwrap()),
        ]);
        let src = credential_from_env(&e, None, &cfg, &AuthOptions::default()).unwrap();
        assert!(src.describe().starts_with("Azure CLI credential"));
        let t = src.token().await.unwrap();
        assert_eq!(t.claims().upn.as_deref(), Some("admin@contoso.com"));
        assert_eq!(
            std::fs::read_to_string(&args).unwrap().trim(),
            "account get-access-token --resource https://graph.microsoft.us -o json --tenant tenant-1"
        );

        stub_az(
            &dir,
            "#!/bin/sh\necho \"ERROR: Please run 'az login' to setup account.\" >&2\nexit 1\n",
        );
        let src = credential_from_env(
            &e,
            Some(AuthMethod::AzureCli),
            &cfg,
            &AuthOptions::default(),
        )
        .unwrap();
        let err = src.token().await.unwrap_err().to_string();
        assert!(
            err.contains("Please run 'az login'") && err.contains("az login --tenant tenant-1"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn device_code_shows_the_prompt_and_polls_until_approved() {
        let srv = serve(|s, n| {
            if s.target.ends_with("/devicecode") {
                json(200, json!({"device_code": "dc-1", "user_code": "ABCD-EFGH", "verification_uri": "https://microsoft.com/devicelogin",
                                 "expires_in": 900, "interval": 0, "message": "To sign in, enter ABCD-EFGH"}))
            } else if n < 3 {
                json(400, json!({"error": "authorization_pending", "error_description": "pending"}))
            } else {
                token_reply(3599)
            }
        })
        .await;
        let cfg = cfg_for(&srv.base);
        let shown: Arc<Mutex<Vec<DeviceCodePrompt>>> = Arc::default();
        let s2 = shown.clone();
        let opts = AuthOptions {
            on_device_code: Some(Arc::new(move |p: &DeviceCodePrompt| {
                s2.lock().unwrap().push(p.clone())
            })),
            ..AuthOptions::default()
        };
        let e = env(&[
            ("AZURE_CLIENT_ID", "public-1"),
            ("AZURE_CLIENT_SECRET", "unused"),
        ]);
        let src = credential_from_env(&e, Some(AuthMethod::DeviceCode), &cfg, &opts).unwrap();
        src.token().await.unwrap();
        let p = shown.lock().unwrap()[0].clone();
        assert_eq!(p.user_code, "ABCD-EFGH");
        assert_eq!(p.message, "To sign in, enter ABCD-EFGH");
        let seen = srv.seen();
        assert_eq!(seen.len(), 4);
        assert_eq!(
            seen[3].form_value("grant_type").as_deref(),
            Some("urn:ietf:params:oauth:grant-type:device_code")
        );
        assert_eq!(seen[3].form_value("device_code").as_deref(), Some("dc-1"));
        assert_eq!(seen[3].form_value("client_secret"), None);
    }

    #[tokio::test]
    async fn a_declined_device_code_sign_in_says_so() {
        let srv = serve(|s, _| {
            if s.target.ends_with("/devicecode") {
                json(200, json!({"device_code": "dc", "user_code": "U", "verification_uri": "https://x", "expires_in": 900, "interval": 0}))
            } else {
                json(400, json!({"error": "authorization_declined", "error_description": "declined"}))
            }
        })
        .await;
        let cfg = cfg_for(&srv.base);
        let opts = AuthOptions {
            on_device_code: Some(Arc::new(|_: &DeviceCodePrompt| {})),
            ..AuthOptions::default()
        };
        let src =
            credential_from_env(&env(&[]), Some(AuthMethod::DeviceCode), &cfg, &opts).unwrap();
        assert!(
            src.describe()
                .contains(DeviceCodeCredential::GRAPH_CLI_CLIENT_ID)
        );
        let err = src.token().await.unwrap_err().to_string();
        assert!(err.contains("declined"), "{err}");
    }
}

mod more_flows {
    use super::*;
    use crate::testutil::{json, serve};
    use serde_json::json;

    #[tokio::test]
    async fn an_expired_device_code_says_to_start_again() {
        let srv = serve(|s, _| {
            if s.target.ends_with("/devicecode") {
                json(200, json!({"device_code": "dc", "user_code": "U", "verification_uri": "https://x", "expires_in": 900, "interval": 0}))
            } else {
                json(400, json!({"error": "expired_token", "error_description": "AADSTS70020: expired"}))
            }
        })
        .await;
        let cfg = GraphConfig::for_cloud(Cloud::Public, "t")
            .with_authority_url(&srv.base)
            .unwrap();
        let opts = AuthOptions {
            on_device_code: Some(Arc::new(|_: &DeviceCodePrompt| {})),
            ..AuthOptions::default()
        };
        let src = credential_from_env(&BTreeMap::new(), Some(AuthMethod::DeviceCode), &cfg, &opts)
            .unwrap();
        let err = src.token().await.unwrap_err().to_string();
        assert!(
            err.contains("expired") && err.contains("run the command again"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn national_clouds_ask_for_their_own_scope() {
        let srv = serve(|_, _| {
            json(
                200,
                json!({"token_type": "Bearer", "expires_in": 3599, "access_token": "x"}),
            )
        })
        .await;
        let cfg = GraphConfig::for_cloud(Cloud::UsGovDod, "t")
            .with_authority_url(&srv.base)
            .unwrap();
        let e = env(&[("AZURE_CLIENT_ID", "c"), ("AZURE_CLIENT_SECRET", "s")]);
        credential_from_env(&e, None, &cfg, &AuthOptions::default())
            .unwrap()
            .token()
            .await
            .unwrap();
        assert_eq!(
            srv.seen()[0].form_value("scope").as_deref(),
            Some("https://dod-graph.microsoft.us/.default")
        );
    }
}
