//! The control API under `/_emulator/` (cannot collide with Graph paths, which start with a version).

use axum::Router;

use crate::SharedState;

/// Control routes.
pub fn routes() -> Router<SharedState> {
    Router::new()
}
