//! The typed resource layer: one module per Entra object entractl reads or writes, and the only
//! place where Graph's facts about that object live — its paths and alternate keys, its
//! `$select`, its JSON shape (a serde struct that keeps the properties entractl does not model,
//! for read-modify-write), the bodies of its writes with Graph's PATCH semantics, the
//! replication rule of each write, and the least-privileged application permission Microsoft
//! documents for each operation.
//!
//! Every function here builds a [`GraphRequest`] value or parses a value; nothing here sends a
//! request (the client and the [`crate::Loader`] do).

mod de;

pub mod app_role_assignment;
pub mod application;
pub mod authentication_requirements;
pub mod conditional_access_policy;
pub mod deleted_item;
pub mod group;
pub mod oauth2_permission_grant;
pub mod security_defaults;
pub mod service_principal;
pub mod subscribed_sku;
pub mod user;

pub use de::parse;

use crate::request::{GraphRequest, RetryRule};

/// One Graph operation and the least-privileged application permission Microsoft documents for
/// it (the permission tables of `api-reference/v1.0/api/*.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    pub method: &'static str,
    /// Path template: `{}` stands for one segment; an alternate key `applications(uniqueName='…')`
    /// reads as `applications/{}`.
    pub path: &'static str,
    pub permission: &'static str,
}

impl Operation {
    pub(crate) const fn new(
        method: &'static str,
        path: &'static str,
        permission: &'static str,
    ) -> Operation {
        Operation {
            method,
            path,
            permission,
        }
    }
}

/// Every operation of every resource.
pub fn operations() -> impl Iterator<Item = &'static Operation> {
    [
        application::OPERATIONS,
        service_principal::OPERATIONS,
        oauth2_permission_grant::OPERATIONS,
        app_role_assignment::OPERATIONS,
        user::OPERATIONS,
        group::OPERATIONS,
        conditional_access_policy::OPERATIONS,
        security_defaults::OPERATIONS,
        authentication_requirements::OPERATIONS,
        deleted_item::OPERATIONS,
        subscribed_sku::OPERATIONS,
    ]
    .into_iter()
    .flatten()
}

/// An OData string literal: single quotes doubled.
pub fn odata_str(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// `prop eq 'value'`.
pub fn eq(prop: &str, value: &str) -> String {
    format!("{prop} eq {}", odata_str(value))
}

/// `tags/any(t:t eq 'tag')`.
pub fn has_tag(tag: &str) -> String {
    format!("tags/any(t:t eq {})", odata_str(tag))
}

/// A filtered list read: `GET path?$filter=…&$select=…`, labelled for messages.
pub fn list(path: &str, filter: String, select: &[&str], label: impl Into<String>) -> GraphRequest {
    GraphRequest::get(path)
        .query("$filter", filter)
        .select(select)
        .label(label.into())
}

/// The largest page Graph serves of directory objects.
pub const PAGE_SIZE: u32 = 999;

/// The answers Graph gives while an object created just before (an application, a service
/// principal) has not replicated to every replica yet: a write that references it is retried
/// (with back-off, within the operation's budget) instead of failing.
pub fn while_replicating(req: GraphRequest) -> GraphRequest {
    req.retry_on(RetryRule::message_contains(
        400,
        "does not reference a valid application object",
    ))
    .retry_on(RetryRule::message_contains(
        400,
        "does not exist or one of its queried reference-property objects are not present",
    ))
    .retry_on(RetryRule::message_contains(
        404,
        "does not exist or one of its queried reference-property objects are not present",
    ))
    .retry_on(RetryRule::code(404, "Request_ResourceNotFound"))
}

#[cfg(test)]
mod tests;
