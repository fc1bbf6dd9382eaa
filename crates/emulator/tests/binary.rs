//! The `graph-emulator` binary: base URL on the first line of stdout, serves until stopped; clear
//! errors for bad arguments.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::Value;

#[tokio::test]
async fn prints_the_base_url_first_and_serves() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_graph-emulator"))
        .args([
            "--scenario",
            "empty",
            "--listen",
            "127.0.0.1:0",
            "--seed",
            "7",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line.trim().to_string();
    let health: Result<Value, String> = async {
        reqwest::get(format!("{base}/_emulator/health"))
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())
    }
    .await;
    let _ = child.kill();
    let _ = child.wait();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let health = health.unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(
        health["tenants"][0],
        graph_emulator::scenarios::EMPTY_TENANT_ID
    );
}

#[test]
fn unknown_scenario_and_bad_flags_fail_with_a_message() {
    let out = Command::new(env!("CARGO_BIN_EXE_graph-emulator"))
        .args(["--scenario", "nope"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown scenario `nope`")
            && err.contains("p1, p1-legacy, free, free-lapsed, large, empty"),
        "{err}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_graph-emulator"))
        .args(["--scenario", "empty", "--throttle", "fast"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("CAPACITY/REFILL_PER_SECOND"));
    let out = Command::new(env!("CARGO_BIN_EXE_graph-emulator"))
        .args(["--fixture", "/nonexistent/tenant.yaml"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read fixture"));
}
