//! End to end against `graph-emulator`: every credential source, throttling, faults, replication
//! delay, paging, `$batch`, permission errors, and no duplicate create in the emulator's request log.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use entractl_graph::*;
use graph_emulator::scenarios::{
    CI_CLIENT_ID, CI_CLIENT_SECRET, CI_FEDERATED_SUBJECT, P1_TENANT_ID, READONLY_CLIENT_ID,
    READONLY_CLIENT_SECRET,
};
use graph_emulator::{EmulatorConfig, Knobs, RunningEmulator, Throttle};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
const USER_READ: &str = "e1fe6dd8-ba31-4d61-89e7-88639da4683d";

/// The least-privileged set of graph-api.md §11 (with alternatives).
const REQUIRED: &[&str] = &[
    "Application.ReadWrite.OwnedBy|Application.ReadWrite.All",
    "Application.Read.All",
    "DelegatedPermissionGrant.ReadWrite.All",
    "AppRoleAssignment.ReadWrite.All",
    "User.Read.All",
    "Group.Read.All",
    "Policy.Read.All",
    "Policy.ReadWrite.ConditionalAccess",
    "Organization.Read.All",
];

fn emulator() -> RunningEmulator {
    graph_emulator::start(EmulatorConfig::scenario("p1")).expect("emulator starts")
}

type Waits = Arc<Mutex<Vec<WaitEvent>>>;

fn config(emu: &RunningEmulator) -> (GraphConfig, Waits) {
    let waits: Waits = Arc::default();
    let w = waits.clone();
    let mut cfg = GraphConfig::for_cloud(Cloud::Public, P1_TENANT_ID)
        .with_graph_url(&emu.base_url())
        .unwrap()
        .with_authority_url(&emu.base_url())
        .unwrap()
        .with_on_wait(Arc::new(move |e: &WaitEvent| {
            w.lock().unwrap().push(e.clone())
        }));
    cfg.backoff_base = Duration::from_millis(20);
    cfg.backoff_cap = Duration::from_millis(200);
    cfg.conditional_access_interval = Duration::from_millis(50);
    cfg.operation_budget = Duration::from_secs(60);
    (cfg, waits)
}

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn secret_env() -> BTreeMap<String, String> {
    env(&[
        ("AZURE_CLIENT_ID", CI_CLIENT_ID),
        ("AZURE_CLIENT_SECRET", CI_CLIENT_SECRET),
    ])
}

fn client_with(
    emu: &RunningEmulator,
    e: &BTreeMap<String, String>,
    choice: Option<AuthMethod>,
    opts: &AuthOptions,
) -> (GraphClient, Waits) {
    let (cfg, waits) = config(emu);
    let creds = credential_from_env(e, choice, &cfg, opts).expect("credential");
    (GraphClient::new(cfg, creds).unwrap(), waits)
}

fn ci_client(emu: &RunningEmulator) -> (GraphClient, Waits) {
    client_with(emu, &secret_env(), None, &AuthOptions::default())
}

fn temp_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("entractl-graph-e2e-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

async fn can_read_applications(c: &GraphClient) {
    let apps = c
        .list_all(GraphRequest::get("/applications").select(&["id", "appId", "displayName"]))
        .await
        .expect("list applications");
    assert!(apps.iter().any(|a| a["appId"] == CI_CLIENT_ID), "{apps:?}");
}

#[tokio::test]
async fn client_secret_gets_an_app_only_token_with_the_needed_roles() {
    let emu = emulator();
    let (c, _) = ci_client(&emu);
    can_read_applications(&c).await;
    let t = c.token().await.unwrap();
    assert_eq!(t.claims().tid.as_deref(), Some(P1_TENANT_ID));
    assert!(t.claims().is_app_only());
    t.check_permissions(REQUIRED)
        .expect("entractl-ci holds every permission");

    let ro = env(&[
        ("AZURE_CLIENT_ID", READONLY_CLIENT_ID),
        ("AZURE_CLIENT_SECRET", READONLY_CLIENT_SECRET),
    ]);
    let (c, _) = client_with(&emu, &ro, None, &AuthOptions::default());
    let err = c
        .token()
        .await
        .unwrap()
        .check_permissions(REQUIRED)
        .unwrap_err();
    assert!(
        err.missing
            .contains(&"DelegatedPermissionGrant.ReadWrite.All".to_string()),
        "{err}"
    );
    assert!(err.to_string().contains("Grant admin consent"));
}

#[tokio::test]
async fn a_wrong_secret_is_rejected_with_a_hint() {
    let emu = emulator();
    let (cfg, _) = config(&emu);
    let e = env(&[
        ("AZURE_CLIENT_ID", CI_CLIENT_ID),
        ("AZURE_CLIENT_SECRET", "not-the-secret-canary"),
    ]);
    let creds = credential_from_env(&e, None, &cfg, &AuthOptions::default()).unwrap();
    let err = creds.token().await.unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(text.contains("AADSTS7000215"), "{text}");
    assert!(!text.contains("not-the-secret-canary"), "{text}");
}

#[tokio::test]
async fn certificate_credential_signs_in() {
    let emu = emulator();
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../emulator/testdata");
    let key = std::fs::read_to_string(data.join("entractl-test-key.pem")).unwrap();
    let cert = std::fs::read_to_string(data.join("entractl-test-cert.pem")).unwrap();
    let path = temp_dir().join("ci.pem");
    std::fs::write(&path, format!("{key}{cert}")).unwrap();
    let e = env(&[
        ("AZURE_CLIENT_ID", CI_CLIENT_ID),
        ("AZURE_CLIENT_CERTIFICATE_PATH", path.to_str().unwrap()),
    ]);
    let (c, _) = client_with(&emu, &e, None, &AuthOptions::default());
    assert!(
        c.credential_description()
            .starts_with("certificate credential")
    );
    can_read_applications(&c).await;
}

async fn mint_federated_token(emu: &RunningEmulator) -> String {
    let resp: Value = reqwest::Client::new()
        .post(format!("{}/_emulator/federated-token", emu.base_url()))
        .json(&json!({"subject": CI_FEDERATED_SUBJECT}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    resp["token"]
        .as_str()
        .expect("a federated token")
        .to_string()
}

#[tokio::test]
async fn workload_identity_federated_token_file_signs_in() {
    let emu = emulator();
    let file = temp_dir().join("federated-token");
    std::fs::write(&file, mint_federated_token(&emu).await).unwrap();
    let e = env(&[
        ("AZURE_CLIENT_ID", CI_CLIENT_ID),
        ("AZURE_FEDERATED_TOKEN_FILE", file.to_str().unwrap()),
    ]);
    let (c, _) = client_with(&emu, &e, None, &AuthOptions::default());
    assert!(c.credential_description().starts_with("workload identity"));
    can_read_applications(&c).await;
}

/// A one-route responder standing in for the GitHub Actions runner's token service.
async fn github_runner(id_token: String) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let s2 = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let mut buf = vec![0u8; 16384];
            let n = sock.read(&mut buf).await.unwrap_or(0);
            let head = String::from_utf8_lossy(&buf[..n]).to_string();
            s2.lock().unwrap().push(head.clone());
            let authorized = head
                .to_ascii_lowercase()
                .contains("authorization: bearer runner-request-token");
            let (status, body) = if authorized {
                ("200 OK", json!({"value": id_token}).to_string())
            } else {
                ("401 Unauthorized", String::new())
            };
            let resp = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = sock.write_all(resp.as_bytes()).await;
        }
    });
    (base, seen)
}

#[tokio::test]
async fn github_actions_oidc_variables_sign_in() {
    let emu = emulator();
    let (runner, seen) = github_runner(mint_federated_token(&emu).await).await;
    let e = env(&[
        ("AZURE_CLIENT_ID", CI_CLIENT_ID),
        (
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            &format!("{runner}/token?api-version=2.0"),
        ),
        ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "runner-request-token"),
    ]);
    let (c, _) = client_with(&emu, &e, None, &AuthOptions::default());
    can_read_applications(&c).await;
    let first = seen.lock().unwrap()[0].clone();
    assert!(
        first.starts_with("GET /token?api-version=2.0&audience=api%3A%2F%2FAzureADTokenExchange "),
        "{first}"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn azure_cli_token_is_used() {
    use std::os::unix::fs::PermissionsExt;
    let emu = emulator();
    // The stub `az` prints a token the emulator issued (as a signed-in CLI would).
    let (seed, _) = ci_client(&emu);
    let token = seed.token().await.unwrap();
    let dir = temp_dir();
    let out = dir.join("out.json");
    std::fs::write(
        &out,
        json!({"accessToken": token.secret().expose(), "expires_on": 4102444800u64}).to_string(),
    )
    .unwrap();
    let az = dir.join("az");
    std::fs::write(&az, format!("#!/bin/sh\ncat '{}'\n", out.display())).unwrap();
    std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).unwrap();
    let e = env(&[("PATH", &format!("{}:/usr/bin:/bin", dir.display()))]);
    let (c, _) = client_with(&emu, &e, None, &AuthOptions::default());
    assert!(c.credential_description().starts_with("Azure CLI"));
    can_read_applications(&c).await;
}

#[tokio::test]
async fn create_chain_survives_replication_delay_then_device_code_signs_in() {
    let emu = emulator();
    emu.set_knobs(Knobs {
        replication_delay_ms: 300,
        ..Knobs::default()
    });
    let (c, waits) = ci_client(&emu);
    // A public client (device code needs isFallbackPublicClient) that asks for User.Read.
    let app = c
        .send(
            GraphRequest::post("/applications")
                .label("create application")
                .json(json!({
                    "displayName": "entractl device code test",
                    "signInAudience": "AzureADMyOrg",
                    "isFallbackPublicClient": true,
                    "requiredResourceAccess": [{"resourceAppId": GRAPH_APP_ID, "resourceAccess": [{"id": USER_READ, "type": "Scope"}]}]
                })),
        )
        .await
        .unwrap();
    assert_eq!(app.status, 201);
    let app_id = app.json()["appId"].as_str().unwrap().to_string();
    let id = app.json()["id"].as_str().unwrap().to_string();
    let sp = c
        .send(
            GraphRequest::post("/servicePrincipals")
                .label("create service principal")
                .json(json!({"appId": app_id}))
                .retry_on(RetryRule::message_contains(
                    400,
                    "does not reference a valid application object",
                ))
                .idempotency_probe(
                    GraphRequest::get("/servicePrincipals")
                        .query("$filter", format!("appId eq '{app_id}'")),
                ),
        )
        .await
        .unwrap();
    assert!(sp.status == 201 || sp.status == 200);
    // (A PATCH under the knob would hide the app from sign-in again for the delay.)
    emu.set_knobs(Knobs::default());
    c.send(
        GraphRequest::patch(format!("/applications/{id}"))
            .json(json!({"tags": ["entractl-test"]}))
            .retry_on(RetryRule::code(404, "Request_ResourceNotFound")),
    )
    .await
    .unwrap();
    let replication_waits = waits
        .lock()
        .unwrap()
        .iter()
        .filter(|w| matches!(w.reason, WaitReason::RetryRule { .. }))
        .count();
    assert!(
        replication_waits >= 1,
        "the create chain waited for replication: {:?}",
        waits.lock().unwrap()
    );
    // Sign-in needs the app to be visible too: wait for it like any read after a write.
    c.send(
        GraphRequest::get(format!("/applications(appId='{app_id}')"))
            .retry_on(RetryRule::code(404, "Request_ResourceNotFound")),
    )
    .await
    .unwrap();

    // Device code, approved through the emulator.
    let mut settings = emu.state().identity.settings();
    settings.device_code_interval_secs = 0;
    emu.state().identity.set_settings(settings);
    let prompts: Arc<Mutex<Vec<DeviceCodePrompt>>> = Arc::default();
    let p2 = prompts.clone();
    let base = emu.base_url();
    let opts = AuthOptions {
        on_device_code: Some(Arc::new(move |p: &DeviceCodePrompt| {
            p2.lock().unwrap().push(p.clone());
            // The user signs in elsewhere: approve through the emulator's control API.
            let url = format!("{base}/_emulator/device-codes/{}/approve", p.user_code);
            tokio::spawn(async move {
                let r = reqwest::Client::new()
                    .post(url)
                    .json(&json!({"upn": "erin@contoso.com"}))
                    .send()
                    .await
                    .unwrap();
                assert!(r.status().is_success(), "approve: {}", r.status());
            });
        })),
        ..AuthOptions::default()
    };
    let (cfg, _) = config(&emu);
    let creds = credential_from_env(
        &env(&[("AZURE_CLIENT_ID", &app_id)]),
        Some(AuthMethod::DeviceCode),
        &cfg,
        &opts,
    )
    .unwrap();
    let token = match tokio::time::timeout(Duration::from_secs(60), creds.token()).await {
        Ok(t) => t.expect("device code token"),
        Err(_) => panic!(
            "device code sign-in did not finish; emulator log: {:#?}",
            emu.request_log()
        ),
    };
    assert!(!token.claims().is_app_only());
    assert!(
        token.claims().scopes().contains(&"User.Read"),
        "{:?}",
        token.claims()
    );
    let prompt = prompts.lock().unwrap()[0].clone();
    assert!(prompt.message.contains(&prompt.user_code), "{prompt:?}");
}

#[tokio::test]
async fn throttling_with_retry_after_is_waited_out() {
    let emu = emulator();
    let (c, waits) = ci_client(&emu);
    c.token().await.unwrap();
    emu.set_knobs(Knobs {
        throttle: Some(Throttle {
            capacity: 2.0,
            refill_per_second: 20.0,
        }),
        ..Knobs::default()
    });
    for i in 0..8 {
        c.send(GraphRequest::get("/organization").label(format!("read organization {i}")))
            .await
            .unwrap();
    }
    let throttled = emu.request_log().iter().filter(|l| l.status == 429).count();
    assert!(throttled >= 1, "the emulator throttled");
    let w = waits.lock().unwrap();
    assert!(
        w.iter().any(|e| matches!(
            e.reason,
            WaitReason::Throttled {
                retry_after: Some(_)
            }
        )),
        "{w:?}"
    );
}

#[tokio::test]
async fn conditional_access_is_paced_and_throttling_without_retry_after_backs_off() {
    let emu = emulator();
    emu.set_knobs(Knobs {
        ca_throttle: true,
        ..Knobs::default()
    });
    let (c, waits) = ci_client(&emu);
    for _ in 0..3 {
        let p = c
            .list_all(
                GraphRequest::get("/identity/conditionalAccess/policies")
                    .select(&["id", "displayName"]),
            )
            .await
            .unwrap();
        assert!(!p.is_empty());
    }
    let w = waits.lock().unwrap();
    // The emulator's CA limit (1/s) is stricter than the 50 ms test pacing: its 429s carry no Retry-After.
    assert!(
        w.iter()
            .any(|e| e.reason == WaitReason::Throttled { retry_after: None }),
        "{w:?}"
    );
    assert!(w.iter().any(|e| e.reason == WaitReason::Pacing), "{w:?}");
}

#[tokio::test]
async fn reads_survive_bursts_of_5xx_and_dropped_connections_and_page_to_the_end() {
    let emu = emulator();
    let (c, _) = ci_client(&emu);
    c.token().await.unwrap();
    let total = emu.with_tenant(|t| t.users.len());
    emu.set_knobs(Knobs {
        fault_rate: 0.3,
        ..Knobs::default()
    });
    let users = c
        .list_all(
            GraphRequest::get("/users")
                .select(&["id", "userPrincipalName"])
                .top(25),
        )
        .await
        .unwrap();
    assert_eq!(users.len(), total);
    let log = emu.request_log();
    let pages = log
        .iter()
        .filter(|l| l.path.starts_with("/v1.0/users") && l.status == 200)
        .count();
    assert_eq!(pages, total.div_ceil(25));
    assert!(
        log.iter()
            .any(|l| l.status == 503 || l.status == 504 || l.status == 0),
        "faults were injected"
    );
}

#[tokio::test]
async fn batches_return_partial_failures_in_order() {
    let emu = emulator();
    let (c, _) = ci_client(&emu);
    let upns = ["alice@contoso.com", "nobody@contoso.com", "bob@contoso.com"];
    let mut reqs = Vec::new();
    for i in 0..24 {
        reqs.push(
            GraphRequest::get(format!("/users/{}", upns[i % 3]))
                .select(&["id", "userPrincipalName"]),
        );
    }
    emu.clear_log();
    let results = c.send_all(reqs).await;
    for (i, r) in results.iter().enumerate() {
        match i % 3 {
            1 => assert!(r.as_ref().unwrap_err().is_not_found(), "{i}: {r:?}"),
            _ => assert_eq!(r.as_ref().unwrap().json()["userPrincipalName"], upns[i % 3]),
        }
    }
    let batches = emu
        .request_log()
        .iter()
        .filter(|l| l.path.ends_with("$batch"))
        .count();
    assert_eq!(batches, 2);
}

#[tokio::test]
async fn forbidden_names_the_permission_and_request_id() {
    let emu = emulator();
    let ro = env(&[
        ("AZURE_CLIENT_ID", READONLY_CLIENT_ID),
        ("AZURE_CLIENT_SECRET", READONLY_CLIENT_SECRET),
    ]);
    let (c, _) = client_with(&emu, &ro, None, &AuthOptions::default());
    let err = c
        .send(
            GraphRequest::post("/applications")
                .label("create application 'x'")
                .json(json!({"displayName": "x"})),
        )
        .await
        .unwrap_err();
    assert!(err.is_forbidden(), "{err}");
    let text = err.to_string();
    assert!(
        text.starts_with("create application 'x' (POST /applications) failed: HTTP 403"),
        "{text}"
    );
    assert!(text.contains("Application.ReadWrite.OwnedBy"), "{text}");
    assert!(
        err.request_id.is_some() && text.contains("request-id"),
        "{text}"
    );
}

#[tokio::test]
async fn no_create_is_sent_twice_when_graph_may_have_applied_it() {
    let emu = emulator();
    let (c, _) = ci_client(&emu);
    c.token().await.unwrap();
    emu.set_knobs(Knobs {
        fault_rate: 0.4,
        ..Knobs::default()
    });
    emu.clear_log();
    let mut ok = 0;
    let mut ambiguous = 0;
    for i in 0..12 {
        let name = format!("entractl-dup-{i}");
        let mut req = GraphRequest::post("/applications")
            .json(json!({"displayName": name, "uniqueName": name}));
        if i % 2 == 0 {
            req = req.idempotency_probe(GraphRequest::get(format!(
                "/applications(uniqueName='{name}')"
            )));
        }
        let before = emu.request_log().len();
        let result = c.send(req).await;
        let slice: Vec<_> = emu.request_log()[before..].to_vec();
        match &result {
            Ok(_) => ok += 1,
            Err(e) => {
                assert!(i % 2 == 1, "with a probe every create completes: {e}");
                assert!(
                    e.kind == GraphErrorKind::Ambiguous || e.status == Some(504),
                    "{e}"
                );
                ambiguous += 1;
            }
        }
        // Within this create: at most one POST was applied, and after a POST whose outcome was
        // unknown (dropped connection or 504) another POST only follows a lookup by the key.
        let posts =
            |l: &graph_emulator::LogEntry| l.method == "POST" && l.path == "/v1.0/applications";
        assert!(
            slice.iter().filter(|l| posts(l) && l.status == 201).count() <= 1,
            "{slice:#?}"
        );
        let mut unknown_outcome = false;
        for l in &slice {
            if posts(l) {
                assert!(
                    !unknown_outcome,
                    "{name}: POST re-sent without a lookup: {slice:#?}"
                );
                unknown_outcome = l.status == 0 || l.status == 504;
            } else if l.method == "GET"
                && l.path.contains("uniqueName=")
                && l.status != 0
                && l.status < 500
            {
                unknown_outcome = false;
            }
        }
        let count = emu.with_tenant(|t| {
            t.applications
                .iter()
                .filter(|a| a.str("uniqueName") == Some(name.as_str()))
                .count()
        });
        assert_eq!(
            count,
            usize::from(result.is_ok()),
            "{name} exists {count} times"
        );
    }
    emu.set_knobs(Knobs::default());
    assert_eq!(ok + ambiguous, 12);
}
