//! The retry policy's parts: `Retry-After`, back-off with jitter, waits reported to the caller, pacing.

use std::fmt;
use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// Why a request waits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitReason {
    /// 429: Graph throttled the request (`retry_after` is what Graph asked for, if it said).
    Throttled { retry_after: Option<Duration> },
    /// 5xx: Graph is unavailable or failed.
    ServerError { status: u16 },
    /// The connection failed before a response.
    Connection,
    /// A per-request retry rule matched (typically replication delay right after a create).
    RetryRule { status: u16, code: Option<String> },
    /// Conditional access calls are spaced 1 s apart (Graph gives no `Retry-After` there).
    Pacing,
    /// Graph rejected the token (401): a fresh one is fetched and the request sent once more.
    TokenRefresh,
}

/// A wait the client is about to do; given to the `on_wait` callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitEvent {
    /// The request's label, or `METHOD path`.
    pub operation: String,
    /// Why.
    pub reason: WaitReason,
    /// The attempt that just failed (1-based); 0 for pacing.
    pub attempt: u32,
    /// How long.
    pub delay: Duration,
}

impl fmt::Display for WaitEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.delay.as_secs_f64();
        match &self.reason {
            WaitReason::Throttled {
                retry_after: Some(_),
            } => write!(
                f,
                "{}: throttled by Graph, retrying in {secs:.1}s as Graph asked (attempt {})",
                self.operation, self.attempt
            ),
            WaitReason::Throttled { retry_after: None } => write!(
                f,
                "{}: throttled by Graph, retrying in {secs:.1}s (attempt {})",
                self.operation, self.attempt
            ),
            WaitReason::ServerError { status } => write!(
                f,
                "{}: Graph answered {status}, retrying in {secs:.1}s (attempt {})",
                self.operation, self.attempt
            ),
            WaitReason::Connection => write!(
                f,
                "{}: connection failed, retrying in {secs:.1}s (attempt {})",
                self.operation, self.attempt
            ),
            WaitReason::RetryRule { status, code } => write!(
                f,
                "{}: waiting for Entra replication ({status} {}), retrying in {secs:.1}s (attempt {})",
                self.operation,
                code.as_deref().unwrap_or("-"),
                self.attempt
            ),
            WaitReason::TokenRefresh => write!(
                f,
                "{}: Graph rejected the access token (401), retrying once with a new token",
                self.operation
            ),
            WaitReason::Pacing => write!(
                f,
                "{}: pacing conditional access calls (1 request/s), waiting {secs:.1}s",
                self.operation
            ),
        }
    }
}

/// Parses `Retry-After`: seconds (fractional allowed, e.g. `2.128`) or an HTTP-date.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0)
            .then(|| Duration::from_secs_f64(secs.min(86_400.0)));
    }
    let when = httpdate::parse_http_date(v).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// `Retry-After` from response headers.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, SystemTime::now()))
}

/// Exponential back-off with "equal jitter": attempt 1 waits in [base/2, base], attempt 2 in
/// [base, 2·base], … never more than `cap`.
pub fn backoff(attempt: u32, base: Duration, cap: Duration) -> Duration {
    let exp = base.saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
    let full = exp.min(cap);
    let half = full / 2;
    let jitter_ns = (uuid::Uuid::new_v4().as_u128() as u64) % (half.as_nanos() as u64 + 1);
    half + Duration::from_nanos(jitter_ns)
}

/// Spaces calls at least `interval` apart (one per client).
#[derive(Debug)]
pub(crate) struct Pacer {
    next: Mutex<Option<Instant>>,
}

impl Pacer {
    pub(crate) fn new() -> Pacer {
        Pacer {
            next: Mutex::new(None),
        }
    }

    /// Waits for this caller's slot; returns how long it waited. Callers are served one at a time.
    pub(crate) async fn wait(
        &self,
        interval: Duration,
        on_wait: impl FnOnce(Duration),
    ) -> Duration {
        let mut next = self.next.lock().await;
        let now = Instant::now();
        let waited = match *next {
            Some(t) if t > now => {
                let d = t - now;
                on_wait(d);
                tokio::time::sleep_until(t).await;
                d
            }
            _ => Duration::ZERO,
        };
        *next = Some(Instant::now() + interval);
        waited
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_fractional_and_http_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after(" 2.128 ", now),
            Some(Duration::from_millis(2128))
        );
        assert_eq!(parse_retry_after("-1", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
        let later = httpdate::fmt_http_date(now + Duration::from_secs(7));
        assert_eq!(parse_retry_after(&later, now), Some(Duration::from_secs(7)));
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(7));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
    }

    #[test]
    fn backoff_grows_is_jittered_and_capped() {
        let base = Duration::from_secs(1);
        let cap = Duration::from_secs(30);
        for _ in 0..50 {
            let d1 = backoff(1, base, cap);
            assert!(d1 >= Duration::from_millis(500) && d1 <= base, "{d1:?}");
            let d3 = backoff(3, base, cap);
            assert!(
                d3 >= Duration::from_secs(2) && d3 <= Duration::from_secs(4),
                "{d3:?}"
            );
            let d30 = backoff(30, base, cap);
            assert!(d30 >= Duration::from_secs(15) && d30 <= cap, "{d30:?}");
        }
    }

    #[tokio::test]
    async fn pacer_spaces_calls() {
        let p = Pacer::new();
        let interval = Duration::from_millis(20);
        let mut reported = 0;
        assert_eq!(p.wait(interval, |_| reported += 1).await, Duration::ZERO);
        let waited = p.wait(interval, |_| reported += 1).await;
        assert!(waited > Duration::ZERO);
        assert_eq!(reported, 1);
    }

    #[test]
    fn wait_events_say_what_is_waited_for() {
        let e = WaitEvent {
            operation: "create service principal".into(),
            reason: WaitReason::RetryRule {
                status: 400,
                code: Some("Request_BadRequest".into()),
            },
            attempt: 2,
            delay: Duration::from_millis(1500),
        };
        assert_eq!(
            e.to_string(),
            "create service principal: waiting for Entra replication (400 Request_BadRequest), retrying in 1.5s (attempt 2)"
        );
    }
}
