//! Scenarios 1 and 2: the plan of a converged tenant, and apply from an empty tenant with
//! replication delay.

use std::collections::BTreeMap;
use std::time::Duration;

use graph_emulator::scenarios::P1_TENANT_ID;
use graph_emulator::{Knobs, RunningEmulator, TenantSource};

use super::common::{
    ApplyMeasured, CONTOSO, Measured, Options, Results, TABLE_HEAD, Target, latency, path_str,
    set_ca_policies, start, step_failed,
};
use crate::BenchError;
use crate::stats::{fmt_duration, median, ratio};

/// Scenario 1: plan of specs/kandji-passport-mac-login.yaml on a converged P1 tenant.
pub(super) fn converged_plan(
    opts: &Options,
    results: &mut Results,
) -> Result<(String, String), BenchError> {
    const S: &str = "scenario 1 (converged plan)";
    let policies = if opts.smoke { 0 } else { 50 };
    let emu = start(TenantSource::Scenario(CONTOSO.into()), Knobs::default())?;
    set_ca_policies(&emu, policies);
    let target = Target {
        opts,
        base_url: emu.base_url(),
        tenant_id: P1_TENANT_ID,
    };
    let spec = "specs/kandji-passport-mac-login.yaml";
    target.converge(S, spec, "s1")?;
    let mut rows = Vec::new();
    for lat in [0u64, 50] {
        emu.set_knobs(latency(lat));
        for naive in [false, true] {
            let mut m = Measured::new(lat, naive);
            for i in 0..opts.runs() {
                emu.clear_log();
                let r = target.run(
                    naive,
                    &["plan", spec, "--detailed-exitcode"],
                    &format!("s1-plan-{lat}-{naive}-{i}"),
                )?;
                if r.code == 1 {
                    return Err(step_failed(S, "plan", &r));
                }
                m.add(&r, &emu.request_log());
            }
            rows.push(m);
        }
    }
    let body = converged_plan_body(opts, policies, &rows);
    results.converged_plan = rows;
    Ok((
        "1. Plan of a converged P1 tenant (specs/kandji-passport-mac-login.yaml)".into(),
        body,
    ))
}

/// Scenario 1's report section: the table, the ratios and the targets.
fn converged_plan_body(opts: &Options, policies: usize, rows: &[Measured]) -> String {
    let mut body = format!(
        "`entractl plan specs/kandji-passport-mac-login.yaml` on the `p1-legacy` scenario (Contoso, Entra ID P1, before baseline-scope enforcement) \
         after `entractl apply` converged it, with {policies} conditional access policies \
         ({}). {} run(s) per line.\n\n{TABLE_HEAD}\n",
        if opts.smoke {
            "smoke: the scenario's policies removed"
        } else {
            "the scenario's 7 and copies of them"
        },
        opts.runs()
    );
    for m in rows {
        body.push_str(&m.row());
        body.push('\n');
    }
    body.push('\n');
    for lat in [0u64, 50] {
        let b = rows.iter().find(|m| m.latency_ms == lat && !m.naive);
        let n = rows.iter().find(|m| m.latency_ms == lat && m.naive);
        if let (Some(b), Some(n)) = (b, n) {
            body.push_str(&format!(
                "- {lat} ms: naive / batched = {} wall, {} HTTP requests.\n",
                ratio(n.wall_median().as_secs_f64(), b.wall_median().as_secs_f64()),
                ratio(
                    n.traffic.http_requests as f64,
                    b.traffic.http_requests as f64
                ),
            ));
        }
    }
    if let Some(b) = rows.iter().find(|m| m.latency_ms == 50 && !m.naive) {
        let waves = median(&b.waves).unwrap_or(0);
        let limit = Duration::from_millis(4 * 50 + 100);
        body.push_str(&format!(
            "- Target: at most 3 waves after the token — **{}** ({waves}).\n",
            if waves <= 3 { "met" } else { "not met" }
        ));
        body.push_str(&format!(
            "- Target: wall time at 50 ms under 4 × latency + 100 ms = 300 ms — **{}** ({}).\n",
            if b.wall_median() < limit {
                "met"
            } else {
                "not met"
            },
            fmt_duration(b.wall_median())
        ));
        let converged = rows.iter().all(|m| m.codes.iter().all(|&c| c == 0));
        body.push_str(&format!(
            "- Every plan found the tenant converged (exit 0 with `--detailed-exitcode`): {}.\n",
            if converged { "yes" } else { "**no**" }
        ));
        body.push_str("\nGraph operations of one batched plan:\n\n");
        for (k, n) in &b.traffic.by_template {
            body.push_str(&format!("- `{k}` × {n}\n"));
        }
    }
    body
}

/// Duplicate objects for the app with this uniqueName (empty = none).
pub(super) fn duplicates(emu: &RunningEmulator, unique_name: &str) -> Vec<String> {
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
                let mut grants: BTreeMap<String, usize> = BTreeMap::new();
                for g in t.oauth2_permission_grants.iter() {
                    if g.str("clientId") == Some(sp.id()) {
                        let key = format!(
                            "{}/{}/{}",
                            g.str("resourceId").unwrap_or_default(),
                            g.str("consentType").unwrap_or_default(),
                            g.str("principalId").unwrap_or_default()
                        );
                        *grants.entry(key).or_default() += 1;
                    }
                }
                let mut assignments: BTreeMap<String, usize> = BTreeMap::new();
                for a in t.app_role_assignments.iter() {
                    if a.str("resourceId") == Some(sp.id()) || a.str("principalId") == Some(sp.id())
                    {
                        let key = format!(
                            "{}/{}/{}",
                            a.str("principalId").unwrap_or_default(),
                            a.str("resourceId").unwrap_or_default(),
                            a.str("appRoleId").unwrap_or_default()
                        );
                        *assignments.entry(key).or_default() += 1;
                    }
                }
                for (k, n) in grants.iter().chain(assignments.iter()) {
                    if *n > 1 {
                        found.push(format!("{n} × {k}"));
                    }
                }
            }
        }
        found
    })
}

/// Scenario 2: apply from an empty tenant with replication delay.
pub(super) fn apply_from_empty(
    opts: &Options,
    results: &mut Results,
) -> Result<(String, String), BenchError> {
    let (delay, lat) = if opts.smoke { (200, 5) } else { (2000, 50) };
    let mut rows = Vec::new();
    for naive in [false, true] {
        let mut m = Measured::new(lat, naive);
        let mut dups = Vec::new();
        let mut converged = true;
        for i in 0..opts.runs() {
            let (d, c) = apply_once(opts, (delay, lat), naive, i, &mut m)?;
            dups.extend(d);
            converged &= c;
        }
        rows.push(ApplyMeasured {
            runs: m,
            duplicates: dups,
            converged,
        });
    }
    let body = apply_body(opts, (delay, lat), &rows);
    results.apply_from_empty = rows;
    Ok((
        format!("2. Apply from an empty tenant, {delay} ms replication delay"),
        body,
    ))
}

/// One run of scenario 2 on a fresh tenant: the apply (measured into `m`), then the duplicates
/// it left and whether a plan finds the tenant converged.
fn apply_once(
    opts: &Options,
    (delay, lat): (u64, u64),
    naive: bool,
    i: usize,
    m: &mut Measured,
) -> Result<(Vec<String>, bool), BenchError> {
    const S: &str = "scenario 2 (apply from empty)";
    let spec = "specs/kandji-passport-mac-login.yaml";
    let emu = start(TenantSource::Scenario(CONTOSO.into()), Knobs::default())?;
    if opts.smoke {
        set_ca_policies(&emu, 0);
    }
    emu.set_knobs(Knobs {
        latency_ms: lat,
        replication_delay_ms: delay,
        ..Knobs::default()
    });
    let target = Target {
        opts,
        base_url: emu.base_url(),
        tenant_id: P1_TENANT_ID,
    };
    let journal = path_str(&opts.scratch.join(format!("s2-journal-{naive}-{i}")));
    emu.clear_log();
    let r = target.run(
        naive,
        &[
            "apply",
            spec,
            "--auto-approve",
            "--allow-security-downgrade",
            "--journal-dir",
            &journal,
        ],
        &format!("s2-apply-{naive}-{i}"),
    )?;
    if r.code != 0 {
        return Err(step_failed(S, "apply", &r));
    }
    m.add(&r, &emu.request_log());
    emu.set_knobs(Knobs::default());
    let p = target.run(
        false,
        &["plan", spec, "--detailed-exitcode"],
        &format!("s2-plan-{naive}-{i}"),
    )?;
    Ok((duplicates(&emu, "kandji-passport"), p.code == 0))
}

/// Scenario 2's report section: the table and the ratios.
fn apply_body(opts: &Options, (delay, lat): (u64, u64), rows: &[ApplyMeasured]) -> String {
    let mut body = format!(
        "`entractl apply specs/kandji-passport-mac-login.yaml --auto-approve` on a fresh `p1-legacy` tenant (none of \
         the spec's objects exist yet) with {delay} ms replication delay and {lat} ms latency per \
         request{}; a fresh tenant per run, {} run(s) per line. After each apply the harness \
         checks the tenant for duplicate objects (applications with the spec's uniqueName, \
         service principals per appId, permission grants, app role assignments) and runs \
         `plan --detailed-exitcode`.\n\n\
         | mode | HTTP requests | Graph operations | waves after token | wall | peak RSS | duplicates | converged after |\n|---|---|---|---|---|---|---|---|\n",
        if opts.smoke {
            " (smoke: conditional access policies removed)"
        } else {
            ""
        },
        opts.runs()
    );
    for a in rows {
        let m = &a.runs;
        body.push_str(&format!(
            "| {} | {} ({} `$batch`) | {} | {} | {} | {} | {} | {} |\n",
            m.mode(),
            m.traffic.http_requests,
            m.traffic.batches,
            m.traffic.graph_operations,
            m.waves_cell(),
            m.wall_cell(),
            m.rss_cell(),
            if a.duplicates.is_empty() {
                "none".to_string()
            } else {
                format!("**{}**", a.duplicates.join("; "))
            },
            if a.converged { "yes" } else { "**no**" },
        ));
    }
    if let [b, n] = rows {
        body.push_str(&format!(
            "\nnaive / batched = {} wall, {} HTTP requests.\n",
            ratio(
                n.runs.wall_median().as_secs_f64(),
                b.runs.wall_median().as_secs_f64()
            ),
            ratio(
                n.runs.traffic.http_requests as f64,
                b.runs.traffic.http_requests as f64
            ),
        ));
    }
    body
}
