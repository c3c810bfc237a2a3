//! Every job records what started it, and `GET /api/jobs` filters on it. Real Redis, the real
//! router; no worker runs, the jobs stay queued.

mod support;

use axum::http::{header, Method, StatusCode};
use serde_json::{json, Value};

const REGISTRIES: &str =
    "registries:\n  target:\n    url: \"http://127.0.0.1:1\"\n    namespace: mirror\n";

fn ids(body: &Value) -> Vec<&str> {
    body.as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn jobs_record_their_trigger_and_the_list_filters_on_it() {
    let app = support::app(REGISTRIES, &[]).await;
    let op = app.login("op").await;
    let by_session = app
        .post(
            "/api/jobs",
            &op,
            json!({ "images": "nginx:1.25", "target": "target" }),
        )
        .await;
    assert_eq!(
        by_session.status,
        StatusCode::ACCEPTED,
        "{}",
        by_session.body
    );
    assert_eq!(
        by_session.body["trigger"],
        json!({ "kind": "session", "user": "op" })
    );

    let token = app
        .post(
            "/api/tokens",
            &op,
            json!({ "name": "nightly-ci", "role": "operator" }),
        )
        .await;
    assert_eq!(token.status, StatusCode::CREATED, "{}", token.body);
    let bearer = format!("Bearer {}", token.body["token"].as_str().unwrap());
    let by_token = app
        .call_with(
            Method::POST,
            "/api/jobs",
            None,
            json!({ "images": "redis:7", "target": "target" }),
            &[(header::AUTHORIZATION, bearer.as_str())],
        )
        .await;
    assert_eq!(by_token.status, StatusCode::ACCEPTED, "{}", by_token.body);
    assert_eq!(
        by_token.body["trigger"],
        json!({ "kind": "token", "user": "op", "token": "nightly-ci" })
    );
    let (s, t) = (
        by_session.body["id"].as_str().unwrap(),
        by_token.body["id"].as_str().unwrap(),
    );

    let list = |query: &'static str| {
        let (app, op) = (&app, &op);
        async move { app.get(&format!("/api/jobs{query}"), op).await }
    };
    assert_eq!(ids(&list("").await.body), [t, s], "newest first");
    assert_eq!(ids(&list("?trigger=token").await.body), [t]);
    assert_eq!(ids(&list("?trigger=session").await.body), [s]);
    assert_eq!(ids(&list("?user=op&trigger=token").await.body), [t]);
    assert!(ids(&list("?user=boss").await.body).is_empty());
    assert!(ids(&list("?trigger=schedule").await.body).is_empty());
    let bad = list("?trigger=cron").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.body["error"]
            .as_str()
            .unwrap()
            .contains("trigger `cron`"),
        "{}",
        bad.body
    );
    // The job page shows it too.
    let job = app.get(&format!("/api/jobs/{t}"), &op).await;
    assert_eq!(job.body["trigger"]["token"], "nightly-ci", "{}", job.body);
}
