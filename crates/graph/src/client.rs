//! `GraphClient`: one request with the retry policy, lists with paging.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::HeaderMap;
use serde_json::Value;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::adaptive::{Gate, Governor, Window};
use crate::auth::{AuthError, TokenSource};
use crate::config::GraphConfig;
use crate::error::{GraphError, GraphErrorKind};
use crate::request::{GraphRequest, GraphResponse, MAX_BATCH};
use crate::retry::{Pacer, WaitEvent, WaitReason, backoff, retry_after};
use crate::secret::AccessToken;

/// A Microsoft Graph client. Cheap to clone (one HTTP client and one token cache per run).
#[derive(Clone)]
pub struct GraphClient {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) cfg: GraphConfig,
    pub(crate) http: reqwest::Client,
    pub(crate) creds: Arc<dyn TokenSource>,
    pub(crate) pacer: Pacer,
    pub(crate) in_flight: Semaphore,
    pub(crate) governor: Governor,
}

/// Where a request goes.
pub(crate) enum Target {
    /// Relative to the version root; the request's query is appended.
    Relative,
}

/// One attempt that did not succeed.
pub(crate) enum Failure {
    /// No token: never retried here.
    Auth(GraphError),
    /// No complete response. `maybe_applied`: the request may have reached Graph.
    /// `unreachable`: no connection could be made (refused, DNS, TLS): not retried, since that
    /// is not transient the way 429 and 503 are.
    Transport {
        err: GraphError,
        maybe_applied: bool,
        unreachable: bool,
    },
    /// Graph answered with an error status.
    Http { err: GraphError, headers: HeaderMap },
}

enum Decision {
    Done(Result<GraphResponse, GraphError>),
    Retry(GraphError, WaitReason, Option<Duration>),
}

enum Probe {
    Found(GraphResponse),
    Absent,
    Failed(GraphError),
}

impl GraphClient {
    /// Builds the client: validates the configuration (https, or http to loopback only) and creates
    /// the HTTP client (rustls, HTTP/2 by ALPN, certificate verification always on).
    pub fn new(cfg: GraphConfig, creds: Arc<dyn TokenSource>) -> Result<GraphClient, GraphError> {
        let http = crate::transport::build_http_client(&cfg).map_err(|e| {
            GraphError::new(
                GraphErrorKind::Config,
                "",
                "",
                format!("cannot build the HTTP client: {e}"),
            )
        })?;
        GraphClient::with_http(cfg, creds, http)
    }

    /// Like [`GraphClient::new`], with an HTTP client built by [`crate::build_http_client`] that the
    /// credential shares (`AuthOptions::http`), so a run has one connection pool and one TLS setup.
    pub fn with_http(
        cfg: GraphConfig,
        creds: Arc<dyn TokenSource>,
        http: reqwest::Client,
    ) -> Result<GraphClient, GraphError> {
        cfg.validate().map_err(GraphError::config)?;
        Ok(GraphClient {
            inner: Arc::new(Inner {
                in_flight: Semaphore::new(cfg.max_in_flight),
                governor: governor(&cfg),
                cfg,
                http,
                creds,
                pacer: Pacer::new(),
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &GraphConfig {
        &self.inner.cfg
    }

    /// Which credential is used (no secret).
    pub fn credential_description(&self) -> String {
        self.inner.creds.describe()
    }

    /// The current access token (e.g. to check its permissions before a write).
    pub async fn token(&self) -> Result<AccessToken, GraphError> {
        self.token_for("", "").await
    }

    /// The credential's token for a request to `method path`, within the overall time budget
    /// when one is set (`--timeout`): a token endpoint that does not answer must not outlast
    /// the run's budget.
    pub(crate) async fn token_for(
        &self,
        method: &str,
        path: &str,
    ) -> Result<AccessToken, GraphError> {
        let token = self.inner.creds.token();
        let answer = match self.inner.cfg.deadline {
            Some(d) => tokio::time::timeout(d.remaining(), token)
                .await
                .unwrap_or_else(|_| {
                    Err(AuthError::Deadline {
                        source_name: self.inner.creds.describe(),
                        seconds: d.total.as_secs(),
                    })
                }),
            None => token.await,
        };
        answer.map_err(|e| GraphError::auth(e, method, path))
    }

    /// Sends one request with the retry policy: 429/503/504 and connection failures are retried
    /// (`Retry-After` honoured, else exponential back-off with jitter), plus the request's own
    /// `RetryRule`s, all within the operation's time budget. A POST whose outcome is unknown is
    /// never re-sent blindly: see [`GraphRequest::idempotency_probe`].
    pub async fn send(&self, req: GraphRequest) -> Result<GraphResponse, GraphError> {
        self.run(&req, &Target::Relative, None, Instant::now())
            .await
    }

    /// Reads a whole collection: follows `@odata.nextLink` verbatim to the end, re-sending the
    /// request's headers (e.g. `ConsistencyLevel`) on every page. A next link to any other host
    /// than the configured Graph host is refused.
    pub async fn list_all(&self, req: GraphRequest) -> Result<Vec<Value>, GraphError> {
        let mut pages = crate::paging::Pages::new(req.clone());
        let mut next = Some(req);
        while let Some(page_req) = next {
            let page = self.send(page_req).await?;
            next = pages.absorb(&self.inner.cfg, page)?;
        }
        Ok(pages.into_values())
    }

    pub(crate) fn report(&self, ev: WaitEvent) {
        tracing::info!(target: "entractl_graph::wait", "{ev}");
        if let Some(cb) = &self.inner.cfg.on_wait {
            cb(&ev);
        }
    }

    pub(crate) fn operation_name(req: &GraphRequest) -> String {
        req.label
            .clone()
            .unwrap_or_else(|| format!("{} {}", req.method, req.path()))
    }

    /// The retry loop. `first` is an already observed failure of attempt 1 (from a `$batch`).
    pub(crate) async fn run(
        &self,
        req: &GraphRequest,
        target: &Target,
        first: Option<Failure>,
        start: Instant,
    ) -> Result<GraphResponse, GraphError> {
        let cfg = &self.inner.cfg;
        let mut budget = req.budget.unwrap_or(cfg.operation_budget);
        let mut overall = None;
        if let Some(d) = cfg.deadline {
            let left = start.elapsed() + d.remaining();
            if left < budget {
                budget = left;
                overall = Some(d.total);
            }
        }
        let mut pending = first;
        let mut attempt = 0u32;
        let mut token_refreshed = false;
        loop {
            attempt += 1;
            let failure = match pending.take() {
                Some(f) => f,
                None => match self.execute_once(req, target).await {
                    Ok(r) => return Ok(r),
                    Err(f) => f,
                },
            };
            let (mut err, reason, ra) =
                match self.decide(req, failure, start, token_refreshed).await {
                    Decision::Done(r) => {
                        return r.map_err(|mut e| {
                            e.attempts = attempt;
                            if attempt > 1 {
                                e.elapsed = Some(start.elapsed());
                            }
                            e
                        });
                    }
                    Decision::Retry(e, reason, ra) => (e, reason, ra),
                };
            if reason == WaitReason::TokenRefresh {
                token_refreshed = true;
                self.inner.creds.invalidate().await;
            }
            let delay = ra.unwrap_or_else(|| match (&reason, req.rule_backoff) {
                (WaitReason::RetryRule { .. }, Some(b)) => b.delay(attempt),
                _ => backoff(attempt, cfg.backoff_base, cfg.backoff_cap),
            });
            let elapsed = start.elapsed();
            if elapsed + delay > budget {
                err.kind = GraphErrorKind::Budget;
                err.attempts = attempt;
                err.elapsed = Some(elapsed);
                let which = match overall {
                    Some(total) => format!("the overall time budget of {} s", total.as_secs()),
                    None => format!("the operation budget of {} s", budget.as_secs()),
                };
                err.message = format!(
                    "{} (gave up: the next retry in {:.1} s would exceed {which})",
                    err.message,
                    delay.as_secs_f64(),
                );
                return Err(err);
            }
            self.report(WaitEvent {
                operation: Self::operation_name(req),
                reason,
                attempt,
                delay,
            });
            tokio::time::sleep(delay).await;
        }
    }

    /// Classifies a failure: give up, or retry (with why and Graph's `Retry-After`).
    async fn decide(
        &self,
        req: &GraphRequest,
        failure: Failure,
        start: Instant,
        token_refreshed: bool,
    ) -> Decision {
        match failure {
            Failure::Auth(e) => Decision::Done(Err(e)),
            Failure::Transport {
                unreachable: true,
                err,
                ..
            } => Decision::Done(Err(err)),
            Failure::Transport {
                err, maybe_applied, ..
            } => {
                if maybe_applied && !req.is_idempotent() {
                    self.resolve_ambiguous(req, err, WaitReason::Connection, start)
                        .await
                } else {
                    Decision::Retry(err, WaitReason::Connection, None)
                }
            }
            Failure::Http { err, headers } => {
                let status = err.status.unwrap_or(0);
                let ra = retry_after(&headers);
                match status {
                    // Revoked or expired before our refresh margin: one retry with a fresh token.
                    401 if !token_refreshed => {
                        Decision::Retry(err, WaitReason::TokenRefresh, Some(Duration::ZERO))
                    }
                    429 => Decision::Retry(err, WaitReason::Throttled { retry_after: ra }, ra),
                    // 503: Graph did not process the request.
                    503 => Decision::Retry(err, WaitReason::ServerError { status }, ra),
                    500 | 502 | 504 if req.is_idempotent() => {
                        Decision::Retry(err, WaitReason::ServerError { status }, ra)
                    }
                    500 | 502 | 504 if req.probe.is_some() => {
                        self.resolve_ambiguous(req, err, WaitReason::ServerError { status }, start)
                            .await
                    }
                    // The create's key is taken: a concurrent writer (another apply of the same
                    // spec) created the object first. Look it up by its key and use it; while it
                    // is not visible yet (replication), the create is re-sent and conflicts again.
                    400 | 409
                        if req.probe.is_some()
                            && err.code.as_deref()
                                == Some("Request_MultipleObjectsWithSameKeyValue") =>
                    {
                        let reason = WaitReason::RetryRule {
                            status,
                            code: err.code.clone(),
                        };
                        self.resolve_ambiguous(req, err, reason, start).await
                    }
                    _ => {
                        let code = err.code.clone();
                        if req
                            .retry_rules
                            .iter()
                            .any(|r| r.matches(status, code.as_deref(), &err.message))
                        {
                            Decision::Retry(err, WaitReason::RetryRule { status, code }, ra)
                        } else {
                            Decision::Done(Err(err))
                        }
                    }
                }
            }
        }
    }

    /// A POST may have been applied: look the object up by its key before anything else.
    async fn resolve_ambiguous(
        &self,
        req: &GraphRequest,
        mut err: GraphError,
        reason: WaitReason,
        start: Instant,
    ) -> Decision {
        let Some(probe) = &req.probe else {
            if err.kind == GraphErrorKind::Transport {
                err.kind = GraphErrorKind::Ambiguous;
                err.message = format!(
                    "{}; Graph may have applied this create, so it was not sent again",
                    err.message
                );
            }
            return Decision::Done(Err(err));
        };
        match self.probe(probe, start).await {
            Probe::Found(resp) => {
                tracing::debug!(method = %req.method, path = req.path(), "create was applied: found by its key");
                Decision::Done(Ok(resp))
            }
            Probe::Absent => Decision::Retry(err, reason, None),
            Probe::Failed(pe) => {
                err.kind = GraphErrorKind::Ambiguous;
                err.message = format!(
                    "{}; Graph may have applied this create and looking it up failed too ({pe}), so it was not sent again",
                    err.message
                );
                Decision::Done(Err(err))
            }
        }
    }

    async fn probe(&self, probe: &GraphRequest, start: Instant) -> Probe {
        let r = Box::pin(self.run(probe, &Target::Relative, None, start)).await;
        match r {
            Ok(resp) => match resp.json().get("value").and_then(Value::as_array) {
                Some(items) if items.is_empty() => Probe::Absent,
                Some(items) if items.len() == 1 => Probe::Found(GraphResponse {
                    status: 200,
                    body: Some(items[0].clone()),
                    ..resp
                }),
                Some(items) => Probe::Failed(GraphError::new(
                    GraphErrorKind::Graph,
                    probe.method.as_str(),
                    probe.path(),
                    format!("{} objects match the key", items.len()),
                )),
                None => Probe::Found(GraphResponse {
                    status: 200,
                    ..resp
                }),
            },
            Err(e) if e.is_not_found() => Probe::Absent,
            Err(e) => Probe::Failed(e),
        }
    }

    pub(crate) fn url_for(&self, req: &GraphRequest, target: &Target) -> String {
        match target {
            Target::Relative => {
                let root = self.inner.cfg.graph_root();
                let version = if req.beta { "beta" } else { "v1.0" };
                format!("{}{version}{}", root, req.relative_url())
            }
        }
    }
}

/// The adaptive window of a client: from today's four `$batch`es in flight, within one batch
/// and `max_in_flight` batches.
fn governor(cfg: &GraphConfig) -> Governor {
    let window = Window::new(4 * MAX_BATCH, MAX_BATCH, cfg.max_in_flight * MAX_BATCH);
    Governor::new(Gate::new(window, cfg.backoff_base))
}
