//! The plan of a spec assigning a 10,000-member group on the 100,000-user `large` scenario,
//! under Graph's identity and access limits (on in that scenario): per-user MFA is read for
//! every member, about 10,000 requests, so the limits, not the latency, set the pace.

use graph_emulator::scenarios::LARGE_TENANT_ID;
use graph_emulator::{EmulatorConfig, TenantSource};

use super::common::{Options, Results, Target, path_str};
use super::throttled;
use crate::BenchError;
use crate::stats::fmt_kib;

const SPEC: &str = "version: 1\ntenant: northwind.onmicrosoft.com\ncloud: public\npreset: kandji-passport\npassport:\n  mode: mac-login\n\napp:\n  displayName: Kandji Passport\n  uniqueName: kandji-passport\n\nassignments:\n  groups:\n    - Mac Users\n  prune: false\n";

/// Smoke: a few hundred users instead of 100,000.
const SMOKE_FIXTURE: &str = "generate:\n  users: {count: 300, domain: northwind.example}\n  groups:\n    - {displayName: Mac Users, memberCount: 100}\n";

pub(super) fn large_plan(
    opts: &Options,
    results: &mut Results,
) -> Result<(String, String), BenchError> {
    let mut cfg = EmulatorConfig::scenario("large");
    if opts.smoke {
        let base = graph_emulator::scenarios::text("large").unwrap_or_default();
        let head: String = base
            .lines()
            .take_while(|l| !l.starts_with("generate:"))
            .map(|l| format!("{l}\n"))
            .collect();
        let rest: String = base
            .lines()
            .skip_while(|l| !l.starts_with("groups:"))
            .map(|l| format!("{l}\n"))
            .collect();
        cfg.sources = vec![TenantSource::FixtureText {
            name: "bench large (smoke)".into(),
            text: format!("{head}{SMOKE_FIXTURE}{rest}"),
        }];
    }
    let emu = graph_emulator::start(cfg)?;
    let spec = opts.scratch.join("large-spec.yaml");
    std::fs::write(&spec, SPEC).map_err(|e| BenchError::io("write", &spec, e))?;
    let target = Target {
        opts,
        base_url: emu.base_url(),
        tenant_id: LARGE_TENANT_ID,
    };
    let lat = if opts.smoke { 5 } else { 50 };
    let all = throttled::measure_both(&target, &emu, &path_str(&spec), lat, opts.runs(), "large")?;
    let users = if opts.smoke { "300" } else { "100,000" };
    let peak = all.iter().flat_map(|r| r.runs.rss.iter().copied()).max();
    let quota = all.first().map_or(0.0, |r| r.quota);
    let mut body = format!(
        "`entractl plan` of a spec assigning `Mac Users` (10,000 members{}) with the \
         `kandji-passport` preset (per-user MFA `disabledForAppUsers`: the state of every member \
         is read) on the `large` scenario ({users} users; Graph's identity and access limits on, as \
         microsoft-graph-docs `concepts/throttling-limits.md` documents them (\"Identity and access \
         service limits\"): {quota} resource units per 10 seconds for the application), {} run(s) with the \
         application's bucket full at the start, then {} with it spent (as right after another run: \
         throttle-bound).\n\n{}",
        if opts.smoke { "; smoke: 100" } else { "" },
        opts.runs(),
        opts.runs(),
        throttled::table(&all)
    );
    body.push_str(&format!(
        "- Target: peak RSS at most 64 MB — **{}** ({}).\n",
        match peak {
            Some(k) if k <= 64 * 1024 => "met",
            Some(_) => "not met",
            None => "not measured",
        },
        peak.map_or("—".into(), fmt_kib)
    ));
    results.large = all;
    Ok((
        "4. Plan of a 10,000-member group on the 100,000-user scenario, under Graph's limits"
            .into(),
        body,
    ))
}
