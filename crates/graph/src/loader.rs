//! The batching loader (the DataLoader pattern): code that reads Graph awaits
//! [`Loader::get`] and [`Loader::list`] as if each read were sent on its own; the loader gathers
//! every read issued before the code has to wait, and sends them together — one
//! [`GraphClient::send_all`] (v1.0 and beta `$batch`es and paced requests, concurrently) — as one
//! *wave*. A collection continues with its next page in the following wave, together with the
//! reads that became possible meanwhile, and its reader gets it only whole.
//!
//! [`Loader::run`] drives a future of such reads: it polls the future until it can make no
//! progress without an answer, sends a wave, and repeats. So fetch code is plain async code —
//! `let (app, sp) = join!(read_app(l), read_sp(l));` — and its waves follow from its data
//! dependencies.
//!
//! A read is sent once per loader: asking again for the same GET (the same URL and API version;
//! for a read made by POST, such as What-If, the same body too) gives the same answer, from the first request — already answered or still on its way.

use std::collections::HashMap;
use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use serde_json::Value;

use crate::client::GraphClient;
use crate::error::GraphError;
use crate::paging::Pages;
use crate::request::{GraphRequest, GraphResponse};

/// How much reading took.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadStats {
    /// Sequential rounds of requests (each round goes out together).
    pub waves: usize,
    /// Graph requests (inner `$batch` requests counted one by one).
    pub requests: usize,
}

/// The future awaited a read that the loader was never given (a bug in the reading code).
#[derive(Debug, thiserror::Error)]
#[error("internal: the reads stalled: the code awaits something other than a Graph read")]
pub struct Stalled;

type Answer<T> = Result<T, GraphError>;

/// Where the answer of one read goes (every reader of it waits on it).
struct Slot<T> {
    answer: Mutex<Option<Answer<T>>>,
    wakers: Mutex<Vec<Waker>>,
}

impl<T> Slot<T> {
    fn new() -> Arc<Slot<T>> {
        Arc::new(Slot {
            answer: Mutex::new(None),
            wakers: Mutex::new(Vec::new()),
        })
    }

    fn fill(&self, answer: Answer<T>) {
        *lock(&self.answer) = Some(answer);
        for w in std::mem::take(&mut *lock(&self.wakers)) {
            w.wake();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A read waiting to be sent: one object, or a collection (possibly in the middle of paging).
enum Queued {
    Get(GraphRequest, Arc<Slot<Value>>),
    List(Box<Pages>, GraphRequest, Arc<Slot<Vec<Value>>>),
}

/// The answer of one read, as a future.
pub struct Load<T> {
    slot: Arc<Slot<T>>,
}

impl<T: Clone> Future for Load<T> {
    type Output = Answer<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Answer<T>> {
        if let Some(answer) = lock(&self.slot.answer).as_ref() {
            return Poll::Ready(answer.clone());
        }
        let mut wakers = lock(&self.slot.wakers);
        if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
            wakers.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

/// The key a read is remembered by: API version and URL, and for a read made by POST (an
/// evaluation) the method and body too.
fn key(req: &GraphRequest) -> String {
    let version = if req.beta { "beta" } else { "v1.0" };
    match (&req.method, &req.body) {
        (&reqwest::Method::GET, _) | (_, None) => format!("{version} {}", req.relative_url()),
        (method, Some(body)) => format!("{version} {method} {} {body}", req.relative_url()),
    }
}

/// Gathers reads into waves. See the module documentation.
pub struct Loader {
    client: GraphClient,
    queue: Mutex<Vec<Queued>>,
    objects: Mutex<HashMap<String, Arc<Slot<Value>>>>,
    lists: Mutex<HashMap<String, Arc<Slot<Vec<Value>>>>>,
    stats: Mutex<LoadStats>,
}

impl Loader {
    pub fn new(client: &GraphClient) -> Loader {
        Loader {
            client: client.clone(),
            queue: Mutex::new(Vec::new()),
            objects: Mutex::new(HashMap::new()),
            lists: Mutex::new(HashMap::new()),
            stats: Mutex::new(LoadStats::default()),
        }
    }

    /// One object (`Value::Null` for an empty answer). Sent with the next wave (once).
    pub fn get(&self, req: GraphRequest) -> Load<Value> {
        let mut known = lock(&self.objects);
        if let Some(slot) = known.get(&key(&req)) {
            return Load { slot: slot.clone() };
        }
        let slot = Slot::new();
        known.insert(key(&req), slot.clone());
        lock(&self.queue).push(Queued::Get(req, slot.clone()));
        Load { slot }
    }

    /// Every item of a collection, all pages. The first page is sent with the next wave (once),
    /// each further page in the wave after.
    pub fn list(&self, req: GraphRequest) -> Load<Vec<Value>> {
        let mut known = lock(&self.lists);
        if let Some(slot) = known.get(&key(&req)) {
            return Load { slot: slot.clone() };
        }
        let slot = Slot::new();
        known.insert(key(&req), slot.clone());
        lock(&self.queue).push(Queued::List(
            Box::new(Pages::new(req.clone())),
            req,
            slot.clone(),
        ));
        Load { slot }
    }

    /// Waves sent and requests made so far.
    pub fn stats(&self) -> LoadStats {
        *lock(&self.stats)
    }

    /// Runs `fut`, sending its reads in waves, until it completes.
    pub async fn run<F: Future>(&self, fut: F) -> Result<F::Output, Stalled> {
        let mut fut = pin!(fut);
        let flag = Arc::new(Flag::default());
        let waker = Waker::from(flag.clone());
        loop {
            if let Poll::Ready(out) = settle(fut.as_mut(), &flag, &waker) {
                return Ok(out);
            }
            if !self.wave().await {
                return Err(Stalled);
            }
        }
    }

    /// Sends every queued read (and next page) as one wave; `false` when there was none.
    async fn wave(&self) -> bool {
        let queued = std::mem::take(&mut *lock(&self.queue));
        if queued.is_empty() {
            return false;
        }
        let reqs: Vec<GraphRequest> = queued
            .iter()
            .map(|q| match q {
                Queued::Get(r, _) | Queued::List(_, r, _) => r.clone(),
            })
            .collect();
        {
            let mut s = lock(&self.stats);
            s.waves += 1;
            s.requests += reqs.len();
        }
        let answers = self.client.send_all(reqs).await;
        for (q, answer) in queued.into_iter().zip(answers) {
            self.take_in(q, answer);
        }
        true
    }

    fn take_in(&self, q: Queued, answer: Answer<GraphResponse>) {
        match q {
            Queued::Get(_, slot) => slot.fill(answer.map(|r| r.json().clone())),
            Queued::List(mut pages, _, slot) => {
                let next = answer.and_then(|page| pages.absorb(self.client.config(), &page));
                match next {
                    Ok(Some(req)) => lock(&self.queue).push(Queued::List(pages, req, slot)),
                    Ok(None) => slot.fill(Ok(pages.into_values())),
                    Err(e) => slot.fill(Err(e)),
                }
            }
        }
    }
}

/// Records that something was woken during a poll.
#[derive(Default)]
struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Polls `fut` until it completes or waits with nothing woken (every branch awaits a read).
fn settle<F: Future>(mut fut: Pin<&mut F>, flag: &Flag, waker: &Waker) -> Poll<F::Output> {
    loop {
        flag.0.store(false, Ordering::SeqCst);
        let mut cx = Context::from_waker(waker);
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return Poll::Ready(out);
        }
        if !flag.0.load(Ordering::SeqCst) {
            return Poll::Pending;
        }
    }
}
