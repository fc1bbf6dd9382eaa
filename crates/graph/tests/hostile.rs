//! Hostile or broken Graph responses, served by a raw loopback TCP responder (no emulator): malformed
//! JSON, huge bodies, `@odata.nextLink` loops, next links and redirects to another host, bodies that
//! trickle forever, broken `$batch` answers. Each ends in a clear error, within bounded time and
//! memory, and the bearer token never reaches another host.
//!
//! The only timeouts here are hang guards (generous, never asserted against): the client's own
//! budgets are what end each case.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use entractl_graph::{
    AccessToken, Cloud, GraphClient, GraphConfig, GraphErrorKind, GraphRequest, StaticToken,
};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const TOKEN: &str = "hostile-canary-token-93af";

/// A request as the responder saw it.
#[derive(Debug, Clone)]
struct Seen {
    target: String,
    headers: Vec<(String, String)>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the responder does with one request.
enum Action {
    /// Write these bytes (status line, headers, body) and close.
    Raw(Vec<u8>),
    /// Write a 200 head without a length, then one byte every `every` forever (until the peer goes).
    Trickle { every: Duration },
    /// A 200 whose body is `{"value":["` followed by `total` bytes of `a` (with or without a
    /// Content-Length), streamed in 64 KiB chunks until the peer goes away.
    Huge { total: u64, declare_length: bool },
}

type Handler = Arc<dyn Fn(&Seen, usize) -> Action + Send + Sync>;

struct Responder {
    base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    connections: Arc<AtomicUsize>,
    bytes_sent: Arc<AtomicUsize>,
}

impl Responder {
    async fn start(handler: impl Fn(&Seen, usize) -> Action + Send + Sync + 'static) -> Responder {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let connections = Arc::new(AtomicUsize::new(0));
        let bytes_sent = Arc::new(AtomicUsize::new(0));
        let handler: Handler = Arc::new(handler);
        let (s, c, b) = (seen.clone(), connections.clone(), bytes_sent.clone());
        tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    return;
                };
                c.fetch_add(1, Ordering::SeqCst);
                let (s, h, b) = (s.clone(), handler.clone(), b.clone());
                tokio::spawn(async move { serve_one(sock, s, h, b).await });
            }
        });
        Responder {
            base,
            seen,
            connections,
            bytes_sent,
        }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

async fn serve_one(
    mut sock: TcpStream,
    seen: Arc<Mutex<Vec<Seen>>>,
    handler: Handler,
    bytes_sent: Arc<AtomicUsize>,
) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        match sock.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
        if buf.len() > 1 << 20 {
            return;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or("");
    let target = request_line.split(' ').nth(1).unwrap_or("").to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let content_length: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut have = buf.len() - head_end - 4;
    while have < content_length {
        match sock.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => have += n,
        }
    }
    let req = Seen { target, headers };
    let index = {
        let mut s = seen.lock().unwrap();
        s.push(req.clone());
        s.len() - 1
    };
    match handler(&req, index) {
        Action::Raw(bytes) => {
            let _ = sock.write_all(&bytes).await;
            bytes_sent.fetch_add(bytes.len(), Ordering::SeqCst);
        }
        Action::Trickle { every } => {
            let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{\"value\":[";
            if sock.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            loop {
                tokio::time::sleep(every).await;
                if sock.write_all(b" ").await.is_err() {
                    return;
                }
                bytes_sent.fetch_add(1, Ordering::SeqCst);
            }
        }
        Action::Huge {
            total,
            declare_length,
        } => {
            let prefix = b"{\"value\":[\"";
            let length = if declare_length {
                format!("content-length: {}\r\n", total + prefix.len() as u64)
            } else {
                String::new()
            };
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n{length}connection: close\r\n\r\n"
            );
            if sock.write_all(head.as_bytes()).await.is_err()
                || sock.write_all(prefix).await.is_err()
            {
                return;
            }
            let block = vec![b'a'; 64 * 1024];
            let mut sent = 0u64;
            while sent < total {
                let n = block.len().min((total - sent) as usize);
                if sock.write_all(&block[..n]).await.is_err() {
                    return;
                }
                sent += n as u64;
                bytes_sent.fetch_add(n, Ordering::SeqCst);
            }
        }
    }
    let _ = sock.shutdown().await;
}

fn http(status: u16, extra_headers: &[(&str, String)], body: &str) -> Action {
    let reason = match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        _ => "Status",
    };
    let mut s = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (k, v) in extra_headers {
        s.push_str(&format!("{k}: {v}\r\n"));
    }
    s.push_str("\r\n");
    s.push_str(body);
    Action::Raw(s.into_bytes())
}

fn json_ok(v: serde_json::Value) -> Action {
    http(
        200,
        &[("content-type", "application/json".into())],
        &v.to_string(),
    )
}

fn cfg(base: &str) -> GraphConfig {
    let mut c = GraphConfig::for_cloud(Cloud::Public, "contoso.onmicrosoft.com")
        .with_graph_url(base)
        .unwrap()
        .with_authority_url(base)
        .unwrap();
    c.backoff_base = Duration::from_millis(2);
    c.backoff_cap = Duration::from_millis(20);
    c.operation_budget = Duration::from_secs(5);
    c.request_timeout = Duration::from_secs(5);
    c
}

fn client(c: GraphConfig) -> GraphClient {
    let token = StaticToken(AccessToken::new(TOKEN, None));
    GraphClient::new(c, Arc::new(token)).unwrap()
}

/// A hang guard: the client's own limits must end the call long before this.
async fn guarded<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(120), f)
        .await
        .expect("the client did not give up on its own (hang)")
}

#[tokio::test]
async fn malformed_json_in_a_success_answer_is_a_decode_error() {
    let srv = Responder::start(|_, _| {
        http(
            200,
            &[("content-type", "application/json".into())],
            "{\"value\": [{\"id\": \"1\"",
        )
    })
    .await;
    let c = client(cfg(&srv.base));
    let err = guarded(c.send(GraphRequest::get("/applications")))
        .await
        .unwrap_err();
    assert_eq!(err.kind, GraphErrorKind::Decode, "{err}");
    assert_eq!(err.status, Some(200));
    let text = err.to_string();
    assert!(text.contains("not JSON"), "{text}");
    assert!(text.contains("/applications"), "says where: {text}");
    assert!(!text.contains(TOKEN));
    assert_eq!(
        srv.seen().len(),
        1,
        "a broken success answer is not retried"
    );
}

#[tokio::test]
async fn html_error_page_is_a_graph_error_with_its_status() {
    let srv = Responder::start(|_, _| {
        http(
            400,
            &[("content-type", "text/html".into())],
            "<html><body>Bad gateway config</body></html>",
        )
    })
    .await;
    let c = client(cfg(&srv.base));
    let err = guarded(c.send(GraphRequest::get("/applications")))
        .await
        .unwrap_err();
    assert_eq!(err.status, Some(400), "{err}");
    assert!(err.to_string().contains("400"), "{err}");
}

#[tokio::test]
async fn a_list_answer_without_a_value_array_is_an_error_not_an_empty_list() {
    // A failed read must never look like "absent".
    for body in [
        json!({"value": "nope"}),
        json!({"items": []}),
        json!([1, 2]),
    ] {
        let b = body.clone();
        let srv = Responder::start(move |_, _| json_ok(b.clone())).await;
        let c = client(cfg(&srv.base));
        let err = guarded(c.list_all(GraphRequest::get("/applications")))
            .await
            .unwrap_err();
        assert_eq!(err.kind, GraphErrorKind::Decode, "{body}: {err}");
        assert!(err.to_string().contains("value"), "{err}");
    }
}

#[tokio::test]
async fn huge_body_with_content_length_is_refused_without_reading_it() {
    let srv = Responder::start(|_, _| Action::Huge {
        total: 512 * 1024 * 1024,
        declare_length: true,
    })
    .await;
    let mut c = cfg(&srv.base);
    c.max_response_bytes = 1024 * 1024;
    let err = guarded(client(c).send(GraphRequest::get("/users")))
        .await
        .unwrap_err();
    assert_eq!(err.kind, GraphErrorKind::Decode, "{err}");
    assert!(err.to_string().contains("1048576 bytes"), "{err}");
    assert_eq!(srv.seen().len(), 1, "not retried");
    assert!(
        srv.bytes_sent.load(Ordering::SeqCst) < 64 * 1024 * 1024,
        "the client stopped reading long before the end"
    );
}

#[tokio::test]
async fn huge_streamed_body_without_length_is_cut_at_the_cap() {
    let srv = Responder::start(|_, _| Action::Huge {
        total: 512 * 1024 * 1024,
        declare_length: false,
    })
    .await;
    let mut c = cfg(&srv.base);
    c.max_response_bytes = 2 * 1024 * 1024;
    let err = guarded(client(c).send(GraphRequest::get("/users")))
        .await
        .unwrap_err();
    assert_eq!(err.kind, GraphErrorKind::Decode, "{err}");
    let text = err.to_string();
    assert!(text.contains("2097152 bytes"), "{text}");
    assert!(text.contains("GET /users"), "{text}");
    assert!(
        srv.bytes_sent.load(Ordering::SeqCst) < 64 * 1024 * 1024,
        "the client stopped reading near the cap"
    );
}

#[tokio::test]
async fn default_cap_is_set() {
    let c = GraphConfig::for_cloud(Cloud::Public, "contoso.onmicrosoft.com");
    assert!(c.max_response_bytes >= 16 * 1024 * 1024 && c.max_response_bytes <= 256 * 1024 * 1024);
    assert!(c.max_pages >= 1000);
}

#[tokio::test]
async fn next_link_loop_is_detected() {
    // Page 0 → page 1 → page 0 again.
    let base = Arc::new(Mutex::new(String::new()));
    let b = base.clone();
    let srv = Responder::start(move |seen, _| {
        let root = b.lock().unwrap().clone();
        let next = if seen.target.contains("skiptoken=p1") {
            format!("{root}/v1.0/applications?$skiptoken=p0")
        } else {
            format!("{root}/v1.0/applications?$skiptoken=p1")
        };
        json_ok(json!({"value": [{"id": "x"}], "@odata.nextLink": next}))
    })
    .await;
    *base.lock().unwrap() = srv.base.clone();
    let c = client(cfg(&srv.base));
    let err = guarded(c.list_all(GraphRequest::get("/applications")))
        .await
        .unwrap_err();
    assert_eq!(err.kind, GraphErrorKind::Decode, "{err}");
    assert!(err.to_string().contains("loop"), "{err}");
    assert!(srv.seen().len() <= 4, "stopped at the first repeat");
}

#[tokio::test]
async fn endless_distinct_next_links_stop_at_the_page_cap() {
    let base = Arc::new(Mutex::new(String::new()));
    let b = base.clone();
    let srv = Responder::start(move |_, i| {
        let root = b.lock().unwrap().clone();
        json_ok(json!({
            "value": [{"id": i.to_string()}],
            "@odata.nextLink": format!("{root}/v1.0/applications?$skiptoken=t{i}")
        }))
    })
    .await;
    *base.lock().unwrap() = srv.base.clone();
    let mut c = cfg(&srv.base);
    c.max_pages = 25;
    let err = guarded(client(c).list_all(GraphRequest::get("/applications")))
        .await
        .unwrap_err();
    assert_eq!(err.kind, GraphErrorKind::Decode, "{err}");
    assert!(err.to_string().contains("25 pages"), "{err}");
    assert_eq!(srv.seen().len(), 25);
}

#[tokio::test]
async fn next_link_to_another_host_is_not_followed_and_gets_no_token() {
    let other = Responder::start(|_, _| json_ok(json!({"value": []}))).await;
    let other_base = other.base.clone();
    // Same host, other port: another origin too.
    let srv = Responder::start(move |_, _| {
        json_ok(json!({
            "value": [{"id": "1"}],
            "@odata.nextLink": format!("{other_base}/v1.0/applications?$skiptoken=steal")
        }))
    })
    .await;
    let c = client(cfg(&srv.base));
    let err = guarded(c.list_all(GraphRequest::get("/applications")))
        .await
        .unwrap_err();
    assert_eq!(err.kind, GraphErrorKind::UnsafeNextLink, "{err}");
    assert_eq!(other.connections.load(Ordering::SeqCst), 0);
    assert!(other.seen().is_empty());
    assert_eq!(
        srv.seen()[0].header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str()),
        "the configured host did get the token"
    );
}

#[tokio::test]
async fn redirects_to_another_host_are_not_followed() {
    for status in [301u16, 302, 307, 308] {
        let other = Responder::start(|_, _| json_ok(json!({"value": []}))).await;
        let location = format!("{}/v1.0/applications", other.base);
        let srv =
            Responder::start(move |_, _| http(status, &[("location", location.clone())], "")).await;
        let c = client(cfg(&srv.base));
        let err = guarded(c.send(GraphRequest::get("/applications")))
            .await
            .unwrap_err();
        assert_eq!(err.status, Some(status), "{err}");
        assert_eq!(
            other.connections.load(Ordering::SeqCst),
            0,
            "{status}: the redirect target was contacted"
        );
        assert!(
            other
                .seen()
                .iter()
                .all(|s| s.header("authorization").is_none())
        );
        // POSTs too (a 307 would re-send the body and the token).
        let other_seen = other.seen().len();
        let err =
            guarded(c.send(GraphRequest::post("/applications").json(json!({"displayName": "x"}))))
                .await
                .unwrap_err();
        assert_eq!(err.status, Some(status), "{err}");
        assert_eq!(other.seen().len(), other_seen);
        assert_eq!(other.connections.load(Ordering::SeqCst), 0);
    }
}

#[tokio::test]
async fn token_request_redirect_is_not_followed() {
    // The token endpoint (the configured authority) redirecting to another host must not receive
    // the client secret there.
    let other = Responder::start(|_, _| json_ok(json!({"access_token": "x"}))).await;
    let location = format!("{}/steal", other.base);
    let srv = Responder::start(move |_, _| http(307, &[("location", location.clone())], "")).await;
    let c = cfg(&srv.base);
    let env: std::collections::BTreeMap<String, String> = [
        ("AZURE_CLIENT_ID", "0e1c5f7a-2b3d-4e6f-8a9b-c0d1e2f3a4b5"),
        ("AZURE_CLIENT_SECRET", "hostile-secret-value"),
        ("AZURE_TENANT_ID", "contoso.onmicrosoft.com"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let creds = entractl_graph::credential_from_env(
        &env,
        None,
        &c,
        &entractl_graph::AuthOptions::default(),
    )
    .unwrap();
    let client = GraphClient::new(c, creds).unwrap();
    let err = guarded(client.send(GraphRequest::get("/applications")))
        .await
        .unwrap_err();
    assert_eq!(err.kind, GraphErrorKind::Auth, "{err}");
    assert!(!err.to_string().contains("hostile-secret-value"));
    assert_eq!(other.connections.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_body_that_trickles_forever_ends_within_the_budget() {
    let srv = Responder::start(|_, _| Action::Trickle {
        every: Duration::from_millis(20),
    })
    .await;
    let mut c = cfg(&srv.base);
    c.request_timeout = Duration::from_millis(300);
    c.operation_budget = Duration::from_secs(1);
    let err = guarded(client(c).send(GraphRequest::get("/applications")))
        .await
        .unwrap_err();
    assert!(
        matches!(err.kind, GraphErrorKind::Budget | GraphErrorKind::Transport),
        "{err}"
    );
    let text = err.to_string();
    assert!(text.contains("GET /applications"), "{text}");
    assert!(!srv.seen().is_empty());
}

#[tokio::test]
async fn a_create_whose_answer_trickles_forever_is_not_resent_blindly() {
    let srv = Responder::start(|_, _| Action::Trickle {
        every: Duration::from_millis(20),
    })
    .await;
    let mut c = cfg(&srv.base);
    c.request_timeout = Duration::from_millis(300);
    c.operation_budget = Duration::from_secs(1);
    let err = guarded(
        client(c).send(GraphRequest::post("/applications").json(json!({"displayName": "x"}))),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind, GraphErrorKind::Ambiguous, "{err}");
    assert_eq!(srv.seen().len(), 1, "sent once");
}

#[tokio::test]
async fn broken_batch_answers_fail_each_request_clearly() {
    let cases = vec![
        json!({"responses": "nope"}),
        json!({"responses": [{"id": "0"}]}),
        json!({"responses": [{"id": "0", "status": "200", "body": {"id": "a"}}, {"id": "1", "status": 999}]}),
        json!({"responses": [{"id": "7", "status": 200, "body": {}}]}),
        json!({"responses": [{"id": "0", "status": 200, "body": {"id": "a"}, "headers": {"bad header\n": [1]}}, {"id": "0", "status": 200}]}),
        json!(null),
    ];
    for body in cases {
        let b = body.clone();
        let srv = Responder::start(move |seen, _| {
            if seen.target.contains("$batch") {
                json_ok(b.clone())
            } else {
                // Single re-sends of inner failures: a plain Graph error.
                http(
                    400,
                    &[("content-type", "application/json".into())],
                    r#"{"error":{"code":"BadRequest","message":"no"}}"#,
                )
            }
        })
        .await;
        let c = client(cfg(&srv.base));
        let results = guarded(c.send_all(vec![
            GraphRequest::get("/applications/a"),
            GraphRequest::get("/applications/b"),
        ]))
        .await;
        assert_eq!(results.len(), 2, "{body}");
        for r in &results {
            if let Err(e) = r {
                assert!(!e.to_string().is_empty());
                assert!(!e.to_string().contains(TOKEN));
            }
        }
        // Request 1 never has a valid answer in any case.
        assert!(results[1].is_err(), "{body}: {:?}", results[1]);
    }
}

#[tokio::test]
async fn a_create_whose_key_a_concurrent_writer_took_answers_with_that_object() {
    // Two applies race: this POST loses (400 Request_MultipleObjectsWithSameKeyValue); the probe
    // finds the winner's object, which is the answer. The first probe sees nothing yet
    // (replication), so the create is re-sent once and conflicts again.
    let probes = Arc::new(AtomicUsize::new(0));
    let p = probes.clone();
    let srv = Responder::start(move |seen, _| {
        if seen.target.contains("uniqueName") {
            if p.fetch_add(1, Ordering::SeqCst) == 0 {
                json_ok(json!({"value": []}))
            } else {
                json_ok(json!({"value": [{"id": "winner", "uniqueName": "kp"}]}))
            }
        } else {
            http(
                400,
                &[("content-type", "application/json".into())],
                r#"{"error":{"code":"Request_MultipleObjectsWithSameKeyValue","message":"Another object with the same value for property uniqueName already exists."}}"#,
            )
        }
    })
    .await;
    let c = client(cfg(&srv.base));
    let req = GraphRequest::post("/applications")
        .json(json!({"displayName": "x", "uniqueName": "kp"}))
        .idempotency_probe(
            GraphRequest::get("/applications").query("$filter", "uniqueName eq 'kp'"),
        );
    let resp = guarded(c.send(req)).await.unwrap();
    assert_eq!(resp.json()["id"], json!("winner"));
    let posts = srv
        .seen()
        .iter()
        .filter(|s| !s.target.contains("uniqueName"))
        .count();
    assert_eq!(posts, 2);
    // Without a probe the conflict is the answer (nothing to look up).
    let err =
        guarded(c.send(GraphRequest::post("/applications").json(json!({"displayName": "x"}))))
            .await
            .unwrap_err();
    assert_eq!(err.status, Some(400));
    assert_eq!(
        err.code.as_deref(),
        Some("Request_MultipleObjectsWithSameKeyValue")
    );
}
