//! Accounts, sessions, roles, tokens and the web protections, against a real Redis, through the
//! real router (`oneshot`, no socket).

mod support;

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use docker_sync_api::auth::role::{Access, Role};
use docker_sync_api::startup::{self, api_routes};
use docker_sync_api::state::AppState;
use docker_sync_tests::RedisServer;
use serde_json::{json, Value};
use tower::ServiceExt;

const HOST: &str = "sync.test";
const ORIGIN: &str = "http://sync.test";
use support::PASSWORD;

struct App {
    router: Router,
    state: AppState,
    _redis: RedisServer,
    data: tempfile::TempDir,
}

fn users_yaml(extra: &str) -> String {
    let mut yaml = support::file_users();
    yaml.push_str(
        "security:\n  max_login_attempts: 3\n  lockout_duration: 2\n  password_min_length: 10\n",
    );
    yaml.push_str(extra);
    yaml
}

async fn app(users: &str) -> App {
    let registries =
        "registries:\n  target:\n    url: \"http://127.0.0.1:1\"\n    namespace: mirror\n";
    let started = support::start(registries, users).await;
    docker_sync_api::auth::bootstrap::ensure_admin(&started.state)
        .await
        .unwrap();
    App {
        router: startup::router(started.state.clone()),
        state: started.state,
        _redis: started.redis,
        data: started.data,
    }
}

/// How a request authenticates.
#[derive(Clone)]
enum As {
    Nobody,
    Cookie(String),
    Bearer(String),
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Value,
}

impl App {
    async fn call(
        &self,
        method: Method,
        path: &str,
        who: &As,
        body: Option<Value>,
        client: &str,
    ) -> Reply {
        let mut req = Request::builder()
            .method(method.clone())
            .uri(path)
            .header(header::HOST, HOST)
            .header(header::USER_AGENT, "auth-tests");
        if method != Method::GET {
            req = req.header(header::ORIGIN, ORIGIN);
        }
        req = match who {
            As::Nobody => req,
            As::Cookie(c) => req.header(header::COOKIE, c),
            As::Bearer(t) => req.header(header::AUTHORIZATION, format!("Bearer {t}")),
        };
        let body = match body {
            Some(v) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        let mut req = req.body(body).unwrap();
        let addr: SocketAddr = format!("{client}:40000").parse().unwrap();
        req.extensions_mut().insert(ConnectInfo(addr));
        self.send(req).await
    }

    async fn send(&self, req: Request<Body>) -> Reply {
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        Reply {
            status,
            headers,
            body,
        }
    }

    async fn login_from(&self, user: &str, password: &str, client: &str) -> Reply {
        let body = json!({ "username": user, "password": password });
        self.call(
            Method::POST,
            "/api/auth/login",
            &As::Nobody,
            Some(body),
            client,
        )
        .await
    }

    /// Logs in and returns the session cookie (`name=value`).
    async fn login(&self, user: &str, password: &str) -> As {
        let r = self.login_from(user, password, "127.0.0.1").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        As::Cookie(cookie_of(&r))
    }

    async fn get(&self, path: &str, who: &As) -> Reply {
        self.call(Method::GET, path, who, None, "127.0.0.1").await
    }

    async fn post(&self, path: &str, who: &As, body: Value) -> Reply {
        self.call(Method::POST, path, who, Some(body), "127.0.0.1")
            .await
    }
}

fn cookie_of(r: &Reply) -> String {
    let set = r
        .headers
        .get(header::SET_COOKIE)
        .expect("a Set-Cookie")
        .to_str()
        .unwrap();
    set.split(';').next().unwrap().to_owned()
}

#[tokio::test]
async fn every_route_is_guarded_by_its_declared_role() {
    let app = app(&users_yaml("")).await;
    let rank = |r: Role| Role::ALL.iter().position(|x| *x == r).unwrap();
    for route in api_routes().declared {
        let path = route
            .path
            .replace("{id}", "no-such-id")
            .replace("{name}", "nobody");
        let anon = app
            .call(
                route.method.clone(),
                &path,
                &As::Nobody,
                Some(json!({})),
                "127.0.0.2",
            )
            .await;
        match route.access {
            Access::Public => assert_ne!(
                anon.status,
                StatusCode::FORBIDDEN,
                "{} {path}",
                route.method
            ),
            _ => assert_eq!(
                anon.status,
                StatusCode::UNAUTHORIZED,
                "{} {path}: {}",
                route.method,
                anon.body
            ),
        }
        for (user, role) in [
            ("view", Role::Viewer),
            ("op", Role::Operator),
            ("boss", Role::Admin),
        ] {
            // A fresh session each time: logout ends the one it is called with.
            let who = app.login(user, PASSWORD).await;
            let r = app
                .call(
                    route.method.clone(),
                    &path,
                    &who,
                    Some(json!({})),
                    "127.0.0.2",
                )
                .await;
            let allowed = match route.access {
                Access::Public | Access::Account => true,
                Access::Role(needed) => rank(role) >= rank(needed),
            };
            if allowed {
                assert!(
                    r.status != StatusCode::UNAUTHORIZED && r.status != StatusCode::FORBIDDEN,
                    "{user} on {} {path}: {} {}",
                    route.method,
                    r.status,
                    r.body
                );
            } else {
                assert_eq!(
                    r.status,
                    StatusCode::FORBIDDEN,
                    "{user} on {} {path}: {}",
                    route.method,
                    r.body
                );
            }
        }
    }
}

#[tokio::test]
async fn an_api_route_without_a_declared_access_is_refused_to_everyone() {
    let app = app(&users_yaml("")).await;
    let undeclared = Router::new().route("/api/sneaky", axum::routing::get(|| async { "ran" }));
    let router = startup::assemble(app.state.clone(), api_routes(), undeclared);
    let admin = app.login("boss", PASSWORD).await;
    let As::Cookie(cookie) = admin else {
        unreachable!()
    };
    let req = Request::get("/api/sneaky")
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap();
    let resp = router.oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn failed_logins_lock_the_name_and_the_address_for_a_while() {
    let app = app(&users_yaml("")).await;
    // Three wrong passwords for `op`, each from another address: the name is locked.
    for i in 1..=3 {
        let r = app
            .login_from("op", "wrong-password", &format!("10.0.0.{i}"))
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let r = app.login_from("op", PASSWORD, "10.0.0.9").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    assert!(r.headers.contains_key(header::RETRY_AFTER));
    assert_eq!(
        app.login_from("view", PASSWORD, "10.0.0.9").await.status,
        StatusCode::OK
    );

    // Three failures from one address on names that do not exist: the address is locked, and
    // the answers were the same as for a real user.
    for name in ["ghost1", "ghost2", "ghost3"] {
        let r = app.login_from(name, "whatever-pass", "10.0.1.1").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(r.body, json!({ "error": "invalid username or password" }));
    }
    assert_eq!(
        app.login_from("view", PASSWORD, "10.0.1.1").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        app.login_from("view", PASSWORD, "10.0.1.2").await.status,
        StatusCode::OK
    );

    tokio::time::sleep(std::time::Duration::from_millis(2200)).await;
    assert_eq!(
        app.login_from("op", PASSWORD, "10.0.0.9").await.status,
        StatusCode::OK,
        "the lock expired"
    );
    assert_eq!(
        app.login_from("view", PASSWORD, "10.0.1.1").await.status,
        StatusCode::OK
    );

    let history = app
        .get("/api/users/op/logins", &app.login("boss", PASSWORD).await)
        .await;
    let entries = history.body.as_array().unwrap();
    assert!(entries[0]["success"].as_bool().unwrap());
    assert_eq!(entries.iter().filter(|e| e["success"] == false).count(), 3);
    assert_eq!(entries[1]["client"], "10.0.0.3");
    assert_eq!(entries[0]["user_agent"], "auth-tests");
}

#[tokio::test]
async fn sessions_expire_when_idle_and_end_at_logout() {
    let app = app(&users_yaml(
        "session:\n  session_timeout: 1\n  remember_me_duration: 60\n",
    ))
    .await;
    let who = app.login("view", PASSWORD).await;
    assert_eq!(app.get("/api/auth/me", &who).await.status, StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(1600)).await;
    assert_eq!(
        app.get("/api/auth/me", &who).await.status,
        StatusCode::UNAUTHORIZED,
        "idle too long"
    );

    let who = app.login("view", PASSWORD).await;
    let out = app.post("/api/auth/logout", &who, json!(null)).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert!(out.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    assert_eq!(
        app.get("/api/auth/me", &who).await.status,
        StatusCode::UNAUTHORIZED,
        "ended on the server"
    );

    let r = app
        .post(
            "/api/auth/login",
            &As::Nobody,
            json!({ "username": "view", "password": PASSWORD, "remember_me": true }),
        )
        .await;
    let remembered = As::Cookie(cookie_of(&r));
    assert!(r.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .contains("Max-Age=60"));
    tokio::time::sleep(std::time::Duration::from_millis(1600)).await;
    assert_eq!(
        app.get("/api/auth/me", &remembered).await.status,
        StatusCode::OK,
        "remember me outlives the idle timeout"
    );
}

#[tokio::test]
async fn the_cookie_is_httponly_samesite_secure_behind_https_and_renewed_at_login() {
    let app = app(&users_yaml("")).await;
    let plain = app.login_from("view", PASSWORD, "127.0.0.1").await;
    let cookie = plain.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "{cookie}");

    let req = Request::post("/api/auth/login")
        .header(header::HOST, HOST)
        .header(header::ORIGIN, "https://sync.test")
        .header("x-forwarded-proto", "https")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            json!({ "username": "view", "password": PASSWORD }).to_string(),
        ))
        .unwrap();
    let https = app.send(req).await;
    assert!(https.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .contains("; Secure"));

    // Logging in again with the old cookie: a new id, and the old one is dead.
    let old = As::Cookie(cookie_of(&plain));
    let body = json!({ "username": "view", "password": PASSWORD });
    let again = app
        .call(
            Method::POST,
            "/api/auth/login",
            &old,
            Some(body),
            "127.0.0.1",
        )
        .await;
    let new = As::Cookie(cookie_of(&again));
    assert_ne!(cookie_of(&again), cookie_of(&plain));
    assert_eq!(
        app.get("/api/auth/me", &old).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.get("/api/auth/me", &new).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_cross_origin_write_with_the_cookie_is_refused() {
    let app = app(&users_yaml("")).await;
    let As::Cookie(cookie) = app.login("op", PASSWORD).await else {
        unreachable!()
    };
    let job = json!({ "images": "nginx:1.25", "target": "target" }).to_string();
    let post = |origin: Option<&str>| {
        let mut r = Request::post("/api/jobs")
            .header(header::HOST, HOST)
            .header(header::COOKIE, &cookie)
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(o) = origin {
            r = r.header(header::ORIGIN, o);
        }
        r.body(Body::from(job.clone())).unwrap()
    };
    let evil = app.send(post(Some("http://evil.test"))).await;
    assert_eq!(evil.status, StatusCode::FORBIDDEN, "{}", evil.body);
    assert!(evil.body["error"]
        .as_str()
        .unwrap()
        .contains("cross-origin"));
    assert_eq!(
        app.send(post(None)).await.status,
        StatusCode::FORBIDDEN,
        "no Origin, no Referer"
    );
    assert_eq!(
        app.send(post(Some(ORIGIN))).await.status,
        StatusCode::ACCEPTED
    );
}

#[tokio::test]
async fn tokens_act_with_their_role_and_are_shown_once() {
    let app = app(&users_yaml("")).await;
    let op = app.login("op", PASSWORD).await;
    let too_high = app
        .post("/api/tokens", &op, json!({ "name": "ci", "role": "admin" }))
        .await;
    assert_eq!(too_high.status, StatusCode::FORBIDDEN);

    let created = app
        .post(
            "/api/tokens",
            &op,
            json!({ "name": "ci", "role": "viewer", "expires_in_days": 30 }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let token = created.body["token"].as_str().unwrap().to_owned();
    let id = created.body["id"].as_str().unwrap().to_owned();
    let viewer = As::Bearer(token.clone());
    let submit = json!({ "images": "nginx:1.25", "target": "target" });
    // No Origin needed with a Bearer token, but a viewer may not submit.
    let req = Request::post("/api/jobs")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(submit.to_string()))
        .unwrap();
    assert_eq!(app.send(req).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get("/api/jobs", &viewer).await.status, StatusCode::OK);

    let listed = app.get("/api/tokens", &op).await;
    assert_eq!(listed.body[0]["name"], "ci");
    assert!(listed.body[0]["last_used_ms"].is_u64(), "{}", listed.body);
    assert!(
        !listed.body.to_string().contains(&token),
        "a token is shown only once"
    );

    let revoke = app
        .call(
            Method::DELETE,
            &format!("/api/tokens/{id}"),
            &op,
            None,
            "127.0.0.1",
        )
        .await;
    assert_eq!(revoke.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/api/jobs", &viewer).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn the_first_admin_gets_a_one_time_password_that_must_be_changed() {
    // No users at all: the bootstrap made `admin`.
    let app = app("security:\n  password_min_length: 10\n").await;
    let file = app.data.path().join("initial-admin-password");
    let mode = std::fs::metadata(&file).unwrap().permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
        0o600
    );
    let generated = std::fs::read_to_string(&file).unwrap().trim().to_owned();
    assert!(generated.len() >= 16);
    assert_eq!(
        app.login_from("admin", "admin123", "127.0.0.1")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );

    let admin = app.login("admin", &generated).await;
    let me = app.get("/api/auth/me", &admin).await;
    assert_eq!(me.body["must_change_password"], true);
    let blocked = app.get("/api/jobs", &admin).await;
    assert_eq!(blocked.status, StatusCode::FORBIDDEN);
    assert_eq!(blocked.body["code"], "password_change_required");

    let short = app
        .post(
            "/api/auth/password",
            &admin,
            json!({ "old_password": generated, "new_password": "short" }),
        )
        .await;
    assert_eq!(short.status, StatusCode::BAD_REQUEST);
    assert!(short.body["error"]
        .as_str()
        .unwrap()
        .contains("at least 10"));
    let changed = app
        .post(
            "/api/auth/password",
            &admin,
            json!({ "old_password": generated, "new_password": "a much better one" }),
        )
        .await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT, "{}", changed.body);
    assert_eq!(
        app.get("/api/jobs", &admin).await.status,
        StatusCode::OK,
        "the session goes on"
    );
    assert_eq!(
        app.login_from("admin", &generated, "127.0.0.3")
            .await
            .status,
        StatusCode::UNAUTHORIZED,
        "works once"
    );
    assert_eq!(
        app.login_from("admin", "a much better one", "127.0.0.3")
            .await
            .status,
        StatusCode::OK
    );

    // A second start does not make another admin.
    docker_sync_api::auth::bootstrap::ensure_admin(&app.state)
        .await
        .unwrap();
    let users = app.get("/api/users", &admin).await;
    assert_eq!(users.body.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_published_default_password_never_works() {
    let hash = bcrypt::hash("admin123", 4).unwrap();
    let yaml = format!(
        "users:\n  admin:\n    username: admin\n    password_hash: \"{hash}\"\n    role: admin\n"
    );
    let app = app(&yaml).await;
    assert_eq!(
        app.login_from("admin", "admin123", "127.0.0.1")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn admins_manage_users_but_never_remove_the_last_admin() {
    let app = app(&users_yaml("")).await;
    let boss = app.login("boss", PASSWORD).await;
    let created = app
        .post("/api/users", &boss, json!({ "username": "ann", "password": "ann's password", "role": "admin", "email": "ann@example.com" }))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["managed_by"], "api");
    let ann = app.login("ann", "ann's password").await;

    let patch = |who: As, body: Value| {
        let app = &app;
        async move {
            app.call(
                Method::PATCH,
                "/api/users/ann",
                &who,
                Some(body),
                "127.0.0.1",
            )
            .await
        }
    };
    let demoted = patch(
        boss.clone(),
        json!({ "role": "operator", "display_name": "Ann" }),
    )
    .await;
    assert_eq!(demoted.body["role"], "operator");
    assert_eq!(
        app.get("/api/users", &ann).await.status,
        StatusCode::FORBIDDEN,
        "the role applies at once"
    );

    let reset = app
        .post(
            "/api/users/ann/password",
            &boss,
            json!({ "password": "temporary pass" }),
        )
        .await;
    assert_eq!(reset.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/api/auth/me", &ann).await.status,
        StatusCode::UNAUTHORIZED,
        "sessions end at a reset"
    );
    let ann = app.login("ann", "temporary pass").await;
    assert_eq!(
        app.get("/api/jobs", &ann).await.body["code"],
        "password_change_required"
    );

    let file_user = app
        .call(Method::DELETE, "/api/users/boss", &boss, None, "127.0.0.1")
        .await;
    assert_eq!(
        file_user.status,
        StatusCode::CONFLICT,
        "users.yaml users are changed in the file"
    );
    let gone = app
        .call(Method::DELETE, "/api/users/ann", &boss, None, "127.0.0.1")
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    // Nothing of ann is left to be inherited by a user later created under her name: not her
    // tokens, not her login history, not the browsers that may skip the lockout as hers.
    let left: Vec<String> = {
        use redis::AsyncCommands;
        let mut conn = app.state.pool.get().await.unwrap();
        conn.keys(app.state.keys.user("ann") + "*").await.unwrap()
    };
    assert!(left.is_empty(), "keys left behind: {left:?}");

    let users = app.get("/api/users", &boss).await;
    let text = users.body.to_string();
    assert!(
        !text.contains("$2b$") && !text.contains("password_hash"),
        "{text}"
    );

    let audit = app.get("/api/audit?action=user.", &boss).await;
    let actions: Vec<&str> = audit.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "user.delete",
            "user.password_reset",
            "user.update",
            "user.create"
        ]
    );
    let logins = app.get("/api/audit?actor=ann&action=login", &boss).await;
    assert!(logins.body["entries"].as_array().unwrap().len() >= 2);
}

#[tokio::test]
async fn the_last_active_admin_cannot_be_demoted_or_deleted() {
    let app = app("").await; // only the bootstrap admin
    let generated =
        std::fs::read_to_string(app.data.path().join("initial-admin-password")).unwrap();
    let admin = app.login("admin", generated.trim()).await;
    app.post(
        "/api/auth/password",
        &admin,
        json!({ "old_password": generated.trim(), "new_password": "new admin pass" }),
    )
    .await;
    let r = app
        .call(
            Method::PATCH,
            "/api/users/admin",
            &admin,
            Some(json!({ "active": false })),
            "127.0.0.1",
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    let r = app
        .call(
            Method::DELETE,
            "/api/users/admin",
            &admin,
            None,
            "127.0.0.1",
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn responses_carry_security_headers_and_large_bodies_are_refused() {
    let app = app(&users_yaml("")).await;
    let page = app.get("/", &As::Nobody).await;
    let csp = page.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(
        csp.contains("script-src 'self'")
            && !csp.contains("unsafe-inline")
            && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(page.headers[header::X_FRAME_OPTIONS], "DENY");
    assert_eq!(page.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert!(page.headers.contains_key(header::REFERRER_POLICY));

    let op = app.login("op", PASSWORD).await;
    let huge = json!({ "images": "nginx:1.25\n".repeat(300_000), "target": "target" });
    let r = app.post("/api/jobs", &op, huge).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
}
