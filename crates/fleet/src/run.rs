//! Running a fleet: every tenant of the shard, a bounded number in flight, one Graph client per
//! tenant (throttling is per tenant), one tenant's failure never stops the others.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use entractl_engine::{ApplyOptions, Desired, Plan, Risk, apply, diff, fetch};
use entractl_graph::{
    AuthOptions, Cloud, GraphClient, GraphConfig, WaitEvent, WaitReason, credential_from_env,
};
use serde_json::Value;
use tokio::task::JoinSet;

use crate::file::{Fleet, TenantEntry};
use crate::report::{ErrorKind, FleetReport, Operation, Status, TenantResult};
use crate::shard::Shard;
use crate::tenant::{credential_env, read_spec_value, tenant_spec};

/// Default number of tenants in flight.
pub const DEFAULT_PARALLEL: usize = 16;

/// Called when a tenant is done (the binary prints progress).
pub type OnTenantDone = Arc<dyn Fn(&TenantResult) + Send + Sync>;
/// Called on every wait of a tenant's Graph client, with the tenant's name.
pub type OnTenantWait = Arc<dyn Fn(&str, &WaitEvent) + Send + Sync>;

/// What `apply` needs besides the plan.
#[derive(Debug, Clone)]
pub struct ApplySettings {
    /// Each tenant's journal goes under `<journal_dir>/<tenant name>/`.
    pub journal_dir: PathBuf,
    /// Make changes flagged `security-downgrade`.
    pub allow_security_downgrade: bool,
    /// How long to read back while Graph replicates the writes.
    pub verify_budget: Duration,
}

/// How to run a fleet. The binary fills it from flags and an environment snapshot (the library
/// reads no environment variables).
#[derive(Clone)]
pub struct RunOptions {
    /// Tenants in flight at once (at least 1).
    pub parallel: usize,
    /// Only the tenants of this shard.
    pub shard: Option<Shard>,
    /// Graph root override (`--graph-url`).
    pub graph_url: Option<String>,
    /// Authority root override (`--authority-url`).
    pub authority_url: Option<String>,
    /// A snapshot of the process environment: secrets named by `secretEnv`, `PATH` for `az`, …
    pub env: BTreeMap<String, String>,
    /// `None`: plan. `Some`: plan and apply each tenant.
    pub apply: Option<ApplySettings>,
    /// Back-off of each tenant's client when Graph gives no `Retry-After` (`None`: the client's
    /// defaults).
    pub backoff: Option<(Duration, Duration)>,
    pub on_tenant_done: Option<OnTenantDone>,
    pub on_wait: Option<OnTenantWait>,
}

impl RunOptions {
    /// Plan with 16 tenants in flight, no shard, the clouds' default hosts.
    pub fn new(env: BTreeMap<String, String>) -> RunOptions {
        RunOptions {
            parallel: DEFAULT_PARALLEL,
            shard: None,
            graph_url: None,
            authority_url: None,
            env,
            apply: None,
            backoff: None,
            on_tenant_done: None,
            on_wait: None,
        }
    }
}

/// The tenants of `fleet` that `shard` covers, in file order.
pub fn select(fleet: &Fleet, shard: Option<Shard>) -> Vec<&TenantEntry> {
    fleet
        .tenants
        .iter()
        .filter(|t| shard.is_none_or(|s| s.contains(&t.name)))
        .collect()
}

type SpecValue = Arc<Result<Value, String>>;

/// Plans (or, with `opts.apply`, applies) every tenant of the shard and reports on each.
pub async fn run(fleet: &Fleet, opts: &RunOptions) -> FleetReport {
    let entries = select(fleet, opts.shard);
    let mut specs: HashMap<PathBuf, SpecValue> = HashMap::new();
    for e in &entries {
        specs
            .entry(e.spec.clone())
            .or_insert_with(|| Arc::new(read_spec_value(&e.spec)));
    }
    let opts = Arc::new(opts.clone());
    let parallel = opts.parallel.max(1);
    let mut set: JoinSet<TenantResult> = JoinSet::new();
    let mut running: HashMap<tokio::task::Id, (String, String)> = HashMap::new();
    let mut results: Vec<TenantResult> = Vec::with_capacity(entries.len());
    let mut pending = entries.into_iter();
    loop {
        while set.len() < parallel {
            let Some(entry) = pending.next() else { break };
            let spec = Arc::clone(&specs[&entry.spec]);
            let handle = set.spawn(run_tenant(Arc::clone(&opts), entry.clone(), spec));
            running.insert(handle.id(), (entry.name.clone(), entry.tenant.clone()));
        }
        let Some(joined) = set.join_next_with_id().await else {
            break;
        };
        let result = match joined {
            Ok((id, r)) => {
                running.remove(&id);
                r
            }
            Err(e) => {
                let (name, tenant) = running.remove(&e.id()).unwrap_or_default();
                TenantResult::new(&name, &tenant).fail(
                    ErrorKind::Internal,
                    format!("the tenant's task stopped unexpectedly ({e}); the other tenants went on\n  hint: this is a bug in entractl: please report it with the output of `-vv`"),
                )
            }
        };
        if let Some(cb) = &opts.on_tenant_done {
            cb(&result);
        }
        results.push(result);
    }
    let operation = if opts.apply.is_some() {
        Operation::Apply
    } else {
        Operation::Plan
    };
    FleetReport::new(
        operation,
        &fleet.name,
        &fleet.fingerprint,
        opts.shard,
        results,
    )
}

fn cloud(name: &str) -> Cloud {
    match name {
        "usgov" => Cloud::UsGov,
        "usgov-dod" => Cloud::UsGovDod,
        "china" => Cloud::China,
        _ => Cloud::Public,
    }
}

#[derive(Default)]
struct Waits {
    throttled: AtomicUsize,
    retries: AtomicUsize,
}

fn counts(plan: &Plan) -> (usize, usize) {
    let changes = plan.actionable().count();
    let downgrades = plan
        .actionable()
        .filter(|c| c.risks.contains(&Risk::SecurityDowngrade))
        .count();
    (changes, downgrades)
}

async fn run_tenant(opts: Arc<RunOptions>, entry: TenantEntry, spec: SpecValue) -> TenantResult {
    let waits = Arc::new(Waits::default());
    let mut r = plan_and_apply(&opts, &entry, &spec, &waits).await;
    r.throttled = waits.throttled.load(Ordering::Relaxed);
    r.retries = waits.retries.load(Ordering::Relaxed);
    r
}

async fn plan_and_apply(
    opts: &RunOptions,
    entry: &TenantEntry,
    spec: &Result<Value, String>,
    waits: &Arc<Waits>,
) -> TenantResult {
    let r = TenantResult::new(&entry.name, &entry.tenant);
    let base = match spec {
        Ok(v) => v,
        Err(m) => {
            return r.fail(ErrorKind::Spec, format!("tenant `{}`: {m}", entry.name));
        }
    };
    let desired = match tenant_spec(entry, base) {
        Ok(loaded) => Desired::from_spec(&loaded.spec, opts.authority_url.as_deref()),
        Err(m) => return r.fail(ErrorKind::Spec, m),
    };

    let mut cfg = GraphConfig::for_cloud(cloud(&desired.cloud), entry.tenant.clone());
    if let Some(u) = &opts.graph_url {
        cfg = match cfg.with_graph_url(u) {
            Ok(c) => c,
            Err(e) => return r.fail(ErrorKind::Graph, format!("--graph-url: {e}")),
        };
    }
    if let Some(u) = &opts.authority_url {
        cfg = match cfg.with_authority_url(u) {
            Ok(c) => c,
            Err(e) => return r.fail(ErrorKind::Auth, format!("--authority-url: {e}")),
        };
    }
    if let Some((base, cap)) = opts.backoff {
        cfg.backoff_base = base;
        cfg.backoff_cap = cap;
    }
    let counter = Arc::clone(waits);
    let forward = opts.on_wait.clone();
    let name = entry.name.clone();
    cfg = cfg.with_on_wait(Arc::new(move |w: &WaitEvent| {
        match w.reason {
            WaitReason::Throttled { .. } => counter.throttled.fetch_add(1, Ordering::Relaxed),
            WaitReason::Pacing => 0,
            _ => counter.retries.fetch_add(1, Ordering::Relaxed),
        };
        if let Some(f) = &forward {
            f(&name, w);
        }
    }));

    let (method, env) = match credential_env(entry, &opts.env) {
        Ok(v) => v,
        Err(m) => return r.fail(ErrorKind::Auth, m),
    };
    // One HTTP client per tenant, shared by its credential and its Graph client.
    let http = match entractl_graph::build_http_client(&cfg) {
        Ok(h) => h,
        Err(e) => {
            return r.fail(
                ErrorKind::Internal,
                format!("tenant `{}`: cannot build the HTTP client: {e}", entry.name),
            );
        }
    };
    let auth = AuthOptions {
        http: Some(http.clone()),
        ..AuthOptions::default()
    };
    let creds = match credential_from_env(&env, Some(method), &cfg, &auth) {
        Ok(c) => c,
        Err(e) => {
            // Name the fleet file's field, not the variable the fleet set from it.
            let field = match &e {
                entractl_graph::AuthError::Certificate { .. } => "`auth.certificatePath`",
                entractl_graph::AuthError::TokenFile { .. } => "`auth.tokenFile`",
                _ => "`auth`",
            };
            return r.fail(
                ErrorKind::Auth,
                format!(
                    "tenant `{}`: {e}\n  hint: check the tenant's {field} in the fleet file",
                    entry.name
                ),
            );
        }
    };
    drop(env);
    let client = match GraphClient::with_http(cfg, creds, http) {
        Ok(c) => c,
        Err(e) => return r.fail(ErrorKind::Graph, format!("tenant `{}`: {e}", entry.name)),
    };
    // Sign in first so a credential problem is reported as such (the token is cached for fetch).
    if let Err(e) = client.token().await {
        return r.fail(
            ErrorKind::Auth,
            format!(
                "tenant `{}` ({}): cannot sign in: {e}\n  hint: check the tenant's `auth` in the fleet file and that the automation app is consented in this tenant",
                entry.name, entry.tenant
            ),
        );
    }
    let (observed, stats) = match fetch(&client, &desired).await {
        Ok(v) => v,
        Err(e) => {
            return r.fail(
                ErrorKind::Graph,
                format!("tenant `{}` ({}): {e}", entry.name, entry.tenant),
            );
        }
    };
    let plan = match diff(&desired, &observed) {
        Ok(p) => p,
        Err(e) => {
            return r.fail(
                ErrorKind::Plan,
                format!("tenant `{}` ({}): {e}", entry.name, entry.tenant),
            );
        }
    };
    let mut r = r;
    r.requests = Some(stats.requests);
    let (changes, downgrades) = counts(&plan);
    r.changes = changes;
    r.security_downgrades = downgrades;
    let Some(settings) = &opts.apply else {
        drop(observed);
        r.status = if plan.has_changes() {
            Status::Drifted
        } else {
            Status::InSync
        };
        r.plan = Some(plan);
        return r;
    };
    if !plan.has_changes() {
        r.status = Status::InSync;
        r.writes = Some(0);
        r.plan = Some(plan);
        return r;
    }
    let mut ao = ApplyOptions::new(settings.journal_dir.join(&entry.name));
    ao.allow_security_downgrade = settings.allow_security_downgrade;
    ao.verify_budget = settings.verify_budget;
    let outcome = apply(&client, &desired, &plan, &observed, &ao).await;
    drop(observed);
    r.plan = Some(plan);
    match outcome {
        Err(e) => r.fail(
            ErrorKind::Apply,
            format!("tenant `{}` ({}): {e}", entry.name, entry.tenant),
        ),
        Ok(report) => {
            r.writes = Some(report.writes);
            r.journal = report.journal_dir.map(|d| d.display().to_string());
            if report.converged {
                r.status = Status::Applied;
                r
            } else {
                let journal = r.journal.clone().unwrap_or_default();
                r.remaining = Some(report.final_plan);
                r.fail(
                    ErrorKind::Apply,
                    format!(
                        "tenant `{}` ({}): apply made {} change(s) but the tenant does not match the spec yet (journal: {journal})\n  hint: run `entractl plan --fleet` again; Graph may still be replicating, or another process changed the objects",
                        entry.name, entry.tenant, report.writes
                    ),
                )
            }
        }
    }
}
