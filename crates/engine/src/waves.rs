//! The wave runner: fetch's reads go out in dependency waves.
//!
//! Every part of fetch (the application, the assignments, the deleted items, the MFA posture)
//! says, from what is known so far, which reads it needs next; [`crate::fetch`] collects them from
//! every part into one wave, and [`Runner::wave`] sends that wave with one
//! [`GraphClient::send_all`]: v1.0 and beta `$batch`es and any paced conditional access request
//! go out concurrently. A collection that Graph pages is continued in the next wave together with
//! the new reads (every next page of a wave in one round), and its part gets it only whole, so
//! a part never sees half a list.
//!
//! A wave is one sequential round trip; [`FetchStats::waves`] counts them.

use std::collections::BTreeSet;

use entractl_graph::{GraphClient, GraphError, GraphRequest};
use serde_json::Value;

use crate::fetch::FetchStats;

/// A read that completed (every page), with what it was for.
pub(crate) struct Done<K> {
    pub key: K,
    pub req: GraphRequest,
    /// The collection's values, or a single object as a list of one. An error is passed on as is:
    /// whether it means "absent" is for the part to say (only a 404 on a lookup by key does).
    pub result: Result<Vec<Value>, GraphError>,
}

/// A collection with more pages to read.
struct Paging<K> {
    key: K,
    orig: GraphRequest,
    link: String,
    values: Vec<Value>,
    pages: usize,
    seen: BTreeSet<String>,
}

enum Sent<K> {
    New(K, GraphRequest),
    /// A collection's next page, and the request for it.
    Page(Box<Paging<K>>, GraphRequest),
}

/// Sends waves of reads and continues paged collections in the following waves.
pub(crate) struct Runner<'c, K> {
    client: &'c GraphClient,
    paging: Vec<Paging<K>>,
    pub stats: FetchStats,
}

impl<'c, K> Runner<'c, K> {
    pub fn new(client: &'c GraphClient) -> Runner<'c, K> {
        Runner {
            client,
            paging: Vec::new(),
            stats: FetchStats::default(),
        }
    }

    /// No collection is waiting for its next page.
    pub fn idle(&self) -> bool {
        self.paging.is_empty()
    }

    /// Sends `reads` and the next page of every unfinished collection together (one wave), and
    /// returns the reads that are complete now, in the order sent.
    pub async fn wave(&mut self, reads: Vec<(GraphRequest, K)>) -> Vec<Done<K>> {
        let mut done = Vec::new();
        let mut sent: Vec<Sent<K>> = reads.into_iter().map(|(r, k)| Sent::New(k, r)).collect();
        let max_pages = self.client.config().max_pages;
        for p in std::mem::take(&mut self.paging) {
            match next_page(self.client, &p.link, &p.orig).filter(|_| p.pages < max_pages) {
                Some(req) => sent.push(Sent::Page(Box::new(p), req)),
                None => {
                    // A link outside the configured Graph root, or a list that does not end:
                    // the client's own paging refuses it with a clear error.
                    self.stats.requests += 1;
                    let result = self.client.list_all(p.orig.clone()).await;
                    done.push(Done {
                        key: p.key,
                        req: p.orig,
                        result,
                    });
                }
            }
        }
        if sent.is_empty() {
            return done;
        }
        let reqs: Vec<GraphRequest> = sent
            .iter()
            .map(|s| match s {
                Sent::New(_, r) => r.clone(),
                Sent::Page(_, r) => r.clone(),
            })
            .collect();
        self.stats.waves += 1;
        self.stats.requests += reqs.len();
        let results = self.client.send_all(reqs).await;
        for (s, res) in sent.into_iter().zip(results) {
            match s {
                Sent::New(key, req) => match res {
                    Ok(resp) => {
                        let body = resp.json();
                        let Some(values) = body.get("value").and_then(Value::as_array) else {
                            let result = Ok(if body.is_null() {
                                Vec::new()
                            } else {
                                vec![body.clone()]
                            });
                            done.push(Done { key, req, result });
                            continue;
                        };
                        match next_link(body) {
                            Some(link) => self.paging.push(Paging {
                                key,
                                orig: req,
                                seen: BTreeSet::from([link.clone()]),
                                link,
                                values: values.clone(),
                                pages: 1,
                            }),
                            None => done.push(Done {
                                key,
                                req,
                                result: Ok(values.clone()),
                            }),
                        }
                    }
                    Err(e) => done.push(Done {
                        key,
                        req,
                        result: Err(e),
                    }),
                },
                Sent::Page(mut p, _) => match res {
                    Ok(resp) => {
                        p.values.extend(resp.values());
                        p.pages += 1;
                        match next_link(resp.json()) {
                            Some(link) if p.seen.insert(link.clone()) => {
                                p.link = link;
                                self.paging.push(*p);
                            }
                            Some(_) => {
                                // Graph returned a link it had returned before (a paging loop):
                                // the client's paging detects it and says so.
                                self.stats.requests += 1;
                                let result = self.client.list_all(p.orig.clone()).await;
                                done.push(Done {
                                    key: p.key,
                                    req: p.orig,
                                    result,
                                });
                            }
                            None => done.push(Done {
                                key: p.key,
                                req: p.orig,
                                result: Ok(p.values),
                            }),
                        }
                    }
                    Err(e) => done.push(Done {
                        key: p.key,
                        req: p.orig,
                        result: Err(e),
                    }),
                },
            }
        }
        done
    }
}

fn next_link(body: &Value) -> Option<String> {
    body.get("@odata.nextLink")
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// A next page as a request relative to the configured Graph root (v1.0 or beta); `None` for a
/// link elsewhere.
pub(crate) fn next_page(
    client: &GraphClient,
    link: &str,
    orig: &GraphRequest,
) -> Option<GraphRequest> {
    let root = client.config().graph_url.as_str().trim_end_matches('/');
    let rest = link.strip_prefix(root)?;
    let (rest, beta) = match rest.strip_prefix("/v1.0") {
        Some(r) => (r, false),
        None => (rest.strip_prefix("/beta")?, true),
    };
    if !rest.starts_with('/') {
        return None;
    }
    let mut req = GraphRequest::get(rest);
    if beta {
        req = req.beta();
    }
    if let Some(l) = orig.label_text() {
        req = req.label(l.to_string());
    }
    Some(req)
}
