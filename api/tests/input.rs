//! Client input the api must refuse with a 4xx, never a 500 or a Redis type error, and never
//! store: bounded fields, ids parsed at the edge, bounded token expiry, wrong methods, and
//! metric labels a client cannot multiply. Real Redis, the real router.

mod support;

use axum::http::{header, Method, StatusCode};
use redis::AsyncCommands;
use serde_json::{json, Value};
use support::App;

const REGISTRIES: &str =
    "registries:\n  target:\n    url: \"http://127.0.0.1:1\"\n    namespace: mirror\n";

async fn app() -> App {
    support::app(REGISTRIES, &[]).await
}

async fn keys(app: &App, pattern: &str) -> Vec<String> {
    let mut conn = app.state.pool.get().await.unwrap();
    conn.keys(pattern).await.unwrap()
}

fn error_of(body: &Value) -> &str {
    body["error"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn token_expiry_is_bounded_and_written_with_its_ttl() {
    let app = app().await;
    let boss = app.login("boss").await;
    for days in [
        json!(0),
        json!(3651u64),
        json!(1_000_000_000_000u64),
        json!(u64::MAX),
    ] {
        let body = json!({ "name": "ci", "role": "viewer", "expires_in_days": days });
        let r = app.post("/api/tokens", &boss, body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{days}: {}", r.body);
        let e = error_of(&r.body);
        assert!(e.contains("expires_in_days") && e.contains("3650"), "{e}");
    }
    let too_big = r#"{"name": "ci", "role": "viewer", "expires_in_days": 18446744073709551616}"#;
    let r = app
        .post(
            "/api/tokens",
            &boss,
            serde_json::from_str(too_big).unwrap_or(Value::Null),
        )
        .await;
    assert!(r.status.is_client_error(), "{}", r.status);
    assert!(
        keys(&app, "t:token:*").await.is_empty(),
        "a refused token left a record"
    );
    assert!(keys(&app, "t:user:boss:tokens").await.is_empty());

    let body = json!({ "name": "ci", "role": "viewer", "expires_in_days": 3650 });
    let r = app.post("/api/tokens", &boss, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let token = keys(&app, "t:token:*").await;
    assert_eq!(token.len(), 1);
    let mut conn = app.state.pool.get().await.unwrap();
    let ttl: i64 = conn.pttl(&token[0]).await.unwrap();
    let ten_years_ms = 3650 * 86_400_000i64;
    assert!(
        ttl > ten_years_ms - 3_600_000 && ttl <= ten_years_ms,
        "{ttl}"
    );
    let r = app.get("/api/tokens", &boss).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn ids_and_names_outside_their_grammar_are_4xx_never_a_redis_error() {
    let app = app().await;
    let boss = app.login("boss").await;
    let r = app
        .post(
            "/api/jobs",
            &boss,
            json!({ "images": "nginx:1.25", "target": "target" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    // The job's task list, its event stream, a user's login list: keys of other types.
    let paths = [
        format!("/api/jobs/{id}:tasks"),
        format!("/api/jobs/{id}:events"),
        "/api/jobs/not-a-job".to_owned(),
        "/api/audit?before=zzz".to_owned(),
        "/api/audit?before=1-2-3".to_owned(),
        "/api/audit?before=99999999999999999999999".to_owned(),
        "/api/users/boss:logins/logins".to_owned(),
        "/api/users/boss:sessions/logins".to_owned(),
    ];
    for path in &paths {
        let r = app.get(path, &boss).await;
        assert!(
            r.status.is_client_error(),
            "{path}: {} {}",
            r.status,
            r.body
        );
        assert!(!r.text.contains("WRONGTYPE"), "{path}: {}", r.text);
    }
    let r = app.get("/api/audit?before=zzz", &boss).await;
    assert!(error_of(&r.body).contains("before"), "{}", r.body);
    let r = app
        .call(
            Method::PATCH,
            "/api/users/boss:logins",
            Some(&boss),
            json!({ "display_name": "x" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert_eq!(
        app.get(&format!("/api/jobs/{id}"), &boss).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn over_long_fields_are_refused_naming_the_field_and_the_limit() {
    let app = app().await;
    let boss = app.login("boss").await;
    let long = |n: usize| "a".repeat(n);
    let cases = [
        (
            "/api/registries",
            json!({ "name": "reg", "url": "http://127.0.0.1:9", "username": long(257) }),
            "username",
            "256",
        ),
        (
            "/api/registries",
            json!({ "name": "reg", "url": format!("http://127.0.0.1:9/{}", long(2048)) }),
            "url",
            "2048",
        ),
        (
            "/api/registries",
            json!({ "name": "reg", "url": "http://127.0.0.1:9", "no_proxy": long(4097) }),
            "no_proxy",
            "4096",
        ),
        (
            "/api/users",
            json!({ "username": "ann", "password": "Long-enough-pass-1", "role": "viewer",
                    "display_name": long(201) }),
            "display_name",
            "200",
        ),
        (
            "/api/tokens",
            json!({ "name": long(101), "role": "viewer" }),
            "name",
            "100",
        ),
        (
            "/api/jobs",
            json!({ "images": "nginx", "target": "target", "namespace": long(256) }),
            "namespace",
            "255",
        ),
        (
            "/api/jobs",
            json!({ "images": format!("nginx:1\n{}", long(1025)), "target": "target" }),
            "images line 2",
            "1024",
        ),
        (
            "/api/jobs",
            json!({ "images": "nginx\n".repeat(10_001), "target": "target" }),
            "images",
            "10000",
        ),
    ];
    for (path, body, field, limit) in cases {
        let r = app.post(path, &boss, body).await;
        assert_eq!(
            r.status,
            StatusCode::BAD_REQUEST,
            "{path} {field}: {}",
            r.body
        );
        let e = error_of(&r.body);
        assert!(
            e.contains(field) && e.contains(limit),
            "{path} {field}: {e}"
        );
    }
    let mut conn = app.state.pool.get().await.unwrap();
    let stored: u64 = conn.hlen("t:registries").await.unwrap();
    assert_eq!(stored, 0);
    assert!(keys(&app, "t:user:ann*").await.is_empty());
    assert!(keys(&app, "t:token:*").await.is_empty());
    let jobs: u64 = conn.zcard("t:jobs").await.unwrap();
    assert_eq!(jobs, 0);
}

#[tokio::test]
async fn replacement_levels_beyond_3_are_refused_naming_the_accepted_ones() {
    let app = app().await;
    let boss = app.login("boss").await;
    for level in ["4", "9", "0"] {
        let body =
            json!({ "images": "a/b/c/d/e/img:1", "target": "target", "replace_level": level });
        let r = app.post("/api/jobs", &boss, body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{level}: {}", r.body);
        assert!(
            error_of(&r.body).contains("skip, all, 1, 2, 3"),
            "{}",
            r.body
        );
    }
    let body = json!({ "images": "a/b/c/d/e/img:1", "target": "target", "replace_level": "3" });
    assert_eq!(
        app.post("/api/jobs", &boss, body).await.status,
        StatusCode::ACCEPTED
    );
}

#[tokio::test]
async fn a_wrong_method_is_405_with_allow_and_logs_no_error() {
    let app = app().await;
    let boss = app.login("boss").await;
    let log = support::LogCapture::start();
    let cases = [
        (Method::PATCH, "/api/jobs", "GET, HEAD, POST"),
        (Method::DELETE, "/api/audit", "GET, HEAD"),
        (Method::PUT, "/api/tokens", "GET, HEAD, POST"),
    ];
    for (method, path, allow) in cases {
        let r = app
            .call(method.clone(), path, Some(&boss), Value::Null)
            .await;
        assert_eq!(
            r.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}: {}",
            r.body
        );
        assert_eq!(r.headers[header::ALLOW], allow, "{method} {path}");
        assert!(error_of(&r.body).contains(allow), "{}", r.body);
    }
    // Also without a session: the method is wrong whoever asks.
    let r = app
        .call(Method::PATCH, "/api/jobs", None, Value::Null)
        .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    let text = log.text();
    assert!(!text.contains("ERROR"), "{text}");
}

#[tokio::test]
async fn made_up_methods_add_no_metric_series() {
    let app = app().await;
    let series = |text: &str| {
        text.lines()
            .filter(|l| l.starts_with("http_request"))
            .map(|l| l.rsplit_once(' ').map_or(l, |(k, _)| k).to_owned())
            .collect::<std::collections::BTreeSet<_>>()
    };
    app.call(Method::GET, "/metrics", None, Value::Null).await;
    let probe = Method::from_bytes(b"PROBE0").unwrap();
    app.call(probe, "/", None, Value::Null).await;
    let before = series(
        &app.call(Method::GET, "/metrics", None, Value::Null)
            .await
            .text,
    );
    for i in 1..=20 {
        let method = Method::from_bytes(format!("PROBE{i}").as_bytes()).unwrap();
        app.call(method.clone(), "/", None, Value::Null).await;
        app.call(method, "/api/jobs", None, Value::Null).await;
    }
    app.call(
        Method::from_bytes(b"PROBE0").unwrap(),
        "/api/jobs",
        None,
        Value::Null,
    )
    .await;
    let after = series(
        &app.call(Method::GET, "/metrics", None, Value::Null)
            .await
            .text,
    );
    let text = app
        .call(Method::GET, "/metrics", None, Value::Null)
        .await
        .text;
    assert!(!text.contains("PROBE"), "{text}");
    let added: Vec<_> = after.difference(&before).collect();
    // One request shape is new (`other` on /api/jobs): its counter and its histogram.
    assert!(
        added
            .iter()
            .all(|s| s.contains("method=\"other\"") && s.contains("route=\"/api/jobs\"")),
        "{added:#?}"
    );
}

#[tokio::test]
async fn line_errors_carry_a_code_and_its_parameters_and_a_bad_namespace_is_the_fields_alone() {
    let app = app().await;
    let op = app.login("op").await;
    let images = "nginx:1.25\nLibrary/Nginx:1\nredis:@latest\nbusybox:1@sha256:00";
    let r = app
        .post(
            "/api/jobs",
            &op,
            json!({ "images": images, "target": "target" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let errors = r.body["errors"].as_array().unwrap();
    let coded: Vec<(u64, &str)> = errors
        .iter()
        .map(|e| (e["line"].as_u64().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        coded,
        [
            (2, "repo_uppercase"),
            (3, "latest_without_count"),
            (4, "digest_invalid")
        ],
        "{}",
        r.body
    );
    assert_eq!(
        errors[0]["params"]["repository"], "Library/Nginx",
        "{}",
        r.body
    );
    assert!(error_of(&errors[0]).is_empty() && errors[0]["message"].is_string());

    // A namespace no line could use: one error, on the field, with its code.
    let r = app
        .post(
            "/api/jobs",
            &op,
            json!({ "images": "nginx:1\nredis:7\nbusybox:1", "target": "target", "namespace": "Team" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert_eq!(r.body["code"], "namespace_invalid", "{}", r.body);
    assert_eq!(r.body["field"], "namespace");
    assert_eq!(r.body["params"]["namespace"], "Team");
    assert!(
        r.body.get("errors").is_none(),
        "not once per line: {}",
        r.body
    );
}
