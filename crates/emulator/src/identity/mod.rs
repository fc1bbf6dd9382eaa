//! The identity platform (owned by E2): token endpoint, device code, ROPC sign-in evaluation,
//! OpenID configuration. This file is the hook the rest of the crate uses.
//!
//! Contract with the Graph side:
//! - [`routes`] returns the identity routes, merged into the app router (`/{tenant}/oauth2/v2.0/...`,
//!   `/{tenant}/v2.0/.well-known/openid-configuration`, `/_emulator/federated-token`).
//! - [`jwt::verify_access_token`] is what the Graph auth check calls.
//! - [`IdentityState`] is the identity platform's own mutable state, held in `AppState::identity`.
//! - [`approve_device_code`] backs `RunningEmulator::approve_device_code`.

pub mod jwt;

use std::sync::Mutex;

use axum::Router;

use crate::{Error, SharedState};

/// Mutable state of the identity platform (pending device codes, ...).
#[derive(Debug, Default)]
pub struct IdentityState {
    /// Pending device-code authorisations: user_code → approving UPN (None until approved).
    pub device_codes: Mutex<Vec<(String, Option<String>)>>,
}

/// The identity platform's routes (merged into the emulator's router).
pub fn routes() -> Router<SharedState> {
    Router::new()
}

/// Approve a pending device-code sign-in as user `upn` (test / control API).
pub fn approve_device_code(state: &SharedState, user_code: &str, upn: &str) -> Result<(), Error> {
    let mut codes = state.identity.device_codes.lock().unwrap_or_else(|e| e.into_inner());
    match codes.iter_mut().find(|(c, _)| c == user_code) {
        Some(entry) => {
            entry.1 = Some(upn.to_string());
            Ok(())
        }
        None => Err(Error::UnknownDeviceCode(user_code.to_string())),
    }
}
