//! What every resource module shares: how an operation's permission is recorded, OData
//! literals and filters, the largest page, and the replication retry rule.

use serde_json::Value;

use std::time::Duration;

use crate::request::{GraphRequest, RetryRule, RuleBackoff};

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
    pub const fn new(
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

/// Retries of a write waiting for replication: from 200 ms, growing by half, at most 500 ms
/// apart (each wait jittered between half and all of that; a wait overshoots replication by
/// a quarter of a second on average) — polled, as Terraform's azuread provider (hashicorp/go-azure-sdk) retries Graph's
/// eventual-consistency answers, rather than slept out.
pub const REPLICATION_BACKOFF: RuleBackoff = RuleBackoff {
    base: Duration::from_millis(200),
    cap: Duration::from_millis(500),
};

/// The answers Graph gives while an object created just before (an application, a service
/// principal) has not replicated to every replica yet: a write that references it is retried
/// (with [`REPLICATION_BACKOFF`], within the operation's budget) instead of failing.
pub fn while_replicating(req: GraphRequest) -> GraphRequest {
    req.rule_backoff(REPLICATION_BACKOFF)
        .retry_on(RetryRule::message_contains(
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

/// Graph's PATCH semantics: each top-level property of `patch` replaces the current value whole
/// (a complex value such as `web` is not merged: send it complete).
pub fn merge_patch(current: &Value, patch: &Value) -> Value {
    let mut out = current.as_object().cloned().unwrap_or_default();
    if let Some(b) = patch.as_object() {
        for (k, v) in b {
            out.insert(k.clone(), v.clone());
        }
    }
    Value::Object(out)
}
