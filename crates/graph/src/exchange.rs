//! One HTTP exchange with Graph: pacing, the token, the in-flight limit, the body cap, and the
//! classification of what came back (for the retry loop in `client.rs`).

use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::adaptive::Signal;
use crate::client::{Failure, GraphClient, Target};
use crate::error::{GraphError, GraphErrorKind};
use crate::request::{GraphRequest, GraphResponse};
use crate::retry::{WaitEvent, WaitReason};
use crate::transport::{describe, endpoint};

impl GraphClient {
    /// One HTTP exchange, admitted by the adaptive window (conditional access calls are paced
    /// instead); what the answer says about Graph's limits adjusts the window.
    pub(crate) async fn execute_once(
        &self,
        req: &GraphRequest,
        target: &Target,
    ) -> Result<GraphResponse, Failure> {
        let permit = if req.is_conditional_access() {
            None
        } else {
            Some(self.inner.governor.acquire(req.operations()).await)
        };
        let result = self.exchange(req, target).await;
        if let (Some(p), Some(signal)) = (permit, signal_of(&result)) {
            p.answered(signal);
        }
        result
    }

    /// One HTTP exchange (after pacing and under the in-flight limit).
    async fn exchange(
        &self,
        req: &GraphRequest,
        target: &Target,
    ) -> Result<GraphResponse, Failure> {
        let method = req.method.as_str();
        let path = req.path();
        if req.is_conditional_access() {
            let interval = self.inner.cfg.conditional_access_interval;
            let op = Self::operation_name(req);
            self.inner
                .pacer
                .wait(interval, |d| {
                    self.report(WaitEvent {
                        operation: op.clone(),
                        reason: WaitReason::Pacing,
                        attempt: 0,
                        delay: d,
                    })
                })
                .await;
        }
        let token = self
            .token_for(method, path)
            .await
            .map_err(|e| Failure::Auth(e.with_operation(req.label.as_deref())))?;
        let _permit = self
            .inner
            .in_flight
            .acquire()
            .await
            .expect("semaphore is never closed");
        let client_request_id = uuid::Uuid::new_v4().to_string();
        let url = self.url_for(req, target);
        let mut rb = self
            .inner
            .http
            .request(req.method.clone(), &url)
            .bearer_auth(token.secret().expose())
            .header("client-request-id", &client_request_id)
            .header("return-client-request-id", "true");
        for (k, v) in &req.headers {
            rb = rb.header(k.as_str(), v.as_str());
        }
        if let Some(b) = &req.body {
            rb = rb.json(b);
        }
        if let Some(d) = self.inner.cfg.deadline {
            rb = rb.timeout(self.inner.cfg.request_timeout.min(d.remaining()));
        }
        tracing::debug!(method, path, client_request_id = %client_request_id, "graph request");
        let transport = |e: reqwest::Error, maybe_applied: bool| {
            let unreachable = e.is_connect();
            let message = if unreachable {
                format!("cannot connect to {}: {}", endpoint(&url), describe(&e))
            } else {
                format!("the request did not complete: {}", describe(&e))
            };
            let mut g = GraphError::new(GraphErrorKind::Transport, method, path, message)
                .with_operation(req.label.as_deref());
            g.client_request_id = Some(client_request_id.clone());
            Failure::Transport {
                err: g,
                maybe_applied,
                unreachable,
            }
        };
        let resp = match rb.send().await {
            Ok(r) => r,
            Err(e) => {
                let not_sent = e.is_connect() || e.is_builder();
                return Err(transport(e, !not_sent));
            }
        };
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let request_id = headers
            .get("request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let cap = self.inner.cfg.max_response_bytes;
        let too_large = |headers: HeaderMap, request_id: Option<String>| {
            let mut g = GraphError::new(
                GraphErrorKind::Decode,
                method,
                path,
                format!(
                    "Graph answered {status} with a body larger than {cap} bytes (GraphConfig.max_response_bytes); it was not read further. \
                     If the answer is legitimately this large, ask for fewer properties ($select) or smaller pages ($top)"
                ),
            )
            .with_operation(req.label.as_deref());
            g.request_id = request_id;
            g.client_request_id = Some(client_request_id.clone());
            g.status = Some(status);
            Failure::Http { err: g, headers }
        };
        if resp.content_length().is_some_and(|n| n > cap as u64) {
            return Err(too_large(headers, request_id));
        }
        let mut resp = resp;
        let mut bytes: Vec<u8> = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| transport(e, true))? {
            if bytes.len() + chunk.len() > cap {
                return Err(too_large(headers, request_id));
            }
            bytes.extend_from_slice(&chunk);
        }
        tracing::debug!(
            method,
            path,
            status,
            request_id = request_id.as_deref().unwrap_or("-"),
            "graph response"
        );
        let body: Option<Value> = if bytes.iter().all(u8::is_ascii_whitespace) {
            None
        } else {
            match serde_json::from_slice(&bytes) {
                Ok(v) => Some(v),
                Err(_) if (200..300).contains(&status) => {
                    let mut g = GraphError::new(
                        GraphErrorKind::Decode,
                        method,
                        path,
                        format!("Graph answered {status} with a body that is not JSON"),
                    )
                    .with_operation(req.label.as_deref());
                    g.request_id = request_id;
                    g.client_request_id = Some(client_request_id);
                    g.status = Some(status);
                    return Err(Failure::Http { err: g, headers });
                }
                Err(_) => None,
            }
        };
        // The text is not needed once parsed (a `$batch` answer can be megabytes).
        drop(bytes);
        if (200..300).contains(&status) {
            return Ok(GraphResponse {
                status,
                headers,
                body,
                request_id,
            });
        }
        let err = GraphError::from_response(
            method,
            path,
            status,
            body.as_ref(),
            request_id,
            Some(client_request_id),
        )
        .with_operation(req.label.as_deref());
        Err(Failure::Http { err, headers })
    }
}

/// What an answer says about Graph's limits (`None`: no answer).
fn signal_of(result: &Result<GraphResponse, Failure>) -> Option<Signal> {
    match result {
        Ok(r) => Some(Signal::of(r.status, &r.headers).max(Signal::of_batch(r.json()))),
        Err(Failure::Http { err, headers }) => Some(Signal::of(err.status.unwrap_or(0), headers)),
        Err(Failure::Auth(_) | Failure::Transport { .. }) => None,
    }
}
