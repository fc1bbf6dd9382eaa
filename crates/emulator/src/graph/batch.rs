//! JSON batching (`POST /$batch`).

use super::{GraphRequest, GraphResponse, handle};
use crate::SharedState;

/// Handle a `$batch` request.
pub fn handle_batch(state: &SharedState, req: &GraphRequest, request_id: &str) -> GraphResponse {
    handle(state, req, request_id)
}
