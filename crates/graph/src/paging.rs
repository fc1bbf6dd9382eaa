//! Paging: the one implementation of following `@odata.nextLink`, used by
//! [`crate::GraphClient::list_all`] (one collection, page after page) and by the
//! [`crate::Loader`] (the next pages of many collections in one wave).
//!
//! A next link is followed only when it is under the configured Graph root (`…/v1.0/` or
//! `…/beta/`): the token is never sent anywhere else. A link returned twice is a paging loop,
//! and a list longer than `GraphConfig::max_pages` pages is cut off; both are errors, never a
//! silently short list.

use std::collections::HashSet;

use serde_json::Value;
use url::Url;

use crate::config::GraphConfig;
use crate::error::{GraphError, GraphErrorKind};
use crate::request::{GraphRequest, GraphResponse};

/// A collection being read, page by page.
#[derive(Debug)]
pub(crate) struct Pages {
    /// The request of the first page (its label, headers and retry rules go with every page).
    first: GraphRequest,
    values: Vec<Value>,
    /// Where the items of the last page taken in start in `values`.
    last_page: usize,
    seen: HashSet<String>,
    pages: usize,
}

impl Pages {
    pub(crate) fn new(first: GraphRequest) -> Pages {
        Pages {
            first,
            values: Vec::new(),
            last_page: 0,
            seen: HashSet::new(),
            pages: 0,
        }
    }

    /// Takes in one page (its items are moved, not copied): `Ok(Some(request))` for the next
    /// page, `Ok(None)` when the list is complete ([`Pages::into_values`]).
    pub(crate) fn absorb(
        &mut self,
        cfg: &GraphConfig,
        page: GraphResponse,
    ) -> Result<Option<GraphRequest>, GraphError> {
        let link = page
            .json()
            .get("@odata.nextLink")
            .and_then(Value::as_str)
            .map(str::to_string);
        self.last_page = self.values.len();
        self.values.extend(page_values(&self.first, page)?);
        self.pages += 1;
        let Some(link) = link else {
            return Ok(None);
        };
        if !self.seen.insert(link.clone()) {
            return Err(self.error(
                GraphErrorKind::Decode,
                format!(
                    "Graph returned a @odata.nextLink it had already returned (a paging loop after {} pages); \
                     the list was not read to the end. Retry later; if it persists, narrow the query with $filter",
                    self.pages
                ),
            ));
        }
        if self.pages >= cfg.max_pages {
            return Err(self.error(
                GraphErrorKind::Decode,
                format!(
                    "the list did not end after {} pages (GraphConfig.max_pages); \
                     the rest was not read. Narrow the query with $filter, or use $top=999 for fewer pages",
                    cfg.max_pages
                ),
            ));
        }
        match self.next_request(cfg, &link) {
            Some(req) => Ok(Some(req)),
            None => Err(self.error(
                GraphErrorKind::UnsafeNextLink,
                format!(
                    "Graph returned a @odata.nextLink to `{}`, which is not under the configured Graph URL {}; it was not followed",
                    origin_of(&link),
                    cfg.graph_root()
                ),
            )),
        }
    }

    /// Every value read.
    pub(crate) fn into_values(self) -> Vec<Value> {
        self.values
    }

    /// The items of the last page taken in.
    pub(crate) fn last_page(&self) -> &[Value] {
        &self.values[self.last_page..]
    }

    /// The next page as a request relative to the configured Graph root, with the first
    /// request's headers, retry rules and label; `None` for a link anywhere else.
    fn next_request(&self, cfg: &GraphConfig, link: &str) -> Option<GraphRequest> {
        let url = Url::parse(link).ok()?;
        let root = cfg.graph_root();
        if !same_origin(&url, &root) {
            return None;
        }
        let root_path = root.path().trim_end_matches('/');
        let rest = url.path().strip_prefix(root_path)?;
        let (rest, beta) = match rest.strip_prefix("/v1.0/") {
            Some(r) => (r, false),
            None => (rest.strip_prefix("/beta/")?, true),
        };
        let mut path = format!("/{rest}");
        if let Some(q) = url.query() {
            path.push('?');
            path.push_str(q);
        }
        let mut req = GraphRequest::get(path);
        req.beta = beta;
        req.headers = self.first.headers.clone();
        req.retry_rules = self.first.retry_rules.clone();
        req.label = self.first.label.clone();
        Some(req)
    }

    fn error(&self, kind: GraphErrorKind, message: String) -> GraphError {
        let mut e = GraphError::new(
            kind,
            self.first.method().as_str(),
            self.first.path(),
            message,
        );
        e.operation = self.first.label.clone();
        e
    }
}

/// The `value` array of a collection page, moved out of it.
fn page_values(req: &GraphRequest, page: GraphResponse) -> Result<Vec<Value>, GraphError> {
    let items = match page.body {
        Some(Value::Object(mut o)) => o.remove("value"),
        _ => None,
    };
    match items {
        Some(Value::Array(items)) => Ok(items),
        _ => {
            let mut e = GraphError::new(
                GraphErrorKind::Decode,
                req.method().as_str(),
                req.path(),
                "Graph answered a collection read without a `value` array; the answer was not used \
                 (is the URL a collection, e.g. /applications?)",
            );
            e.operation = req.label.clone();
            e.status = Some(page.status);
            e.request_id = page.request_id.clone();
            Err(e)
        }
    }
}

fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str().map(str::to_ascii_lowercase) == b.host_str().map(str::to_ascii_lowercase)
        && a.port_or_known_default() == b.port_or_known_default()
}

fn origin_of(link: &str) -> String {
    Url::parse(link)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_else(|_| "(unparseable URL)".into())
}
