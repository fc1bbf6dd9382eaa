//! Sending a kind's changes: one by one, or together in `$batch`es; journaling each first,
//! filling in what earlier creates made, and keeping what each create answered for the
//! changes after it. Several kinds may be sent at once (see `schedule.rs`): the writer's
//! state (journal, answers, counts) is shared behind a lock that no request is sent under.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use entractl_graph::{GraphClient, GraphError, GraphRequest, GraphResponse};
use serde_json::{Value, json};

use super::options::{ApplyEvent, ApplyOptions};
use crate::core::error::BadChange;
use crate::core::kinds::{Kind, Sending};
use crate::core::observed::Observed;
use crate::core::plan::{Action, Change, ChangeId};
use crate::core::refs::resolve_refs;
use crate::error::{EngineError, StopCause};
use crate::journal::Journal;

/// The writes of one apply.
pub(super) struct Writer<'a> {
    client: &'a GraphClient,
    observed: &'a Observed,
    opts: &'a ApplyOptions,
    state: Mutex<State<'a>>,
}

/// What the writes so far left behind.
struct State<'a> {
    journal: &'a mut Journal,
    /// What each create (and restore) answered, for the references of later changes.
    created: BTreeMap<ChangeId, Value>,
    /// Changes Graph acknowledged (references filled in), in the order it did.
    acknowledged: Vec<Change>,
    writes: usize,
}

/// What an apply's writes did.
pub(super) struct Written {
    pub writes: usize,
    pub acknowledged: Vec<Change>,
    pub created: BTreeMap<ChangeId, Value>,
}

/// One change ready to send: resolved, journaled, turned into requests.
struct Ready {
    change: Change,
    entry: PathBuf,
    requests: Vec<GraphRequest>,
}

impl<'a> Writer<'a> {
    pub fn new(
        client: &'a GraphClient,
        observed: &'a Observed,
        journal: &'a mut Journal,
        opts: &'a ApplyOptions,
    ) -> Writer<'a> {
        Writer {
            client,
            observed,
            opts,
            state: Mutex::new(State {
                journal,
                created: BTreeMap::new(),
                acknowledged: Vec::new(),
                writes: 0,
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State<'a>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What the writes did.
    pub fn finish(self) -> Written {
        let s = self.state.into_inner().unwrap_or_else(|e| e.into_inner());
        Written {
            writes: s.writes,
            acknowledged: s.acknowledged,
            created: s.created,
        }
    }

    /// Sends the changes of one kind, its way; when the apply is cancelled, no further change
    /// is started.
    pub async fn send(&self, kind: &dyn Kind, changes: &[&Change]) -> Result<(), StopCause> {
        match kind.sending() {
            Sending::OneByOne => {
                for c in changes {
                    if self.opts.cancelled() {
                        return Err(StopCause::Interrupted);
                    }
                    self.one(kind, c).await?;
                }
                Ok(())
            }
            Sending::Together { .. } if self.opts.cancelled() => Err(StopCause::Interrupted),
            Sending::Together { first_alone } => {
                Ok(self.together(kind, changes, first_alone).await?)
            }
        }
    }

    /// Resolves, journals and builds the requests of one change.
    fn prepare(&self, kind: &dyn Kind, c: &Change) -> Result<Ready, EngineError> {
        let mut s = self.state();
        let change = resolve_refs(c, &s.created).map_err(bad)?;
        let entry = s.journal.record(
            &change,
            &kind.prior_state(self.observed, &change),
            &kind.undo_hint(&change),
        )?;
        drop(s);
        let requests = kind
            .requests(&change, self.observed)
            .map_err(bad)?
            .into_iter()
            .map(|r| match r.label_text() {
                Some(_) => r,
                None => r.label(change.describe()),
            })
            .collect();
        Ok(Ready {
            change,
            entry,
            requests,
        })
    }

    fn failed(&self, what: String, source: GraphError) -> EngineError {
        EngineError::Write {
            what,
            journal: self.state().journal.dir().display().to_string(),
            source,
        }
    }

    fn count(&self, writes: usize) {
        self.state().writes += writes;
    }

    /// Resolves, journals and builds the requests of one change; a failure is told.
    fn prepare_told(&self, kind: &dyn Kind, c: &Change) -> Result<Ready, EngineError> {
        self.prepare(kind, c).inspect_err(|error| {
            self.opts.tell(ApplyEvent::Failed {
                change: c,
                error,
                elapsed: Duration::ZERO,
            });
        })
    }

    /// Tells that a change was made, with the object's id.
    fn made(&self, change: &Change, start: Instant) {
        let id = match change.action {
            Action::Create | Action::Restore => self
                .state()
                .created
                .get(&change.id())
                .and_then(|body| body.get("id"))
                .and_then(Value::as_str)
                .map(str::to_string),
            _ => None,
        };
        self.opts.tell(ApplyEvent::Made {
            change,
            id: id.as_deref().or(change.object.id.as_deref()),
            elapsed: start.elapsed(),
        });
    }

    /// A failed write: told, then returned.
    fn failed_told(
        &self,
        change: &Change,
        what: String,
        source: GraphError,
        start: Instant,
    ) -> EngineError {
        let error = self.failed(what, source);
        self.opts.tell(ApplyEvent::Failed {
            change,
            error: &error,
            elapsed: start.elapsed(),
        });
        error
    }

    /// One change: its requests in order; a create's answer is checked and kept.
    async fn one(&self, kind: &dyn Kind, c: &Change) -> Result<(), EngineError> {
        let ready = self.prepare_told(kind, c)?;
        self.opts.tell(ApplyEvent::Started {
            change: &ready.change,
        });
        let start = Instant::now();
        for (i, req) in ready.requests.iter().enumerate() {
            self.count(1);
            match self.client.send(req.clone()).await {
                Ok(resp) if i == 0 => self.took(kind, &ready, &resp)?,
                Ok(_) => {}
                Err(e) if kind.already_done(&ready.change, &e) => {}
                Err(source) => {
                    let what = ready.change.describe();
                    return Err(self.failed_told(&ready.change, what, source, start));
                }
            }
        }
        self.made(&ready.change, start);
        self.state().acknowledged.push(ready.change);
        Ok(())
    }

    /// What a create (or restore) answered: checked by its kind, kept for later references,
    /// and its id journaled (so the undo can delete it).
    fn took(
        &self,
        kind: &dyn Kind,
        ready: &Ready,
        resp: &GraphResponse,
    ) -> Result<(), EngineError> {
        let body = resp.json();
        let c = &ready.change;
        if matches!(c.action, Action::Create | Action::Restore) {
            kind.check_created(c, body)?;
            self.state().created.insert(c.id(), body.clone());
        }
        if c.action == Action::Create {
            self.state().journal.record_created(
                &ready.entry,
                &json!({"id": body.get("id"), "appId": body.get("appId")}),
            )?;
        }
        Ok(())
    }

    /// Every change of the kind together: all journaled first, then sent in `$batch`es (the
    /// first alone with `first_alone`); a batched write that failed with an answer its request
    /// retries on (replication) is sent once more alone. Every change is attempted; the first
    /// failure is returned after.
    async fn together(
        &self,
        kind: &dyn Kind,
        changes: &[&Change],
        first_alone: bool,
    ) -> Result<(), EngineError> {
        let mut ready = Vec::new();
        for c in changes {
            let r = self.prepare_told(kind, c)?;
            if r.requests.len() != 1 {
                return Err(bad(BadChange::new(
                    c.object.kind,
                    "a batched change needs one request",
                )));
            }
            ready.push(r);
        }
        for r in &ready {
            self.opts.tell(ApplyEvent::Started { change: &r.change });
        }
        let start = Instant::now();
        let reqs: Vec<GraphRequest> = ready.iter().map(|r| r.requests[0].clone()).collect();
        self.count(reqs.len());
        let results = self.send_batched(reqs, first_alone).await;
        let mut failure = None;
        for (r, res) in ready.into_iter().zip(results) {
            let res = match res {
                Err(e) if retried_on(&r.requests[0], &e) => {
                    self.count(1);
                    self.client.send(r.requests[0].clone()).await
                }
                other => other,
            };
            match res {
                Ok(resp) => self.took(kind, &r, &resp)?,
                Err(e) if kind.already_done(&r.change, &e) => {}
                Err(source) => {
                    let what = r.requests[0].label_text().unwrap_or("write").to_string();
                    let error = self.failed_told(&r.change, what, source, start);
                    failure.get_or_insert(error);
                    continue;
                }
            }
            self.made(&r.change, start);
            self.state().acknowledged.push(r.change);
        }
        failure.map_or(Ok(()), Err)
    }

    async fn send_batched(
        &self,
        reqs: Vec<GraphRequest>,
        first_alone: bool,
    ) -> Vec<Result<GraphResponse, GraphError>> {
        if !first_alone {
            return self.client.send_all(reqs).await;
        }
        let Some((first, rest)) = reqs.split_first() else {
            return Vec::new();
        };
        let mut results = vec![self.client.send(first.clone()).await];
        results.extend(self.client.send_all(rest.to_vec()).await);
        results
    }
}

/// Whether one of the request's own retry rules covers this failure (replication).
fn retried_on(req: &GraphRequest, e: &GraphError) -> bool {
    let status = e.status.unwrap_or(0);
    req.retry_rules()
        .iter()
        .any(|r| r.matches(status, e.code.as_deref(), &e.message))
}

fn bad(e: BadChange) -> EngineError {
    EngineError::Plan(e.into())
}
