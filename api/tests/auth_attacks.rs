//! What an unauthenticated attacker tried (issue 10): huge or foreign login names, spoofed
//! `X-Forwarded-For`, password spraying to lock the admin out, cross-site WebSockets, timing of
//! unknown names, bogus tokens on public routes. Real Redis, the real router.

mod support;

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use docker_sync_api::startup;
use docker_sync_api::state::AppState;
use redis::AsyncCommands;
use serde_json::{json, Value};
use support::{Started, HOST, ORIGIN, PASSWORD};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

const REGISTRIES: &str =
    "registries:\n  target:\n    url: \"http://127.0.0.1:1\"\n    namespace: mirror\n";

struct App {
    router: Router,
    started: Started,
}

async fn app(extra_args: &[&str]) -> App {
    let mut users = support::file_users();
    users.push_str("security:\n  max_login_attempts: 3\n  lockout_duration: 60\n");
    let started = support::start_with_args(REGISTRIES, &users, extra_args).await;
    App {
        router: startup::router(started.state.clone()),
        started,
    }
}

struct Reply {
    status: StatusCode,
    cookies: Vec<String>,
    body: Value,
}

impl App {
    fn state(&self) -> &AppState {
        &self.started.state
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Value,
    ) -> Reply {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, HOST)
            .header(header::ORIGIN, ORIGIN)
            .header(header::CONTENT_TYPE, "application/json");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let mut req = req.body(Body::from(body.to_string())).unwrap();
        let addr: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        req.extensions_mut().insert(ConnectInfo(addr));
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let cookies = resp
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
            .collect();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        Reply {
            status,
            cookies,
            body,
        }
    }

    /// A login from `xff` (the X-Forwarded-For header) with the given cookies.
    async fn login(&self, user: &str, password: &str, xff: &str, cookie: Option<&str>) -> Reply {
        let mut headers = vec![("x-forwarded-for", xff)];
        if let Some(c) = cookie {
            headers.push(("cookie", c));
        }
        let body = json!({ "username": user, "password": password });
        self.send(Method::POST, "/api/auth/login", &headers, body)
            .await
    }

    async fn dbsize(&self) -> u64 {
        let mut conn = self.state().pool.get().await.unwrap();
        redis::cmd("DBSIZE").query_async(&mut *conn).await.unwrap()
    }
}

#[tokio::test]
async fn huge_or_foreign_login_names_are_refused_before_they_reach_redis() {
    let app = app(&[]).await;
    // `op` has a login list (`user:op:logins`), which a name `op:logins` would reach.
    assert_eq!(
        app.login("op", PASSWORD, "", None).await.status,
        StatusCode::OK
    );
    let before = app.dbsize().await;
    let log = support::LogCapture::start();
    let huge = "a".repeat(1_900_000);
    for _ in 0..3 {
        let r = app.login(&huge, "whatever", "", None).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
        let msg = r.body["error"].as_str().unwrap();
        assert!(msg.contains("username") && msg.contains("64"), "{msg}");
    }
    let r = app.login("op:logins", "whatever", "", None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.body["error"].as_str().unwrap().starts_with("username"));
    let r = app.login("op", &"p".repeat(2000), "", None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.body["error"].as_str().unwrap().contains("1024"));
    assert_eq!(app.dbsize().await, before, "no key was added");
    let logged = log.text();
    assert!(
        logged.len() < 20_000 && !logged.contains(&"a".repeat(100)),
        "the refused name reached the log ({} bytes)",
        logged.len()
    );
}

#[tokio::test]
async fn the_client_is_the_entry_the_trusted_proxy_added() {
    let app = app(&["--trust-proxy"]).await;
    // The client rotates what it puts first; the proxy appends the address it saw.
    for i in 1..=3 {
        let xff = format!("203.0.113.{i}, 10.9.9.9");
        let r = app
            .login(&format!("ghost{i}"), "wrong-password", &xff, None)
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let r = app
        .login("view", PASSWORD, "203.0.113.77, 10.9.9.9", None)
        .await;
    assert_eq!(
        r.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the address is locked"
    );
    assert_eq!(
        app.login("view", PASSWORD, "10.9.9.10", None).await.status,
        StatusCode::OK
    );
    let mut conn = app.state().pool.get().await.unwrap();
    let logins: Vec<String> = conn
        .lrange(app.state().keys.user_logins("view"), 0, 0)
        .await
        .unwrap();
    assert!(logins[0].contains("\"client\":\"10.9.9.10\""), "{logins:?}");

    // Two hops: the second entry from the right; too few entries: the socket address.
    let app = app_with_hops().await;
    let r = app
        .login(
            "ghost",
            "wrong-password",
            "198.51.100.1, 10.1.1.1, 10.2.2.2",
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let mut conn = app.state().pool.get().await.unwrap();
    let n: u32 = conn
        .get(app.state().keys.login_failures("client", "10.1.1.1"))
        .await
        .unwrap();
    assert_eq!(n, 1);
}

async fn app_with_hops() -> App {
    app(&["--trust-proxy", "--trusted-proxy-hops", "2"]).await
}

#[tokio::test]
async fn spraying_from_fifty_addresses_is_bounded_and_spares_the_admins_browser() {
    let app = app(&["--trust-proxy"]).await;
    // The admin's usual browser signed in before: it holds a device cookie.
    let first = app.login("boss", PASSWORD, "192.0.2.10", None).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let device = first
        .cookies
        .iter()
        .find(|c| c.starts_with("dsync_device="))
        .cloned();

    let checked_before = app.state().metrics.login_failures();
    let mut refused = 0;
    for i in 0..50 {
        let r = app
            .login(
                "boss",
                &format!("guess-{i}"),
                &format!("198.51.100.{i}"),
                None,
            )
            .await;
        match r.status {
            StatusCode::UNAUTHORIZED => {}
            StatusCode::TOO_MANY_REQUESTS => refused += 1,
            s => panic!("{s}: {}", r.body),
        }
    }
    let checked = app.state().metrics.login_failures() - checked_before;
    assert_eq!(checked, 3, "only max_login_attempts passwords were checked");
    assert_eq!(refused, 47);
    assert_eq!(
        app.login("boss", PASSWORD, "198.51.100.200", None)
            .await
            .status,
        StatusCode::TOO_MANY_REQUESTS,
        "an unknown client stays locked, even with the right password"
    );
    let again = app
        .login("boss", PASSWORD, "192.0.2.10", device.as_deref())
        .await;
    assert_eq!(
        again.status,
        StatusCode::OK,
        "the known browser: {}",
        again.body
    );
    assert!(device.is_some(), "the first login set a device cookie");
}

#[tokio::test]
async fn a_cookie_websocket_needs_this_sites_origin() {
    let app = app(&[]).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let shutdown = tokio_util::sync::CancellationToken::new();
    tokio::spawn(startup::run(
        app.state().clone(),
        listener,
        shutdown.clone(),
    ));
    let login = app.login("op", PASSWORD, "", None).await;
    let cookie = login.cookies[0].clone();
    let job = app
        .send(
            Method::POST,
            "/api/jobs",
            &[("cookie", &cookie)],
            json!({ "images": "nginx:1.25", "target": "target" }),
        )
        .await;
    assert_eq!(job.status, StatusCode::ACCEPTED, "{}", job.body);
    let id = job.body["id"].as_str().unwrap();
    let upgrade = |origin: String| {
        let cookie = cookie.clone();
        let path = format!("/api/jobs/{id}/events");
        async move {
            let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .unwrap();
            let req = format!(
                "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: {origin}\r\n\
                 Cookie: {cookie}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                 Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            );
            s.write_all(req.as_bytes()).await.unwrap();
            let mut buf = [0u8; 12];
            s.read_exact(&mut buf).await.unwrap();
            String::from_utf8_lossy(&buf).into_owned()
        }
    };
    let evil = upgrade(format!("http://127.0.0.1:{}", port + 1)).await;
    assert_eq!(
        evil, "HTTP/1.1 403",
        "a page on another port is another origin"
    );
    let same = upgrade(format!("http://127.0.0.1:{port}")).await;
    assert_eq!(same, "HTTP/1.1 101");
    shutdown.cancel();
}

#[tokio::test]
async fn unknown_names_are_checked_against_a_hash_as_costly_as_the_file_users() {
    let hash = bcrypt::hash(PASSWORD, 6).unwrap();
    let users = format!(
        "users:\n  slow:\n    username: slow\n    password_hash: \"{hash}\"\n    role: viewer\n"
    );
    // The harness sets --bcrypt-cost 4.
    let started = support::start_with_args(REGISTRIES, &users, &[]).await;
    use secrecy::ExposeSecret;
    let dummy = started.state.auth.dummy_hash.expose_secret().to_owned();
    // A bcrypt hash reads `$2b$<cost>$...`; read it here rather than with the code under test.
    assert_eq!(&dummy[..7], "$2b$06$", "{dummy}");
}

#[tokio::test]
async fn a_bogus_token_is_ignored_on_public_routes_and_refused_on_guarded_ones() {
    let app = app(&[]).await;
    let bogus = [("authorization", "Bearer xyz")];
    for path in ["/health", "/metrics", "/"] {
        let r = app.send(Method::GET, path, &bogus, Value::Null).await;
        assert_ne!(r.status, StatusCode::UNAUTHORIZED, "{path}");
    }
    let r = app
        .send(Method::GET, "/api/jobs", &bogus, Value::Null)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.body["error"], "invalid or expired token");
}
