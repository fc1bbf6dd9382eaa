#![recursion_limit = "256"]
//! graph-emulator: an in-memory Microsoft Graph tenant with an identity-platform token endpoint, served
//! on loopback for entractl's tests and sandbox. See `docs/emulator.md` for what is modelled.
//!
//! ```no_run
//! let emu = graph_emulator::start(graph_emulator::EmulatorConfig::scenario("p1")).unwrap();
//! println!("{}", emu.base_url());
//! ```

pub mod app;
pub mod baseline_scopes;
pub mod collection;
pub mod conditional_access;
pub mod config;
pub mod control;
pub mod error;
pub mod fixture;
pub mod graph;
pub mod home_realm;
pub mod identity;
pub mod knobs;
pub mod limits;
pub mod locks;
pub mod managed_policies;
pub mod record;
pub mod rng;
pub mod scenarios;
pub mod state;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::Instant;

pub use app::{AppState, Counter, LOG_CAP, LogEntry, SharedState, lock};
pub use config::{EmulatorConfig, TenantSource};
pub use error::Error;
pub use knobs::{Knobs, Throttle};
pub use state::{Emulator, Obj, Record, Tenant};

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
    /// What Graph's identity and access limits (knob `graph_limits`) counted for a tenant since
    /// the knobs were last set: resource units and writes admitted, requests answered 429.
    pub fn limits_usage(&self, tenant_id: &str) -> limits::Usage {
        lock(&self.state.throttle)
            .limits
            .usage(&tenant_id.to_ascii_lowercase())
    }
    /// Graph's limits (knob `graph_limits`): until the knobs are next set, each application's
    /// resource-unit bucket in a tenant starts empty, as right after a run that spent it.
    pub fn start_limits_spent(&self) {
        lock(&self.state.throttle).limits.start_spent();
    }
    /// Replace the realism knobs (throttling state starts afresh).
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
    /// An app-only Graph access token for `app_id` in the default tenant with exactly `roles`,
    /// signed as the token endpoint signs (for tests of what a permission allows, whatever the
    /// app has been granted).
    pub fn app_token(&self, app_id: &str, roles: &[&str]) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let tid = self.tenant_id();
        let claims = identity::jwt::AccessClaims {
            iss: format!("https://sts.windows.net/{tid}/"),
            tid,
            aud: "https://graph.microsoft.com".into(),
            appid: app_id.into(),
            azp: None,
            oid: None,
            roles: roles.iter().map(|r| r.to_string()).collect(),
            scp: None,
            exp: now + 3600,
            iat: now,
        };
        identity::jwt::issue_access_token(&self.state, &claims)
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
