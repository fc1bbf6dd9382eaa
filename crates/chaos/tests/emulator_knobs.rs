//! The emulator knobs the campaign added: partial `$batch` failures (`batchFaultRate`) and
//! throttling without `Retry-After` (`omitRetryAfter`), seen through raw `$batch` answers.

use std::collections::BTreeMap;

use entractl_graph::{AuthOptions, Cloud, GraphClient, GraphConfig, GraphRequest};
use graph_emulator::knobs::{Knobs, Throttle};
use graph_emulator::scenarios::{CI_CLIENT_ID, CI_CLIENT_SECRET, P1_TENANT_ID};
use graph_emulator::{EmulatorConfig, RunningEmulator, start};
use serde_json::{Value, json};

fn client(emu: &RunningEmulator) -> GraphClient {
    let base = emu.base_url();
    let cfg = GraphConfig::for_cloud(Cloud::Public, P1_TENANT_ID)
        .with_graph_url(&base)
        .unwrap()
        .with_authority_url(&base)
        .unwrap();
    let env: BTreeMap<String, String> = [
        ("AZURE_CLIENT_ID", CI_CLIENT_ID),
        ("AZURE_CLIENT_SECRET", CI_CLIENT_SECRET),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let creds =
        entractl_graph::credential_from_env(&env, None, &cfg, &AuthOptions::default()).unwrap();
    GraphClient::new(cfg, creds).unwrap()
}

/// Sends one raw `$batch` (answered as is: inner failures are not retried here).
fn raw_batch(rt: &tokio::runtime::Runtime, c: &GraphClient, inner: Vec<Value>) -> Vec<Value> {
    let resp = rt
        .block_on(c.send(GraphRequest::post("/$batch").json(json!({"requests": inner}))))
        .unwrap();
    let mut out = resp.json()["responses"].as_array().unwrap().clone();
    out.sort_by_key(|r| r["id"].as_str().unwrap().parse::<u32>().unwrap());
    out
}

fn header<'a>(r: &'a Value, name: &str) -> Option<&'a Value> {
    r["headers"]
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

#[test]
fn batch_fault_rate_fails_single_requests_inside_a_batch() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut cfg = EmulatorConfig::scenario("p1");
    cfg.seed = 3;
    let emu = start(cfg).unwrap();
    let c = client(&emu);
    emu.set_knobs(Knobs {
        batch_fault_rate: 1.0,
        ..Knobs::default()
    });
    let before = emu.with_tenant(|t| t.applications.len());
    let inner: Vec<Value> = (0..20)
        .map(|i| {
            json!({"id": i.to_string(), "method": "POST", "url": "/applications",
                "headers": {"Content-Type": "application/json"},
                "body": {"displayName": format!("app {i}")}})
        })
        .collect();
    let answers = raw_batch(&rt, &c, inner);
    assert_eq!(answers.len(), 20);
    let mut statuses = std::collections::BTreeSet::new();
    for a in &answers {
        let st = a["status"].as_u64().unwrap();
        statuses.insert(st);
        match st {
            429 | 503 => assert_eq!(header(a, "Retry-After"), Some(&json!("1")), "{a}"),
            504 => assert!(header(a, "Retry-After").is_none()),
            other => panic!("every inner request fails at rate 1.0, got {other}: {a}"),
        }
    }
    assert_eq!(
        statuses.len(),
        3,
        "all three kinds at this seed: {statuses:?}"
    );
    let log = emu.request_log();
    let injected: Vec<_> = log
        .iter()
        .filter(|e| e.template == "/v1.0/$batch/{injectedFault}")
        .collect();
    assert_eq!(injected.len(), 20);
    // Only the 504s were processed: exactly that many applications were created.
    let processed = answers.iter().filter(|a| a["status"] == 504).count();
    assert!(processed > 0);
    assert_eq!(
        emu.with_tenant(|t| t.applications.len()),
        before + processed
    );
    // Whole HTTP requests are not affected by this knob.
    emu.set_knobs(Knobs::default());
    let r = rt.block_on(c.send(GraphRequest::get("/users/alice@contoso.com")));
    assert!(r.is_ok());
}

#[test]
fn omit_retry_after_drops_the_header_from_throttling_answers() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let emu = start(EmulatorConfig::scenario("p1")).unwrap();
    let c = client(&emu);
    let get = |n: usize| -> Vec<Value> {
        (0..n)
            .map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/users/alice@contoso.com"}))
            .collect()
    };
    for omit in [false, true] {
        emu.set_knobs(Knobs {
            throttle: Some(Throttle {
                capacity: 3.0,
                refill_per_second: 0.01,
            }),
            omit_retry_after: omit,
            ..Knobs::default()
        });
        // Three inner requests fit in the bucket; the rest are throttled.
        let answers = raw_batch(&rt, &c, get(6));
        let throttled: Vec<_> = answers.iter().filter(|a| a["status"] == 429).collect();
        assert_eq!(throttled.len(), 3, "{answers:?}");
        for a in throttled {
            assert_eq!(header(a, "Retry-After").is_none(), omit, "omit={omit}: {a}");
        }
    }
}
