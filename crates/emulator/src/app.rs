//! The state every request handler shares: the directory, the knobs, the PRNG, the request log, the
//! identity platform's state and the signing key.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use serde::{Deserialize, Serialize};

pub use crate::locks::lock;

use crate::identity::keys::SigningKey;
use crate::identity::platform::IdentityState;
use crate::knobs::{Knobs, ThrottleState};
use crate::rng;
use crate::state::Emulator;

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
    pub throttle: Mutex<ThrottleState>,
    /// The RS256 key that signs every token (one per process; public half at `jwks_uri`).
    pub signing_key: Arc<SigningKey>,
    /// The identity platform's state.
    pub identity: IdentityState,
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
