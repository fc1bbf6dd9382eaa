//! The GitHub Action (`action.yml`) run locally, step by step, in a fake GitHub Actions job: an
//! event file, the runner's `GITHUB_*`/`RUNNER_*` variables, github-stub as GitHub (REST API,
//! release downloads, the runner's OIDC token service) and graph-emulator as the tenant. The
//! action installs the released binary (here: the one under test, packed as the release workflow
//! packs it), signs in with the job's OIDC token, and keeps one comment / one drift issue.
//! Outcomes are read from the stub's and the emulator's state.

use std::path::PathBuf;

use github_stub::{RunningStub, StubConfig};
use graph_emulator::scenarios::{CI_CLIENT_ID, CI_FEDERATED_SUBJECT, P1_TENANT_ID};
use serde_json::{Value, json};

use crate::action_runner::{Job, Run, release_asset};
use crate::util::{Sandbox, root, scratch};

const SPEC: &str = "specs/kandji-passport-mac-login.yaml";
const REPO: &str = "contoso/entra-config";
/// Where the action comes from (`uses: entractl/entractl@v…`).
const ACTION_REPO: &str = "entractl/entractl";
const GH_TOKEN: &str = "ghs_actionCANARY0123456789abcdef";
const REQUEST_TOKEN: &str = "runner-request-CANARY-4711";
const VERSION: &str = env!("CARGO_PKG_VERSION");

struct World {
    emu: Sandbox,
    stub: RunningStub,
    dir: PathBuf,
}

fn asset_path(name: &str) -> String {
    format!("/{ACTION_REPO}/releases/download/v{VERSION}/{name}")
}

fn federated_token(emu: &Sandbox) -> String {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let v: Value = rt.block_on(async {
        reqwest::Client::new()
            .post(format!("{}/_emulator/federated-token", emu.base_url()))
            .json(&json!({ "subject": CI_FEDERATED_SUBJECT }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    v["token"].as_str().expect("a federated token").to_string()
}

fn world(name: &str) -> World {
    // On p1-legacy on purpose: the seed's remediation (exclude Passport from the MFA policies) is
    // refused by p1's Microsoft-managed policies; entractl's handling of enforced tenants is issue 17.
    let emu = Sandbox::scenario("p1-legacy", P1_TENANT_ID);
    let mut cfg = StubConfig::new(GH_TOKEN, REPO);
    cfg.id_token = Some((REQUEST_TOKEN.into(), federated_token(&emu)));
    let stub = github_stub::start(cfg).expect("stub");
    let dir = scratch(name);
    let asset = format!("entractl-v{VERSION}-x86_64-unknown-linux-musl");
    let (tarball, sum) = release_asset(&dir, &asset, env!("CARGO_BIN_EXE_entractl").as_ref());
    stub.add_file(&asset_path(&format!("{asset}.tar.gz")), tarball);
    stub.add_file(&asset_path(&format!("{asset}.tar.gz.sha256")), sum);
    stub.set_latest_release(ACTION_REPO, &format!("v{VERSION}"));
    World { emu, stub, dir }
}

impl World {
    /// A job of workflow run `run_id` for `event` (payload `payload`).
    fn job(&self, event: &str, payload: Value, run_id: u32) -> Job {
        let d = &self.dir;
        let event_path = d.join(format!("event-{run_id}.json"));
        std::fs::write(&event_path, payload.to_string()).unwrap();
        // The runner checks the action out at _actions/OWNER/REPO/REF.
        let action_path = d.join(format!("_actions/{ACTION_REPO}/v{VERSION}"));
        let temp = d.join(format!("temp-{run_id}"));
        for dir in [&action_path, &temp] {
            std::fs::create_dir_all(dir).unwrap();
        }
        let base = self.emu.base_url();
        let s = |p: &PathBuf| p.display().to_string();
        let env = [
            ("PATH", std::env::var("PATH").unwrap_or_default()),
            ("HOME", s(d)),
            ("NO_COLOR", "1".into()),
            ("GITHUB_ACTIONS", "true".into()),
            ("GITHUB_REPOSITORY", REPO.into()),
            ("GITHUB_EVENT_NAME", event.into()),
            ("GITHUB_EVENT_PATH", s(&event_path)),
            ("GITHUB_RUN_ID", run_id.to_string()),
            ("GITHUB_API_URL", self.stub.base_url()),
            ("GITHUB_SERVER_URL", self.stub.base_url()),
            ("GITHUB_WORKSPACE", s(&root())),
            ("GITHUB_ACTION_PATH", s(&action_path)),
            (
                "GITHUB_STEP_SUMMARY",
                s(&d.join(format!("summary-{run_id}.md"))),
            ),
            ("RUNNER_OS", "Linux".into()),
            ("RUNNER_ARCH", "X64".into()),
            ("RUNNER_TEMP", s(&temp)),
            ("RUNNER_TOOL_CACHE", s(&d.join("tool-cache"))),
            ("ACTIONS_ID_TOKEN_REQUEST_URL", self.stub.id_token_url()),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", REQUEST_TOKEN.into()),
            // The workflow's `env:` (repository variables), and the emulator as the cloud.
            ("AZURE_TENANT_ID", P1_TENANT_ID.into()),
            ("AZURE_CLIENT_ID", CI_CLIENT_ID.into()),
            ("ENTRACTL_GRAPH_URL", base.clone()),
            ("AZURE_AUTHORITY_HOST", base),
        ];
        let github = [
            ("token", GH_TOKEN.to_string()),
            ("repository", REPO.into()),
            ("event_name", event.into()),
            // Empty in composite actions (actions/runner#2473): the action reads the path.
            ("action_repository", String::new()),
            ("action_ref", String::new()),
        ];
        let runner = [
            ("temp", s(&temp)),
            ("os", "Linux".into()),
            ("arch", "X64".into()),
            ("tool_cache", s(&d.join("tool-cache"))),
        ];
        let map = |pairs: &[(&str, String)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect()
        };
        Job {
            env: map(&env),
            github: map(&github),
            runner: map(&runner),
            cwd: root(),
            scratch: d.join(format!("steps-{run_id}")),
        }
    }

    fn summary(&self, run_id: u32) -> String {
        std::fs::read_to_string(self.dir.join(format!("summary-{run_id}.md"))).unwrap_or_default()
    }

    fn downloads(&self) -> usize {
        self.stub
            .calls()
            .iter()
            .filter(|c| c.path.ends_with(".tar.gz"))
            .count()
    }

    fn writes(&self) -> Vec<String> {
        self.stub
            .writes()
            .iter()
            .map(|c| format!("{} {}", c.method, c.path))
            .collect()
    }
}

/// No secret shows up in the job's log: GitHub token, runner request token, ID or access
/// tokens (JWTs start with `eyJ`).
fn assert_no_secrets(run: &Run) {
    for secret in [GH_TOKEN, REQUEST_TOKEN, "eyJ"] {
        assert!(!run.log.contains(secret), "`{secret}` leaked:\n{}", run.log);
    }
}

fn assert_ok(run: &Run) {
    assert!(!run.failed, "the action failed:\n{}", run.log);
    assert_no_secrets(run);
}

/// The plan artifact holds the saved plan (which `entractl apply` accepts); the cache is keyed
/// by version and target.
fn assert_plan_artifact_and_cache(run: &Run) {
    let (uses, with) = run.uses.last().expect("upload step");
    assert!(uses.starts_with("actions/upload-artifact@"), "{uses}");
    assert_eq!(with["name"], "entractl-plan");
    let saved: Value = serde_json::from_str(
        &std::fs::read_to_string(PathBuf::from(&with["path"]).join("plan.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(saved["kind"], "entractl-saved-plan");
    assert_eq!(saved["spec_path"], SPEC);
    // The cache is keyed by version and target.
    let (cache, with) = &run.uses[0];
    assert!(cache.starts_with("actions/cache@"), "{cache}");
    assert_eq!(
        with["key"],
        format!("entractl-{VERSION}-x86_64-unknown-linux-musl")
    );
}

fn pr_event() -> Value {
    json!({ "pull_request": { "number": 7, "head": { "ref": "assign-mac-users" } } })
}

#[test]
fn pull_requests_get_one_comment_edited_in_place_the_summary_and_the_plan_artifact() {
    let w = world("github_action_pr");
    w.stub.add_pull_request(7, "Assign Mac Users");
    w.stub
        .add_comment(7, "Looks good, but check the MFA part.", "alice");

    let first = w
        .job("pull_request", pr_event(), 101)
        .run(&[("spec", SPEC)]);
    assert_ok(&first);
    assert_eq!(first.output("run", "exitcode"), Some("2"));
    assert_eq!(first.output("run", "has-changes"), Some("true"));
    assert_eq!(first.output("run", "changes"), Some("13"));
    assert_eq!(first.output("run", "security-downgrades"), Some("5"));
    assert_eq!(first.output("resolve", "version"), Some(VERSION));
    assert_eq!(first.output("resolve", "repository"), Some(ACTION_REPO));

    assert_plan_artifact_and_cache(&first);
    assert!(
        w.summary(101)
            .contains("### entractl plan: `contoso.onmicrosoft.com`")
    );

    // The next push: the same comment, edited in place; the installed binary is reused.
    let second = w
        .job("pull_request", pr_event(), 102)
        .run(&[("spec", SPEC)]);
    assert_ok(&second);
    assert_eq!(w.downloads(), 1, "installed once, then reused");

    let ours: Vec<_> = w
        .stub
        .comments()
        .into_iter()
        .filter(|c| {
            c.body
                .contains("<!-- entractl:plan-comment specs/kandji-passport-mac-login.yaml -->")
        })
        .collect();
    assert_eq!(ours.len(), 1, "one plan comment");
    let comment = &ours[0];
    assert_eq!(comment.issue, 7);
    assert!(
        comment.body.contains("/actions/runs/102)"),
        "{}",
        comment.body
    );
    assert!(comment.body.contains("artifact `entractl-plan`"));
    assert!(
        comment
            .body
            .contains("| ➕ | application \"Kandji Passport\" | create |")
    );
    assert_eq!(
        w.writes(),
        [
            format!("POST /repos/{REPO}/issues/7/comments"),
            format!("PATCH /repos/{REPO}/issues/comments/{}", comment.id),
        ]
    );
    assert_eq!(
        w.stub.comments().len(),
        2,
        "the reviewer's comment is untouched"
    );
}

fn schedule(w: &World, run_id: u32) -> Run {
    let run = w
        .job("schedule", json!({ "schedule": "17 6 * * *" }), run_id)
        .run(&[("spec", SPEC), ("version", "latest")]);
    assert_ok(&run);
    run
}

fn app_exists(w: &World) -> bool {
    w.emu
        .with_tenant_id(P1_TENANT_ID, |t| {
            t.applications
                .iter()
                .any(|a| a.str("displayName") == Some("Kandji Passport"))
        })
        .expect("the P1 tenant")
}

#[test]
fn schedules_keep_one_drift_issue_and_the_gated_apply_closes_it() {
    let w = world("github_action_drift");
    let first = schedule(&w, 201);
    assert_eq!(first.output("run", "exitcode"), Some("2"));
    let second = schedule(&w, 202);
    assert_eq!(second.output("run", "exitcode"), Some("2"));

    // Apply after merge: without the reviewed opt-in the security downgrades are refused.
    let push = json!({ "ref": "refs/heads/main" });
    let refused = w
        .job("push", push.clone(), 203)
        .run(&[("spec", SPEC), ("command", "apply")]);
    assert!(refused.failed, "{}", refused.log);
    assert!(
        refused.log.contains("--allow-security-downgrade"),
        "{}",
        refused.log
    );
    assert!(!app_exists(&w), "nothing was written");
    let applied = w.job("push", push, 204).run(&[
        ("spec", SPEC),
        ("command", "apply"),
        ("allow-security-downgrade", "true"),
    ]);
    assert_ok(&applied);
    assert!(app_exists(&w));

    let third = schedule(&w, 205);
    assert_eq!(third.output("run", "exitcode"), Some("0"));
    assert_eq!(third.output("run", "has-changes"), Some("false"));

    let issues = w.stub.issues();
    assert_eq!(issues.len(), 1, "one drift issue: {issues:?}");
    let issue = &issues[0];
    assert_eq!(issue.title, format!("Entra drift: {SPEC}"));
    assert!(
        issue
            .body
            .contains("<!-- entractl:drift-issue specs/kandji-passport-mac-login.yaml -->")
    );
    assert!(
        issue.body.contains("/actions/runs/202)"),
        "updated by the second run"
    );
    assert_eq!(issue.state, "closed");
    assert_eq!(issue.state_reason.as_deref(), Some("completed"));
    let n = issue.number;
    assert_eq!(
        w.writes(),
        [
            format!("POST /repos/{REPO}/issues"),
            format!("PATCH /repos/{REPO}/issues/{n}"),
            format!("POST /repos/{REPO}/issues/{n}/comments"),
            format!("PATCH /repos/{REPO}/issues/{n}"),
        ]
    );
    let closing = &w.stub.comments()[0];
    assert!(
        closing
            .body
            .contains("matches `specs/kandji-passport-mac-login.yaml` again")
    );
    assert!(closing.body.contains("/actions/runs/205)"));
    // `version: latest` asked the action's repository for its latest release.
    assert!(
        w.stub
            .calls()
            .iter()
            .any(|c| c.path == format!("/repos/{ACTION_REPO}/releases/latest"))
    );
}

#[test]
fn a_plan_that_fails_fails_the_step_and_writes_nothing_to_github() {
    let w = world("github_action_failure");
    w.stub.add_pull_request(7, "typo");
    let run = w
        .job("pull_request", pr_event(), 301)
        .run(&[("spec", "specs/does-not-exist.yaml")]);
    assert!(run.failed);
    assert_no_secrets(&run);
    assert_eq!(run.output("run", "exitcode"), Some("1"));
    assert!(w.writes().is_empty(), "{:?}", w.writes());
    // The artifact step still runs (`if: always()`), with nothing to upload.
    assert!(
        run.uses
            .iter()
            .any(|(u, _)| u.starts_with("actions/upload-artifact@"))
    );
}

#[test]
fn install_only_puts_the_release_on_path_and_plan_needs_a_spec() {
    let w = world("github_action_install");
    let run = w
        .job("schedule", json!({}), 401)
        .run(&[("command", "install")]);
    assert_ok(&run);
    assert!(
        run.log.contains(&format!("entractl {VERSION}")),
        "{}",
        run.log
    );
    assert_eq!(w.downloads(), 1);
    assert!(w.writes().is_empty());

    let run = w.job("schedule", json!({}), 402).run(&[]);
    assert!(run.failed);
    assert!(
        run.log
            .contains("the `spec` input is required with `command: plan`"),
        "{}",
        run.log
    );
}
