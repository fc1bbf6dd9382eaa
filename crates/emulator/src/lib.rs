#![recursion_limit = "256"]
//! graph-emulator: an in-memory Microsoft Graph tenant with an identity-platform token endpoint, served
//! on loopback for entractl's tests and sandbox. See `docs/emulator.md` for what is modelled.
//!
//! ```no_run
//! let emu = graph_emulator::start(graph_emulator::EmulatorConfig::scenario("p1")).unwrap();
//! println!("{}", emu.base_url());
//! ```

pub mod baseline_scopes;
pub mod conditional_access;
pub mod control;
pub mod fixture;
pub mod graph;
pub mod identity;
pub mod knobs;
pub mod managed_policies;
pub mod rng;
pub mod scenarios;
pub mod state;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::Instant;

use serde::{Deserialize, Serialize};

pub use knobs::{Knobs, Throttle};
pub use state::{Emulator, Obj, Record, Tenant};

/// Errors starting or driving the emulator.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}. Pick a free port or use 127.0.0.1:0")]
    Bind {
        /// Address asked for.
        addr: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The tokio runtime could not be built.
    #[error("cannot start the emulator's runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// Unknown scenario name.
    #[error(
        "unknown scenario `{0}`; built-in scenarios are: p1, p1-legacy, free, free-lapsed, large, empty"
    )]
    UnknownScenario(String),
    /// A fixture file could not be read.
    #[error("cannot read fixture `{path}`: {source}")]
    ReadFixture {
        /// Path.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// A fixture is not valid.
    #[error(
        "invalid fixture `{name}`: {message}. Fix the fixture (see docs/emulator.md, \"Fixtures\")"
    )]
    Fixture {
        /// Fixture name or path.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// The state file could not be read or written.
    #[error("state file `{path}`: {message}. Delete the file to start from the scenario again")]
    StateFile {
        /// Path.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// No tenant with this id.
    #[error("no tenant `{0}` in the emulator")]
    UnknownTenant(String),
    /// Device code approval for an unknown user code.
    #[error("no pending device code with user code `{0}`; start a device-code sign-in first")]
    UnknownDeviceCode(String),
    /// Device code approval for an unknown user.
    #[error("no user `{0}` in the tenant; use a userPrincipalName of the scenario")]
    UnknownUser(String),
}

/// Where the emulator's tenants come from.
#[derive(Debug, Clone)]
pub enum TenantSource {
    /// A built-in scenario (`p1`, `free`, `large`, `empty`).
    Scenario(String),
    /// A YAML fixture file.
    FixtureFile(PathBuf),
    /// A YAML fixture given as text (name used in errors).
    FixtureText {
        /// Name used in error messages.
        name: String,
        /// YAML text.
        text: String,
    },
}

/// How to start an emulator.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Tenants to load; more than one is allowed (many tenants at once).
    pub sources: Vec<TenantSource>,
    /// Address to listen on (`127.0.0.1:0` by default).
    pub listen: SocketAddr,
    /// Seed of every random choice (ids, jitter, faults).
    pub seed: u64,
    /// Realism knobs at start.
    pub knobs: Knobs,
    /// Persist the tenants to this file (JSON) on every write, and load it at start if present.
    pub state_file: Option<PathBuf>,
}

impl EmulatorConfig {
    /// A config serving one built-in scenario on 127.0.0.1:0, seed 0, no knobs.
    pub fn scenario(name: &str) -> Self {
        EmulatorConfig {
            sources: vec![TenantSource::Scenario(name.to_string())],
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            seed: 0,
            knobs: Knobs::default(),
            state_file: None,
        }
    }
}

/// One entry of the request log.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LogEntry {
    /// Sequence number (0-based, in arrival order).
    pub seq: u64,
    /// UTC timestamp (RFC 3339).
    pub timestamp: String,
    /// Milliseconds since the emulator started.
    pub elapsed_ms: u64,
    /// HTTP method.
    pub method: String,
    /// Path with query as sent (`/v1.0/applications?$filter=…`).
    pub path: String,
    /// Path template (`/v1.0/applications/{id}`).
    pub template: String,
    /// Response status.
    pub status: u16,
    /// Tenant from the token, when known.
    pub tenant: Option<String>,
    /// For an inner `$batch` request: its id in the batch.
    pub batch_id: Option<String>,
}

/// A counter of requests per `METHOD template`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct Counter {
    /// Number of requests.
    pub count: u64,
    /// How many of them ended with status >= 400.
    pub errors: u64,
    /// Timestamp of the first one.
    pub first: String,
    /// Timestamp of the last one.
    pub last: String,
}

/// Everything a request handler sees.
#[derive(Debug)]
pub struct AppState {
    /// The directory.
    pub emu: RwLock<Emulator>,
    /// The directory as loaded at start (for `/_emulator/reset`).
    pub initial: Emulator,
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// Tenant used when a request does not name one (first loaded).
    pub default_tenant: String,
    /// Realism knobs.
    pub knobs: Mutex<Knobs>,
    /// The seeded PRNG.
    pub rng: Mutex<rng::SplitMix64>,
    /// The request log.
    pub log: Mutex<Vec<LogEntry>>,
    /// Counters per `METHOD template`.
    pub counters: Mutex<BTreeMap<String, Counter>>,
    /// Throttling state.
    pub throttle: Mutex<knobs::ThrottleState>,
    /// The RS256 key that signs every token (one per process; public half at `jwks_uri`).
    pub signing_key: Arc<identity::keys::SigningKey>,
    /// The identity platform's state.
    pub identity: identity::IdentityState,
    /// Start instant (for `elapsed_ms`).
    pub started: Instant,
    /// Where to persist state.
    pub state_file: Option<PathBuf>,
}

/// The state shared by every handler.
pub type SharedState = Arc<AppState>;

impl AppState {
    /// Lock helper that survives a poisoned lock (a panicking handler must not take the emulator down).
    pub fn read(&self) -> std::sync::RwLockReadGuard<'_, Emulator> {
        self.emu.read().unwrap_or_else(|e| e.into_inner())
    }
    /// Write-lock helper.
    pub fn write(&self) -> std::sync::RwLockWriteGuard<'_, Emulator> {
        self.emu.write().unwrap_or_else(|e| e.into_inner())
    }
    /// A fresh GUID from the seeded PRNG.
    pub fn new_guid(&self) -> String {
        lock(&self.rng).guid()
    }
    /// The current knobs.
    pub fn knobs(&self) -> Knobs {
        lock(&self.knobs).clone()
    }
    /// Record a request in the log and counters.
    pub fn record(
        &self,
        method: &str,
        path: &str,
        template: &str,
        status: u16,
        tenant: Option<String>,
        batch_id: Option<String>,
    ) {
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let elapsed_ms = self.started.elapsed().as_millis() as u64;
        {
            let mut c = lock(&self.counters);
            let e = c.entry(format!("{method} {template}")).or_default();
            if e.count == 0 {
                e.first = now.clone();
            }
            e.count += 1;
            if status >= 400 {
                e.errors += 1;
            }
            e.last = now.clone();
        }
        let mut log = lock(&self.log);
        if log.len() >= LOG_CAP {
            // Keep memory bounded under benchmarks: drop the oldest tenth (counters stay exact).
            log.drain(..LOG_CAP / 10);
        }
        let seq = log.last().map_or(0, |e| e.seq + 1);
        log.push(LogEntry {
            seq,
            timestamp: now,
            elapsed_ms,
            method: method.to_string(),
            path: path.to_string(),
            template: template.to_string(),
            status,
            tenant,
            batch_id,
        });
    }
    /// Persist the directory to the state file, if one is configured.
    pub fn persist(&self) {
        if let Some(path) = &self.state_file {
            let text = {
                let emu = self.read();
                serde_json::to_vec(&*emu).unwrap_or_default()
            };
            let tmp = path.with_extension("tmp");
            if std::fs::write(&tmp, text).is_ok() {
                let _ = std::fs::rename(&tmp, path);
            }
        }
    }
}

/// The request log keeps at most this many entries (the oldest are dropped first).
pub const LOG_CAP: usize = 200_000;

/// Lock a mutex, ignoring poisoning.
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A running emulator. Dropping it shuts the server down.
#[derive(Debug)]
pub struct RunningEmulator {
    state: SharedState,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl RunningEmulator {
    /// `http://127.0.0.1:PORT` (no trailing slash): the Graph root and the authority root.
    pub fn base_url(&self) -> String {
        self.state.base_url.clone()
    }
    /// The default (first loaded) tenant's id.
    pub fn tenant_id(&self) -> String {
        self.state.default_tenant.clone()
    }
    /// The shared state (for advanced tests).
    pub fn state(&self) -> &SharedState {
        &self.state
    }
    /// A copy of the request log.
    pub fn request_log(&self) -> Vec<LogEntry> {
        lock(&self.state.log).clone()
    }
    /// Empty the request log and counters.
    pub fn clear_log(&self) {
        lock(&self.state.log).clear();
        lock(&self.state.counters).clear();
    }
    /// Counters per `METHOD /template`.
    pub fn counters(&self) -> BTreeMap<String, Counter> {
        lock(&self.state.counters).clone()
    }
    /// Replace the realism knobs.
    pub fn set_knobs(&self, knobs: Knobs) {
        *lock(&self.state.knobs) = knobs;
        lock(&self.state.throttle).reset();
    }
    /// Direct access to the default tenant (test setup and assertions).
    pub fn with_tenant<R>(&self, f: impl FnOnce(&mut Tenant) -> R) -> R {
        let id = self.state.default_tenant.clone();
        self.with_tenant_id(&id, f)
            .expect("the default tenant always exists")
    }
    /// Direct access to the tenant with this id.
    pub fn with_tenant_id<R>(
        &self,
        id: &str,
        f: impl FnOnce(&mut Tenant) -> R,
    ) -> Result<R, Error> {
        let r = {
            let mut emu = self.state.write();
            let t = emu
                .tenant_mut(id)
                .ok_or_else(|| Error::UnknownTenant(id.to_string()))?;
            let r = f(t);
            t.reindex();
            r
        };
        self.state.persist();
        Ok(r)
    }
    /// Make every pending write visible now: ends the replication delay of every object in every
    /// tenant (tests and the chaos campaign call this instead of sleeping). Returns how many objects
    /// were still replicating.
    pub fn settle_replication(&self) -> usize {
        control::settle_replication(&self.state)
    }
    /// Set a tenant's baseline-scope enforcement (what an admin does on the portal's settings page).
    pub fn set_baseline_scopes(
        &self,
        tenant_id: &str,
        mode: baseline_scopes::BaselineScopes,
    ) -> Result<(), Error> {
        self.with_tenant_id(tenant_id, |t| t.baseline_scopes = mode)
    }
    /// Turn the report-only Microsoft-managed policies of a tenant on (Microsoft does so when they
    /// stayed in report-only long enough); returns their ids.
    pub fn enable_managed_policies(&self, tenant_id: &str) -> Result<Vec<String>, Error> {
        self.with_tenant_id(tenant_id, Tenant::enable_managed_policies)
    }
    /// Ids of every tenant the emulator holds.
    pub fn tenant_ids(&self) -> Vec<String> {
        self.state.read().tenants.keys().cloned().collect()
    }
    /// Approve a pending device-code sign-in as `upn`.
    pub fn approve_device_code(&self, user_code: &str, upn: &str) -> Result<(), Error> {
        identity::approve_device_code(&self.state, user_code, upn)
    }
    /// Stop serving and wait for the server thread.
    pub fn shutdown(mut self) {
        self.stop();
    }
    fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Build the directory from the config's sources (scenarios, fixtures), or from the state file.
pub fn load_directory(config: &EmulatorConfig, base_url: &str) -> Result<Emulator, Error> {
    if let Some(path) = &config.state_file
        && path.exists()
    {
        let text = std::fs::read(path).map_err(|e| Error::StateFile {
            path: path.clone(),
            message: e.to_string(),
        })?;
        let mut emu: Emulator = serde_json::from_slice(&text).map_err(|e| Error::StateFile {
            path: path.clone(),
            message: format!("not a state file written by graph-emulator: {e}"),
        })?;
        emu.tenants.values_mut().for_each(Tenant::reindex);
        return Ok(emu);
    }
    let mut emu = Emulator::default();
    let mut seed_rng = rng::SplitMix64::new(config.seed ^ 0x5EED_F1C7_u64);
    for source in &config.sources {
        let tenant = match source {
            TenantSource::Scenario(name) => scenarios::load(name, base_url, &mut seed_rng)?,
            TenantSource::FixtureFile(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| Error::ReadFixture {
                    path: path.clone(),
                    source: e,
                })?;
                fixture::load_str(&path.display().to_string(), &text, base_url, &mut seed_rng)?
            }
            TenantSource::FixtureText { name, text } => {
                fixture::load_str(name, text, base_url, &mut seed_rng)?
            }
        };
        emu.tenants.insert(tenant.id.clone(), tenant);
    }
    Ok(emu)
}

/// Start the emulator on its own thread (with its own tokio runtime) and return once it listens.
pub fn start(config: EmulatorConfig) -> Result<RunningEmulator, Error> {
    let std_listener = std::net::TcpListener::bind(config.listen).map_err(|e| Error::Bind {
        addr: config.listen.to_string(),
        source: e,
    })?;
    let addr = std_listener.local_addr().map_err(|e| Error::Bind {
        addr: config.listen.to_string(),
        source: e,
    })?;
    std_listener
        .set_nonblocking(true)
        .map_err(|e| Error::Bind {
            addr: config.listen.to_string(),
            source: e,
        })?;
    let base_url = format!("http://{addr}");
    let emu = load_directory(&config, &base_url)?;
    let default_tenant = emu
        .tenants
        .keys()
        .next()
        .cloned()
        .ok_or_else(|| Error::Fixture {
            name: "config".into(),
            message: "no tenant loaded; give at least one scenario or fixture".into(),
        })?;
    let state: SharedState = Arc::new(AppState {
        initial: emu.clone(),
        emu: RwLock::new(emu),
        base_url,
        default_tenant,
        knobs: Mutex::new(config.knobs.clone()),
        rng: Mutex::new(rng::SplitMix64::new(config.seed)),
        log: Mutex::new(Vec::new()),
        counters: Mutex::new(BTreeMap::new()),
        throttle: Mutex::new(knobs::ThrottleState::default()),
        signing_key: identity::keys::SigningKey::shared(),
        identity: identity::IdentityState::default(),
        started: Instant::now(),
        state_file: config.state_file.clone(),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("graph-emulator")
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let app = router(state.clone());
    let thread = std::thread::Builder::new()
        .name("graph-emulator".into())
        .spawn(move || {
            runtime.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(std_listener) else {
                    return;
                };
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = rx.await;
                    })
                    .await;
            });
            runtime.shutdown_background();
        })
        .map_err(Error::Runtime)?;
    Ok(RunningEmulator {
        state,
        shutdown: Some(tx),
        thread: Some(thread),
    })
}

/// The whole app: Graph (`/v1.0`, `/beta`), identity platform, control API.
pub fn router(state: SharedState) -> axum::Router {
    axum::Router::new()
        .merge(identity::routes())
        .merge(control::routes())
        .merge(graph::http::routes())
        .with_state(state)
}
