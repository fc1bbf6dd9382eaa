//! GraphConfig.batching = false (entractl's `--naive`): send_all sends every request on its own,
//! dependencies first, and answers like the batched path.

use std::collections::BTreeMap;

use entractl_graph::{
    AuthOptions, Cloud, GraphClient, GraphConfig, GraphRequest, credential_from_env,
};
use graph_emulator::scenarios::{CI_CLIENT_ID, CI_CLIENT_SECRET, P1_TENANT_ID};
use graph_emulator::{EmulatorConfig, start};
use serde_json::json;

fn client(base: &str, batching: bool) -> GraphClient {
    let mut cfg = GraphConfig::for_cloud(Cloud::Public, P1_TENANT_ID)
        .with_graph_url(base)
        .unwrap()
        .with_authority_url(base)
        .unwrap();
    cfg.batching = batching;
    cfg.max_in_flight = if batching { 4 } else { 1 };
    let env: BTreeMap<String, String> = [
        ("AZURE_CLIENT_ID", CI_CLIENT_ID),
        ("AZURE_CLIENT_SECRET", CI_CLIENT_SECRET),
        ("AZURE_TENANT_ID", P1_TENANT_ID),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let creds = credential_from_env(&env, None, &cfg, &AuthOptions::default()).unwrap();
    GraphClient::new(cfg, creds).unwrap()
}

fn requests() -> Vec<GraphRequest> {
    let mut reqs: Vec<GraphRequest> = ["alice", "bob", "carol", "nobody"]
        .iter()
        .map(|u| GraphRequest::get(format!("/users/{u}@contoso.com")))
        .collect();
    // #4 creates an application, #5 depends on it, #6 depends on the failed lookup #3.
    reqs.push(GraphRequest::post("/applications").json(json!({"displayName": "Bench Naive"})));
    reqs.push(GraphRequest::get("/applications?$top=1").depends_on(4));
    reqs.push(GraphRequest::get("/users/alice@contoso.com").depends_on(3));
    reqs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn naive_send_all_sends_each_request_alone_in_dependency_order() {
    let emu = start(EmulatorConfig::scenario("p1")).unwrap();
    let c = client(&emu.base_url(), false);
    let results = c.send_all(requests()).await;
    assert_eq!(results.len(), 7);
    let upn = |i: usize| results[i].as_ref().unwrap().json()["userPrincipalName"].clone();
    assert_eq!(upn(0), json!("alice@contoso.com"));
    assert_eq!(upn(2), json!("carol@contoso.com"));
    assert!(results[3].as_ref().unwrap_err().is_not_found());
    assert_eq!(results[4].as_ref().unwrap().status, 201);
    assert!(results[5].is_ok());
    let dep = results[6].as_ref().unwrap_err();
    assert_eq!(dep.status, Some(424), "{dep}");

    let log = emu.request_log();
    assert!(
        log.iter()
            .all(|e| e.batch_id.is_none() && !e.template.ends_with("$batch"))
    );
    let graph: Vec<_> = log
        .iter()
        .filter(|e| e.template.starts_with("/v1.0"))
        .collect();
    // Six sent (the one whose dependency failed is not), the dependent GET after the POST.
    assert_eq!(graph.len(), 6, "{graph:#?}");
    let post = graph.iter().position(|e| e.method == "POST").unwrap();
    let after = graph
        .iter()
        .position(|e| e.path.contains("$top=1"))
        .unwrap();
    assert!(post < after);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batched_send_all_answers_the_same_in_one_batch() {
    let emu = start(EmulatorConfig::scenario("p1")).unwrap();
    let c = client(&emu.base_url(), true);
    let results = c.send_all(requests()).await;
    assert_eq!(
        results[1].as_ref().unwrap().json()["userPrincipalName"],
        json!("bob@contoso.com")
    );
    assert!(results[3].as_ref().unwrap_err().is_not_found());
    assert_eq!(results[6].as_ref().unwrap_err().status, Some(424));
    let log = emu.request_log();
    let envelopes = log
        .iter()
        .filter(|e| e.batch_id.is_none() && e.template.ends_with("$batch"))
        .count();
    assert_eq!(envelopes, 1);
}
