//! `github-stub`: the parts of GitHub that entractl's GitHub Action talks to, in memory on
//! loopback, recording every call — for tests. It serves:
//!
//! - the REST API of one repository's issues and comments (`GITHUB_API_URL`): list (paged with
//!   `Link` headers), create and edit comments; list, open and update issues. Like GitHub it
//!   needs `Authorization: Bearer <token>` (401 "Bad credentials" otherwise) and a `User-Agent`
//!   (403 otherwise), lists pull requests among issues (with a `pull_request` key), and refuses
//!   bodies over 65,536 characters (422);
//! - release downloads (`GITHUB_SERVER_URL/{owner}/{repo}/releases/download/{tag}/{asset}`) and
//!   `GET /repos/{owner}/{repo}/releases/latest`;
//! - the runner's OIDC token service (`ACTIONS_ID_TOKEN_REQUEST_URL`): `GET /_runner/id-token`
//!   with the request token answers `{"value": <id token>}`.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use serde::Serialize;
use serde_json::Value;

mod routes;

use routes::{handle, next_number};

/// GitHub's limit on issue and comment bodies, in characters.
pub const MAX_BODY_CHARS: usize = 65_536;

/// What the stub starts with.
#[derive(Debug, Clone)]
pub struct StubConfig {
    /// The only token the API accepts.
    pub token: String,
    /// `owner/name` of the repository it serves.
    pub repository: String,
    /// The most items a list page holds (GitHub: 100), to exercise paging.
    pub page_size: usize,
    /// The runner's OIDC service: the request token it accepts and the ID token it answers.
    pub id_token: Option<(String, String)>,
}

impl StubConfig {
    pub fn new(token: &str, repository: &str) -> Self {
        StubConfig {
            token: token.to_string(),
            repository: repository.to_string(),
            page_size: 100,
            id_token: None,
        }
    }
}

/// One recorded request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Call {
    pub method: String,
    pub path: String,
    pub query: String,
    /// The JSON body (`null` when none).
    pub body: Value,
}

/// An issue or pull request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StubIssue {
    pub number: u64,
    pub title: String,
    pub body: String,
    pub state: String,
    pub state_reason: Option<String>,
    pub labels: Vec<String>,
    pub is_pull_request: bool,
}

/// A comment on an issue or pull request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StubComment {
    pub id: u64,
    pub issue: u64,
    pub body: String,
    pub user: String,
}

#[derive(Default)]
struct Data {
    issues: Vec<StubIssue>,
    comments: Vec<StubComment>,
    next_comment_id: u64,
    calls: Vec<Call>,
    files: BTreeMap<String, Vec<u8>>,
    /// Repository → the tag `releases/latest` answers.
    latest_release: BTreeMap<String, String>,
    /// Statuses to answer the next requests with (with a `Retry-After` of 0 seconds).
    failures: VecDeque<u16>,
}

struct Shared {
    config: StubConfig,
    base_url: String,
    data: Mutex<Data>,
}

/// A running stub; stops when dropped.
pub struct RunningStub {
    shared: Arc<Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// Starts a stub on a random loopback port.
pub fn start(config: StubConfig) -> std::io::Result<RunningStub> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let base_url = format!("http://{}", listener.local_addr()?);
    let shared = Arc::new(Shared {
        config,
        base_url,
        data: Mutex::new(Data {
            next_comment_id: 1001,
            ..Data::default()
        }),
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let app = axum::Router::new()
        .fallback(handle)
        .with_state(shared.clone());
    let thread = std::thread::Builder::new()
        .name("github-stub".into())
        .spawn(move || {
            runtime.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                    return;
                };
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = rx.await;
                    })
                    .await;
            });
        })?;
    Ok(RunningStub {
        shared,
        shutdown: Some(tx),
        thread: Some(thread),
    })
}

impl RunningStub {
    /// `http://127.0.0.1:PORT`: the API root and the web root.
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// The URL for `ACTIONS_ID_TOKEN_REQUEST_URL`.
    pub fn id_token_url(&self) -> String {
        format!("{}/_runner/id-token?api-version=2.0", self.shared.base_url)
    }

    fn data(&self) -> std::sync::MutexGuard<'_, Data> {
        self.shared.data.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every request so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.data().calls.clone()
    }

    /// The requests that change something (everything but GET).
    pub fn writes(&self) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.method != "GET")
            .collect()
    }

    pub fn clear_calls(&self) {
        self.data().calls.clear();
    }

    pub fn issues(&self) -> Vec<StubIssue> {
        self.data().issues.clone()
    }

    pub fn comments(&self) -> Vec<StubComment> {
        self.data().comments.clone()
    }

    /// Adds an open pull request (an issue with `pull_request`).
    pub fn add_pull_request(&self, number: u64, title: &str) {
        self.data().issues.push(StubIssue {
            number,
            title: title.to_string(),
            body: String::new(),
            state: "open".into(),
            state_reason: None,
            labels: vec![],
            is_pull_request: true,
        });
    }

    /// Adds an open issue with this body (as a person would).
    pub fn add_issue(&self, title: &str, body: &str) -> u64 {
        let mut d = self.data();
        let number = next_number(&d);
        d.issues.push(StubIssue {
            number,
            title: title.to_string(),
            body: body.to_string(),
            state: "open".into(),
            state_reason: None,
            labels: vec![],
            is_pull_request: false,
        });
        number
    }

    /// Adds a comment by `user` (e.g. a reviewer's).
    pub fn add_comment(&self, issue: u64, body: &str, user: &str) -> u64 {
        let mut d = self.data();
        let id = d.next_comment_id;
        d.next_comment_id += 1;
        d.comments.push(StubComment {
            id,
            issue,
            body: body.to_string(),
            user: user.to_string(),
        });
        id
    }

    /// Serves `bytes` at `path` (e.g. `/octo/entractl/releases/download/v0.1.0/asset.tar.gz`).
    pub fn add_file(&self, path: &str, bytes: Vec<u8>) {
        self.data().files.insert(path.to_string(), bytes);
    }

    /// The tag `GET /repos/{repository}/releases/latest` answers (any repository: releases
    /// usually come from the action's repository, not the workflow's).
    pub fn set_latest_release(&self, repository: &str, tag: &str) {
        self.data()
            .latest_release
            .insert(repository.to_string(), tag.to_string());
    }

    /// Answers the next request with `status` (and `Retry-After: 0`), once per call.
    pub fn fail_next(&self, status: u16) {
        self.data().failures.push_back(status);
    }

    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for RunningStub {
    fn drop(&mut self) {
        self.stop();
    }
}
