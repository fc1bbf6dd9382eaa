//! Microsoft Graph (`/v1.0/...`, `/beta/...`): routing, bearer-token and permission checks,
//! throttling, logging, and the resources.
//!
//! Every request (outer HTTP or inner `$batch`) goes through [`dispatch::handle`], which parses the
//! path into a [`routes::Route`] with its template, checks the token and the permission table
//! ([`perms`]), applies throttling and records the request, then runs the handler
//! ([`handlers::execute`]). Layers, each using only those below it: `http` → `batch` → `dispatch` →
//! `handlers` → `routes`, `request`, `odata`, `schema`, `perms`.

pub mod batch;
pub mod dispatch;
pub mod error;
pub mod filter;
pub mod handlers;
pub mod http;
pub mod odata;
pub mod perms;
pub mod request;
pub mod routes;
pub mod schema;
