//! A tiny loopback HTTP/1.1 responder for unit tests (no emulator needed): the graph crate's
//! own tests, and other crates' with the `testutil` feature.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json as j};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A request the server saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
    /// Form body as pairs.
    pub fn form(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(self.body.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }
    pub fn form_value(&self, k: &str) -> Option<String> {
        self.form()
            .into_iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v)
    }
}

/// What to answer.
pub enum Reply {
    Json(u16, Vec<(&'static str, String)>, serde_json::Value),
    Empty(u16),
    /// Close the connection without answering.
    Drop,
}

pub fn json(status: u16, v: serde_json::Value) -> Reply {
    Reply::Json(status, Vec::new(), v)
}

pub fn graph_error(status: u16, code: &str, message: &str) -> Reply {
    Reply::Json(
        status,
        vec![("request-id", format!("rid-{status}"))],
        serde_json::json!({"error": {"code": code, "message": message, "innerError": {"request-id": format!("rid-{status}")}}}),
    )
}

pub type Handler = dyn Fn(&Seen, usize) -> Reply + Send + Sync;

pub struct MiniServer {
    pub base: String,
    pub log: Arc<Mutex<Vec<Seen>>>,
}

impl MiniServer {
    pub fn seen(&self) -> Vec<Seen> {
        self.log.lock().unwrap().clone()
    }
}

/// Serves `handler` on 127.0.0.1:0; the second argument is the 0-based number of the request.
pub async fn serve(handler: impl Fn(&Seen, usize) -> Reply + Send + Sync + 'static) -> MiniServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let log: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let handler: Arc<Handler> = Arc::new(handler);
    let l2 = log.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let log = l2.clone();
            let handler = handler.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut tmp = [0u8; 8192];
                let head_end = loop {
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i;
                    }
                    match sock.read(&mut tmp).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&tmp[..n]),
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let mut lines = head.split("\r\n");
                let mut first = lines.next().unwrap_or("").split(' ');
                let method = first.next().unwrap_or("").to_string();
                let target = first.next().unwrap_or("").to_string();
                let headers: Vec<(String, String)> = lines
                    .filter_map(|l| l.split_once(':'))
                    .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                    .collect();
                let len: usize = headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                    .and_then(|(_, v)| v.parse().ok())
                    .unwrap_or(0);
                let mut body = buf[head_end + 4..].to_vec();
                while body.len() < len {
                    match sock.read(&mut tmp).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => body.extend_from_slice(&tmp[..n]),
                    }
                }
                let seen = Seen {
                    method,
                    target,
                    headers,
                    body: String::from_utf8_lossy(&body).to_string(),
                };
                let n = {
                    let mut l = log.lock().unwrap();
                    l.push(seen.clone());
                    l.len() - 1
                };
                let reply = handler(&seen, n);
                let (status, extra, body) = match reply {
                    Reply::Drop => return,
                    Reply::Empty(s) => (s, Vec::new(), String::new()),
                    Reply::Json(s, h, v) => (s, h, v.to_string()),
                };
                let mut out = format!(
                    "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n",
                    body.len()
                );
                if !body.is_empty() {
                    out.push_str("content-type: application/json\r\n");
                }
                for (k, v) in extra {
                    out.push_str(&format!("{k}: {v}\r\n"));
                }
                out.push_str("\r\n");
                out.push_str(&body);
                let _ = sock.write_all(out.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    MiniServer { base, log }
}

/// A `$batch` responder: answers each inner request with `inner(request, attempt)`.
pub fn batch_server(
    inner: impl Fn(&Value, usize) -> (u16, Value, Option<&'static str>) + Send + Sync + 'static,
) -> impl Fn(&Seen, usize) -> Reply + Send + Sync + 'static {
    let attempts: Mutex<std::collections::HashMap<String, usize>> = Mutex::default();
    let attempt = move |url: &str| {
        let mut a = attempts.lock().unwrap();
        let e = a.entry(url.to_string()).or_default();
        *e += 1;
        *e
    };
    move |s, _| {
        if s.target
            .split('?')
            .next()
            .unwrap_or("")
            .ends_with("/$batch")
        {
            let reqs = s.json()["requests"].as_array().cloned().unwrap_or_default();
            assert!(reqs.len() <= 20, "batch of {}", reqs.len());
            let responses: Vec<Value> = reqs
                .iter()
                .rev()
                .map(|r| {
                    let (status, body, ra) = inner(r, attempt(r["url"].as_str().unwrap()));
                    let mut headers = j!({"Content-Type": "application/json"});
                    if let Some(ra) = ra {
                        headers["Retry-After"] = j!(ra);
                    }
                    j!({"id": r["id"], "status": status, "headers": headers, "body": body})
                })
                .collect();
            json(200, j!({"responses": responses}))
        } else {
            let url = s.target.trim_start_matches("/v1.0").to_string();
            let r = j!({"id": "single", "method": s.method, "url": url});
            let (status, body, _) = inner(&r, attempt(&url));
            json(status, body)
        }
    }
}
