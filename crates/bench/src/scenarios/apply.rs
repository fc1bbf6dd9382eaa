//! Scenario 2: `entractl apply` of the seed spec on a tenant where none of its objects exist,
//! with replication delay and Graph's limits (conditional access: 1 request per second), against
//! the floor the dependencies and the conditional access limit impose.

use std::collections::BTreeMap;
use std::time::Duration;

use graph_emulator::scenarios::P1_TENANT_ID;
use graph_emulator::{Knobs, RunningEmulator, TenantSource};

use super::common::{
    ApplyMeasured, CONTOSO, Measured, Options, Results, Target, path_str, set_ca_policies, start,
    step_failed,
};
use crate::BenchError;
use crate::stats::{fmt_duration, ratio};

/// Duplicate objects for the app with this uniqueName (empty = none).
fn duplicates(emu: &RunningEmulator, unique_name: &str) -> Vec<String> {
    emu.with_tenant(|t| {
        let mut found = Vec::new();
        let apps: Vec<&graph_emulator::Record> = t
            .applications
            .iter()
            .filter(|r| r.str("uniqueName") == Some(unique_name))
            .collect();
        if apps.len() != 1 {
            found.push(format!(
                "{} applications with uniqueName {unique_name}",
                apps.len()
            ));
        }
        for app in apps {
            let app_id = app.str("appId").unwrap_or_default();
            let sps: Vec<&graph_emulator::Record> = t
                .service_principals
                .iter()
                .filter(|r| r.str("appId") == Some(app_id))
                .collect();
            if sps.len() > 1 {
                found.push(format!(
                    "{} service principals for appId {app_id}",
                    sps.len()
                ));
            }
            for sp in sps {
                found.extend(duplicate_links(t, sp.id()));
            }
        }
        found
    })
}

/// Grants and assignments of a service principal made more than once.
fn duplicate_links(t: &graph_emulator::Tenant, sp: &str) -> Vec<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for g in t.oauth2_permission_grants.iter() {
        if g.str("clientId") == Some(sp) {
            let key = format!(
                "grant {}/{}/{}",
                g.str("resourceId").unwrap_or_default(),
                g.str("consentType").unwrap_or_default(),
                g.str("principalId").unwrap_or_default()
            );
            *seen.entry(key).or_default() += 1;
        }
    }
    for a in t.app_role_assignments.iter() {
        if a.str("resourceId") == Some(sp) || a.str("principalId") == Some(sp) {
            let key = format!(
                "assignment {}/{}/{}",
                a.str("principalId").unwrap_or_default(),
                a.str("resourceId").unwrap_or_default(),
                a.str("appRoleId").unwrap_or_default()
            );
            *seen.entry(key).or_default() += 1;
        }
    }
    seen.into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(k, n)| format!("{n} × {k}"))
        .collect()
}

/// Conditional access calls of a run that Graph answered (429s left out: they are not needed,
/// only waited for).
fn ca_calls(log: &[graph_emulator::LogEntry]) -> (usize, usize) {
    let calls: Vec<u16> = log
        .iter()
        .filter(|e| e.template.contains("/identity/conditionalAccess/policies"))
        .filter(|e| e.batch_id.is_none())
        .map(|e| e.status)
        .collect();
    let throttled = calls.iter().filter(|s| **s == 429).count();
    (calls.len() - throttled, throttled)
}

fn knobs(lat: u64, delay: u64) -> Knobs {
    Knobs {
        latency_ms: lat,
        replication_delay_ms: delay,
        ca_throttle: true,
        graph_limits: true,
        ..Knobs::default()
    }
}

/// Applies the seed spec on fresh tenants, `opts.runs()` times in one mode.
fn measure(opts: &Options, naive: bool, lat: u64, delay: u64) -> Result<ApplyMeasured, BenchError> {
    const S: &str = "scenario 2 (apply from empty)";
    let spec = "specs/kandji-passport-mac-login.yaml";
    let mut a = ApplyMeasured {
        runs: Measured::new(lat, naive),
        duplicates: Vec::new(),
        converged: true,
        journal_entries: Vec::new(),
        ca_calls: Vec::new(),
        ca_throttled: Vec::new(),
    };
    for i in 0..opts.runs() {
        let emu = start(TenantSource::Scenario(CONTOSO.into()), Knobs::default())?;
        if opts.smoke {
            set_ca_policies(&emu, 0);
        }
        emu.set_knobs(knobs(lat, delay));
        let target = Target {
            opts,
            base_url: emu.base_url(),
            tenant_id: P1_TENANT_ID,
        };
        let journal = opts.scratch.join(format!("s2-journal-{naive}-{i}"));
        let journal_s = path_str(&journal);
        emu.clear_log();
        let r = target.run(
            naive,
            &[
                "apply",
                spec,
                "--auto-approve",
                "--allow-security-downgrade",
                "--journal-dir",
                &journal_s,
            ],
            &format!("s2-apply-{naive}-{i}"),
        )?;
        if r.code != 0 {
            return Err(step_failed(S, "apply", &r));
        }
        let log = emu.request_log();
        a.runs.add(&r, &log);
        let (ca, throttled) = ca_calls(&log);
        a.ca_calls.push(ca);
        a.ca_throttled.push(throttled);
        a.journal_entries.push(journal_entries(&journal));
        // The oracle: the emulator's directory once replication has ended.
        emu.settle_replication();
        a.duplicates.extend(duplicates(&emu, "kandji-passport"));
        emu.set_knobs(Knobs::default());
        let p = target.run(
            false,
            &["plan", spec, "--detailed-exitcode"],
            &format!("s2-plan-{naive}-{i}"),
        )?;
        a.converged &= p.code == 0;
    }
    Ok(a)
}

/// Files in the run's journal (one directory per apply under the root).
fn journal_entries(root: &std::path::Path) -> usize {
    let dirs = std::fs::read_dir(root).into_iter().flatten().flatten();
    dirs.map(|d| std::fs::read_dir(d.path()).map_or(0, |e| e.count()))
        .sum()
}

/// Scenario 2: apply from an empty tenant with replication delay.
pub(super) fn apply_from_empty(
    opts: &Options,
    results: &mut Results,
) -> Result<(String, String), BenchError> {
    let (delay, lat) = if opts.smoke { (200, 5) } else { (2000, 50) };
    let rows = vec![
        measure(opts, false, lat, delay)?,
        measure(opts, true, lat, delay)?,
    ];
    let mut body = format!(
        "`entractl apply specs/kandji-passport-mac-login.yaml --auto-approve` on a fresh `p1-legacy` tenant \
         (none of the spec's objects exist yet) with {delay} ms replication delay, {lat} ms \
         latency per request and Graph's limits on (conditional access: 1 request per second \
         per tenant; identity and access resource units){}; a fresh tenant per run, {} run(s) \
         per line. After each apply the harness ends the replication delay and checks the \
         emulator's directory for duplicate objects (applications with the spec's uniqueName, \
         service principals per appId, permission grants, app role assignments), then runs \
         `plan --detailed-exitcode`.\n\n\
         | mode | HTTP requests | Graph operations | waves after token | conditional access calls (429) | wall | peak RSS | journal entries | duplicates | converged after |\n|---|---|---|---|---|---|---|---|---|---|\n",
        if opts.smoke {
            " (smoke: conditional access policies removed)"
        } else {
            ""
        },
        opts.runs()
    );
    for a in &rows {
        body.push_str(&row(a));
    }
    if let [b, n] = rows.as_slice() {
        body.push_str(&targets(b, n, delay, lat));
    }
    results.apply_from_empty = rows;
    Ok((
        format!("2. Apply from an empty tenant, {delay} ms replication delay"),
        body,
    ))
}

fn row(a: &ApplyMeasured) -> String {
    let m = &a.runs;
    let journal: Vec<String> = a.journal_entries.iter().map(ToString::to_string).collect();
    format!(
        "| {} | {} ({} `$batch`) | {} | {} | {} ({}) | {} | {} | {} | {} | {} |\n",
        m.mode(),
        m.traffic.http_requests,
        m.traffic.batches,
        m.traffic.graph_operations,
        m.waves_cell(),
        a.ca_calls.iter().max().copied().unwrap_or(0),
        a.ca_throttled.iter().max().copied().unwrap_or(0),
        m.wall_cell(),
        m.rss_cell(),
        journal.join(", "),
        if a.duplicates.is_empty() {
            "none".to_string()
        } else {
            format!("**{}**", a.duplicates.join("; "))
        },
        if a.converged { "yes" } else { "**no**" },
    )
}

/// The floor: two replication waits (application → service principal → grants and
/// assignments), or one conditional access call per second, whichever is longer.
fn targets(b: &ApplyMeasured, n: &ApplyMeasured, delay: u64, lat: u64) -> String {
    let calls = b.ca_calls.iter().min().copied().unwrap_or(0);
    let ca_floor = Duration::from_secs(calls.saturating_sub(1) as u64);
    let replication_floor = Duration::from_millis(2 * delay);
    let floor = ca_floor.max(replication_floor);
    let limit = floor + Duration::from_millis(20 * lat);
    let wall = b.runs.wall_median();
    let speedup = n.runs.wall_median().as_secs_f64() / wall.as_secs_f64().max(1e-9);
    let met = |ok: bool| if ok { "met" } else { "not met" };
    format!(
        "\n- Floor: max(2 × replication delay = {}, conditional access at 1 request/s: {calls} \
         calls = {}) = {}.\n\
         - Target: batched wall ≤ floor + 20 × latency = {} — **{}** ({}).\n\
         - Target: naive / batched ≥ 1.5× wall — **{}** ({} wall, {} HTTP requests).\n",
        fmt_duration(replication_floor),
        fmt_duration(ca_floor),
        fmt_duration(floor),
        fmt_duration(limit),
        met(wall <= limit),
        fmt_duration(wall),
        met(speedup >= 1.5),
        ratio(n.runs.wall_median().as_secs_f64(), wall.as_secs_f64()),
        ratio(
            n.runs.traffic.http_requests as f64,
            b.runs.traffic.http_requests as f64
        ),
    )
}
