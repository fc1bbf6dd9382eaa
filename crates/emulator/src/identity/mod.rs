//! The identity platform: token endpoint, device code, ROPC sign-in evaluation, OpenID
//! configuration and key set. This module declares its parts, builds the routes, and re-exports the
//! public API.
//!
//! Contract with the Graph side:
//! - [`routes`] returns the identity routes, merged into the app router:
//!   `POST /{tenant}/oauth2/v2.0/token`, `POST /{tenant}/oauth2/v2.0/devicecode`,
//!   `GET /{tenant}/v2.0/.well-known/openid-configuration`, `GET /{tenant}/discovery/v2.0/keys`,
//!   and the control routes `POST /_emulator/federated-token`,
//!   `GET /_emulator/device-codes`, `POST /_emulator/device-codes/{user_code}/approve|decline`.
//! - [`jwt::verify_access_token`] is what the Graph auth check calls.
//! - [`IdentityState`] is the identity platform's own mutable state, held in `AppState::identity`.
//! - [`approve_device_code`] backs `RunningEmulator::approve_device_code`.

pub mod assertion;
pub mod claims;
pub mod client_auth;
pub mod client_errors;
pub mod device_login;
pub mod endpoints;
pub mod errors;
pub mod http;
pub mod jwt;
pub mod keys;
pub mod platform;
pub mod request;
pub mod signin;
pub mod token;

use axum::Router;
use axum::routing::{get, post};

use crate::app::SharedState;
use device_login::{
    approve_endpoint, decline_endpoint, devicelogin_page, devicelogin_submit, list_device_codes,
};
use endpoints::{
    devicecode_endpoint, jwks, mint_federated_token, openid_configuration, token_endpoint,
};

pub use device_login::{approve_device_code, decline_device_code};
pub use endpoints::openid_configuration_document;
pub use platform::{DeviceCode, DeviceStatus, IdentitySettings, IdentityState, RefreshGrant};

/// The identity platform's routes (merged into the emulator's router).
pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(token_endpoint))
        .route(
            "/{tenant}/oauth2/v2.0/devicecode",
            post(devicecode_endpoint),
        )
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(openid_configuration),
        )
        .route("/{tenant}/discovery/v2.0/keys", get(jwks))
        .route(
            "/devicelogin",
            get(devicelogin_page).post(devicelogin_submit),
        )
        .route("/_emulator/federated-token", post(mint_federated_token))
        .route("/_emulator/device-codes", get(list_device_codes))
        .route(
            "/_emulator/device-codes/{user_code}/approve",
            post(approve_endpoint),
        )
        .route(
            "/_emulator/device-codes/{user_code}/decline",
            post(decline_endpoint),
        )
}
