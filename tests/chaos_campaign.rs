//! The CI subset of `make chaos` (fixed seed, millisecond-scale delays), and two applies of the same
//! spec at the same time. Only outcomes are asserted, never times.
//!
//! It lives in entractl's test binary so that cargo hands it the entractl binary of this very
//! build (`CARGO_BIN_EXE_entractl`); a test never runs cargo itself.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use entractl_chaos::invariants;
use entractl_chaos::report;
use entractl_chaos::run::{Options, run_campaign};
use entractl_chaos::schedule::Limits;
use entractl_chaos::snapshot::Snapshot;
use graph_emulator::knobs::Knobs;
use graph_emulator::scenarios::{CI_CLIENT_ID, CI_CLIENT_SECRET};
use graph_emulator::{EmulatorConfig, start};

use crate::util::root;

fn entractl() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_entractl"))
}

#[test]
fn chaos_smoke_fixed_seed_has_no_violation() {
    let opts = Options {
        entractl: entractl(),
        root: root(),
        scratch: Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("chaos-smoke-{}", std::process::id())),
        runs: 12,
        seed: 7,
        time_budget: Duration::from_secs(3600),
        jobs: 4,
        limits: Limits::smoke(),
        process_timeout: Duration::from_secs(300),
        verify_timeout_secs: 60,
    };
    let _ = std::fs::remove_dir_all(&opts.scratch);
    let c = run_campaign(&opts, &|_| {}).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.runs.len(), 12);
    assert_eq!(c.skipped, 0);
    let v = c.violations();
    assert!(v.is_empty(), "invariant violations: {v:#?}");
    // The fixed seed exercises kills and real faults, on every spec.
    assert!(c.runs.iter().any(|r| r.killed), "no run was killed");
    assert!(c.runs.iter().any(|r| !r.killed));
    assert!(c.runs.iter().map(|r| r.faults.total()).sum::<u64>() > 0);
    for r in &c.runs {
        assert_eq!(
            r.final_plan_exit,
            Some(0),
            "run {} did not converge",
            r.index
        );
        assert!(!r.schedule.faults.is_empty());
    }
    // Scratch directories are per process: another `cargo test --workspace` in the same tree may
    // run this test at the same time.
    let _ = std::fs::remove_dir_all(&opts.scratch);
    let text = report::render(&c, "test");
    assert!(
        text.contains("| **invariant violations** | **0** |"),
        "{text}"
    );
    assert!(text.starts_with(report::BEGIN) && text.trim_end().ends_with(report::END));
}

#[test]
fn two_applies_of_the_same_spec_at_once_make_no_duplicates_and_both_converge() {
    let entractl = entractl();
    let root = root();
    let scratch = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("chaos-concurrent-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).unwrap();
    for (round, spec, delay) in [
        (0, "specs/kandji-passport-explicit.yaml", 0u64),
        (1, "specs/kandji-passport-explicit.yaml", 150),
        (2, "crates/chaos/specs/contoso-portal-p1.yaml", 80),
    ] {
        // p1-legacy on purpose: the kandji specs manage MFA, which p1's Microsoft-managed policies
        // refuse (issue 17 makes entractl handle enforced tenants).
        let mut cfg = EmulatorConfig::scenario("p1-legacy");
        cfg.seed = 11 + round;
        let emu = start(cfg).unwrap();
        emu.set_knobs(Knobs {
            replication_delay_ms: delay,
            ..Knobs::default()
        });
        let before = Snapshot::take(&emu);
        let base = emu.base_url();
        let apply = |n: usize| {
            let dir = scratch.join(format!("r{round}-{n}"));
            Command::new(&entractl)
                .current_dir(&root)
                .env_clear()
                .env("AZURE_CLIENT_ID", CI_CLIENT_ID)
                .env("AZURE_CLIENT_SECRET", CI_CLIENT_SECRET)
                .env("ENTRACTL_GRAPH_URL", &base)
                .env("AZURE_AUTHORITY_HOST", &base)
                .args([
                    "apply",
                    spec,
                    "--auto-approve",
                    "--allow-security-downgrade",
                ])
                .args(["--journal-dir", &dir.display().to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (a, b) = (apply(0), apply(1));
        let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
        let after = Snapshot::take(&emu);
        let dups = invariants::duplicates(&before, &after);
        assert!(dups.is_empty(), "round {round}: {dups:#?}");
        for (n, out) in [(0, &a), (1, &b)] {
            assert!(
                out.status.success(),
                "round {round}: apply {n} exited {:?}:\n{}\n{}",
                out.status.code(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                text.contains("converged"),
                "round {round}: apply {n}: {text}"
            );
        }
        // And the tenant is converged for a third reader.
        emu.settle_replication();
        let plan = Command::new(&entractl)
            .current_dir(&root)
            .env_clear()
            .env("AZURE_CLIENT_ID", CI_CLIENT_ID)
            .env("AZURE_CLIENT_SECRET", CI_CLIENT_SECRET)
            .env("ENTRACTL_GRAPH_URL", &base)
            .env("AZURE_AUTHORITY_HOST", &base)
            .args(["plan", spec, "--detailed-exitcode"])
            .output()
            .unwrap();
        assert_eq!(plan.status.code(), Some(0), "round {round}");
    }
}

#[test]
fn an_unmanaged_app_that_takes_the_key_during_apply_is_refused_not_adopted() {
    use entractl_graph::{AuthOptions, Cloud, GraphClient, GraphConfig, GraphRequest};
    let entractl = entractl();
    let mut cfg = EmulatorConfig::scenario("empty");
    cfg.seed = 5;
    let emu = start(cfg).unwrap();
    let base = emu.base_url();
    // Someone else creates an app with the spec's uniqueName; replication keeps it invisible to
    // the plan, so entractl's create conflicts and its key lookup finds the stranger's app.
    emu.set_knobs(Knobs {
        replication_delay_ms: 2_500,
        ..Knobs::default()
    });
    let rt = tokio::runtime::Runtime::new().unwrap();
    let foreign_app_id = rt.block_on(async {
        let gc = GraphConfig::for_cloud(Cloud::Public, graph_emulator::scenarios::EMPTY_TENANT_ID)
            .with_graph_url(&base)
            .unwrap()
            .with_authority_url(&base)
            .unwrap();
        let env = [
            ("AZURE_CLIENT_ID", CI_CLIENT_ID),
            ("AZURE_CLIENT_SECRET", CI_CLIENT_SECRET),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let creds =
            entractl_graph::credential_from_env(&env, None, &gc, &AuthOptions::default()).unwrap();
        let c = GraphClient::new(gc, creds).unwrap();
        let r = c
            .send(GraphRequest::post("/applications").json(serde_json::json!({
                "displayName": "Someone else's app", "uniqueName": "kandji-passport"
            })))
            .await
            .unwrap();
        r.json()["appId"].as_str().unwrap().to_string()
    });
    let out = Command::new(&entractl)
        .current_dir(root())
        .env_clear()
        .env("AZURE_CLIENT_ID", CI_CLIENT_ID)
        .env("AZURE_CLIENT_SECRET", CI_CLIENT_SECRET)
        .env("ENTRACTL_GRAPH_URL", &base)
        .env("AZURE_AUTHORITY_HOST", &base)
        .args([
            "apply",
            "crates/chaos/specs/empty-tenant.yaml",
            "--auto-approve",
        ])
        .args([
            "--journal-dir",
            &Path::new(env!("CARGO_TARGET_TMPDIR"))
                .join(format!("chaos-foreign-{}", std::process::id()))
                .display()
                .to_string(),
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("not managed by entractl"), "{stderr}");
    assert!(stderr.contains(&foreign_app_id), "{stderr}");
    // Nothing was built on the stranger's app.
    let after = Snapshot::take(&emu);
    let sps: Vec<_> = after
        .objects("servicePrincipals")
        .filter(|(_, r)| {
            entractl_chaos::snapshot::prop(r, "appId") == Some(foreign_app_id.as_str())
        })
        .collect();
    assert!(sps.is_empty(), "{sps:?}");
    assert_eq!(
        after
            .objects("applications")
            .filter(
                |(_, r)| entractl_chaos::snapshot::prop(r, "uniqueName") == Some("kandji-passport")
            )
            .count(),
        1
    );
}
