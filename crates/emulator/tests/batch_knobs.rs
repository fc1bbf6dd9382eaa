//! The knobs the reliability campaign added: partial `$batch` failures (`batchFaultRate`) and
//! throttling without `Retry-After` (`omitRetryAfter`), seen through raw `$batch` answers.
//! (Moved here from crates/chaos/tests: they test the emulator.)

use graph_emulator::knobs::{Knobs, Throttle};
use graph_emulator::scenarios::{CI_CLIENT_ID, CI_CLIENT_SECRET};
use graph_emulator::{EmulatorConfig, RunningEmulator, start};
use serde_json::{Value, json};

async fn token(emu: &RunningEmulator) -> String {
    let body: Value = reqwest::Client::new()
        .post(format!(
            "{}/{}/oauth2/v2.0/token",
            emu.base_url(),
            emu.tenant_id()
        ))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", CI_CLIENT_ID),
            ("client_secret", CI_CLIENT_SECRET),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["access_token"].as_str().unwrap().to_string()
}

/// Sends one raw `$batch`; the answers sorted by id.
async fn raw_batch(emu: &RunningEmulator, token: &str, inner: Vec<Value>) -> Vec<Value> {
    let resp: Value = reqwest::Client::new()
        .post(format!("{}/v1.0/$batch", emu.base_url()))
        .bearer_auth(token)
        .json(&json!({"requests": inner}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut out = resp["responses"].as_array().unwrap().clone();
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

#[tokio::test]
async fn batch_fault_rate_fails_single_requests_inside_a_batch() {
    let mut cfg = EmulatorConfig::scenario("p1");
    cfg.seed = 3;
    let emu = start(cfg).unwrap();
    let token = token(&emu).await;
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
    let answers = raw_batch(&emu, &token, inner).await;
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
    let r = reqwest::Client::new()
        .get(format!("{}/v1.0/users/alice@contoso.com", emu.base_url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn omit_retry_after_drops_the_header_from_throttling_answers() {
    let emu = start(EmulatorConfig::scenario("p1")).unwrap();
    let token = token(&emu).await;
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
        let answers = raw_batch(&emu, &token, get(6)).await;
        let throttled: Vec<_> = answers.iter().filter(|a| a["status"] == 429).collect();
        assert_eq!(throttled.len(), 3, "{answers:?}");
        for a in throttled {
            assert_eq!(header(a, "Retry-After").is_none(), omit, "omit={omit}: {a}");
        }
    }
}

#[tokio::test]
async fn failing_writes_fail_writes_to_a_template_unprocessed_and_leave_reads_alone() {
    let emu = start(EmulatorConfig::scenario("p1")).unwrap();
    let token = token(&emu).await;
    emu.set_knobs(Knobs {
        failing_writes: vec!["/users/{id}/authentication/requirements".into()],
        ..Knobs::default()
    });
    let url = format!(
        "{}/beta/users/carol@contoso.com/authentication/requirements",
        emu.base_url()
    );
    let http = reqwest::Client::new();
    let r = http
        .patch(&url)
        .bearer_auth(&token)
        .json(&json!({"perUserMfaState": "disabled"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    let read: Value = http
        .get(&url)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(read["perUserMfaState"], "enforced", "not processed");
    // Other writes go through.
    let r = raw_batch(
        &emu,
        &token,
        vec![json!({"id": "1", "method": "POST", "url": "/groups", "headers": {"Content-Type": "application/json"},
            "body": {"displayName": "g", "mailNickname": "g", "securityEnabled": true, "mailEnabled": false}})],
    )
    .await;
    assert_eq!(r[0]["status"], 201, "{r:?}");
    emu.set_knobs(Knobs::default());
    let r = http
        .patch(&url)
        .bearer_auth(&token)
        .json(&json!({"perUserMfaState": "disabled"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
}
