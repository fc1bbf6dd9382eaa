//! The batching loader against `graph-emulator`: reads issued together go out in one wave, reads
//! that depend on answers in the next, a collection's pages in the waves after, and a wave is one
//! `$batch` in the emulator's request log.

use std::collections::BTreeMap;
use std::time::Duration;

use entractl_graph::resource::{PAGE_SIZE, user};
use entractl_graph::*;
use graph_emulator::scenarios::{CI_CLIENT_ID, CI_CLIENT_SECRET, P1_TENANT_ID};
use graph_emulator::{EmulatorConfig, RunningEmulator};
use serde_json::Value;

fn client(emu: &RunningEmulator) -> GraphClient {
    client_with(emu, |_| {})
}

fn client_with(emu: &RunningEmulator, tune: impl FnOnce(&mut GraphConfig)) -> GraphClient {
    let mut cfg = GraphConfig::for_cloud(Cloud::Public, P1_TENANT_ID)
        .with_graph_url(&emu.base_url())
        .unwrap()
        .with_authority_url(&emu.base_url())
        .unwrap();
    cfg.backoff_base = Duration::from_millis(20);
    cfg.conditional_access_interval = Duration::from_millis(1);
    tune(&mut cfg);
    let env: BTreeMap<String, String> = [
        ("AZURE_TENANT_ID", P1_TENANT_ID),
        ("AZURE_CLIENT_ID", CI_CLIENT_ID),
        ("AZURE_CLIENT_SECRET", CI_CLIENT_SECRET),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let creds = credential_from_env(&env, None, &cfg, &AuthOptions::default()).unwrap();
    GraphClient::new(cfg, creds).unwrap()
}

fn batches(emu: &RunningEmulator) -> usize {
    emu.request_log()
        .iter()
        .filter(|e| e.path.ends_with("/$batch"))
        .count()
}

#[tokio::test]
async fn independent_reads_share_a_wave_and_dependent_reads_take_the_next() {
    let emu = graph_emulator::start(EmulatorConfig::scenario("p1")).unwrap();
    let c = client(&emu);
    c.token().await.unwrap();
    let l = Loader::new(&c);
    let l = &l;
    let (alice, bob, again) = l
        .run(async {
            let (alice, bob) = tokio::join!(
                l.get(user::get("alice@contoso.com", "alice")),
                l.get(user::get("bob@contoso.com", "bob")),
            );
            let alice = alice.unwrap();
            let id = alice["id"].as_str().unwrap().to_string();
            let again = l.get(user::get(&id, "alice by id")).await.unwrap();
            (alice, bob.unwrap(), again)
        })
        .await
        .unwrap();
    assert_eq!(bob["userPrincipalName"], "bob@contoso.com");
    assert_eq!(again["id"], alice["id"]);
    assert_eq!(
        l.stats(),
        LoadStats {
            waves: 2,
            requests: 3
        }
    );
    assert_eq!(batches(&emu), 1, "the first wave is one $batch");
    emu.shutdown();
}

#[tokio::test]
async fn a_collection_is_read_whole_with_its_pages_in_the_following_waves() {
    let emu = graph_emulator::start(EmulatorConfig::scenario("p1")).unwrap();
    let c = client(&emu);
    let all = c
        .list_all(GraphRequest::get("/users").top(PAGE_SIZE))
        .await
        .unwrap();
    assert!(all.len() >= 4, "the scenario has users");
    let l = Loader::new(&c);
    let l = &l;
    let (paged, one) = l
        .run(async {
            tokio::join!(
                l.list(GraphRequest::get("/users").top(2)),
                l.get(user::get("alice@contoso.com", "alice")),
            )
        })
        .await
        .unwrap();
    let ids = |v: &[Value]| v.iter().map(|u| u["id"].clone()).collect::<Vec<_>>();
    assert_eq!(ids(&paged.unwrap()), ids(&all));
    assert!(one.is_ok());
    assert_eq!(l.stats().waves, all.len().div_ceil(2));
    emu.shutdown();
}

#[tokio::test]
async fn the_same_read_asked_twice_is_sent_once() {
    let emu = graph_emulator::start(EmulatorConfig::scenario("p1")).unwrap();
    let c = client(&emu);
    let l = Loader::new(&c);
    let l = &l;
    let (a, b, c2) = l
        .run(async {
            let (a, b) = tokio::join!(
                l.get(user::get("alice@contoso.com", "alice")),
                l.get(user::get("alice@contoso.com", "alice again")),
            );
            let c2 = l.get(user::get("alice@contoso.com", "later")).await;
            (a.unwrap(), b.unwrap(), c2.unwrap())
        })
        .await
        .unwrap();
    assert_eq!(a, b);
    assert_eq!(a, c2);
    assert_eq!(
        l.stats(),
        LoadStats {
            waves: 1,
            requests: 1
        }
    );
    emu.shutdown();
}

#[tokio::test]
async fn a_failed_read_fails_only_that_read() {
    let emu = graph_emulator::start(EmulatorConfig::scenario("p1")).unwrap();
    let c = client(&emu);
    let l = Loader::new(&c);
    let l = &l;
    let (missing, found) = l
        .run(async {
            tokio::join!(
                l.get(user::get("nobody@contoso.com", "nobody")),
                l.get(user::get("alice@contoso.com", "alice")),
            )
        })
        .await
        .unwrap();
    assert!(missing.unwrap_err().is_not_found());
    assert!(found.is_ok());
    emu.shutdown();
}

#[tokio::test]
async fn awaiting_anything_but_a_read_is_reported_not_hung() {
    let emu = graph_emulator::start(EmulatorConfig::scenario("p1")).unwrap();
    let c = client(&emu);
    let l = Loader::new(&c);
    let out = l.run(std::future::pending::<()>()).await;
    assert!(out.is_err());
    assert_eq!(l.stats().waves, 0);
    emu.shutdown();
}

/// At most `max_in_flight` `$batch`es are out at a time (the rest wait as plain reads), and a
/// collection's next page goes out before reads queued earlier: with one in flight, the pages of
/// a collection ride along with the other reads instead of waiting until they are all sent.
#[tokio::test]
async fn next_pages_go_first_and_at_most_max_in_flight_batches_are_out() {
    let emu = graph_emulator::start(EmulatorConfig::scenario("p1")).unwrap();
    let pages = client(&emu)
        .list_all(GraphRequest::get("/users").top(PAGE_SIZE))
        .await
        .unwrap()
        .len();
    assert!(pages >= 4, "the scenario has users");
    let c = client_with(&emu, |cfg| cfg.max_in_flight = 1);
    c.token().await.unwrap();
    emu.clear_log();
    let l = Loader::new(&c);
    let l = &l;
    let reads = 60;
    let (listed, missing) = l
        .run(async {
            // Queued before the collection: a first-in, first-out loader would send them first.
            let gets: Vec<_> = (0..reads)
                .map(|i| l.get(user::get(&format!("nobody{i}@contoso.com"), "nobody")))
                .collect();
            let listed = l.list(GraphRequest::get("/users").top(1)).await;
            let mut missing = Vec::new();
            for g in gets {
                missing.push(g.await);
            }
            (listed, missing)
        })
        .await
        .unwrap();
    assert_eq!(listed.unwrap().len(), pages);
    assert!(missing.iter().all(|r| r.is_err()));
    // One page per round trip, each with up to 19 of the reads beside it; once per page,
    // whatever the number of reads, instead of after them (FIFO would make it
    // ceil((reads + 1) / 20) + pages - 1 round trips).
    let round_trips = emu
        .request_log()
        .iter()
        .filter(|e| e.batch_id.is_none())
        .count();
    assert_eq!(round_trips, pages.max((reads + pages).div_ceil(20)));
    emu.shutdown();
}

/// The loader keeps answers without the `@odata.*` annotations nothing reads: a read answers
/// as the same read sent directly, less `@odata.context`; a member's `@odata.type` and paging
/// by `@odata.nextLink` are kept.
#[tokio::test]
async fn annotations_nothing_reads_are_dropped_and_paging_and_member_kinds_kept() {
    let emu = graph_emulator::start(EmulatorConfig::scenario("p1")).unwrap();
    let c = client(&emu);
    let direct = c
        .send(user::get("alice@contoso.com", "alice"))
        .await
        .unwrap()
        .body
        .unwrap();
    assert!(
        direct.get("@odata.context").is_some(),
        "the emulator sends it"
    );
    let group = "6d2f9a3b-4c8e-4b0f-9a2d-1e3c7b5f0a48";
    let members = || GraphRequest::get(format!("/groups/{group}/members")).top(1);
    let listed_directly = c.list_all(members()).await.unwrap();
    assert_eq!(listed_directly.len(), 4, "Portal Users has 4 members");
    let l = Loader::new(&c);
    let l = &l;
    let (alice, listed) = l
        .run(async {
            tokio::join!(
                l.get(user::get("alice@contoso.com", "alice")),
                l.list(members())
            )
        })
        .await
        .unwrap();
    let mut expected = direct;
    expected.as_object_mut().unwrap().remove("@odata.context");
    assert_eq!(alice.unwrap(), expected);
    let listed = listed.unwrap();
    assert_eq!(listed, listed_directly);
    assert!(
        listed
            .iter()
            .all(|m| m["@odata.type"] == "#microsoft.graph.user")
    );
    assert_eq!(l.stats().waves, 4, "one page per wave");
    emu.shutdown();
}
