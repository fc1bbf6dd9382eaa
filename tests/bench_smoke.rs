//! The smoke run of the harness (tiny sizes, debug entractl): every scenario runs and the report
//! is complete. Only request counts and outcomes are asserted, never times.
//!
//! It lives in entractl's test binary so that cargo hands it the entractl binary of this very
//! build (`CARGO_BIN_EXE_entractl`); a test never runs cargo itself.

use std::path::{Path, PathBuf};

use entractl_bench::report::KEPT_SECTION;
use entractl_bench::{Options, render, run_all};

use crate::util::root;

fn entractl() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_entractl"))
}

#[test]
fn smoke_run_measures_every_scenario_and_naive_mode_sends_no_batch() {
    let opts = Options {
        entractl: entractl(),
        root: root(),
        scratch: Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-smoke-test"),
        smoke: true,
        only: None,
    };
    let _ = std::fs::remove_dir_all(&opts.scratch);
    let (report, results) = run_all(&opts).unwrap_or_else(|e| panic!("{e}"));

    // Scenario 1: converged plans, batched uses $batch, naive none and more HTTP requests.
    assert_eq!(results.converged_plan.len(), 4);
    for m in &results.converged_plan {
        assert!(m.codes.iter().all(|&c| c == 0), "not converged: {m:?}");
        assert_eq!(m.traffic.token_requests, 1, "{m:?}");
        if m.naive {
            assert_eq!(m.traffic.batches, 0, "{m:?}");
            assert_eq!(m.traffic.inner_requests, 0, "{m:?}");
        }
    }
    let batched = &results.converged_plan[0];
    let naive = &results.converged_plan[1];
    assert!(!batched.naive && naive.naive);
    assert!(batched.traffic.batches >= 1, "{batched:?}");
    assert_eq!(
        batched.traffic.graph_operations,
        naive.traffic.graph_operations
    );
    assert!(naive.traffic.http_requests > batched.traffic.http_requests);

    // Scenario 2: both modes apply without duplicates, journal every change and converge.
    assert_eq!(results.apply_from_empty.len(), 2);
    for a in &results.apply_from_empty {
        assert!(a.duplicates.is_empty(), "{a:?}");
        assert!(a.converged, "{a:?}");
        assert!(a.journal_entries.iter().all(|&n| n > 0), "{a:?}");
    }
    assert_eq!(results.apply_from_empty[1].runs.traffic.batches, 0);
    // The same changes journaled in both modes.
    assert_eq!(
        results.apply_from_empty[0].journal_entries,
        results.apply_from_empty[1].journal_entries
    );

    // Scenario 3 is measured or says why not; under Graph's limits, the resource units used
    // are counted: the same with the bucket full (within its burst: nothing answered 429) and
    // spent (every unit waits for the refill), since the plan reads the same.
    assert!(!results.assignments.is_empty() || results.assignments_skipped.is_some());
    let [full, spent] = &results.assignments_limited[..] else {
        panic!("scenario 3 under limits: {:?}", results.assignments_limited)
    };
    assert!(!full.spent && spent.spent);
    assert!(full.resource_units.iter().all(|&r| r > 0), "{full:?}");
    assert_eq!(full.throttled, vec![0]);
    assert_eq!(full.resource_units, spent.resource_units, "{spent:?}");
    assert!(spent.floor(0) > full.floor(0), "{spent:?}");

    // The large scenario's plan under limits ran, bucket full and spent, and found the changes.
    assert_eq!(results.large.len(), 2, "{:?}", results.large);
    for large in &results.large {
        assert!(large.runs.codes.iter().all(|&c| c == 2), "{large:?}");
        assert!(large.resource_units[0] > 100, "{large:?}");
    }

    // Fleet: several converged tenants in one emulator, each in sync and each sending exactly
    // the Graph operations of the single-tenant plan of scenario 1.
    let f = results.fleet.as_ref().expect("the fleet scenario ran");
    assert_eq!(f.tenants, 3, "{f:?}");
    assert!(f.codes.iter().all(|&c| c == 0), "not in sync: {f:?}");
    assert_eq!(f.traffic.token_requests, 3, "{f:?}");
    assert!(f.per_tenant_equal(), "{f:?}");

    let previous = format!("# old\n\n{KEPT_SECTION}\n\n| hand | written |\n");
    let text = render(&report, Some(&previous));
    for title in [
        "## 1. ",
        "## 2. ",
        "## 3. ",
        "## 4. ",
        "## 5. ",
        "## 6. ",
        "## Fleet scale",
    ] {
        assert!(text.contains(title), "missing {title}:\n{text}");
    }
    assert!(text.contains("Smoke run"));
    assert!(text.contains("| commit | `"));
    assert!(text.contains("| hand | written |"));
    assert!(!text.contains("sandbox-ci-secret"));
}
