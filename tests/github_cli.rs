//! `entractl github …` as a user sees it: what it prints, how it fails, and that the token never
//! shows (not even at `-vvv`). GitHub is github-stub; the saved plan comes from graph-emulator.

use std::path::{Path, PathBuf};

use github_stub::{RunningStub, StubConfig};
use graph_emulator::scenarios::P1_TENANT_ID;

use crate::util::{Sandbox, TestCommand, TestOutput, scratch};

const TOKEN: &str = "ghs_cliCANARY0123456789abcdefgh";
const REPO: &str = "contoso/entra-config";

/// A saved plan of the seed spec against a fresh P1 tenant (11 changes; p1-legacy, as the other
/// tests of the seed spec: issue 17).
fn saved_plan(dir: &Path) -> PathBuf {
    let emu = Sandbox::scenario("p1-legacy", P1_TENANT_ID);
    let plan = dir.join("plan.json");
    let out = emu.entractl(&[
        "plan",
        "specs/kandji-passport-mac-login.yaml",
        "--out",
        &plan.display().to_string(),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    plan
}

fn stub() -> RunningStub {
    let stub = github_stub::start(StubConfig::new(TOKEN, REPO)).expect("stub");
    stub.add_pull_request(7, "Assign Mac Users");
    stub
}

/// `entractl github ARGS` in a job of `REPO`, `GITHUB_API_URL` = `api`, token `token`.
fn github(api: &str, token: Option<&str>, dir: &Path, args: &[&str]) -> TestOutput {
    let event = dir.join("event.json");
    std::fs::write(&event, r#"{"pull_request": {"number": 7}}"#).unwrap();
    let mut cmd = TestCommand::new(&["github"])
        .args(args)
        .env("GITHUB_REPOSITORY", REPO)
        .env("GITHUB_API_URL", api)
        .env("GITHUB_SERVER_URL", api)
        .env("GITHUB_EVENT_NAME", "pull_request")
        .env("GITHUB_EVENT_PATH", &event)
        .env("GITHUB_OUTPUT", dir.join("output"))
        .env("GITHUB_STEP_SUMMARY", dir.join("summary.md"))
        .env_remove("GITHUB_RUN_ID")
        .env_remove("GITHUB_TOKEN")
        .forbid(TOKEN);
    if let Some(t) = token {
        cmd = cmd.env("GITHUB_TOKEN", t).forbid(t);
    }
    cmd.run()
}

/// Ports and scratch paths out of a text, for snapshots.
fn stable(text: &str, dir: &Path) -> String {
    let mut out = text.replace(&dir.display().to_string(), "[SCRATCH]");
    while let Some(at) = out.find("127.0.0.1:") {
        let port_len = out[at + 10..]
            .chars()
            .take_while(char::is_ascii_digit)
            .count();
        out.replace_range(at..at + 10 + port_len, "[STUB]");
    }
    out
}

#[test]
fn comment_outputs_and_summary_print_what_they_did() {
    let dir = scratch("github_cli_ok");
    let plan = saved_plan(&dir);
    let plan = plan.display().to_string();
    let stub = stub();
    let api = stub.base_url();
    let mut seen = String::new();
    for args in [
        vec!["comment", &plan],
        vec!["comment", &plan],
        vec!["outputs", &plan],
        vec!["summary", &plan],
    ] {
        let out = github(&api, Some(TOKEN), &dir, &args);
        assert_eq!(out.code, 0, "{}", out.stderr);
        seen.push_str(&format!("$ entractl github {}\n{}", args[0], out.stdout));
    }
    seen.push_str("$ cat $GITHUB_OUTPUT\n");
    seen.push_str(&std::fs::read_to_string(dir.join("output")).unwrap());
    insta::assert_snapshot!(stable(&seen, &dir));
    let summary = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(summary.starts_with("### entractl plan: `contoso.onmicrosoft.com` (public)"));
    // One comment; the second run found it and left it (same plan, same body).
    assert_eq!(stub.comments().len(), 1);
    assert_eq!(stub.writes().len(), 1);
}

#[test]
fn failures_say_what_to_do_and_never_show_the_token() {
    let dir = scratch("github_cli_errors");
    let plan = saved_plan(&dir);
    let plan = plan.display().to_string();
    let stub = stub();
    let api = stub.base_url();
    let wrong = "ghs_wrongCANARY9876543210zyxw";
    let cases: [(&str, &str, Option<&str>, Vec<&str>); 4] = [
        (
            "a token GitHub refuses, at -vvv",
            &api,
            Some(wrong),
            vec!["-vvv"],
        ),
        ("no token", &api, None, vec![]),
        (
            "plain http to GitHub",
            "http://api.github.example.com",
            Some(TOKEN),
            vec![],
        ),
        (
            "a pull request the token cannot see",
            &api,
            Some(TOKEN),
            vec!["--pr", "9"],
        ),
    ];
    let mut seen = String::new();
    for (name, api_url, token, extra) in cases {
        let before = stub.calls().len();
        // Global options before the subcommand, its own after it.
        let (global, own): (Vec<&str>, Vec<&str>) = extra.iter().partition(|a| a.starts_with("-v"));
        let mut args = global;
        args.extend(["comment", plan.as_str()]);
        args.extend(own);
        let out = github(api_url, token, &dir, &args);
        assert_eq!(out.code, 1, "{name}: {}", out.stdout);
        // Trace output is long and timing-dependent: keep the error at its end.
        let at = out.stderr.find("GitHub answered").unwrap_or(0);
        seen.push_str(&format!("--- {name}\n{}", &out.stderr[at..]));
        if api_url.starts_with("http://api.github") {
            assert_eq!(stub.calls().len(), before, "refused before any request");
        }
    }
    insta::assert_snapshot!(stable(&seen, &dir));
    assert!(stub.comments().is_empty());
}
