//! `send_all`: independent requests combined into `$batch` requests of at most 20.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::client::{Failure, GraphClient, Target};
use crate::error::{GraphError, GraphErrorKind};
use crate::request::{GraphRequest, GraphResponse, MAX_BATCH, headers_from_json};

type Res = Result<GraphResponse, GraphError>;

impl GraphClient {
    /// Sends many requests, combined into `$batch` requests of at most 20 (results in input order).
    ///
    /// Inner 429/5xx answers are retried one by one with their own `Retry-After`; a request marked
    /// [`GraphRequest::depends_on`] goes in the same batch as its dependency (`dependsOn`) and fails
    /// with 424 when the dependency fails. Conditional-access requests are sent alone (paced);
    /// v1.0 and beta requests go in separate batches. At most `max_in_flight` requests are in flight.
    pub async fn send_all(&self, reqs: Vec<GraphRequest>) -> Vec<Res> {
        let mut results: Vec<Option<Res>> = (0..reqs.len()).map(|_| None).collect();
        let groups = link(&reqs, &mut results);
        let mut set: JoinSet<Vec<(usize, Res)>> = JoinSet::new();
        if !self.config().batching {
            // No `$batch`: each group of linked requests is sent one request at a time,
            // dependencies first; groups run concurrently up to `max_in_flight`.
            for (_, members) in groups {
                let c = self.clone();
                let items: Vec<(usize, GraphRequest)> =
                    members.iter().map(|&i| (i, reqs[i].clone())).collect();
                set.spawn(async move { c.run_unbatched(items).await });
            }
            gather(set, &mut results, "a request task").await;
            return finish(&reqs, results);
        }
        let (alone, packs) = pack(&reqs, groups, &mut results);
        for i in alone {
            let c = self.clone();
            let r = reqs[i].clone();
            set.spawn(async move { vec![(i, c.send(r).await)] });
        }
        for (beta, members) in packs {
            let c = self.clone();
            let items: Vec<(usize, GraphRequest)> =
                members.iter().map(|&i| (i, reqs[i].clone())).collect();
            set.spawn(async move { c.run_batch(beta, items).await });
        }
        gather(set, &mut results, "a batch task").await;
        finish(&reqs, results)
    }

    /// Sends linked requests one at a time (naive mode): a request runs once its dependencies
    /// have answered, and fails with 424 when one of them failed, as inside a `$batch`.
    async fn run_unbatched(&self, items: Vec<(usize, GraphRequest)>) -> Vec<(usize, Res)> {
        let mut done: BTreeMap<usize, Res> = BTreeMap::new();
        let mut waiting: Vec<(usize, GraphRequest)> = items;
        while !waiting.is_empty() {
            let Some(pos) = waiting
                .iter()
                .position(|(_, r)| r.depends_on.iter().all(|d| done.contains_key(d)))
            else {
                for (i, r) in waiting.drain(..) {
                    let e = not_run(
                        &r,
                        GraphErrorKind::Config,
                        "not run: its depends_on requests form a cycle",
                    );
                    done.insert(i, Err(e));
                }
                break;
            };
            let (i, r) = waiting.remove(pos);
            let res = match dependency_failed(&r, &done) {
                None => self.send(r).await,
                Some(e) => Err(e),
            };
            done.insert(i, res);
        }
        done.into_iter().collect()
    }

    /// Sends `items` as one `$batch`; failed answers are retried one by one, and requests not
    /// run because a dependency failed (424) are run once it has succeeded.
    async fn run_batch(&self, beta: bool, items: Vec<(usize, GraphRequest)>) -> Vec<(usize, Res)> {
        let start = Instant::now();
        let requests: Vec<Value> = items.iter().map(|(i, r)| batch_entry(*i, r)).collect();
        let mut outer = GraphRequest::post("/$batch")
            .json(json!({ "requests": requests }))
            .label(format!("$batch of {} requests", items.len()));
        outer.beta = beta;
        outer.idempotent = Some(items.iter().all(|(_, r)| r.is_idempotent()));

        let resp = match self.send(outer).await {
            Ok(r) => r,
            Err(e) if maybe_applied(&e) => return self.after_lost_batch(&e, items, start).await,
            Err(e) => {
                return items
                    .into_iter()
                    .map(|(i, r)| {
                        let mut ie = e.clone();
                        ie.message =
                            format!("the $batch carrying this request failed: {}", e.message);
                        ie.method = r.method.to_string();
                        ie.path = r.path().to_string();
                        ie.operation = r.label.clone();
                        (i, Err(ie))
                    })
                    .collect();
            }
        };
        let reqs: BTreeMap<usize, GraphRequest> = items.into_iter().collect();
        let mut answers = Answers::read(resp, &reqs);
        // Failed answers go through the single-request policy, each with its own Retry-After.
        let mut set: JoinSet<(usize, Res)> = JoinSet::new();
        for (i, first) in answers.retry {
            let c = self.clone();
            let r = reqs[&i].clone();
            set.spawn(async move { (i, c.run(&r, &Target::Relative, Some(first), start).await) });
        }
        while let Some(Ok((i, res))) = set.join_next().await {
            answers.done.insert(i, res);
        }
        self.run_after_dependencies(&reqs, answers.failed_dep, &mut answers.done, start)
            .await;
        answers.done.into_iter().collect()
    }

    /// The `$batch` itself failed in a way that may have applied it, in part: idempotent
    /// requests are simply re-sent, creates only through their probe, other creates are
    /// reported.
    async fn after_lost_batch(
        &self,
        e: &GraphError,
        items: Vec<(usize, GraphRequest)>,
        start: Instant,
    ) -> Vec<(usize, Res)> {
        let mut out = Vec::new();
        for (i, r) in items {
            let mut ie = e.clone();
            ie.method = r.method.to_string();
            ie.path = r.path().to_string();
            ie.operation = r.label.clone();
            let res = if r.is_idempotent() || r.probe.is_some() {
                let first = Failure::Transport {
                    err: ie,
                    maybe_applied: true,
                    unreachable: false,
                };
                self.run(&r, &Target::Relative, Some(first), start).await
            } else {
                ie.kind = GraphErrorKind::Ambiguous;
                ie.message = format!(
                    "the $batch carrying this create failed ({}); Graph may have applied it, so it was not sent again",
                    e.message
                );
                Err(ie)
            };
            out.push((i, res));
        }
        out
    }

    /// 424 answers (`failed_dep`): each runs once every dependency has succeeded (in input
    /// order), else reports which failed.
    async fn run_after_dependencies(
        &self,
        reqs: &BTreeMap<usize, GraphRequest>,
        failed_dep: Vec<usize>,
        done: &mut BTreeMap<usize, Res>,
        start: Instant,
    ) {
        let mut waiting: BTreeSet<usize> = failed_dep.into_iter().collect();
        while !waiting.is_empty() {
            let ready: Vec<usize> = waiting
                .iter()
                .copied()
                .filter(|i| reqs[i].depends_on.iter().all(|d| done.contains_key(d)))
                .collect();
            if ready.is_empty() {
                for i in std::mem::take(&mut waiting) {
                    let e = not_run(
                        &reqs[&i],
                        GraphErrorKind::Graph,
                        "not run: a request it depends on did not complete",
                    );
                    done.insert(i, Err(e));
                }
                break;
            }
            for i in ready {
                waiting.remove(&i);
                let r = reqs[&i].clone();
                let res = match dependency_failed(&r, done) {
                    None => self.run(&r, &Target::Relative, None, start).await,
                    Some(e) => Err(e),
                };
                done.insert(i, res);
            }
        }
    }
}

/// Checks each request's `depends_on` (an invalid one fails the request in `results`) and
/// groups the others linked by `dependsOn` (union-find), by root, members in input order.
fn link(reqs: &[GraphRequest], results: &mut [Option<Res>]) -> BTreeMap<usize, Vec<usize>> {
    let n = reqs.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(p: &mut [usize], mut x: usize) -> usize {
        while p[x] != x {
            p[x] = p[p[x]];
            x = p[x];
        }
        x
    }
    for (i, r) in reqs.iter().enumerate() {
        for &d in &r.depends_on {
            if d >= n || d == i || reqs[d].beta != r.beta {
                results[i] = Some(Err(GraphError::new(
                    GraphErrorKind::Config,
                    r.method.as_str(),
                    r.path(),
                    format!("depends_on({d}) does not name another request of the same send_all call and API version"),
                )
                .with_operation(r.label.as_deref())));
            } else {
                let (a, b) = (find(&mut parent, i), find(&mut parent, d));
                parent[a] = b;
            }
        }
    }
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, r) in results.iter().enumerate() {
        if r.is_none() {
            let root = find(&mut parent, i);
            groups.entry(root).or_default().push(i);
        }
    }
    groups
}

/// Packs the groups into `$batch`es of at most [`MAX_BATCH`] per API version, a group never
/// split: `(requests sent alone, (beta, members) of each batch)`. Conditional-access requests
/// and packs of one go alone; a group too large for one batch fails in `results`.
fn pack(
    reqs: &[GraphRequest],
    groups: BTreeMap<usize, Vec<usize>>,
    results: &mut [Option<Res>],
) -> (Vec<usize>, Vec<(bool, Vec<usize>)>) {
    let mut alone: Vec<usize> = Vec::new();
    let mut packs: Vec<(bool, Vec<usize>)> = Vec::new();
    let mut open: BTreeMap<bool, Vec<usize>> = BTreeMap::new();
    for (_, members) in groups {
        let beta = reqs[members[0]].beta;
        if members.len() == 1 && reqs[members[0]].is_conditional_access() {
            alone.push(members[0]);
            continue;
        }
        if members.len() > MAX_BATCH {
            for &i in &members {
                results[i] = Some(Err(GraphError::new(
                    GraphErrorKind::Config,
                    reqs[i].method.as_str(),
                    reqs[i].path(),
                    format!(
                        "a dependsOn chain of {} requests does not fit in one $batch of {MAX_BATCH}",
                        members.len()
                    ),
                )));
            }
            continue;
        }
        let cur = open.entry(beta).or_default();
        if cur.len() + members.len() > MAX_BATCH {
            packs.push((beta, std::mem::take(cur)));
        }
        cur.extend(members);
    }
    for (beta, cur) in open {
        if !cur.is_empty() {
            packs.push((beta, cur));
        }
    }
    // A pack of one is just a request.
    let (singles, packs): (Vec<_>, Vec<_>) = packs.into_iter().partition(|(_, m)| m.len() == 1);
    alone.extend(singles.into_iter().map(|(_, m)| m[0]));
    (alone, packs)
}

/// Puts each finished task's results in `results` (`what` names the tasks in the log when one
/// fails).
async fn gather(mut set: JoinSet<Vec<(usize, Res)>>, results: &mut [Option<Res>], what: &str) {
    while let Some(done) = set.join_next().await {
        match done {
            Ok(list) => {
                for (i, r) in list {
                    results[i] = Some(r);
                }
            }
            Err(e) => tracing::error!("{what} failed: {e}"),
        }
    }
}

/// One request inside a `$batch` body, with `id` its index in the `send_all` call.
fn batch_entry(i: usize, r: &GraphRequest) -> Value {
    let mut o = Map::new();
    o.insert("id".into(), json!(i.to_string()));
    o.insert("method".into(), json!(r.method.as_str()));
    o.insert("url".into(), json!(r.relative_url()));
    let mut headers = Map::new();
    for (k, v) in &r.headers {
        headers.insert(k.clone(), json!(v));
    }
    if let Some(b) = &r.body {
        headers.insert("Content-Type".into(), json!("application/json"));
        o.insert("body".into(), b.clone());
    }
    if !headers.is_empty() {
        o.insert("headers".into(), Value::Object(headers));
    }
    if !r.depends_on.is_empty() {
        o.insert(
            "dependsOn".into(),
            json!(
                r.depends_on
                    .iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
            ),
        );
    }
    Value::Object(o)
}

/// The `$batch` itself failed, and Graph may have applied it (in part).
fn maybe_applied(e: &GraphError) -> bool {
    e.kind == GraphErrorKind::Ambiguous
        || (e.kind == GraphErrorKind::Graph && matches!(e.status, Some(500 | 502 | 504)))
}

/// The answers of a `$batch`, sorted: final results (successes, missing answers), failures to
/// retry one by one, and requests not run because a dependency failed (424).
struct Answers {
    done: BTreeMap<usize, Res>,
    retry: Vec<(usize, Failure)>,
    failed_dep: Vec<usize>,
}

impl Answers {
    /// Sorts the answers of `resp`, each moved out of it (a `$batch` answer carries up to 20
    /// bodies, possibly pages of 999 objects: they are not copied).
    fn read(resp: GraphResponse, reqs: &BTreeMap<usize, GraphRequest>) -> Answers {
        let request_id = resp.request_id;
        let responses = match resp.body {
            Some(Value::Object(mut o)) => o.remove("responses"),
            _ => None,
        };
        let mut by_id: BTreeMap<String, Value> = BTreeMap::new();
        if let Some(Value::Array(responses)) = responses {
            for r in responses {
                if let Some(id) = r.get("id").and_then(Value::as_str) {
                    by_id.insert(id.to_string(), r);
                }
            }
        }
        let mut a = Answers {
            done: BTreeMap::new(),
            retry: Vec::new(),
            failed_dep: Vec::new(),
        };
        for (&i, r) in reqs {
            match by_id.remove(&i.to_string()) {
                Some(sub) => a.answer(i, r, sub, &request_id),
                None => {
                    let mut e = GraphError::new(
                        GraphErrorKind::Decode,
                        r.method.as_str(),
                        r.path(),
                        "the $batch response has no answer for this request",
                    );
                    e.request_id = request_id.clone();
                    a.done.insert(i, Err(e.with_operation(r.label.as_deref())));
                }
            }
        }
        a
    }

    /// Request `i`'s answer `sub` (inside the `$batch` answer with `request_id`).
    fn answer(&mut self, i: usize, r: &GraphRequest, sub: Value, request_id: &Option<String>) {
        let status = sub.get("status").and_then(Value::as_u64).unwrap_or(0) as u16;
        let headers = headers_from_json(sub.get("headers"));
        let body = match sub {
            Value::Object(mut o) => o.remove("body").filter(|b| !b.is_null()),
            _ => None,
        };
        if (200..300).contains(&status) {
            self.done.insert(
                i,
                Ok(GraphResponse {
                    status,
                    headers,
                    body,
                    request_id: request_id.clone(),
                }),
            );
            return;
        }
        let err = GraphError::from_response(
            r.method.as_str(),
            r.path(),
            status,
            body.as_ref(),
            request_id.clone(),
            None,
        )
        .with_operation(r.label.as_deref());
        if status == 424 {
            self.failed_dep.push(i);
        } else {
            self.retry.push((i, Failure::Http { err, headers }));
        }
    }
}

/// A request that was not sent (HTTP 424, Failed Dependency), with its operation label.
fn not_run(r: &GraphRequest, kind: GraphErrorKind, message: impl Into<String>) -> GraphError {
    let mut e = GraphError::new(kind, r.method.as_str(), r.path(), message);
    e.status = Some(424);
    e.with_operation(r.label.as_deref())
}

/// `Some(424 error)` naming the failed ones when a request `r` depends on failed; `None` when
/// all of them succeeded (every one of them must be in `done`).
fn dependency_failed(r: &GraphRequest, done: &BTreeMap<usize, Res>) -> Option<GraphError> {
    let failed: Vec<String> = r
        .depends_on
        .iter()
        .filter_map(|d| match &done[d] {
            Err(e) => Some(format!(
                "#{d} ({})",
                e.operation
                    .clone()
                    .unwrap_or_else(|| format!("{} {}", e.method, e.path))
            )),
            Ok(_) => None,
        })
        .collect();
    (!failed.is_empty()).then(|| {
        not_run(
            r,
            GraphErrorKind::Graph,
            format!(
                "not run because the request(s) it depends on failed: {}",
                failed.join(", ")
            ),
        )
    })
}

/// The results in input order (a missing one means its task failed).
fn finish(reqs: &[GraphRequest], results: Vec<Option<Res>>) -> Vec<Res> {
    results
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            r.unwrap_or_else(|| {
                Err(GraphError::new(
                    GraphErrorKind::Transport,
                    reqs[i].method.as_str(),
                    reqs[i].path(),
                    "the request was not completed (internal task failure)",
                ))
            })
        })
        .collect()
}
