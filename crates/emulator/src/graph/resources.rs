//! Graph resources: route table and handlers.

use super::odata::GraphError;
use super::{Caller, GraphRequest, GraphResponse};
use crate::SharedState;

/// A parsed route.
#[derive(Debug, Clone)]
pub struct Route {
    /// Template without version (`/applications/{id}`).
    pub template: &'static str,
    /// Path parameters in order.
    pub params: Vec<String>,
    /// Only served on beta.
    pub beta_only: bool,
    /// Segment named in "Resource not found for the segment" errors.
    pub segment_hint: String,
}

/// Parse a request path into a route.
pub fn route(req: &GraphRequest) -> Result<Route, GraphError> {
    let first = req.path.trim_start_matches('/').split('/').next().unwrap_or("");
    Err(GraphError::new(
        400,
        "BadRequest",
        format!("Resource not found for the segment '{first}'."),
    ))
}

/// Run a routed, authorised request.
pub fn execute(
    _state: &SharedState,
    _caller: &Caller,
    _req: &GraphRequest,
    route: &Route,
) -> Result<GraphResponse, GraphError> {
    Err(GraphError::not_found(route.template))
}
