//! The GitHub side against github-stub: one comment kept up to date, one drift issue, errors
//! that say what to do and never hold the token. Outcomes are checked on the stub's state.

use std::collections::BTreeMap;

use entractl_github::{
    CommentOutcome, Drift, DriftOutcome, GithubClient, GithubContext, Marker, sync_drift_issue,
    upsert_comment,
};
use github_stub::{RunningStub, StubConfig};

const TOKEN: &str = "ghs_canaryTOKEN0123456789abcdef";
const REPO: &str = "octo/tenant-config";

fn stub(page_size: usize) -> RunningStub {
    let mut cfg = StubConfig::new(TOKEN, REPO);
    cfg.page_size = page_size;
    github_stub::start(cfg).expect("stub starts")
}

fn context(stub: &RunningStub, token: &str) -> GithubContext {
    let env: BTreeMap<String, String> = [
        ("GITHUB_API_URL", stub.base_url()),
        ("GITHUB_SERVER_URL", stub.base_url()),
        ("GITHUB_REPOSITORY", REPO.to_string()),
        ("GITHUB_TOKEN", token.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    GithubContext::from_env(&env).expect("context")
}

fn client(stub: &RunningStub) -> GithubClient {
    GithubClient::new(&context(stub, TOKEN)).expect("client")
}

#[tokio::test]
async fn one_comment_is_created_then_edited_in_place_across_pages() {
    let stub = stub(2);
    stub.add_pull_request(7, "Assign Mac Users");
    for i in 0..5 {
        stub.add_comment(7, &format!("review comment {i}"), "alice");
    }
    let c = client(&stub);
    let marker = Marker::plan_comment("specs/kandji-passport.yaml");
    let first = format!("{marker}\nplan 1");
    let out = upsert_comment(&c, 7, &marker, &first).await.unwrap();
    assert!(matches!(out, CommentOutcome::Created(_)), "{out:?}");

    let second = format!("{marker}\nplan 2");
    let out = upsert_comment(&c, 7, &marker, &second).await.unwrap();
    let CommentOutcome::Updated(updated) = out else {
        panic!("{out:?}")
    };
    let out = upsert_comment(&c, 7, &marker, &second).await.unwrap();
    assert!(matches!(out, CommentOutcome::Unchanged(_)), "{out:?}");

    // The stub's state: six comments, the people's untouched, ours edited in place.
    let comments = stub.comments();
    assert_eq!(comments.len(), 6);
    let ours: Vec<_> = comments
        .iter()
        .filter(|c| c.body.contains(marker.as_str()))
        .collect();
    assert_eq!(ours.len(), 1);
    assert_eq!(ours[0].id, updated.id);
    assert_eq!(ours[0].body, second);
    assert!(
        comments
            .iter()
            .take(5)
            .all(|c| c.body.starts_with("review comment"))
    );
    // Writes: one POST, one PATCH of that comment; the last run wrote nothing.
    let writes: Vec<String> = stub
        .writes()
        .iter()
        .map(|c| format!("{} {}", c.method, c.path))
        .collect();
    assert_eq!(
        writes,
        [
            format!("POST /repos/{REPO}/issues/7/comments"),
            format!("PATCH /repos/{REPO}/issues/comments/{}", updated.id),
        ]
    );
    // Our comment is on page 3 of 3: the link headers were followed.
    assert!(
        stub.calls()
            .iter()
            .any(|c| c.method == "GET" && c.query.contains("page=3"))
    );
}

#[tokio::test]
async fn each_spec_has_its_own_comment() {
    let stub = stub(100);
    stub.add_pull_request(3, "two specs");
    let c = client(&stub);
    for spec in ["specs/a.yaml", "specs/b.yaml", "specs/a.yaml"] {
        let m = Marker::plan_comment(spec);
        upsert_comment(&c, 3, &m, &format!("{m}\n{spec} again"))
            .await
            .unwrap();
    }
    assert_eq!(stub.comments().len(), 2);
}

#[tokio::test]
async fn the_drift_issue_is_opened_updated_and_closed() {
    let stub = stub(100);
    let c = client(&stub);
    let marker = Marker::drift_issue("specs/kandji-passport.yaml");
    // A pull request and a person's issue that quote the marker are not the drift issue.
    stub.add_pull_request(1, "docs");
    stub.add_issue("question", "what is entractl?");
    let present = |n: u32| Drift::Present {
        title: "Entra drift: specs/kandji-passport.yaml".into(),
        body: format!("{marker}\n{n} changes"),
        labels: vec!["entractl-drift".into()],
    };

    let out = sync_drift_issue(&c, &marker, &present(2)).await.unwrap();
    let DriftOutcome::Opened(issue) = out else {
        panic!("{out:?}")
    };
    let out = sync_drift_issue(&c, &marker, &present(3)).await.unwrap();
    assert!(
        matches!(&out, DriftOutcome::Updated(i) if i.number == issue.number),
        "{out:?}"
    );
    let out = sync_drift_issue(&c, &marker, &present(3)).await.unwrap();
    assert!(matches!(out, DriftOutcome::Unchanged(_)), "{out:?}");

    let gone = Drift::Gone {
        closing_comment: "The tenant matches the spec again.".into(),
    };
    let out = sync_drift_issue(&c, &marker, &gone).await.unwrap();
    assert!(
        matches!(&out, DriftOutcome::Closed(i) if i.number == issue.number),
        "{out:?}"
    );
    let out = sync_drift_issue(&c, &marker, &gone).await.unwrap();
    assert_eq!(out, DriftOutcome::NothingOpen);

    let ours: Vec<_> = stub
        .issues()
        .into_iter()
        .filter(|i| i.body.contains(marker.as_str()))
        .collect();
    assert_eq!(ours.len(), 1, "one drift issue");
    assert_eq!(ours[0].state, "closed");
    assert_eq!(ours[0].state_reason.as_deref(), Some("completed"));
    assert_eq!(ours[0].body, format!("{marker}\n3 changes"));
    assert_eq!(ours[0].labels, ["entractl-drift"]);
    let closing: Vec<_> = stub
        .comments()
        .into_iter()
        .filter(|c| c.issue == issue.number)
        .collect();
    assert_eq!(closing.len(), 1);

    // Drift again: a new issue (the closed one stays closed).
    let out = sync_drift_issue(&c, &marker, &present(1)).await.unwrap();
    assert!(
        matches!(&out, DriftOutcome::Opened(i) if i.number != issue.number),
        "{out:?}"
    );
}

#[tokio::test]
async fn a_bad_token_is_named_but_never_shown() {
    let stub = stub(100);
    stub.add_pull_request(7, "x");
    let wrong = "ghs_wrongCANARY9876543210";
    let c = GithubClient::new(&context(&stub, wrong)).unwrap();
    let m = Marker::plan_comment("s");
    let err = upsert_comment(&c, 7, &m, "body").await.unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(
        text.contains("HTTP 401") && text.contains("Bad credentials"),
        "{text}"
    );
    assert!(text.contains("GITHUB_TOKEN is not valid"), "{text}");
    assert!(!text.contains(wrong) && !text.contains(TOKEN), "{text}");
}

#[tokio::test]
async fn refusals_say_which_permission_is_missing() {
    let stub = stub(100);
    let c = client(&stub);
    let m = Marker::plan_comment("s");
    // No pull request 9: GitHub answers 404, as it does to a token that may not see it.
    let err = upsert_comment(&c, 9, &m, "body").await.unwrap_err();
    assert!(
        err.to_string()
            .contains("permissions: pull-requests: write"),
        "{err}"
    );
    let long = "x".repeat(70_000);
    stub.add_pull_request(9, "x");
    let err = upsert_comment(&c, 9, &m, &long).await.unwrap_err();
    assert!(
        err.to_string().contains("HTTP 422") && err.to_string().contains("body is too long"),
        "{err}"
    );
}

#[tokio::test]
async fn transient_failures_are_retried() {
    let stub = stub(100);
    stub.add_pull_request(7, "x");
    stub.fail_next(503);
    stub.fail_next(429);
    let c = client(&stub);
    let m = Marker::plan_comment("s");
    let out = upsert_comment(&c, 7, &m, &format!("{m}\nbody"))
        .await
        .unwrap();
    assert!(matches!(out, CommentOutcome::Created(_)));
    assert_eq!(stub.comments().len(), 1);
}
