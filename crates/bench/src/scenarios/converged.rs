//! Scenario 1: the plan of the seed spec on a converged P1 tenant (issue 9).

use std::time::Duration;

use graph_emulator::scenarios::P1_TENANT_ID;
use graph_emulator::{Knobs, TenantSource};

use super::common::{
    CONTOSO, Measured, Options, Results, TABLE_HEAD, Target, latency, set_ca_policies, start,
    step_failed,
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
    for m in &rows {
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
    results.converged_plan = rows;
    Ok((
        "1. Plan of a converged P1 tenant (specs/kandji-passport-mac-login.yaml)".into(),
        body,
    ))
}
