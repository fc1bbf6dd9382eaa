//! Client behaviour against a loopback responder: URLs, headers, retries, budget, probes, paging, batches.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use crate::testutil::{Reply, Seen, batch_server, graph_error, json, serve};
use crate::*;

const CANARY_TOKEN: &str = "canary-token-5f1e2d";

fn cfg(base: &str) -> GraphConfig {
    let mut c = GraphConfig::for_cloud(Cloud::Public, "contoso.onmicrosoft.com")
        .with_graph_url(base)
        .unwrap()
        .with_authority_url(base)
        .unwrap();
    c.backoff_base = Duration::from_millis(2);
    c.backoff_cap = Duration::from_millis(20);
    c.conditional_access_interval = Duration::from_millis(5);
    c.operation_budget = Duration::from_secs(20);
    c
}

fn client(base: &str) -> (GraphClient, Arc<Mutex<Vec<WaitEvent>>>) {
    let waits: Arc<Mutex<Vec<WaitEvent>>> = Arc::default();
    let w = waits.clone();
    let c = cfg(base).with_on_wait(Arc::new(move |e: &WaitEvent| {
        w.lock().unwrap().push(e.clone())
    }));
    let token = StaticToken(AccessToken::new(CANARY_TOKEN, None));
    (GraphClient::new(c, Arc::new(token)).unwrap(), waits)
}

fn path_of(s: &Seen) -> &str {
    s.target.split('?').next().unwrap()
}

#[tokio::test]
async fn get_goes_to_the_version_root_with_identity_headers() {
    let srv = serve(|_, _| json(200, json!({"id": "1"}))).await;
    let (c, _) = client(&srv.base);
    let r = c
        .send(
            GraphRequest::get("/applications")
                .query("$filter", "appId eq 'x'")
                .select(&["id"]),
        )
        .await
        .unwrap();
    assert_eq!(r.json()["id"], "1");
    c.send(
        GraphRequest::get("/users/u/authentication/requirements")
            .beta()
            .header("ConsistencyLevel", "eventual"),
    )
    .await
    .unwrap();
    let seen = srv.seen();
    assert_eq!(
        seen[0].target,
        "/v1.0/applications?$filter=appId%20eq%20%27x%27&$select=id"
    );
    assert_eq!(
        seen[0].header("authorization"),
        Some(format!("Bearer {CANARY_TOKEN}").as_str())
    );
    assert!(
        seen[0]
            .header("user-agent")
            .unwrap()
            .starts_with("entractl/")
    );
    let crid = seen[0].header("client-request-id").unwrap();
    assert!(uuid::Uuid::parse_str(crid).is_ok());
    assert_ne!(seen[1].header("client-request-id"), Some(crid));
    assert_eq!(seen[1].target, "/beta/users/u/authentication/requirements");
    assert_eq!(seen[1].header("consistencylevel"), Some("eventual"));
}

#[tokio::test]
async fn throttling_honours_retry_after_and_reports_the_wait() {
    let srv = serve(|_, n| match n {
        0 => Reply::Json(
            429,
            vec![("Retry-After", "0.01".into())],
            json!({"error":{"code":"TooManyRequests","message":"slow down"}}),
        ),
        1 => graph_error(503, "ServiceUnavailable", "busy"),
        _ => json(200, json!({"value": []})),
    })
    .await;
    let (c, waits) = client(&srv.base);
    c.send(GraphRequest::get("/applications").label("list apps"))
        .await
        .unwrap();
    assert_eq!(srv.seen().len(), 3);
    let w = waits.lock().unwrap().clone();
    assert_eq!(w.len(), 2);
    assert_eq!(
        w[0].reason,
        WaitReason::Throttled {
            retry_after: Some(Duration::from_millis(10))
        }
    );
    assert_eq!(w[0].delay, Duration::from_millis(10));
    assert_eq!(w[0].operation, "list apps");
    assert_eq!(w[1].reason, WaitReason::ServerError { status: 503 });
    assert!(w[1].delay <= Duration::from_millis(20));
}

#[tokio::test]
async fn the_time_budget_bounds_retries() {
    let srv = serve(|_, _| {
        Reply::Json(
            429,
            vec![("Retry-After", "30".into())],
            json!({"error":{"code":"TooManyRequests","message":"no"}}),
        )
    })
    .await;
    let (c, waits) = client(&srv.base);
    let err = c
        .send(GraphRequest::get("/applications").budget(Duration::from_secs(5)))
        .await
        .unwrap_err();
    assert_eq!(err.kind, GraphErrorKind::Budget);
    assert_eq!(err.status, Some(429));
    assert!(!err.is_not_found());
    assert!(err.to_string().contains("operation budget of 5 s"), "{err}");
    assert_eq!(srv.seen().len(), 1);
    assert!(waits.lock().unwrap().is_empty());
}

#[tokio::test]
async fn retry_rules_cover_replication_delay_and_nothing_else() {
    let srv = serve(|s, n| {
        if s.method == "POST" && n < 2 {
            graph_error(400, "Request_BadRequest", "The appId 'x' of the service principal does not reference a valid application object.")
        } else {
            json(201, json!({"id": "sp-1"}))
        }
    })
    .await;
    let (c, waits) = client(&srv.base);
    let r = c
        .send(
            GraphRequest::post("/servicePrincipals")
                .json(json!({"appId": "x"}))
                .retry_on(RetryRule::message_contains(
                    400,
                    "does not reference a valid application object",
                )),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 201);
    assert_eq!(srv.seen().len(), 3);
    assert!(matches!(
        waits.lock().unwrap()[0].reason,
        WaitReason::RetryRule { status: 400, .. }
    ));

    let srv = serve(|_, _| {
        graph_error(
            400,
            "Request_BadRequest",
            "does not reference a valid application object",
        )
    })
    .await;
    let (c, _) = client(&srv.base);
    let err = c
        .send(GraphRequest::post("/servicePrincipals").json(json!({})))
        .await
        .unwrap_err();
    assert_eq!(err.status, Some(400));
    assert_eq!(srv.seen().len(), 1);
}

#[tokio::test]
async fn not_found_and_forbidden_are_reported_precisely() {
    let srv = serve(|s, _| {
        if s.target.contains("servicePrincipals") {
            graph_error(404, "Request_ResourceNotFound", "Resource 'x' does not exist or one of its queried reference-property objects are not present.")
        } else {
            graph_error(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
        }
    })
    .await;
    let (c, _) = client(&srv.base);
    let e = c
        .send(GraphRequest::get("/servicePrincipals(appId='x')"))
        .await
        .unwrap_err();
    assert!(e.is_not_found());
    assert_eq!(e.request_id.as_deref(), Some("rid-404"));
    let e = c
        .send(
            GraphRequest::post("/oauth2PermissionGrants")
                .json(json!({}))
                .label("grant admin consent"),
        )
        .await
        .unwrap_err();
    assert!(!e.is_not_found());
    let text = e.to_string();
    assert!(text.starts_with("grant admin consent (POST /oauth2PermissionGrants) failed: HTTP 403 Authorization_RequestDenied"), "{text}");
    assert!(
        text.contains("DelegatedPermissionGrant.ReadWrite.All"),
        "{text}"
    );
    assert!(text.contains("request-id rid-403"), "{text}");
    assert!(!format!("{e:?}{e}").contains(CANARY_TOKEN));
}

#[tokio::test]
async fn a_create_with_unknown_outcome_is_never_sent_twice() {
    // Without a probe: the dropped POST is reported, not repeated.
    let srv = serve(|_, _| Reply::Drop).await;
    let (c, _) = client(&srv.base);
    let e = c
        .send(GraphRequest::post("/applications").json(json!({"displayName": "a"})))
        .await
        .unwrap_err();
    assert_eq!(e.kind, GraphErrorKind::Ambiguous);
    assert!(
        e.to_string().contains("look the object up by its key"),
        "{e}"
    );
    assert_eq!(srv.seen().len(), 1);

    // With a probe: Graph applied the create, the probe finds it, no second POST.
    let srv = serve(|s, _| match s.method.as_str() {
        "POST" => Reply::Drop,
        _ => json(200, json!({"value": [{"id": "app-1", "uniqueName": "k"}]})),
    })
    .await;
    let (c, _) = client(&srv.base);
    let r = c
        .send(
            GraphRequest::post("/applications")
                .json(json!({"displayName": "a", "uniqueName": "k"}))
                .idempotency_probe(
                    GraphRequest::get("/applications").query("$filter", "uniqueName eq 'k'"),
                ),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["id"], "app-1");
    let methods: Vec<String> = srv.seen().iter().map(|s| s.method.clone()).collect();
    assert_eq!(methods, vec!["POST", "GET"]);

    // 504 and the probe finds nothing: the create was not applied, so it is sent again.
    let srv = serve(|s, n| match (s.method.as_str(), n) {
        ("POST", 0) => graph_error(504, "GatewayTimeout", "timeout"),
        ("POST", _) => json(201, json!({"id": "app-2"})),
        _ => json(200, json!({"value": []})),
    })
    .await;
    let (c, _) = client(&srv.base);
    let r = c
        .send(
            GraphRequest::post("/applications")
                .json(json!({"displayName": "a"}))
                .idempotency_probe(GraphRequest::get("/applications(uniqueName='k')")),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 201);
    let methods: Vec<String> = srv.seen().iter().map(|s| s.method.clone()).collect();
    assert_eq!(methods, vec!["POST", "GET", "POST"]);
}

#[tokio::test]
async fn idempotent_requests_are_retried_after_a_dropped_connection() {
    let srv = serve(|_, n| {
        if n == 0 {
            Reply::Drop
        } else {
            Reply::Empty(204)
        }
    })
    .await;
    let (c, waits) = client(&srv.base);
    let r = c
        .send(GraphRequest::patch("/applications/a").json(json!({"tags": []})))
        .await
        .unwrap();
    assert_eq!(r.status, 204);
    assert_eq!(r.body, None);
    assert_eq!(waits.lock().unwrap()[0].reason, WaitReason::Connection);
}

#[tokio::test]
async fn paging_follows_next_links_and_resends_headers() {
    let base = Arc::new(Mutex::new(String::new()));
    let b = base.clone();
    let srv = serve(move |s, _| {
        let page: usize = s
            .target
            .split("page=")
            .nth(1)
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        let mut body = json!({"value": [{"n": page * 2}, {"n": page * 2 + 1}]});
        if page < 4 {
            body["@odata.nextLink"] = json!(format!(
                "{}/v1.0/users?$skiptoken=x&page={}",
                b.lock().unwrap(),
                page + 1
            ));
        }
        json(200, body)
    })
    .await;
    *base.lock().unwrap() = srv.base.clone();
    let (c, _) = client(&srv.base);
    let all = c
        .list_all(
            GraphRequest::get("/users")
                .top(999)
                .header("ConsistencyLevel", "eventual"),
        )
        .await
        .unwrap();
    let ns: Vec<u64> = all.iter().map(|v| v["n"].as_u64().unwrap()).collect();
    assert_eq!(ns, (0..10).collect::<Vec<_>>());
    let seen = srv.seen();
    assert_eq!(seen.len(), 5);
    assert_eq!(seen[0].target, "/v1.0/users?$top=999");
    assert_eq!(seen[1].target, "/v1.0/users?$skiptoken=x&page=1");
    assert!(
        seen.iter()
            .all(|s| s.header("consistencylevel") == Some("eventual"))
    );
}

#[tokio::test]
async fn a_next_link_to_another_host_is_refused() {
    let evil = serve(|_, _| json(200, json!({"value": []}))).await;
    let evil_base = evil.base.replace("127.0.0.1", "localhost");
    let srv = serve(move |_, _| {
        json(
            200,
            json!({"value": [1], "@odata.nextLink": format!("{evil_base}/v1.0/users?page=2")}),
        )
    })
    .await;
    let (c, _) = client(&srv.base);
    let e = c.list_all(GraphRequest::get("/users")).await.unwrap_err();
    assert_eq!(e.kind, GraphErrorKind::UnsafeNextLink);
    assert!(e.to_string().contains("not followed"), "{e}");
    assert!(evil.seen().is_empty());
}

#[tokio::test]
async fn send_all_batches_by_twenty_keeps_order_and_retries_inner_failures() {
    let srv = serve(batch_server(|r, attempt| {
        let url = r["url"].as_str().unwrap();
        let n: usize = url.trim_start_matches("/users/u").parse().unwrap();
        match (n % 7, attempt) {
            (3, 1) => (
                429,
                json!({"error": {"code": "TooManyRequests", "message": "x"}}),
                Some("0.005"),
            ),
            (5, 1) => (
                503,
                json!({"error": {"code": "ServiceUnavailable", "message": "x"}}),
                None,
            ),
            (6, _) => (
                404,
                json!({"error": {"code": "Request_ResourceNotFound", "message": "gone"}}),
                None,
            ),
            _ => (200, json!({"n": n}), None),
        }
    }))
    .await;
    let (c, _) = client(&srv.base);
    let reqs: Vec<GraphRequest> = (0..45)
        .map(|i| GraphRequest::get(format!("/users/u{i}")))
        .collect();
    let results = c.send_all(reqs).await;
    assert_eq!(results.len(), 45);
    for (i, r) in results.iter().enumerate() {
        if i % 7 == 6 {
            assert!(r.as_ref().unwrap_err().is_not_found(), "{i}");
        } else {
            assert_eq!(r.as_ref().unwrap().json()["n"], json!(i), "{i}");
        }
    }
    let seen = srv.seen();
    let batches = seen
        .iter()
        .filter(|s| path_of(s).ends_with("$batch"))
        .count();
    assert_eq!(batches, 3);
    // Only the 429/503 ones were re-sent, each on its own.
    let retried = seen
        .iter()
        .filter(|s| !path_of(s).ends_with("$batch"))
        .count();
    assert_eq!(
        retried,
        (0..45).filter(|i| i % 7 == 3 || i % 7 == 5).count()
    );
}

#[tokio::test]
async fn depends_on_and_424_are_handled() {
    let srv = serve(batch_server(|r, attempt| {
        let url = r["url"].as_str().unwrap();
        match (url, attempt) {
            ("/applications", 1) if r.get("id") != Some(&json!("single")) => (
                429,
                json!({"error": {"code": "TooManyRequests", "message": "x"}}),
                Some("0.001"),
            ),
            ("/applications", _) => (201, json!({"id": "app"}), None),
            ("/servicePrincipals", 1) if r.get("id") != Some(&json!("single")) => (
                424,
                json!({"error": {"code": "FailedDependency", "message": "dep"}}),
                None,
            ),
            ("/servicePrincipals", _) => (201, json!({"id": "sp"}), None),
            ("/groups/bad", _) => (
                400,
                json!({"error": {"code": "Request_BadRequest", "message": "bad"}}),
                None,
            ),
            (_, _) => (
                424,
                json!({"error": {"code": "FailedDependency", "message": "dep"}}),
                None,
            ),
        }
    }))
    .await;
    let (c, _) = client(&srv.base);
    let reqs = vec![
        GraphRequest::post("/applications").json(json!({"displayName": "a"})),
        GraphRequest::post("/servicePrincipals")
            .json(json!({"appId": "a"}))
            .depends_on(0),
        GraphRequest::get("/groups/bad"),
        GraphRequest::get("/groups/after")
            .depends_on(2)
            .label("read after bad"),
        GraphRequest::get("/x").depends_on(7),
    ];
    let body_check = srv.log.clone();
    let r = c.send_all(reqs).await;
    assert_eq!(r[0].as_ref().unwrap().json()["id"], "app");
    assert_eq!(r[1].as_ref().unwrap().json()["id"], "sp");
    assert_eq!(r[2].as_ref().unwrap_err().status, Some(400));
    let e3 = r[3].as_ref().unwrap_err();
    assert_eq!(e3.status, Some(424));
    assert!(e3.to_string().contains("#2"), "{e3}");
    assert_eq!(r[4].as_ref().unwrap_err().kind, GraphErrorKind::Config);
    let first_batch = body_check.lock().unwrap()[0].json();
    let sp = first_batch["requests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["url"] == "/servicePrincipals")
        .unwrap()
        .clone();
    assert_eq!(sp["dependsOn"], json!(["0"]));
    assert_eq!(sp["headers"]["Content-Type"], "application/json");
}

#[tokio::test]
async fn conditional_access_calls_are_paced_and_not_batched() {
    let srv = serve(|_, _| json(200, json!({"value": []}))).await;
    let (c, waits) = client(&srv.base);
    let reqs: Vec<GraphRequest> = (0..3)
        .map(|i| GraphRequest::get(format!("/identity/conditionalAccess/policies/p{i}")))
        .collect();
    let r = c.send_all(reqs).await;
    assert!(r.iter().all(Result::is_ok));
    assert!(srv.seen().iter().all(|s| !s.target.contains("$batch")));
    let paced = waits
        .lock()
        .unwrap()
        .iter()
        .filter(|w| w.reason == WaitReason::Pacing)
        .count();
    assert!(paced >= 1, "at least the later calls wait for their slot");
}

#[tokio::test]
async fn what_if_evaluations_go_in_a_batch_unpaced() {
    let srv = serve(batch_server(|_, _| (200, json!({"value": []}), None))).await;
    let (c, waits) = client(&srv.base);
    let reqs: Vec<GraphRequest> = (0..3)
        .map(|_| GraphRequest::post("/identity/conditionalAccess/evaluate").json(json!({})))
        .collect();
    let r = c.send_all(reqs).await;
    assert!(r.iter().all(Result::is_ok), "{r:?}");
    let seen = srv.seen();
    assert_eq!(seen.len(), 1, "one $batch: {seen:?}");
    assert!(seen[0].target.contains("$batch"));
    let waits = waits.lock().unwrap();
    assert!(
        waits.iter().all(|w| w.reason != WaitReason::Pacing),
        "{waits:?}"
    );
}

#[tokio::test]
async fn an_outer_batch_failure_is_given_to_every_request() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c2 = calls.clone();
    let srv = serve(move |_, _| {
        c2.fetch_add(1, Ordering::SeqCst);
        graph_error(401, "InvalidAuthenticationToken", "expired")
    })
    .await;
    let (c, _) = client(&srv.base);
    let r = c
        .send_all(vec![
            GraphRequest::get("/a"),
            GraphRequest::get("/b").label("read b"),
        ])
        .await;
    let e = r[1].as_ref().unwrap_err();
    assert_eq!(e.status, Some(401));
    assert_eq!(e.operation.as_deref(), Some("read b"));
    assert!(
        e.to_string()
            .contains("the $batch carrying this request failed"),
        "{e}"
    );
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "the $batch was re-sent once with a fresh token"
    );
}

/// Captures everything every crate logs (TRACE) on this thread.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_secret_or_token_appears_in_any_output_at_trace_level() {
    const SECRET: &str = "canary-client-secret-41c9";
    let cap = Capture::default();
    let writer = cap.clone();
    let sub = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // Global, not thread-local: tests running in parallel would otherwise leave callsites cached as
    // "no subscriber interested". Other tests' output lands in the capture too (and is checked too).
    tracing::subscriber::set_global_default(sub).expect("only this test installs a subscriber");

    let jwt = crate::secret::fake_jwt(
        &json!({"tid": "t", "roles": [], "appid": "client-1", "canary": CANARY_TOKEN}),
    );
    let srv = serve(move |s, n| {
        if s.target.contains("/oauth2/v2.0/token") {
            if n == 0 {
                json(401, json!({"error": "invalid_client", "error_description": format!("AADSTS7000215: Invalid client secret {SECRET}")}))
            } else {
                json(200, json!({"token_type": "Bearer", "expires_in": 3599, "access_token": jwt}))
            }
        } else if n == 2 {
            Reply::Json(429, vec![("Retry-After", "0".into())], json!({"error": {"code": "TooManyRequests", "message": "x"}}))
        } else {
            graph_error(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
        }
    })
    .await;
    let mut outputs = Vec::new();
    let cfg = cfg(&srv.base);
    let env: std::collections::BTreeMap<String, String> = [
        ("AZURE_CLIENT_ID", "client-1"),
        ("AZURE_CLIENT_SECRET", SECRET),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let creds = credential_from_env(&env, None, &cfg, &AuthOptions::default()).unwrap();
    let c = GraphClient::new(cfg.clone(), creds).unwrap();
    let e1 = c
        .send(GraphRequest::get("/applications"))
        .await
        .unwrap_err();
    outputs.push(format!("{e1}\n{e1:?}"));
    let e2 = c
        .send(GraphRequest::patch("/applications/a").json(json!({"notes": "n"})))
        .await
        .unwrap_err();
    outputs.push(format!(
        "{e2}\n{e2:?}\n{:?}\n{}",
        c.token().await.unwrap(),
        c.credential_description()
    ));
    outputs.push(format!("{cfg:?}"));
    let logs = String::from_utf8(cap.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("graph request"), "the capture works: {logs}");
    assert!(logs.contains("TRACE") || logs.contains("DEBUG"), "{logs}");
    outputs.push(logs);
    for out in &outputs {
        assert!(!out.contains(SECRET), "secret leaked: {out}");
        assert!(!out.contains(CANARY_TOKEN), "token leaked: {out}");
        assert!(!out.contains("eyJ"), "a JWT leaked: {out}");
    }
    assert!(outputs[0].contains("AADSTS7000215"));
    assert!(outputs[1].contains("HTTP 403"));
}

/// Counts token requests; each token is new.
struct Counting(Arc<AtomicUsize>);

impl TokenSource for Counting {
    fn token(&self) -> BoxFuture<'_, Result<AccessToken, AuthError>> {
        let n = self.0.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move { Ok(AccessToken::new(format!("token-{n}"), None)) })
    }
    fn describe(&self) -> String {
        "counting".into()
    }
}

#[tokio::test]
async fn a_rejected_token_is_replaced_once() {
    let srv = serve(|s, _| {
        if s.header("authorization") == Some("Bearer token-0") {
            graph_error(
                401,
                "InvalidAuthenticationToken",
                "Access token has expired or is not yet valid.",
            )
        } else {
            json(200, json!({"ok": true}))
        }
    })
    .await;
    let fetched = Arc::new(AtomicUsize::new(0));
    let creds = Arc::new(CachedTokenSource::new(Box::new(Counting(fetched.clone()))));
    let c = GraphClient::new(cfg(&srv.base), creds).unwrap();
    c.send(GraphRequest::get("/organization")).await.unwrap();
    c.send(GraphRequest::get("/organization")).await.unwrap();
    assert_eq!(
        fetched.load(Ordering::SeqCst),
        2,
        "one refresh, then the new token is cached"
    );
    assert_eq!(srv.seen().len(), 3);

    // A token Graph keeps rejecting: one refresh, then the error.
    let srv = serve(|_, _| graph_error(401, "InvalidAuthenticationToken", "no")).await;
    let (c, waits) = client(&srv.base);
    let e = c
        .send(GraphRequest::get("/organization"))
        .await
        .unwrap_err();
    assert_eq!(e.status, Some(401));
    assert!(e.to_string().contains("the token was rejected"), "{e}");
    assert_eq!(srv.seen().len(), 2);
    assert_eq!(waits.lock().unwrap()[0].reason, WaitReason::TokenRefresh);
}

#[tokio::test]
async fn a_batch_with_unknown_outcome_resends_only_what_is_safe() {
    let srv = serve(|s, _| match (s.method.as_str(), path_of(s)) {
        (_, p) if p.ends_with("$batch") => graph_error(504, "GatewayTimeout", "timeout"),
        ("GET", "/v1.0/groups/g") => json(200, json!({"id": "g"})),
        ("GET", "/v1.0/applications") => json(200, json!({"value": []})),
        ("POST", "/v1.0/applications") => json(201, json!({"id": "new"})),
        _ => graph_error(400, "Request_BadRequest", "unexpected"),
    })
    .await;
    let (c, _) = client(&srv.base);
    let r = c
        .send_all(vec![
            GraphRequest::get("/groups/g"),
            GraphRequest::post("/applications")
                .json(json!({"uniqueName": "k"}))
                .idempotency_probe(
                    GraphRequest::get("/applications").query("$filter", "uniqueName eq 'k'"),
                ),
            GraphRequest::post("/oauth2PermissionGrants")
                .json(json!({}))
                .label("grant consent"),
        ])
        .await;
    assert_eq!(r[0].as_ref().unwrap().json()["id"], "g");
    assert_eq!(r[1].as_ref().unwrap().json()["id"], "new");
    let e = r[2].as_ref().unwrap_err();
    assert_eq!(e.kind, GraphErrorKind::Ambiguous);
    assert_eq!(e.path, "/oauth2PermissionGrants");
    assert_eq!(e.operation.as_deref(), Some("grant consent"));
    let sent: Vec<String> = srv
        .seen()
        .iter()
        .map(|s| format!("{} {}", s.method, path_of(s)))
        .collect();
    assert_eq!(
        sent.iter().filter(|s| s.ends_with("$batch")).count(),
        1,
        "{sent:?}"
    );
    assert!(
        !sent.contains(&"POST /v1.0/oauth2PermissionGrants".to_string()),
        "{sent:?}"
    );
    assert_eq!(
        sent.iter()
            .filter(|s| *s == "POST /v1.0/applications")
            .count(),
        1,
        "{sent:?}"
    );
    assert!(
        sent.contains(&"GET /v1.0/applications".to_string()),
        "probe ran first: {sent:?}"
    );
}

#[tokio::test]
async fn an_overall_deadline_bounds_an_operation_below_its_own_budget() {
    let srv = serve(|_, _| {
        Reply::Json(
            429,
            vec![("Retry-After", "3".into())],
            json!({"error":{"code":"TooManyRequests","message":"no"}}),
        )
    })
    .await;
    let deadline = cfg(&srv.base).with_deadline(Duration::from_secs(2));
    let token = StaticToken(AccessToken::new(CANARY_TOKEN, None));
    let c = GraphClient::new(deadline, Arc::new(token)).unwrap();
    let err = c
        .send(GraphRequest::get("/applications"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, GraphErrorKind::Budget);
    assert!(
        err.to_string().contains("the overall time budget of 2 s"),
        "{err}"
    );
}

/// A credential whose token never comes.
struct SilentToken;

impl TokenSource for SilentToken {
    fn token(&self) -> BoxFuture<'_, Result<AccessToken, AuthError>> {
        Box::pin(std::future::pending())
    }

    fn describe(&self) -> String {
        "silent credential".into()
    }
}

#[tokio::test]
async fn an_overall_deadline_bounds_the_token_request() {
    let srv = serve(|_, _| Reply::Json(200, vec![], json!({"value": []}))).await;
    let deadline = cfg(&srv.base).with_deadline(Duration::from_secs(1));
    let c = GraphClient::new(deadline, Arc::new(SilentToken)).unwrap();
    for err in [
        c.token().await.unwrap_err(),
        c.send(GraphRequest::get("/applications"))
            .await
            .unwrap_err(),
    ] {
        assert_eq!(err.kind, GraphErrorKind::Auth);
        let auth = err
            .source
            .as_deref()
            .and_then(|s| s.downcast_ref::<AuthError>());
        assert!(
            matches!(auth, Some(AuthError::Deadline { seconds: 1, source_name }) if source_name == "silent credential"),
            "{err}"
        );
    }
}

#[tokio::test]
async fn a_refused_connection_is_not_retried() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (c, waits) = client(&format!("http://127.0.0.1:{port}"));
    let err = c
        .send(GraphRequest::get("/applications"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, GraphErrorKind::Transport);
    assert_eq!(err.attempts, 1);
    assert!(
        err.to_string().contains(&format!(
            "cannot connect to http://127.0.0.1:{port}/v1.0/applications"
        )),
        "{err}"
    );
    assert!(waits.lock().unwrap().is_empty());
}
