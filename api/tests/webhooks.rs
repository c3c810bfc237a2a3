//! Webhooks through the api against a receiver the test runs on loopback: endpoints checked and
//! never shown back with their token or secret; a job's end delivered signed, retried after a
//! 500, and not lost when the replica that queued it stops before sending. Real Redis; the
//! job-ends reader and the sender loops run in the test as the api runs them.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use docker_sync_api::jobs::ends;
use docker_sync_api::state::AppState;
use docker_sync_api::webhooks::sender;
use docker_sync_common::queue::cancel::cancel;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use tokio_util::sync::CancellationToken;

const REGISTRIES: &str =
    "registries:\n  target:\n    url: \"http://127.0.0.1:1\"\n    namespace: mirror\n";
const KEY: &str = "test-sealing-key-webhooks-0123456789abcdef";

/// What the receiver was sent, and the statuses it answers with in turn (then 200).
#[derive(Default)]
struct Received {
    requests: Vec<(HeaderMap, String, String)>,
    answers: Vec<u16>,
}

type Receiver = Arc<Mutex<Received>>;

async fn receiver(answers: &[u16]) -> (String, Receiver) {
    let got: Receiver = Arc::new(Mutex::new(Received {
        requests: Vec::new(),
        answers: answers.iter().rev().copied().collect(),
    }));
    async fn take(
        State(got): State<Receiver>,
        uri: axum::http::Uri,
        headers: HeaderMap,
        body: String,
    ) -> StatusCode {
        let mut g = got.lock().unwrap();
        g.requests.push((headers, uri.to_string(), body));
        StatusCode::from_u16(g.answers.pop().unwrap_or(200)).unwrap()
    }
    let app = axum::Router::new()
        .route("/hook/{*rest}", axum::routing::post(take))
        .with_state(got.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/hook/T0KEN-in-path",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, got)
}

struct Keyed {
    app: support::App,
    _dir: tempfile::TempDir,
}

async fn keyed_app() -> Keyed {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secret-key");
    std::fs::write(&path, KEY).unwrap();
    let app = support::app(REGISTRIES, &["--secret-key-file", path.to_str().unwrap()]).await;
    Keyed { app, _dir: dir }
}

fn loops(state: &AppState) -> CancellationToken {
    let stop = CancellationToken::new();
    ends::spawn(state.clone(), stop.clone());
    sender::spawn(state.clone(), stop.clone());
    stop
}

async fn eventually<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(t) = f() {
            return t;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A job queued then cancelled: it ends at once (no worker runs), which writes its end.
async fn a_job_that_ends(app: &support::App, cookie: &str) -> String {
    let job = app
        .post(
            "/api/jobs",
            cookie,
            json!({ "images": "nginx:1.25", "target": "target" }),
        )
        .await;
    assert_eq!(job.status, StatusCode::ACCEPTED, "{}", job.body);
    let id = job.body["id"].as_str().unwrap().to_owned();
    cancel(&app.state.pool, &app.state.keys, &id, "boss")
        .await
        .unwrap();
    id
}

#[tokio::test]
async fn endpoints_are_checked_and_their_token_and_secret_never_shown() {
    let k = keyed_app().await;
    let app = &k.app;
    let boss = app.login("boss").await;
    let (robot, _) = receiver(&[]).await;
    let host = robot
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let bad = |body: Value| {
        let boss = boss.clone();
        async move {
            let r = app.post("/api/webhooks", &boss, body).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
            r.body["error"].as_str().unwrap().to_owned()
        }
    };
    let ok = json!({ "name": "ops", "format": "dingtalk", "url": format!("http://{host}/hook/robot/send?access_token=SECRET-TOKEN"), "events": ["job.failed"], "secret": "SEC-signing" });
    let mut ftp = ok.clone();
    ftp["url"] = json!("ftp://example.test/x");
    assert_eq!(bad(ftp).await, "`url`: `ftp:` is not http or https");
    let mut none = ok.clone();
    none["events"] = json!([]);
    assert!(bad(none).await.starts_with("`events`: name at least one"));
    let mut wecom = ok.clone();
    wecom["format"] = json!("wecom");
    assert!(bad(wecom)
        .await
        .starts_with("`secret`: the wecom format has no signing secret"));
    // Nothing listens there: found when saving, not at the first event.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut gone = ok.clone();
    gone["url"] = json!(format!("http://127.0.0.1:{closed_port}/h"));
    let said = bad(gone).await;
    assert!(
        said.starts_with(&format!("`url`: cannot reach 127.0.0.1:{closed_port}")),
        "{said}"
    );
    let mut typo = ok.clone();
    typo["events"] = json!(["job.done"]);
    assert!(bad(typo).await.contains("unknown variant `job.done`"));

    let made = app.post("/api/webhooks", &boss, ok.clone()).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    assert_eq!(made.body["url"], format!("http://{host}/…"));
    assert_eq!(made.body["has_secret"], true);
    assert_eq!(
        app.post("/api/webhooks", &boss, ok).await.status,
        StatusCode::CONFLICT
    );
    let op = app.login("op").await;
    assert_eq!(
        app.get("/api/webhooks", &op).await.status,
        StatusCode::FORBIDDEN
    );

    // Keep URL and secret by leaving them out; the listing and Redis never hold them in clear.
    let changed = app
        .put(
            "/api/webhooks/ops",
            &boss,
            json!({ "format": "dingtalk", "events": ["job.finished", "rule.skipped"] }),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    assert_eq!(changed.body["has_secret"], true);
    let list = app.get("/api/webhooks", &boss).await;
    let audit = app.get("/api/audit", &boss).await;
    let stored = docker_sync_tests::dump_keys(&app.redis.url(), "t");
    for secret in ["SECRET-TOKEN", "SEC-signing"] {
        assert!(!list.text.contains(secret) && !audit.text.contains(secret));
        assert!(
            stored.iter().all(|(_, v)| !v.contains(secret)),
            "{secret} in Redis"
        );
    }
    assert_eq!(
        app.delete("/api/webhooks/ops", &boss).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get("/api/webhooks/ops/deliveries", &boss).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_jobs_end_is_delivered_signed_and_retried_after_a_500() {
    let k = keyed_app().await;
    let app = &k.app;
    let (url, got) = receiver(&[500]).await;
    let boss = app.login("boss").await;
    let made = app
        .post("/api/webhooks", &boss, json!({ "name": "ci", "format": "generic", "url": url, "events": ["job.finished"], "secret": "s3cret" }))
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    assert_eq!(
        made.body["url"],
        format!("{}/…", &url[..url.find("/hook").unwrap()])
    );
    let stop = loops(&app.state);
    let job = a_job_that_ends(app, &boss).await;

    // The first attempt gets the 500; the second, 5 s later, is taken.
    let requests = eventually("two attempts", Duration::from_secs(20), || {
        let g = got.lock().unwrap();
        (g.requests.len() >= 2).then(|| g.requests.clone())
    })
    .await;
    stop.cancel();
    let (headers, path, body) = &requests[1];
    assert_eq!(path, "/hook/T0KEN-in-path");
    assert_eq!(body, &requests[0].2, "a retry sends the same body");
    assert_eq!(headers["x-docker-sync-event"], "job.finished");
    assert_eq!(
        headers["x-docker-sync-delivery"],
        requests[0].0["x-docker-sync-delivery"]
    );
    // Verified as the README tells a receiver to.
    let mut mac = Hmac::<Sha256>::new_from_slice(b"s3cret").unwrap();
    mac.update(body.as_bytes());
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(headers["x-docker-sync-signature-256"], expected.as_str());
    let payload: Value = serde_json::from_str(body).unwrap();
    assert_eq!(payload["event"], "job.finished");
    assert_eq!(payload["job"]["id"], job.as_str());
    assert_eq!(payload["job"]["status"], "cancelled");
    assert_eq!(payload["job"]["trigger"]["user"], "boss");

    let log = app.get("/api/webhooks/ci/deliveries", &boss).await;
    let d = &log.body[0];
    assert_eq!(d["status"], "delivered", "{}", log.body);
    assert_eq!(d["attempts"], 2);
    assert_eq!(d["last_code"], 200);
    assert_eq!(
        log.body.as_array().unwrap().len(),
        1,
        "one end, one delivery"
    );
    let keys = docker_sync_tests::dump_keys(&app.redis.url(), "t");
    let ends = keys
        .iter()
        .find(|(k, _)| k == "t:job-ends")
        .map(|(_, v)| v.as_str());
    assert_eq!(ends, Some("array([])"), "the end was handled and deleted");
}

#[tokio::test]
async fn an_end_queued_before_a_restart_is_delivered_by_the_next_replica() {
    let k = keyed_app().await;
    let app = &k.app;
    let (url, got) = receiver(&[]).await;
    let boss = app.login("boss").await;
    let made = app
        .post(
            "/api/webhooks",
            &boss,
            json!({ "name": "chat", "format": "slack", "url": url, "events": ["job.finished"] }),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    // No loop runs: the end waits in the stream, as while every api replica is down.
    let job = a_job_that_ends(app, &boss).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(got.lock().unwrap().requests.is_empty());

    let key_file = k._dir.path().join("secret-key");
    let next = app
        .replica(&["--secret-key-file", key_file.to_str().unwrap()])
        .await
        .state;
    let stop = loops(&next);
    let body = eventually("the delivery", Duration::from_secs(10), || {
        got.lock().unwrap().requests.first().map(|r| r.2.clone())
    })
    .await;
    stop.cancel();
    let slack: Value = serde_json::from_str(&body).unwrap();
    let text = slack["text"].as_str().unwrap();
    assert!(
        text.starts_with(&format!("*docker-image-sync: job {} cancelled*", &job[..8])),
        "{text}"
    );
}

#[tokio::test]
async fn a_key_rotation_reseals_webhooks_too() {
    let k = keyed_app().await;
    let app = &k.app;
    let boss = app.login("boss").await;
    let (url, _) = receiver(&[]).await;
    let made = app
        .post("/api/webhooks", &boss, json!({ "name": "ops", "format": "generic", "url": url, "events": ["job.failed"], "secret": "s" }))
        .await;
    assert_eq!(made.status, StatusCode::CREATED);
    let usage = app.get("/api/secret-key", &boss).await;
    let old = usage.body["key_ids"][0].as_str().unwrap().to_owned();
    assert_eq!(
        usage.body["passwords_by_key"][&old], 2,
        "URL and secret: {}",
        usage.body
    );

    // A new first key, the old one still there to open what it sealed.
    let file = k._dir.path().join("secret-key");
    std::fs::write(
        &file,
        format!("test-sealing-key-rotated-0123456789abcdef\n{KEY}\n"),
    )
    .unwrap();
    let app2 = app
        .replica(&["--secret-key-file", file.to_str().unwrap()])
        .await;
    let boss2 = app2.login("boss").await;
    let r = app2
        .post("/api/secret-key/reseal", &boss2, Value::Null)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body["resealed"]
            .as_array()
            .unwrap()
            .contains(&json!("webhook:ops")),
        "{}",
        r.body
    );
    let usage = app2.get("/api/secret-key", &boss2).await;
    let new = usage.body["key_ids"][0].as_str().unwrap();
    assert_eq!(usage.body["passwords_by_key"][new], 2, "{}", usage.body);
    assert!(
        usage.body["passwords_by_key"]
            .get(&old)
            .is_none_or(|n| n == 0),
        "{}",
        usage.body
    );
}
