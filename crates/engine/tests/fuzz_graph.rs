//! Fuzz-style tests of Graph response parsing (proptest, see docs/reliability.md for why not
//! cargo-fuzz): the engine's `Observed` objects and conditional access analysis from arbitrary and
//! mutated JSON (seed corpus `tests/corpus/graph`), and the Graph client's handling of
//! arbitrary answers — OData errors, `$batch` answers, `@odata.nextLink`s — served by a loopback
//! responder. Properties: no panic, bounded work, errors that say something, the token never in an
//! error and never sent to another host.
//!
//! Case counts are small for the normal test suite; raise them with `PROPTEST_CASES=2000`.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use entractl_engine::observed::{
    Application, ConditionalAccessPolicy, OAuth2PermissionGrant, ServicePrincipal,
};
use entractl_engine::policy;
use entractl_graph::resource::parse;
use entractl_graph::{
    AccessToken, Cloud, GraphClient, GraphConfig, GraphErrorKind, GraphRequest, StaticToken,
};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const TOKEN: &str = "fuzz-canary-token-7d1c";
const APP: &str = "84eb4454-a792-422a-934f-7096918175ce";

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn corpus(prefix: &str) -> Vec<Value> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/graph");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix))
        })
        .collect();
    files.sort();
    let v: Vec<Value> = files
        .iter()
        .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
        .collect();
    assert!(!v.is_empty(), "no corpus file starts with {prefix}");
    v
}

/// Arbitrary JSON, bounded in depth and size, with keys Graph uses so that the shapes matter.
fn arb_json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("id".to_string()),
        Just("appId".to_string()),
        Just("tags".to_string()),
        Just("value".to_string()),
        Just("conditions".to_string()),
        Just("applications".to_string()),
        Just("includeApplications".to_string()),
        Just("excludeApplications".to_string()),
        Just("grantControls".to_string()),
        Just("builtInControls".to_string()),
        Just("state".to_string()),
        Just("scope".to_string()),
        Just("error".to_string()),
        Just("code".to_string()),
        Just("@odata.nextLink".to_string()),
        "[a-zA-Z@.]{1,10}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        Just(json!("All")),
        Just(json!("mfa")),
        Just(json!("enabled")),
        Just(json!(APP)),
        "[ -~]{0,24}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A corpus object with one part replaced by arbitrary JSON (or removed).
fn mutated(prefix: &'static str) -> impl Strategy<Value = Value> {
    let c = corpus(prefix);
    (0..c.len(), any::<usize>(), proptest::option::of(arb_json())).prop_map(
        move |(i, at, replacement)| {
            let mut v = c[i].clone();
            let mut pointers = Vec::new();
            collect_pointers(&v, String::new(), &mut pointers);
            let p = &pointers[at % pointers.len()];
            if p.is_empty() {
                return replacement.unwrap_or(Value::Null);
            }
            match replacement {
                Some(r) => {
                    if let Some(slot) = v.pointer_mut(p) {
                        *slot = r;
                    }
                }
                None => {
                    let (parent, last) = p.rsplit_once('/').unwrap();
                    match v.pointer_mut(parent) {
                        Some(Value::Object(o)) => {
                            o.remove(&last.replace("~1", "/").replace("~0", "~"));
                        }
                        Some(Value::Array(a)) => {
                            if let Ok(i) = last.parse::<usize>()
                                && i < a.len()
                            {
                                a.remove(i);
                            }
                        }
                        _ => {}
                    }
                }
            }
            v
        },
    )
}

fn collect_pointers(v: &Value, here: String, out: &mut Vec<String>) {
    out.push(here.clone());
    match v {
        Value::Object(o) => {
            for (k, x) in o {
                collect_pointers(
                    x,
                    format!("{here}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                collect_pointers(x, format!("{here}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// The CA analysis on any input: no panic; the exclusion patch touches only
/// `excludeApplications`, keeps every existing entry and is idempotent.
fn check_policy(v: &Value) {
    let p = &ConditionalAccessPolicy(v.clone());
    let _ = policy::requires_mfa(p);
    let _ = policy::blocks(p);
    let _ = policy::describe_grant(p);
    let _ = policy::policy_state(p);
    let _ = policy::app_targeting(p, APP);
    let _ = policy::applies_to_app(p, APP);
    if let Some(patch) = p.exclusion_patch(APP) {
        let list = patch
            .pointer("/conditions/applications/excludeApplications")
            .and_then(Value::as_array)
            .expect("the patch is an excludeApplications list");
        assert_eq!(
            patch,
            json!({"conditions": {"applications": {"excludeApplications": list}}}),
            "the patch touches only excludeApplications"
        );
        assert_eq!(list.last(), Some(&json!(APP)));
        if let Some(Value::Array(old)) = v.pointer("/conditions/applications/excludeApplications") {
            assert_eq!(
                &list[..list.len() - 1],
                &old[..],
                "existing entries kept in order"
            );
        }
        let patched = p.patched(&patch);
        assert_eq!(
            patched.exclusion_patch(APP),
            None,
            "not idempotent: {}",
            patched.0
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(128), ..ProptestConfig::default() })]

    #[test]
    fn observed_objects_from_arbitrary_json(v in arb_json()) {
        let _ = parse::<Application>(&v);
        let _ = parse::<ServicePrincipal>(&v);
        let _ = parse::<OAuth2PermissionGrant>(&v);
        check_policy(&v);
    }

    #[test]
    fn observed_objects_from_mutated_graph_objects(
        app in mutated("application"),
        sp in mutated("service-principal"),
        grant in mutated("grant"),
    ) {
        if let Some(a) = parse::<Application>(&app) {
            let _ = format!("{a:?}");
        }
        if let Some(s) = parse::<ServicePrincipal>(&sp) {
            let _ = format!("{s:?}");
        }
        if let Some(g) = parse::<OAuth2PermissionGrant>(&grant) {
            let _ = g.scopes();
            let _ = g.is_all_principals();
        }
    }

    #[test]
    fn conditional_access_analysis_of_mutated_real_policies(p in mutated("ca-")) {
        check_policy(&p);
    }
}

#[test]
fn corpus_objects_parse() {
    assert!(parse::<Application>(&corpus("application")[0]).is_some());
    assert!(parse::<ServicePrincipal>(&corpus("service-principal")[0]).is_some());
    assert!(parse::<OAuth2PermissionGrant>(&corpus("grant")[0]).is_some());
    for p in corpus("ca-") {
        check_policy(&p);
    }
}

// ---- the Graph client against arbitrary answers --------------------------------------------

/// What the responder answers next: status and body (for every request).
type Answer = Arc<Mutex<(u16, String)>>;

struct Fixture {
    rt: tokio::runtime::Runtime,
    base: String,
    answer: Answer,
    other_connections: Arc<AtomicUsize>,
    other_base: String,
}

/// A blocking HTTP/1.1 responder on loopback: reads a request, answers `answer`, closes.
fn serve(answer: Answer) -> (String, Arc<AtomicUsize>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            c.fetch_add(1, Ordering::SeqCst);
            let answer = answer.clone();
            std::thread::spawn(move || {
                let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    match s.read(&mut chunk) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                    if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                        let len: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(0);
                        while buf.len() < end + 4 + len {
                            match s.read(&mut chunk) {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                        }
                        break;
                    }
                }
                let (status, body) = answer.lock().unwrap().clone();
                let msg = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = s.write_all(msg.as_bytes());
            });
        }
    });
    (base, count)
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let answer: Answer = Arc::new(Mutex::new((200, "{}".into())));
        let (base, _) = serve(answer.clone());
        let (other_base, other_connections) =
            serve(Arc::new(Mutex::new((200, "{\"value\":[]}".into()))));
        Fixture {
            rt: tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap(),
            base,
            answer,
            other_connections,
            other_base,
        }
    })
}

fn client(f: &Fixture) -> GraphClient {
    let mut c = GraphConfig::for_cloud(Cloud::Public, "contoso.onmicrosoft.com")
        .with_graph_url(&f.base)
        .unwrap()
        .with_authority_url(&f.base)
        .unwrap();
    c.backoff_base = Duration::from_millis(1);
    c.backoff_cap = Duration::from_millis(5);
    c.operation_budget = Duration::from_millis(300);
    c.request_timeout = Duration::from_secs(5);
    c.max_pages = 5;
    c.max_response_bytes = 256 * 1024;
    GraphClient::new(c, Arc::new(StaticToken(AccessToken::new(TOKEN, None)))).unwrap()
}

fn check_error(e: &entractl_graph::GraphError) {
    let text = e.to_string();
    assert!(!text.trim().is_empty());
    assert!(!text.contains(TOKEN), "token in an error: {text}");
    assert!(!format!("{e:?}").contains(TOKEN));
}

fn status() -> impl Strategy<Value = u16> {
    prop_oneof![
        Just(200u16),
        Just(201),
        Just(204),
        Just(400),
        Just(401),
        Just(403),
        Just(404),
        Just(409),
        Just(412),
        Just(429),
        Just(500),
        Just(503),
        Just(504),
        100u16..600,
    ]
}

/// Bodies: arbitrary JSON, mutated real answers, or text that is not JSON.
fn body() -> impl Strategy<Value = String> {
    prop_oneof![
        arb_json().prop_map(|v| v.to_string()),
        mutated("odata-error").prop_map(|v| v.to_string()),
        mutated("batch-response").prop_map(|v| v.to_string()),
        mutated("page").prop_map(|v| v.to_string()),
        "[ -~]{0,64}",
        Just(String::new()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(48), ..ProptestConfig::default() })]

    #[test]
    fn any_answer_to_a_request_ends_cleanly(st in status(), b in body()) {
        let f = fixture();
        *f.answer.lock().unwrap() = (st, b);
        let c = client(f);
        if let Err(e) = f.rt.block_on(c.send(GraphRequest::get("/applications"))) {
            check_error(&e);
        }
        if let Err(e) = f.rt.block_on(c.send(GraphRequest::post("/applications").json(json!({"displayName": "x"})))) {
            check_error(&e);
        }
    }

    #[test]
    fn any_batch_answer_gives_one_result_per_request(b in body(), n in 2usize..6) {
        let f = fixture();
        *f.answer.lock().unwrap() = (200, b);
        let c = client(f);
        let reqs: Vec<_> = (0..n).map(|i| GraphRequest::get(format!("/applications/{i}"))).collect();
        let results = f.rt.block_on(c.send_all(reqs));
        prop_assert_eq!(results.len(), n);
        for r in &results {
            if let Err(e) = r {
                check_error(e);
            }
        }
    }

    #[test]
    fn any_next_link_is_followed_only_on_the_graph_host(
        link in prop_oneof![
            Just(None),
            "[ -~]{0,40}".prop_map(Some),
            Just(Some("{other}/v1.0/applications?$skiptoken=x".to_string())),
            Just(Some("{base}/v1.0/applications?$skiptoken=same".to_string())),
            Just(Some("{base}@evil.example/v1.0/x".to_string())),
            Just(Some("//{otherhost}/v1.0/x".to_string())),
            Just(Some("file:///etc/passwd".to_string())),
        ],
        items in arb_json(),
    ) {
        let f = fixture();
        let mut page = json!({"value": [items]});
        if let Some(l) = link {
            let l = l
                .replace("{other}", &f.other_base)
                .replace("{base}", &f.base)
                .replace("{otherhost}", f.other_base.trim_start_matches("http://"));
            page["@odata.nextLink"] = json!(l);
        }
        *f.answer.lock().unwrap() = (200, page.to_string());
        let before = f.other_connections.load(Ordering::SeqCst);
        let c = client(f);
        match f.rt.block_on(c.list_all(GraphRequest::get("/applications"))) {
            Ok(items) => prop_assert!(!items.is_empty()),
            Err(e) => {
                check_error(&e);
                prop_assert!(matches!(
                    e.kind,
                    GraphErrorKind::UnsafeNextLink | GraphErrorKind::Decode | GraphErrorKind::Transport | GraphErrorKind::Budget | GraphErrorKind::Graph
                ), "{e}");
            }
        }
        prop_assert_eq!(f.other_connections.load(Ordering::SeqCst), before, "another host was contacted");
    }
}
