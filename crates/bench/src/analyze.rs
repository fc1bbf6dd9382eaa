//! What the emulator's request log says about a run: how many requests, and how many sequential
//! waves (the critical path).

use std::collections::BTreeMap;

use graph_emulator::LogEntry;

/// Request counts of one run, from the emulator's request log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Traffic {
    /// HTTP requests that reached the emulator (token requests and `$batch` envelopes included,
    /// the requests inside a `$batch` not).
    pub http_requests: usize,
    /// Requests to the identity platform (token endpoint).
    pub token_requests: usize,
    /// `POST /$batch` envelopes.
    pub batches: usize,
    /// Requests carried inside `$batch` envelopes.
    pub inner_requests: usize,
    /// Graph operations: requests sent alone plus requests inside batches (no envelopes, no tokens).
    pub graph_operations: usize,
    /// Graph operations per `METHOD /template`.
    pub by_template: BTreeMap<String, usize>,
}

fn is_identity(e: &LogEntry) -> bool {
    e.template.starts_with("/{tenant}")
}

fn is_batch_envelope(e: &LogEntry) -> bool {
    e.batch_id.is_none() && e.template.ends_with("/$batch")
}

/// Counts the requests of a log.
pub fn traffic(log: &[LogEntry]) -> Traffic {
    let mut t = Traffic::default();
    for e in log {
        if e.batch_id.is_some() {
            t.inner_requests += 1;
        } else {
            t.http_requests += 1;
            if is_identity(e) {
                t.token_requests += 1;
                continue;
            }
            if is_batch_envelope(e) {
                t.batches += 1;
                continue;
            }
        }
        t.graph_operations += 1;
        *t.by_template
            .entry(format!("{} {}", e.method, e.template))
            .or_default() += 1;
    }
    t
}

/// Graph operations whose template contains `needle` (e.g. `/authentication/requirements`).
pub fn operations_matching(t: &Traffic, needle: &str) -> usize {
    t.by_template
        .iter()
        .filter(|(k, _)| k.contains(needle))
        .map(|(_, n)| n)
        .sum()
}

/// Sequential waves of Graph requests after the token: the HTTP requests (envelopes and requests
/// sent alone; identity requests left out) sorted by completion time, a new wave starting
/// wherever two consecutive completions are more than half the injected latency apart. With a
/// latency of L per request, requests in flight together complete within a few milliseconds of
/// each other and a request that had to wait for another completes at least L later, so the
/// count is the number of round trips on the critical path. Needs a latency well above the
/// machine's scheduling noise (50 ms is); with no latency every request looks concurrent.
pub fn waves_after_token(log: &[LogEntry], latency_ms: u64) -> usize {
    let mut done: Vec<u64> = log
        .iter()
        .filter(|e| e.batch_id.is_none() && !is_identity(e))
        .map(|e| e.elapsed_ms)
        .collect();
    done.sort_unstable();
    let gap = (latency_ms / 2).max(1);
    let mut waves = 0;
    let mut last: Option<u64> = None;
    for t in done {
        if last.is_none_or(|l| t - l > gap) {
            waves += 1;
        }
        last = Some(t);
    }
    waves
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(ms: u64, method: &str, template: &str, batch_id: Option<&str>) -> LogEntry {
        LogEntry {
            seq: 0,
            timestamp: String::new(),
            elapsed_ms: ms,
            method: method.into(),
            path: template.into(),
            template: template.into(),
            status: 200,
            tenant: None,
            batch_id: batch_id.map(str::to_string),
        }
    }

    #[test]
    fn counts_envelopes_inner_requests_and_tokens_apart() {
        let log = vec![
            entry(50, "POST", "/{tenant}/oauth2/v2.0/token", None),
            entry(101, "GET", "/v1.0/applications", Some("0")),
            entry(101, "GET", "/v1.0/servicePrincipals", Some("1")),
            entry(102, "POST", "/v1.0/$batch", None),
            entry(
                103,
                "GET",
                "/v1.0/identity/conditionalAccess/policies",
                None,
            ),
            entry(
                160,
                "GET",
                "/beta/users/{id}/authentication/requirements",
                Some("0"),
            ),
            entry(161, "POST", "/beta/$batch", None),
        ];
        let t = traffic(&log);
        assert_eq!(t.http_requests, 4);
        assert_eq!(t.token_requests, 1);
        assert_eq!(t.batches, 2);
        assert_eq!(t.inner_requests, 3);
        assert_eq!(t.graph_operations, 4);
        assert_eq!(t.by_template["GET /v1.0/applications"], 1);
        assert_eq!(operations_matching(&t, "/authentication/requirements"), 1);
        assert!(!t.by_template.keys().any(|k| k.contains("$batch")));
    }

    #[test]
    fn waves_split_where_a_request_waited_for_another() {
        // token at 50; wave 1: two requests done at 101/103; wave 2 at 160; wave 3 at 215/216.
        let log = vec![
            entry(50, "POST", "/{tenant}/oauth2/v2.0/token", None),
            entry(101, "GET", "/v1.0/a", None),
            entry(100, "GET", "/v1.0/inner", Some("1")),
            entry(103, "POST", "/v1.0/$batch", None),
            entry(160, "GET", "/v1.0/b", None),
            entry(216, "GET", "/v1.0/c", None),
            entry(215, "GET", "/v1.0/d", None),
        ];
        assert_eq!(waves_after_token(&log, 50), 3);
        // The token and the inner requests are not waves of their own; an empty log has none.
        assert_eq!(waves_after_token(&log[..4], 50), 1);
        assert_eq!(waves_after_token(&[], 50), 0);
    }
}
