//! The batching loader (the DataLoader pattern): code that reads Graph awaits
//! [`Loader::get`] and [`Loader::list`] as if each read were sent on its own; the loader gathers
//! every read issued before the code has to wait, and sends them together, in `$batch`es of 20
//! (v1.0 and beta apart, conditional access alone and paced), all at once under the client's
//! adaptive window. As soon as any `$batch` is answered, the code runs on with its answers and
//! the reads that became possible go out — they do not wait for the other batches in flight. A
//! collection continues with its next page as soon as a page arrives ([`Loader::list_each`] sees
//! each page), and its reader gets it only whole.
//!
//! [`Loader::run`] drives a future of such reads: it polls the future until it can make no
//! progress without an answer, sends what it asked for, waits for the next answer, and repeats.
//! So fetch code is plain async code — `let (app, sp) = join!(read_app(l), read_sp(l));` — and
//! its *waves* (the chain of reads each made possible by the one before) follow from its data
//! dependencies.
//!
//! A read is sent once per loader: asking again for the same GET (the same URL and API version;
//! for a read made by POST, such as What-If, the same body too) gives the same answer, from the first request — already answered or still on its way.
//!
//! So the loader remembers every answer until it is dropped (a plan on a large tenant makes
//! tens of thousands of reads), and keeps each as compact JSON text, parsed again for each
//! reader: a parsed `Value` (an ordered map per object) takes several times the memory of its
//! text. The `@odata.*` annotations nothing reads (`@odata.context`, `@odata.etag`, …) are
//! dropped on arrival; `@odata.nextLink` (paging) and `@odata.type` (a member's kind) are kept.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::marker::PhantomData;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use tokio::task::JoinSet;

use crate::client::GraphClient;
use crate::error::{GraphError, GraphErrorKind};
use crate::paging::Pages;
use crate::request::{GraphRequest, GraphResponse, MAX_BATCH};

/// How much reading took.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadStats {
    /// Sequential rounds of requests: the longest chain of reads each made possible by the
    /// answer of the one before (the critical path).
    pub waves: usize,
    /// Graph requests (inner `$batch` requests counted one by one).
    pub requests: usize,
}

/// The future awaited a read that the loader was never given (a bug in the reading code), or a
/// task sending reads failed.
#[derive(Debug, thiserror::Error)]
#[error("internal: the reads stalled: {0}")]
pub struct Stalled(String);

impl Stalled {
    fn new() -> Stalled {
        Stalled("the code awaits something other than a Graph read".into())
    }

    fn after(e: tokio::task::JoinError) -> Stalled {
        Stalled(format!("a task sending reads failed: {e}"))
    }
}

type Answer<T> = Result<T, GraphError>;

/// An answer as the loader keeps it: the JSON text, or the error.
type Kept = Result<Box<str>, GraphError>;

/// Where the answer of one read goes (every reader of it waits on it).
struct Slot {
    answer: Mutex<Option<Kept>>,
    wakers: Mutex<Vec<Waker>>,
}

impl Slot {
    fn new() -> Arc<Slot> {
        Arc::new(Slot {
            answer: Mutex::new(None),
            wakers: Mutex::new(Vec::new()),
        })
    }

    fn fill<T: Serialize>(&self, answer: Answer<T>) {
        // Serializing a `Value` cannot fail (its keys are strings); were it to, the reader
        // gets a decode error (see `read_back`).
        let kept = answer.map(|v| serde_json::to_string(&v).unwrap_or_default().into());
        *lock(&self.answer) = Some(kept);
        for w in std::mem::take(&mut *lock(&self.wakers)) {
            w.wake();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Sees each page of a collection as it arrives (see [`Loader::list_each`]).
pub type PageHook = Box<dyn Fn(&Loader, &[Value]) + Send + Sync>;

/// A collection being read: its pages so far, where its answer goes, who sees each page.
struct Listing {
    pages: Pages,
    slot: Arc<Slot>,
    hook: Option<PageHook>,
}

/// A read waiting to be sent: one object, or a collection (possibly in the middle of paging).
/// Boxed: thousands of per-user reads can wait in the queue, each a pointer, not a request.
enum Queued {
    Get(Box<GraphRequest>, Arc<Slot>),
    List(Box<Listing>, Box<GraphRequest>),
}

impl Queued {
    fn request(&self) -> &GraphRequest {
        match self {
            Queued::Get(r, _) | Queued::List(_, r) => r,
        }
    }
}

/// The reads waiting to be sent: the next pages of collections (few, and always sent first) and
/// the rest in the order asked. Sending takes from the front only what can go, so a long queue
/// (thousands of per-user reads held back by Graph's limits) costs nothing per answer.
#[derive(Default)]
struct Queue {
    lists: Vec<Queued>,
    gets: VecDeque<Queued>,
}

impl Queue {
    fn push(&mut self, q: Queued) {
        match q {
            Queued::List(..) => self.lists.push(q),
            Queued::Get(..) => self.gets.push_back(q),
        }
    }

    /// At most `room` `$batch`-sized chunks ([`into_chunks`]), every next page among them; the
    /// reads left over stay at the front, in order.
    fn take(&mut self, room: usize) -> Vec<Vec<Queued>> {
        let lists = std::mem::take(&mut self.lists);
        // More than `room` chunks can take (conditional access reads go alone: more chunks), a
        // whole number of chunks with the next pages, so that none is cut short.
        let n = self
            .gets
            .len()
            .min(((room + 1) * MAX_BATCH).saturating_sub(lists.len()));
        let gets: Vec<Queued> = self.gets.drain(..n).collect();
        let (mut chunks, mut held) = (Vec::new(), Vec::new());
        for chunk in into_chunks(lists.into_iter().chain(gets)) {
            // A chunk with a next page always goes: it is on the critical path, and there are
            // few of them.
            if chunks.len() < room || chunk.iter().any(|q| matches!(q, Queued::List(..))) {
                chunks.push(chunk);
            } else {
                held.extend(chunk);
            }
        }
        // Only reads of single objects are held.
        for q in held.into_iter().rev() {
            self.gets.push_front(q);
        }
        chunks
    }
}

/// The answer of one read, as a future.
pub struct Load<T> {
    slot: Arc<Slot>,
    answer: PhantomData<fn() -> T>,
}

impl<T> Load<T> {
    fn of(slot: Arc<Slot>) -> Load<T> {
        Load {
            slot,
            answer: PhantomData,
        }
    }
}

impl<T: DeserializeOwned> Future for Load<T> {
    type Output = Answer<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Answer<T>> {
        if let Some(kept) = lock(&self.slot.answer).as_ref() {
            return Poll::Ready(read_back(kept));
        }
        let mut wakers = lock(&self.slot.wakers);
        if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
            wakers.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

/// A kept answer, parsed for one reader. The text was written from a `Value` parsed by
/// serde_json under the same limits, so it parses back; were it not to, the read fails with a
/// decode error rather than a wrong answer.
fn read_back<T: DeserializeOwned>(kept: &Kept) -> Answer<T> {
    let text = kept.as_ref().map_err(GraphError::clone)?;
    serde_json::from_str(text).map_err(|e| {
        GraphError::new(
            GraphErrorKind::Decode,
            "GET",
            "",
            format!("internal: an answer the loader kept did not parse back: {e}"),
        )
    })
}

/// Drops from an answer, and from the objects of a collection page, the `@odata.*`
/// annotations nothing reads: each of 15,000 per-user answers would otherwise keep its
/// `@odata.context` URL. `@odata.nextLink` (paging) and `@odata.type` (a member's kind) stay.
fn drop_annotations(answer: &mut Value) {
    fn unread(key: &str) -> bool {
        key.starts_with("@odata.") && key != "@odata.nextLink" && key != "@odata.type"
    }
    let Some(o) = answer.as_object_mut() else {
        return;
    };
    o.retain(|k, _| !unread(k));
    if let Some(Value::Array(items)) = o.get_mut("value") {
        for item in items.iter_mut().filter_map(Value::as_object_mut) {
            item.retain(|k, _| !unread(k));
        }
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
    queue: Mutex<Queue>,
    objects: Mutex<HashMap<String, Arc<Slot>>>,
    lists: Mutex<HashMap<String, Arc<Slot>>>,
    stats: Mutex<LoadStats>,
}

impl Loader {
    pub fn new(client: &GraphClient) -> Loader {
        Loader {
            client: client.clone(),
            queue: Mutex::new(Queue::default()),
            objects: Mutex::new(HashMap::new()),
            lists: Mutex::new(HashMap::new()),
            stats: Mutex::new(LoadStats::default()),
        }
    }

    /// One object (`Value::Null` for an empty answer). Sent with the next wave (once).
    pub fn get(&self, req: GraphRequest) -> Load<Value> {
        let mut known = lock(&self.objects);
        let slot = match known.entry(key(&req)) {
            Entry::Occupied(e) => return Load::of(e.get().clone()),
            Entry::Vacant(e) => e.insert(Slot::new()).clone(),
        };
        lock(&self.queue).push(Queued::Get(Box::new(req), slot.clone()));
        Load::of(slot)
    }

    /// Every item of a collection, all pages. The first page is sent with the next wave (once),
    /// each further page in the wave after.
    pub fn list(&self, req: GraphRequest) -> Load<Vec<Value>> {
        self.listing(req, None)
    }

    /// Like [`Loader::list`], and `each_page` sees the items of every page as it arrives: the
    /// reads it asks for (with this loader) go out with the next page, not after the last.
    /// (When the same collection is already being read, `each_page` is not called.)
    pub fn list_each(&self, req: GraphRequest, each_page: PageHook) -> Load<Vec<Value>> {
        self.listing(req, Some(each_page))
    }

    fn listing(&self, req: GraphRequest, hook: Option<PageHook>) -> Load<Vec<Value>> {
        let mut known = lock(&self.lists);
        let slot = match known.entry(key(&req)) {
            Entry::Occupied(e) => return Load::of(e.get().clone()),
            Entry::Vacant(e) => e.insert(Slot::new()).clone(),
        };
        let listing = Listing {
            pages: Pages::new(req.clone()),
            slot: slot.clone(),
            hook,
        };
        lock(&self.queue).push(Queued::List(Box::new(listing), Box::new(req)));
        Load::of(slot)
    }

    /// Waves sent and requests made so far.
    pub fn stats(&self) -> LoadStats {
        *lock(&self.stats)
    }

    /// Runs `fut`, sending its reads as they become known, until it completes.
    pub async fn run<F: Future>(&self, fut: F) -> Result<F::Output, Stalled> {
        let mut fut = pin!(fut);
        let flag = Arc::new(Flag::default());
        let waker = Waker::from(flag.clone());
        let mut in_flight: JoinSet<(u64, Vec<Answer<GraphResponse>>)> = JoinSet::new();
        let mut sent: HashMap<u64, (usize, Vec<Queued>)> = HashMap::new();
        let (mut next_id, mut depth) = (0u64, 0usize);
        loop {
            if let Poll::Ready(out) = settle(fut.as_mut(), &flag, &waker) {
                return Ok(out);
            }
            let room = self
                .client
                .config()
                .max_in_flight
                .max(1)
                .saturating_sub(in_flight.len());
            for chunk in self.dispatch(depth + 1, room) {
                let reqs: Vec<GraphRequest> = chunk.iter().map(|q| q.request().clone()).collect();
                let client = self.client.clone();
                let id = next_id;
                next_id += 1;
                in_flight.spawn(async move { (id, client.send_all(reqs).await) });
                sent.insert(id, (depth + 1, chunk));
            }
            let (id, answers) = match in_flight.join_next().await {
                None => return Err(Stalled::new()),
                Some(Ok(done)) => done,
                Some(Err(e)) => return Err(Stalled::after(e)),
            };
            let Some((d, chunk)) = sent.remove(&id) else {
                continue;
            };
            depth = d;
            for (q, answer) in chunk.into_iter().zip(answers) {
                self.take_in(q, answer);
            }
        }
    }

    /// Takes at most `room` `$batch`-sized chunks of the queued reads (v1.0 and beta apart,
    /// conditional access alone), counted as wave `depth`: the next pages of collections first
    /// (they lead to more reads), and always. The rest waits in the queue, so that a plan held back by
    /// Graph's limits keeps its pending reads as plain requests, not as `$batch`es built and
    /// waiting to be admitted.
    fn dispatch(&self, depth: usize, room: usize) -> Vec<Vec<Queued>> {
        let chunks = lock(&self.queue).take(room);
        if chunks.is_empty() {
            return chunks;
        }
        let mut s = lock(&self.stats);
        s.waves = s.waves.max(depth);
        s.requests += chunks.iter().map(Vec::len).sum::<usize>();
        chunks
    }

    /// Takes in the answer of `q` (moved into its slot or its collection, not copied).
    fn take_in(&self, q: Queued, answer: Answer<GraphResponse>) {
        let answer = answer.map(|mut r| {
            if let Some(body) = r.body.as_mut() {
                drop_annotations(body);
            }
            r
        });
        match q {
            Queued::Get(_, slot) => slot.fill(answer.map(|r| r.body.unwrap_or(Value::Null))),
            Queued::List(mut l, _) => {
                let next = answer.and_then(|page| {
                    let next = l.pages.absorb(self.client.config(), page)?;
                    if let Some(hook) = &l.hook {
                        hook(self, l.pages.last_page());
                    }
                    Ok(next)
                });
                match next {
                    Ok(Some(req)) => lock(&self.queue).push(Queued::List(l, Box::new(req))),
                    Ok(None) => l.slot.fill(Ok(l.pages.into_values())),
                    Err(e) => l.slot.fill::<Value>(Err(e)),
                }
            }
        }
    }
}

/// Reads as `$batch`-sized chunks, in order: v1.0 and beta apart, conditional access alone.
/// A read left over alone (20n + 1 reads of a version) takes the last read of the chunk before
/// with it (19 and 2 rather than 20 and 1): a chunk of one would go as a request of its own, so
/// reads in numbers always go in `$batch`es, however the waves happen to split them.
fn into_chunks(queued: impl Iterator<Item = Queued>) -> Vec<Vec<Queued>> {
    let mut chunks: Vec<Vec<Queued>> = Vec::new();
    let mut open: [Vec<Queued>; 2] = [Vec::new(), Vec::new()];
    // Where the last full chunk of each version is in `chunks`.
    let mut full: [Option<usize>; 2] = [None, None];
    for q in queued {
        let r = q.request();
        if r.is_conditional_access() {
            chunks.push(vec![q]);
            continue;
        }
        let version = usize::from(r.beta);
        open[version].push(q);
        if open[version].len() == MAX_BATCH {
            full[version] = Some(chunks.len());
            chunks.push(std::mem::take(&mut open[version]));
        }
    }
    for (rest, full) in open.into_iter().zip(full) {
        let mut rest = rest;
        if let (1, Some(i)) = (rest.len(), full) {
            rest.extend(chunks[i].pop());
        }
        if !rest.is_empty() {
            chunks.push(rest);
        }
    }
    chunks
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

#[cfg(test)]
mod tests {
    use super::*;

    fn gets(n: usize, beta: bool) -> impl Iterator<Item = Queued> {
        (0..n).map(move |i| {
            let r = GraphRequest::get(format!("/users/u{i}"));
            Queued::Get(Box::new(if beta { r.beta() } else { r }), Slot::new())
        })
    }

    fn sizes(queued: impl Iterator<Item = Queued>) -> Vec<(usize, bool)> {
        into_chunks(queued)
            .iter()
            .map(|c| (c.len(), c[0].request().beta))
            .collect()
    }

    /// A collection's page waiting to be sent.
    fn page(path: &str) -> Queued {
        let req = GraphRequest::get(path);
        let listing = Listing {
            pages: Pages::new(req.clone()),
            slot: Slot::new(),
            hook: None,
        };
        Queued::List(Box::new(listing), Box::new(req))
    }

    fn paths(chunk: &[Queued]) -> Vec<String> {
        chunk
            .iter()
            .map(|q| q.request().path().to_string())
            .collect()
    }

    #[test]
    fn a_long_queue_sends_what_there_is_room_for_from_the_front_and_keeps_the_rest_in_order() {
        let mut q = Queue::default();
        for g in gets(100, false) {
            q.push(g);
        }
        q.push(page("/groups/g/members"));
        let sent = q.take(2);
        // The next page first, with the first reads; then one more chunk; 100 − 39 left.
        assert_eq!(sent.iter().map(Vec::len).collect::<Vec<_>>(), [20, 20]);
        assert_eq!(paths(&sent[0])[..2], ["/groups/g/members", "/users/u0"]);
        assert_eq!(paths(&sent[1])[0], "/users/u19");
        assert_eq!(q.gets.len(), 61);
        // With no room, a next page still goes, with what fills its chunk; the rest waits.
        q.push(page("/groups/g/members?$skiptoken=x"));
        let sent = q.take(0);
        assert_eq!(sent.len(), 1);
        assert_eq!(paths(&sent[0])[1..], paths_of(39..58));
        let rest = q.take(10);
        let rest: Vec<String> = rest.iter().flat_map(|c| paths(c)).collect();
        assert_eq!(rest, paths_of(58..100), "in the order asked");
        assert!(q.gets.is_empty());
    }

    fn paths_of(range: std::ops::Range<usize>) -> Vec<String> {
        range.map(|i| format!("/users/u{i}")).collect()
    }

    #[test]
    fn a_read_left_over_alone_goes_in_a_batch_with_one_of_the_chunk_before() {
        assert_eq!(sizes(gets(20, true)), [(20, true)]);
        assert_eq!(sizes(gets(41, true)), [(20, true), (19, true), (2, true)]);
        assert_eq!(sizes(gets(22, true)), [(20, true), (2, true)]);
        // Versions apart: the beta read has no other beta read to go with.
        assert_eq!(
            sizes(gets(21, false).chain(gets(1, true))),
            [(19, false), (2, false), (1, true)]
        );
        assert_eq!(sizes(gets(1, false)), [(1, false)]);
    }
}
