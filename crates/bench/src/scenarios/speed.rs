//! Scenarios 4 and 5: the emulator's throughput and load time, and `validate`.

use std::process::Command;
use std::time::{Duration, Instant};

use graph_emulator::scenarios::{CI_CLIENT_ID, CI_CLIENT_SECRET, P1_TENANT_ID};
use graph_emulator::{EmulatorConfig, Knobs, TenantSource};
use serde_json::Value;

use super::common::{CONTOSO, Options, path_str, start, step_failed};
use crate::BenchError;
use crate::measure::{self};
use crate::stats::{fmt_duration, fmt_kib, median, min};

/// GETs per second with `connections` keep-alive connections for `secs`.
pub(super) fn throughput(
    base: &str,
    connections: usize,
    duration: Duration,
) -> Result<f64, BenchError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| BenchError::Other(format!("cannot start a tokio runtime: {e}")))?;
    rt.block_on(async {
        let setup = reqwest::Client::new();
        let tok = token(&setup, base, P1_TENANT_ID).await?;
        let url = format!("{base}/v1.0/users/alice@contoso.com");
        let start = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..connections {
            // One client per connection: HTTP/1.1 keep-alive, one connection each.
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .map_err(|e| BenchError::Other(format!("cannot build an HTTP client: {e}")))?;
            let (url, tok) = (url.clone(), tok.clone());
            tasks.spawn(async move {
                let mut ok = 0u64;
                while start.elapsed() < duration {
                    match client.get(&url).bearer_auth(&tok).send().await {
                        Ok(r) if r.status().is_success() => {
                            let _ = r.bytes().await;
                            ok += 1;
                        }
                        _ => return Err(()),
                    }
                }
                Ok(ok)
            });
        }
        let mut total = 0u64;
        while let Some(r) = tasks.join_next().await {
            match r {
                Ok(Ok(n)) => total += n,
                _ => {
                    return Err(BenchError::Other(
                        "a GET to the emulator failed during the throughput run".into(),
                    ));
                }
            }
        }
        Ok(total as f64 / start.elapsed().as_secs_f64())
    })
}

/// Scenario 4: emulator throughput and the load time of the 100,000-user scenario.
pub(super) fn emulator_speed(opts: &Options) -> Result<(String, String), BenchError> {
    let emu = start(TenantSource::Scenario(CONTOSO.into()), Knobs::default())?;
    let (conns, dur): (&[usize], Duration) = if opts.smoke {
        (&[1, 2], Duration::from_millis(200))
    } else {
        (&[1, 4, 16], Duration::from_secs(3))
    };
    let mut body = format!(
        "`GET /v1.0/users/alice@contoso.com` (a key lookup, with token check, routing, logging) \
         on the `p1-legacy` scenario without latency, from keep-alive HTTP/1.1 connections in this \
         process for {} per run; median of {} run(s). Client and emulator share the CPUs.\n\n\
         | connections | GETs per second |\n|---|---|\n",
        fmt_duration(dur),
        opts.runs()
    );
    for &c in conns {
        let mut rates = Vec::new();
        for _ in 0..opts.runs() {
            rates.push(throughput(&emu.base_url(), c, dur)? as u64);
        }
        body.push_str(&format!("| {c} | {} |\n", median(&rates).unwrap_or(0)));
    }
    drop(emu);
    let scenario = if opts.smoke { "p1" } else { "large" };
    let mut loads = Vec::new();
    for _ in 0..opts.runs() {
        let t = Instant::now();
        let dir = graph_emulator::load_directory(
            &EmulatorConfig::scenario(scenario),
            "http://127.0.0.1:0",
        )?;
        loads.push(t.elapsed());
        drop(dir);
    }
    body.push_str(&format!(
        "\nLoad time of the `{scenario}` scenario ({}; `graph_emulator::load_directory`, what \
         `graph-emulator --scenario {scenario}` does before it listens): median {} (min {}).\n",
        if opts.smoke {
            "smoke: 300 users instead of the 100,000 of `large`"
        } else {
            "100,000 users, two groups of 10,000 members"
        },
        fmt_duration(median(&loads).unwrap_or_default()),
        fmt_duration(min(&loads).unwrap_or_default()),
    ));
    Ok(("4. Emulator throughput and load time".into(), body))
}

/// Scenario 5: `entractl validate` of the example specs.
pub(super) fn validate(opts: &Options) -> Result<(String, String), BenchError> {
    let dir = opts.root.join("specs");
    let mut specs: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|e| BenchError::io("read", &dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| path_str(p.strip_prefix(&opts.root).unwrap_or(&p)))
        .collect();
    specs.sort();
    let runs = if opts.smoke { 2 } else { 15 };
    let mut walls = Vec::new();
    let mut rss = Vec::new();
    for i in 0..runs {
        let mut c = Command::new(&opts.entractl);
        c.current_dir(&opts.root)
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("NO_COLOR", "1")
            .args(["--color", "never", "validate"])
            .args(&specs);
        let r = measure::run(&c, &opts.scratch.join(format!("s5-{i}")))?;
        if r.code != 0 {
            return Err(step_failed("scenario 5 (validate)", "validate", &r));
        }
        walls.push(r.wall);
        rss.extend(r.peak_rss_kib);
    }
    let body = format!(
        "`entractl validate {}` (one process, no network): {runs} runs, median {}, min {}, peak \
         RSS {}.\n",
        specs.join(" "),
        fmt_duration(median(&walls).unwrap_or_default()),
        fmt_duration(min(&walls).unwrap_or_default()),
        rss.iter()
            .max()
            .map_or("not measured".into(), |k| fmt_kib(*k)),
    );
    Ok(("5. `validate` of the example specs".into(), body))
}

/// A token for the emulator's CI client (loopback only).
async fn token(client: &reqwest::Client, base: &str, tenant: &str) -> Result<String, BenchError> {
    let resp = client
        .post(format!("{base}/{tenant}/oauth2/v2.0/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", CI_CLIENT_ID),
            ("client_secret", CI_CLIENT_SECRET),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await
        .map_err(|e| BenchError::Other(format!("emulator token request failed: {e}")))?;
    let v: Value = resp
        .json()
        .await
        .map_err(|e| BenchError::Other(format!("emulator token answer unreadable: {e}")))?;
    v.get("access_token")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| BenchError::Other("the emulator issued no access token".into()))
}
