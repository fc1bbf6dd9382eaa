//! The fleet scenario (issue 10): many tenants in one run.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use graph_emulator::scenarios::{CI_CLIENT_ID, CI_CLIENT_SECRET, P1_TENANT_ID};
use graph_emulator::{Knobs, RunningEmulator, TenantSource};
use serde_json::Value;

use super::common::{
    CONTOSO, FleetMeasured, Options, Results, Target, latency, path_str, set_ca_policies, start,
    step_failed,
};
use crate::BenchError;
use crate::analyze::{self, Traffic};
use crate::measure::{self};
use crate::stats::{fmt_duration, fmt_kib, median, min};

/// Adds `count - 1` copies of the emulator's default tenant under new tenant ids (the directory,
/// the converged app and the automation client included); returns every tenant id, the original
/// first.
pub(super) fn clone_tenant(emu: &RunningEmulator, count: usize) -> Vec<String> {
    let original = emu.tenant_id();
    let ids: Vec<String> = (1..count).map(|_| emu.state().new_guid()).collect();
    let mut state = emu.state().write();
    let Some(base) = state.tenants.get(&original).cloned() else {
        return vec![original];
    };
    for id in &ids {
        let mut t = base.clone();
        t.id = id.clone();
        t.organization
            .insert("id".into(), Value::String(id.clone()));
        state.tenants.insert(id.clone(), t);
    }
    drop(state);
    std::iter::once(original).chain(ids).collect()
}

/// Fleet scale (issue 10): `entractl plan --fleet` of many converged tenants hosted by one
/// emulator at 50 ms latency.
pub(super) fn fleet(opts: &Options, results: &mut Results) -> Result<(String, String), BenchError> {
    const S: &str = "fleet scale";
    let tenants = if opts.smoke { 3 } else { 500 };
    let parallel = 16;
    let lat = 50u64;
    let policies = if opts.smoke { 0 } else { 50 };
    let emu = start(TenantSource::Scenario(CONTOSO.into()), Knobs::default())?;
    set_ca_policies(&emu, policies);
    let target = Target {
        opts,
        base_url: emu.base_url(),
        tenant_id: P1_TENANT_ID,
    };
    let spec = "specs/kandji-passport-mac-login.yaml";
    target.converge(S, spec, "fleet")?;
    let ids = clone_tenant(&emu, tenants);
    let dir = opts.scratch.join("fleet");
    std::fs::create_dir_all(&dir).map_err(|e| BenchError::io("create", &dir, e))?;
    let mut yaml = format!(
        "version: 1\ndefaults:\n  spec: {}\n  auth:\n    method: client-secret\n    clientId: {CI_CLIENT_ID}\n    secretEnv: ENTRACTL_BENCH_FLEET_SECRET\ntenants:\n",
        path_str(&opts.root.join(spec))
    );
    for (i, id) in ids.iter().enumerate() {
        yaml.push_str(&format!("  - name: tenant-{i:03}\n    tenant: {id}\n"));
    }
    let file = dir.join("fleet.yaml");
    std::fs::write(&file, yaml).map_err(|e| BenchError::io("write", &file, e))?;
    let file_s = path_str(&file);
    let parallel_s = parallel.to_string();
    emu.set_knobs(latency(lat));
    let mut m = FleetMeasured {
        tenants: ids.len(),
        parallel,
        latency_ms: lat,
        traffic: Traffic::default(),
        per_tenant: BTreeMap::new(),
        single_tenant: results
            .converged_plan
            .iter()
            .find(|m| !m.naive && m.latency_ms == lat)
            .map(|m| m.traffic.graph_operations),
        walls: Vec::new(),
        rss: Vec::new(),
        codes: Vec::new(),
    };
    for i in 0..opts.runs() {
        emu.clear_log();
        let mut c = Command::new(&opts.entractl);
        c.current_dir(&opts.root)
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("NO_COLOR", "1")
            .env("ENTRACTL_BENCH_FLEET_SECRET", CI_CLIENT_SECRET)
            .args(["--color", "never"])
            .args(["--graph-url", &target.base_url])
            .args(["--authority-url", &target.base_url])
            .args(["plan", "--fleet", &file_s, "--parallel", &parallel_s]);
        let r = measure::run(&c, &opts.scratch.join(format!("fleet-plan-{i}")))?;
        if r.code == 1 {
            return Err(step_failed(S, "plan --fleet", &r));
        }
        let log = emu.request_log();
        if i == 0 {
            m.traffic = analyze::traffic(&log);
            m.per_tenant = per_tenant_operations(&log);
        }
        m.walls.push(r.wall);
        if let Some(k) = r.peak_rss_kib {
            m.rss.push(k);
        }
        m.codes.push(r.code);
    }
    emu.shutdown();

    let body = fleet_body(opts, policies, &m);
    results.fleet = Some(m);
    Ok(("Fleet scale (issue 10)".into(), body))
}

/// Graph operations per tenant (from the token), tokens and `$batch` envelopes left out.
pub(super) fn per_tenant_operations(log: &[graph_emulator::LogEntry]) -> BTreeMap<String, usize> {
    let mut out: BTreeMap<String, usize> = BTreeMap::new();
    for e in log {
        let envelope = e.batch_id.is_none() && e.template.ends_with("/$batch");
        if envelope || e.template.starts_with("/{tenant}") {
            continue;
        }
        if let Some(t) = &e.tenant {
            *out.entry(t.clone()).or_default() += 1;
        }
    }
    out
}

/// The fleet scenario's report section: the table and the targets.
fn fleet_body(opts: &Options, policies: usize, m: &FleetMeasured) -> String {
    let (parallel, lat) = (m.parallel, m.latency_ms);
    let wall = median(&m.walls).unwrap_or_default();
    let peak = m.rss.iter().copied().max();
    let mut body = format!(
        "`entractl plan --fleet` of {} tenants, `--parallel {parallel}`, against one graph-emulator \
         hosting all of them with {lat} ms latency per request: each tenant a copy of scenario 1's \
         converged `p1-legacy` tenant ({policies} conditional access policies), planned with \
         `specs/kandji-passport-mac-login.yaml`; one automation client (`client-secret`, the secret from an \
         environment variable named in the fleet file). {} run(s).\n\n\
         | tenants | HTTP requests | Graph operations | per tenant | wall | peak RSS |\n|---|---|---|---|---|---|\n",
        m.tenants,
        opts.runs()
    );
    let per: BTreeMap<usize, usize> = m.per_tenant.values().fold(BTreeMap::new(), |mut acc, &n| {
        *acc.entry(n).or_default() += 1;
        acc
    });
    let per_cell = per
        .iter()
        .map(|(n, k)| format!("{n} ({k} tenants)"))
        .collect::<Vec<_>>()
        .join(", ");
    body.push_str(&format!(
        "| {} | {} ({} `$batch`, {} token) | {} | {} | {} | {} |\n\n",
        m.tenants,
        m.traffic.http_requests,
        m.traffic.batches,
        m.traffic.token_requests,
        m.traffic.graph_operations,
        if per_cell.is_empty() {
            "—".into()
        } else {
            per_cell
        },
        match (median(&m.walls), min(&m.walls)) {
            (Some(a), Some(b)) if m.walls.len() > 1 =>
                format!("{} ({})", fmt_duration(a), fmt_duration(b)),
            (Some(a), _) => fmt_duration(a),
            _ => "—".into(),
        },
        peak.map_or("—".into(), fmt_kib),
    ));
    body.push_str(&format!(
        "- Target: under 60 s wall — **{}** ({}).\n",
        if wall < Duration::from_secs(60) {
            "met"
        } else {
            "not met"
        },
        fmt_duration(wall)
    ));
    body.push_str(&format!(
        "- Target: under 256 MB peak memory — **{}** ({}).\n",
        match peak {
            Some(k) if k < 256 * 1024 => "met",
            Some(_) => "not met",
            None => "not measured",
        },
        peak.map_or("—".into(), fmt_kib)
    ));
    body.push_str(&format!(
        "- Target: Graph operations per tenant equal to the single-tenant figure (scenario 1, \
         batched: {}) — **{}**.\n",
        m.single_tenant.map_or("—".into(), |n| n.to_string()),
        if m.per_tenant_equal() {
            "met"
        } else {
            "not met"
        }
    ));
    body.push_str(&format!(
        "- Every tenant in sync (exit 0): {}.\n",
        if m.codes.iter().all(|&c| c == 0) {
            "yes"
        } else {
            "**no**"
        }
    ));
    body
}
