//! A dead or wrong network fails fast and says which URL and why; long retry waits are shown
//! without a terminal; `--timeout` / `ENTRACTL_TIMEOUT` bound the whole run.

use std::time::{Duration, Instant};

use graph_emulator::scenarios::{CI_CLIENT_ID, CI_CLIENT_SECRET, P1_TENANT_ID};
use graph_emulator::{EmulatorConfig, Knobs, Throttle};

use crate::util::{Sandbox, TestCommand, TestOutput};

const SPEC: &str = "tests/fixtures/kandji-passport-core.yaml";

/// A loopback port nothing listens on.
fn dead_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `entractl plan SPEC` with these Graph and authority URLs, as the scenarios' automation client.
fn plan(graph: &str, authority: &str, extra: &[&str]) -> (TestOutput, Duration) {
    let started = Instant::now();
    let out = TestCommand::new(&[
        "plan",
        SPEC,
        "--graph-url",
        graph,
        "--authority-url",
        authority,
    ])
    .env("AZURE_TENANT_ID", P1_TENANT_ID)
    .env("AZURE_CLIENT_ID", CI_CLIENT_ID)
    .env("AZURE_CLIENT_SECRET", CI_CLIENT_SECRET)
    .forbid(CI_CLIENT_SECRET)
    .args(extra)
    .run();
    (out, started.elapsed())
}

/// Far below the two minutes a retried connection failure used to take; only proves "does not
/// hang", not a timing target.
const FAST: Duration = Duration::from_secs(30);

#[test]
fn a_refused_graph_connection_fails_at_once_with_the_url_and_the_cause() {
    let emu = Sandbox::scenario("p1", P1_TENANT_ID);
    let dead = format!("http://127.0.0.1:{}", dead_port());
    let (out, took) = plan(&dead, &emu.base_url(), &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(took < FAST, "took {took:?}");
    crate::assert_transcript!("graph_connection_refused", out);
    emu.shutdown();
}

#[test]
fn a_refused_token_endpoint_fails_at_once_with_the_url_and_the_cause() {
    let dead = format!("http://127.0.0.1:{}", dead_port());
    let (out, took) = plan(&dead, &dead, &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(took < FAST, "took {took:?}");
    crate::assert_transcript!("token_connection_refused", out);
}

/// A token endpoint that takes the connection and never answers: `--timeout` bounds the token
/// request too (it used to wait for the HTTP client's own timeout, past the budget).
#[test]
fn timeout_bounds_a_token_endpoint_that_never_answers() {
    // Bound and never accepted: the kernel completes the handshake, nothing ever answers.
    let hole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent = format!("http://127.0.0.1:{}", hole.local_addr().unwrap().port());
    let (out, took) = plan(&silent, &silent, &["--timeout", "2"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(took < FAST, "took {took:?}");
    crate::assert_transcript!("token_endpoint_silent_timeout", out);
    drop(hole);
}

#[test]
fn a_tls_failure_fails_at_once() {
    // graph-emulator speaks plain HTTP: a TLS handshake with it fails.
    let emu = Sandbox::scenario("p1", P1_TENANT_ID);
    let tls = emu.base_url().replace("http://", "https://");
    let (out, took) = plan(&tls, &emu.base_url(), &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(took < FAST, "took {took:?}");
    assert!(
        out.stderr
            .contains(&format!("cannot connect to {tls}/v1.0/")),
        "{}",
        out.stderr
    );
    emu.shutdown();
}

#[test]
fn long_throttling_waits_are_shown_without_a_terminal() {
    let mut cfg = EmulatorConfig::scenario("p1");
    // A bucket of 2 requests refilled at 0.4/s: Graph asks to wait about 2.5 s.
    cfg.knobs = Knobs {
        throttle: Some(Throttle {
            capacity: 2.0,
            refill_per_second: 0.4,
        }),
        ..Knobs::default()
    };
    let emu = Sandbox::start(cfg, P1_TENANT_ID);
    let out = emu.entractl(&["plan", SPEC]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let waits: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("throttled by Graph, retrying in"))
        .collect();
    assert!(!waits.is_empty(), "{}", out.stderr);
    emu.shutdown();
}

#[test]
fn timeout_bounds_the_whole_run_from_the_flag_or_the_environment() {
    let mut cfg = EmulatorConfig::scenario("p1");
    // The token comes within the budget (a second to spare); the first wave of Graph reads
    // cannot (due a second after it).
    cfg.knobs.latency_ms = 2_000;
    let emu = Sandbox::start(cfg, P1_TENANT_ID);
    let out = emu.entractl(&["plan", SPEC, "--timeout", "3"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    crate::assert_transcript!("timeout_flag", out);
    let out = emu
        .command_for(P1_TENANT_ID)
        .env("ENTRACTL_TIMEOUT", "3")
        .args(["plan", SPEC])
        .run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("the overall time budget of 3 s"),
        "{}",
        out.stderr
    );
    emu.shutdown();
}
