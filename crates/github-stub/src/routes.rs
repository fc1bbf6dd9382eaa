//! The routes: one handler that records the call, checks the request as GitHub does, and
//! dispatches on the path.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::{Call, Data, MAX_BODY_CHARS, Shared, StubComment, StubConfig, StubIssue};

pub(crate) fn next_number(d: &Data) -> u64 {
    d.issues.iter().map(|i| i.number).max().unwrap_or(0) + 1
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "message": message }))).into_response()
}

pub(crate) async fn handle(
    State(s): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let query = uri.query().unwrap_or("").to_string();
    let path = uri.path().to_string();
    let mut d = s.data.lock().unwrap_or_else(|e| e.into_inner());
    d.calls.push(Call {
        method: method.to_string(),
        path: path.clone(),
        query: query.clone(),
        body: body.clone(),
    });
    if let Some(status) = d.failures.pop_front() {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        let mut resp = error(status, "injected failure");
        resp.headers_mut()
            .insert("retry-after", axum::http::HeaderValue::from_static("0"));
        return resp;
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    if segments.first() == Some(&"_runner") {
        return runner(&s.config, header("authorization"));
    }
    if segments.first() != Some(&"repos") {
        return web(&d, &segments);
    }
    if header("user-agent").is_none_or(str::is_empty) {
        return error(
            StatusCode::FORBIDDEN,
            "Request forbidden by administrative rules. Please make sure your request has a User-Agent header",
        );
    }
    let bearer = format!("Bearer {}", s.config.token);
    if header("authorization") != Some(bearer.as_str()) {
        return error(StatusCode::UNAUTHORIZED, "Bad credentials");
    }
    let repo = format!(
        "{}/{}",
        segments.get(1).unwrap_or(&""),
        segments.get(2).unwrap_or(&"")
    );
    let rest = &segments[3.min(segments.len())..];
    if method == Method::GET && rest == ["releases", "latest"] {
        return match d.latest_release.get(&repo) {
            Some(tag) => axum::Json(json!({ "tag_name": tag })).into_response(),
            None => error(StatusCode::NOT_FOUND, "Not Found"),
        };
    }
    if !repo.eq_ignore_ascii_case(&s.config.repository) {
        return error(StatusCode::NOT_FOUND, "Not Found");
    }
    let ctx = Ctx {
        base: &s.base_url,
        repo: &s.config.repository,
        page_size: s.config.page_size,
        query: &query,
    };
    api(&mut d, &ctx, &method, rest, &body)
}

fn runner(config: &StubConfig, authorization: Option<&str>) -> Response {
    match &config.id_token {
        Some((request_token, id_token))
            if authorization == Some(format!("Bearer {request_token}").as_str()) =>
        {
            axum::Json(json!({ "value": id_token })).into_response()
        }
        _ => error(StatusCode::UNAUTHORIZED, "Bad credentials"),
    }
}

/// `/{owner}/{repo}/releases/download/{tag}/{asset}` and other files.
fn web(d: &Data, segments: &[&str]) -> Response {
    let path = format!("/{}", segments.join("/"));
    match d.files.get(&path) {
        Some(bytes) => (StatusCode::OK, bytes.clone()).into_response(),
        None => error(StatusCode::NOT_FOUND, "Not Found"),
    }
}

struct Ctx<'a> {
    base: &'a str,
    repo: &'a str,
    page_size: usize,
    query: &'a str,
}

impl Ctx<'_> {
    fn param(&self, name: &str) -> Option<&str> {
        self.query.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            (k == name).then_some(v)
        })
    }
}

fn api(d: &mut Data, ctx: &Ctx, method: &Method, rest: &[&str], body: &Value) -> Response {
    match (method.as_str(), rest) {
        ("GET", ["issues"]) => list_issues(d, ctx),
        ("POST", ["issues"]) => create_issue(d, ctx, body),
        ("PATCH", ["issues", "comments", id]) => edit_comment(d, ctx, id, body),
        ("PATCH", ["issues", number]) => update_issue(d, ctx, number, body),
        ("GET", ["issues", number, "comments"]) => list_comments(d, ctx, number),
        ("POST", ["issues", number, "comments"]) => create_comment(d, ctx, number, body),
        _ => error(StatusCode::NOT_FOUND, "Not Found"),
    }
}

fn too_long(resource: &str, body: &str) -> Option<Response> {
    (body.chars().count() > MAX_BODY_CHARS).then(|| {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            axum::Json(json!({
                "message": "Validation Failed",
                "errors": [{"resource": resource, "code": "custom", "field": "body",
                            "message": "body is too long (maximum is 65536 characters)"}],
            })),
        )
            .into_response()
    })
}

/// One page of `items` with GitHub's `Link` header.
fn page(items: Vec<Value>, ctx: &Ctx, path: &str) -> Response {
    let per_page = ctx
        .param("per_page")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(30)
        .clamp(1, 100)
        .min(ctx.page_size);
    let number = ctx
        .param("page")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let total = items.len();
    let slice: Vec<Value> = items
        .into_iter()
        .skip((number - 1) * per_page)
        .take(per_page)
        .collect();
    let mut resp = axum::Json(Value::Array(slice)).into_response();
    if number * per_page < total {
        let others: Vec<&str> = ctx
            .query
            .split('&')
            .filter(|kv| !kv.starts_with("page=") && !kv.is_empty())
            .collect();
        let link = format!(
            "<{}{path}?{}&page={}>; rel=\"next\"",
            ctx.base,
            others.join("&"),
            number + 1
        );
        if let Ok(v) = axum::http::HeaderValue::from_str(&link) {
            resp.headers_mut().insert("link", v);
        }
    }
    resp
}

fn issue_json(i: &StubIssue, ctx: &Ctx) -> Value {
    let mut v = json!({
        "number": i.number,
        "title": i.title,
        "body": i.body,
        "state": i.state,
        "state_reason": i.state_reason,
        "labels": i.labels.iter().map(|l| json!({"name": l})).collect::<Vec<_>>(),
        "html_url": format!("{}/{}/issues/{}", ctx.base, ctx.repo, i.number),
    });
    if i.is_pull_request {
        v["pull_request"] =
            json!({ "url": format!("{}/repos/{}/pulls/{}", ctx.base, ctx.repo, i.number) });
    }
    v
}

fn comment_json(c: &StubComment, ctx: &Ctx) -> Value {
    json!({
        "id": c.id,
        "body": c.body,
        "user": {"login": c.user, "type": if c.user.ends_with("[bot]") { "Bot" } else { "User" }},
        "html_url": format!("{}/{}/issues/{}#issuecomment-{}", ctx.base, ctx.repo, c.issue, c.id),
    })
}

fn list_issues(d: &Data, ctx: &Ctx) -> Response {
    let state = ctx.param("state").unwrap_or("open");
    let items = d
        .issues
        .iter()
        .filter(|i| state == "all" || i.state == state)
        .map(|i| issue_json(i, ctx))
        .collect();
    page(items, ctx, &format!("/repos/{}/issues", ctx.repo))
}

fn create_issue(d: &mut Data, ctx: &Ctx, body: &Value) -> Response {
    let title = body.get("title").and_then(Value::as_str).unwrap_or("");
    let text = body.get("body").and_then(Value::as_str).unwrap_or("");
    if title.is_empty() {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "Validation Failed");
    }
    if let Some(r) = too_long("Issue", text) {
        return r;
    }
    let issue = StubIssue {
        number: next_number(d),
        title: title.to_string(),
        body: text.to_string(),
        state: "open".into(),
        state_reason: None,
        labels: strings(body.get("labels")),
        is_pull_request: false,
    };
    let v = issue_json(&issue, ctx);
    d.issues.push(issue);
    (StatusCode::CREATED, axum::Json(v)).into_response()
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn update_issue(d: &mut Data, ctx: &Ctx, number: &str, body: &Value) -> Response {
    let Some(issue) = d.issues.iter_mut().find(|i| i.number.to_string() == number) else {
        return error(StatusCode::NOT_FOUND, "Not Found");
    };
    if let Some(text) = body.get("body").and_then(Value::as_str) {
        if let Some(r) = too_long("Issue", text) {
            return r;
        }
        issue.body = text.to_string();
    }
    if let Some(t) = body.get("title").and_then(Value::as_str) {
        issue.title = t.to_string();
    }
    if let Some(s) = body.get("state").and_then(Value::as_str) {
        issue.state = s.to_string();
        issue.state_reason = body
            .get("state_reason")
            .and_then(Value::as_str)
            .map(str::to_string);
    }
    axum::Json(issue_json(issue, ctx)).into_response()
}

fn list_comments(d: &Data, ctx: &Ctx, number: &str) -> Response {
    if !d.issues.iter().any(|i| i.number.to_string() == number) {
        return error(StatusCode::NOT_FOUND, "Not Found");
    }
    let items = d
        .comments
        .iter()
        .filter(|c| c.issue.to_string() == number)
        .map(|c| comment_json(c, ctx))
        .collect();
    page(
        items,
        ctx,
        &format!("/repos/{}/issues/{number}/comments", ctx.repo),
    )
}

/// The user comments are made as: the workflow token's bot.
const BOT: &str = "github-actions[bot]";

fn create_comment(d: &mut Data, ctx: &Ctx, number: &str, body: &Value) -> Response {
    let Some(issue) = d.issues.iter().find(|i| i.number.to_string() == number) else {
        return error(StatusCode::NOT_FOUND, "Not Found");
    };
    let issue = issue.number;
    let text = body.get("body").and_then(Value::as_str).unwrap_or("");
    if let Some(r) = too_long("IssueComment", text) {
        return r;
    }
    let id = d.next_comment_id;
    d.next_comment_id += 1;
    let c = StubComment {
        id,
        issue,
        body: text.to_string(),
        user: BOT.into(),
    };
    let v = comment_json(&c, ctx);
    d.comments.push(c);
    (StatusCode::CREATED, axum::Json(v)).into_response()
}

fn edit_comment(d: &mut Data, ctx: &Ctx, id: &str, body: &Value) -> Response {
    let text = body.get("body").and_then(Value::as_str).unwrap_or("");
    if let Some(r) = too_long("IssueComment", text) {
        return r;
    }
    let Some(c) = d.comments.iter_mut().find(|c| c.id.to_string() == id) else {
        return error(StatusCode::NOT_FOUND, "Not Found");
    };
    c.body = text.to_string();
    axum::Json(comment_json(c, ctx)).into_response()
}
