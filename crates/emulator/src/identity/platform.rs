//! The identity platform's own mutable state: device-code sign-ins, refresh tokens, tunables.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::locks::lock;

/// Where a device-code sign-in stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceStatus {
    /// The user has not finished signing in.
    Pending,
    /// Approved by this user (object id); the next poll redeems it.
    Approved {
        /// Object id of the user who signed in.
        user_id: String,
    },
    /// The user declined.
    Declined,
    /// Tokens were issued for it.
    Redeemed,
}

/// One device-code sign-in.
#[derive(Debug, Clone)]
pub struct DeviceCode {
    /// The long code the client polls with.
    pub device_code: String,
    /// The short code the user types.
    pub user_code: String,
    /// Tenant id.
    pub tenant_id: String,
    /// Client id.
    pub client_id: String,
    /// The Graph scopes asked for.
    pub scopes: Vec<String>,
    /// When `expires_in` runs out.
    pub expires_at: Instant,
    /// Last poll (for `slow_down`).
    pub last_poll: Option<Instant>,
    /// Status.
    pub status: DeviceStatus,
}

/// What a refresh token stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshGrant {
    /// Tenant id.
    pub tenant_id: String,
    /// Client id.
    pub client_id: String,
    /// User object id.
    pub user_id: String,
    /// The Graph scopes granted.
    pub scopes: Vec<String>,
}

/// Tunables of the identity platform (tests shorten them; defaults are Entra's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentitySettings {
    /// `expires_in` of device codes (Entra: 15 minutes).
    pub device_code_lifetime: Duration,
    /// `interval` announced by `/devicecode` (Entra: 5 s).
    pub device_code_interval_secs: u64,
    /// Polls closer together than this get `slow_down` (default zero: Entra does not enforce it).
    pub device_code_min_poll_interval: Duration,
    /// `expires_in` of access tokens (Entra: 3599 s by default; real tokens vary 60–90 min).
    pub access_token_lifetime_secs: i64,
}

impl Default for IdentitySettings {
    fn default() -> Self {
        IdentitySettings {
            device_code_lifetime: Duration::from_secs(900),
            device_code_interval_secs: 5,
            device_code_min_poll_interval: Duration::ZERO,
            access_token_lifetime_secs: 3599,
        }
    }
}

/// Mutable state of the identity platform.
#[derive(Debug, Default)]
pub struct IdentityState {
    /// Device-code sign-ins, oldest first.
    pub device_codes: Mutex<Vec<DeviceCode>>,
    /// Outstanding refresh tokens (each is single use: redeeming it issues a new one).
    pub refresh_tokens: Mutex<HashMap<String, RefreshGrant>>,
    /// Tunables.
    pub settings: Mutex<IdentitySettings>,
}

impl IdentityState {
    /// Replace the tunables.
    pub fn set_settings(&self, settings: IdentitySettings) {
        *lock(&self.settings) = settings;
    }
    /// The current tunables.
    pub fn settings(&self) -> IdentitySettings {
        lock(&self.settings).clone()
    }
}
