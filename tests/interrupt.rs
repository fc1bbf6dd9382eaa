//! Ctrl-C (SIGINT) and SIGTERM sent to a running `entractl` against graph-emulator with latency:
//! apply stops after the change in flight and says what was and was not made (exit 130/143), a
//! re-run converges without duplicates (checked on the emulator's state), a second SIGINT stops
//! at once, and plan stops promptly; Ctrl-C during `destroy` stops after the change in flight too,
//! and a re-run of `destroy` finishes it. Unix only (signals).
#![cfg(unix)]

use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use entractl_chaos::invariants;
use entractl_chaos::snapshot::{Snapshot, prop};
use graph_emulator::scenarios::P1_TENANT_ID;
use graph_emulator::{EmulatorConfig, Knobs};

use crate::destroy::{MAC_LOGIN, app_and_sp, exclusions, left, per_user_states};
use crate::util::{Sandbox, StderrTap, TestCommand, TestOutput, scratch, write_spec};

/// The seed spec without `mfa`: application, service principal, grant, 3 assignments.
const SPEC: &str = "tests/fixtures/kandji-passport-core.yaml";

fn start(latency_ms: u64) -> Sandbox {
    let mut cfg = EmulatorConfig::scenario("p1");
    cfg.knobs.latency_ms = latency_ms;
    Sandbox::start(cfg, P1_TENANT_ID)
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{name} failed");
}

/// Waits (up to a generous bound that only proves "does not hang") until `ready` holds.
fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn apply(emu: &Sandbox, journal: &Path) -> (Child, TestCommand) {
    emu.command_for(P1_TENANT_ID)
        .args(["apply", SPEC, "--auto-approve", "--journal-dir"])
        .arg(journal)
        .spawn()
}

/// The number in `N change(s) made, M not made` of an interrupted apply's message.
fn counts(out: &TestOutput) -> (usize, usize) {
    let line = out
        .stderr
        .lines()
        .find(|l| l.contains(" stopped: ") && l.contains("change(s) made"))
        .unwrap_or_else(|| panic!("no summary in:\n{}", out.stderr));
    let nums: Vec<usize> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    (nums[0], nums[1])
}

fn files_in(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|runs| {
            runs.flatten()
                .map(|run| std::fs::read_dir(run.path()).map_or(0, |f| f.count()))
                .sum()
        })
        .unwrap_or(0)
}

/// Signals an apply once its first write is done, then checks the report against the emulator
/// and the journal, and that a re-run converges without duplicates.
fn interrupted_apply_then_rerun(name: &str, expected_code: i32) {
    let emu = start(150);
    let dir = scratch(&format!("interrupt-{name}"));
    let before = Snapshot::take(&emu);
    let (child, cmd) = apply(&emu, &dir.join("journal"));
    wait_for("the first write", || {
        emu.writes().iter().any(|w| w.status == 201)
    });
    signal(&child, name);
    let out = cmd.wait(child);
    assert_eq!(out.code, expected_code, "{}\n{}", out.stdout, out.stderr);
    let (made, not_made) = counts(&out);
    assert!(made >= 1 && not_made >= 1, "{}", out.stderr);
    assert_eq!(made + not_made, 6, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("run `entractl apply` again to continue"),
        "{}",
        out.stderr
    );
    // One journal entry per change made; the emulator shows exactly those objects.
    assert_eq!(files_in(&dir.join("journal")), made, "{}", out.stderr);
    let stopped = Snapshot::take(&emu);
    let created = |s: &Snapshot, c: &str| s.objects(c).count() - before.objects(c).count();
    let apps = created(&stopped, "applications");
    assert_eq!(apps, 1, "the application was the first change");
    assert!(
        apps + created(&stopped, "servicePrincipals") + created(&stopped, "oauth2PermissionGrants")
            <= made
    );

    // A re-run continues where the first one stopped, and makes nothing twice.
    let again = emu.apply(SPEC, &dir.join("journal"));
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    assert!(again.stdout.contains("converged"), "{}", again.stdout);
    let after = Snapshot::take(&emu);
    let dups = invariants::duplicates(&before, &after);
    assert!(dups.is_empty(), "{dups:#?}");
    for (collection, n) in [
        ("applications", 1),
        ("servicePrincipals", 1),
        ("oauth2PermissionGrants", 1),
    ] {
        assert_eq!(created(&after, collection), n, "{collection}");
    }
    let app_id = after
        .objects("applications")
        .find(|(_, r)| prop(r, "uniqueName") == Some("kandji-passport"))
        .and_then(|(_, r)| prop(r, "appId").map(str::to_string))
        .expect("the application");
    let sp = after
        .objects("servicePrincipals")
        .find(|(_, r)| prop(r, "appId") == Some(app_id.as_str()))
        .map(|(id, _)| id.to_string())
        .expect("its service principal");
    let assigned = after
        .objects("appRoleAssignments")
        .filter(|(_, r)| prop(r, "resourceId") == Some(sp.as_str()))
        .count();
    assert_eq!(assigned, 3, "alice, bob and Mac Users, once each");
    emu.shutdown();
}

#[test]
fn sigint_during_apply_stops_after_the_write_in_flight_and_a_rerun_converges() {
    interrupted_apply_then_rerun("INT", 130);
}

#[test]
fn sigterm_during_apply_stops_after_the_write_in_flight_and_a_rerun_converges() {
    interrupted_apply_then_rerun("TERM", 143);
}

#[test]
fn a_second_sigint_stops_at_once() {
    // Each request takes 3 s. The first Ctrl-C is sent once the second change is journaled: its
    // write is about to be sent, so apply finishes it before stopping (3 s at least). The second is
    // sent once entractl said it heard the first (two signals sent close together can arrive as
    // one), while that write is still in flight.
    let emu = start(3_000);
    let journal = scratch("interrupt-twice").join("journal");
    let (mut child, cmd) = apply(&emu, &journal);
    let stderr = StderrTap::take(&mut child);
    wait_for("the second change to be journaled", || {
        files_in(&journal) >= 2
    });
    signal(&child, "INT");
    wait_for("entractl to hear the first SIGINT", || {
        stderr.contains("SIGINT: stopping after the change in flight")
    });
    signal(&child, "INT");
    let out = cmd.wait_tapped(child, stderr);
    assert_eq!(out.code, 130, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("SIGINT again: stopping at once"),
        "{}",
        out.stderr
    );
    // At once: not after the write in flight, so without the summary of a stopped apply.
    assert!(!out.stderr.contains("apply stopped: "), "{}", out.stderr);
    emu.shutdown();
}

#[test]
fn sigint_during_plan_stops_promptly_and_writes_nothing() {
    // Each request takes 5 s: after the token, a plan that did not stop would read for 10 s more.
    let emu = start(5_000);
    let (child, cmd) = emu.command_for(P1_TENANT_ID).args(["plan", SPEC]).spawn();
    // The token is logged when its answer leaves: entractl listens for signals by then.
    wait_for("the token", || !emu.request_log().is_empty());
    let signalled = Instant::now();
    signal(&child, "INT");
    let out = cmd.wait(child);
    assert!(
        signalled.elapsed() < Duration::from_secs(8),
        "plan did not stop promptly"
    );
    assert_eq!(out.code, 130, "{}\n{}", out.stdout, out.stderr);
    crate::assert_transcript!("plan_interrupted", out);
    assert!(emu.writes().is_empty());
    emu.shutdown();
}

#[test]
fn sigint_during_destroy_stops_after_the_change_in_flight_and_a_rerun_finishes() {
    let emu = Sandbox::scenario("p1", P1_TENANT_ID);
    let dir = scratch("interrupt-destroy");
    let (states_before, exclusions_before) = (per_user_states(&emu), exclusions(&emu));
    let spec = write_spec(&dir, "mac.yaml", MAC_LOGIN);
    let spec = spec.to_str().unwrap();
    let out = emu.apply_as(P1_TENANT_ID, spec, &dir.join("journal-a"), true);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let (app_id, sp) = app_and_sp(&emu);

    // Destroy with latency, signalled once its first write is done.
    emu.set_knobs(Knobs {
        latency_ms: 150,
        ..Knobs::default()
    });
    let journal = dir.join("journal-b");
    emu.clear_log();
    let (child, cmd) = emu
        .command_for(P1_TENANT_ID)
        .args(["destroy", spec, "--auto-approve", "--journal-dir"])
        .arg(&journal)
        .spawn();
    wait_for("destroy's first write", || {
        emu.writes().iter().any(|w| (200..300).contains(&w.status))
    });
    signal(&child, "INT");
    let out = cmd.wait(child);
    assert_eq!(out.code, 130, "{}\n{}", out.stdout, out.stderr);
    let (made, not_made) = counts(&out);
    assert!(made >= 1 && not_made >= 1, "{}", out.stderr);
    assert_eq!(files_in(&journal), made, "{}", out.stderr);
    // The summary and the hint name destroy (`entractl apply` would bring everything back).
    assert!(
        out.stderr.contains("SIGINT: destroy stopped: ")
            && out
                .stderr
                .contains("run `entractl destroy` again to continue"),
        "{}",
        out.stderr
    );
    // Stopped part way: the app is still there, something of the Mac Login posture is not.
    assert_eq!(left(&emu, &app_id, &sp)[..2], [1, 1], "{}", out.stderr);

    // A re-run of destroy finishes: the posture restored, the app and its service principal gone
    // (the app in deleted items), the record groups deleted.
    emu.set_knobs(Knobs::default());
    let again = emu.entractl(&[
        "destroy",
        spec,
        "--auto-approve",
        "--journal-dir",
        journal.to_str().unwrap(),
    ]);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    assert_eq!(per_user_states(&emu), states_before);
    assert_eq!(exclusions(&emu), exclusions_before);
    assert_eq!(left(&emu, &app_id, &sp), [0, 0, 0, 0, 0, 1]);
    let plan = emu.entractl(&["plan", spec, "--destroy", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
    emu.shutdown();
}
