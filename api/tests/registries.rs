//! `POST /api/registries/{name}/test` through the real router and a real Redis, against real
//! `docker-registry` processes (htpasswd Basic auth; a self-signed certificate made here with
//! rcgen), a closed port, and a Harbor stand-in that follows Harbor's documented API: Bearer
//! tokens from `/service/token` for `/v2/`, and `/api/v2.0/projects` HEAD / GET / POST with
//! Basic auth. Also `ensure_harbor_project` against that stand-in.

mod support;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine as _;
use docker_sync_common::config::Config;
use docker_sync_common::registry::harbor::{ensure_harbor_project, HarborClient, ProjectStatus};
use docker_sync_tests::{free_port, Registry};
use serde_json::{json, Value};

use docker_sync_tests::tls::{Certified, TlsRegistry};
use support::App;
const REG_USER: &str = "sync-bot";
const REG_PASSWORD: &str = "Reg-Pa55-secret-value";
const WRONG_PASSWORD: &str = "Wrong-Pa55-secret-value";

async fn app(registries: &str) -> App {
    support::app(registries, &[]).await
}

trait TestRegistry {
    async fn test(&self, name: &str) -> Value;
    /// [`Self::test`] in the UI language `lang` (`Accept-Language`).
    async fn test_in(&self, name: &str, lang: &str) -> Value;
}

impl TestRegistry for App {
    /// Tests registry `name` as the admin; the report.
    async fn test(&self, name: &str) -> Value {
        self.test_in(name, "en").await
    }

    async fn test_in(&self, name: &str, lang: &str) -> Value {
        let admin = self.login("boss").await;
        let r = self
            .call_with(
                Method::POST,
                &format!("/api/registries/{name}/test"),
                Some(&admin),
                json!({}),
                &[(axum::http::header::ACCEPT_LANGUAGE, lang)],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        for secret in [REG_PASSWORD, WRONG_PASSWORD] {
            assert!(
                !r.text.contains(secret),
                "a password in the answer: {}",
                r.text
            );
        }
        assert_eq!(r.body["registry"], name);
        // Shown when a test fails (and with --nocapture).
        eprintln!("{:#}", r.body);
        r.body
    }
}

fn steps(report: &Value) -> Vec<(String, bool)> {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["step"].as_str().unwrap().to_owned(),
                s["ok"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn last_message(report: &Value) -> String {
    let steps = report["steps"].as_array().unwrap();
    steps.last().unwrap()["message"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn names(list: &[(&str, bool)]) -> Vec<(String, bool)> {
    list.iter().map(|(s, ok)| ((*s).to_owned(), *ok)).collect()
}

#[tokio::test]
async fn a_basic_auth_registry_with_good_bad_and_no_credentials_and_a_closed_port() {
    let registry =
        tokio::task::spawn_blocking(|| Registry::start_with_auth(REG_USER, REG_PASSWORD))
            .await
            .unwrap();
    let url = registry.url();
    let closed = free_port();
    let yaml = format!(
        "registries:\n\
         \x20 good:\n    url: \"{url}\"\n    username: {REG_USER}\n    password: {REG_PASSWORD}\n\
         \x20 bad:\n    url: \"{url}\"\n    username: {REG_USER}\n    password: {WRONG_PASSWORD}\n\
         \x20 none:\n    url: \"{url}\"\n\
         \x20 https_to_http:\n    url: \"{host}\"\n\
         \x20 bare_insecure:\n    url: \"{host}\"\n    insecure: true\n    username: {REG_USER}\n    password: {REG_PASSWORD}\n\
         \x20 closed:\n    url: \"http://127.0.0.1:{closed}\"\n",
        host = registry.host()
    );
    let app = app(&yaml).await;

    let good = app.test("good").await;
    assert_eq!(good["ok"], true, "{good:#}");
    assert_eq!(
        steps(&good),
        names(&[
            ("reachable", true),
            ("tls", true),
            ("api", true),
            ("auth", true)
        ])
    );
    assert_eq!(good["steps"][1]["skipped"], true, "{good:#}");
    assert!(
        last_message(&good).contains(&format!(
            "accepted the credentials of user `{REG_USER}` (Basic)"
        )),
        "{good:#}"
    );

    let bad = app.test("bad").await;
    assert_eq!(bad["ok"], false, "{bad:#}");
    assert_eq!(
        steps(&bad),
        names(&[
            ("reachable", true),
            ("tls", true),
            ("api", true),
            ("auth", false)
        ])
    );
    let m = last_message(&bad);
    assert!(
        m.contains(&format!(
            "the registry refused the credentials of user `{REG_USER}`"
        )) && m.contains("registry `bad`"),
        "{m}"
    );

    let none = app.test("none").await;
    let m = last_message(&none);
    assert!(
        m.contains("requires a login, and registry `none` has no credentials"),
        "{none:#}"
    );

    // A bare host is HTTPS: the test says what to change, in the UI's language.
    let https = app.test("https_to_http").await;
    assert_eq!(steps(&https), names(&[("reachable", true), ("tls", false)]));
    let m = last_message(&https);
    assert!(
        m.contains("this registry answers plain HTTP")
            && m.contains(&format!(
                "write the url as `http://{}` or tick Insecure",
                registry.host()
            )),
        "{m}"
    );
    let zh = app.test_in("https_to_http", "zh-CN,zh;q=0.9").await;
    let m = last_message(&zh);
    assert!(
        m.contains("明文 HTTP") && m.contains(&format!("`http://{}`", registry.host())),
        "{m}"
    );

    // The same registry written as a bare host with `insecure: true`, as the UI's Insecure box
    // writes it: it passes on plain HTTP, as skopeo copies to it, and says so.
    let insecure = app.test("bare_insecure").await;
    assert_eq!(insecure["ok"], true, "{insecure:#}");
    assert_eq!(
        insecure["transport"], "plain HTTP (insecure)",
        "{insecure:#}"
    );
    let tls = &insecure["steps"][1];
    assert_eq!(tls["step"], "tls");
    assert!(
        tls["message"]
            .as_str()
            .unwrap()
            .starts_with("plain HTTP (insecure)"),
        "{insecure:#}"
    );
    assert!(
        last_message(&insecure).contains("accepted the credentials"),
        "{insecure:#}"
    );

    let closed = app.test("closed").await;
    assert_eq!(closed["ok"], false);
    assert_eq!(steps(&closed), names(&[("reachable", false)]));
    assert!(
        last_message(&closed).contains("connection refused"),
        "{closed:#}"
    );
}

#[tokio::test]
async fn only_admins_test_and_unknown_names_are_404() {
    let app = app("registries:\n  r:\n    url: \"http://127.0.0.1:1\"\n").await;
    let viewer = app.login("view").await;
    let r = app
        .call(
            Method::POST,
            "/api/registries/r/test",
            Some(&viewer),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let op = app.login("op").await;
    let r = app
        .call(Method::POST, "/api/registries/r/test", Some(&op), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let admin = app.login("boss").await;
    let r = app
        .call(
            Method::POST,
            "/api/registries/nope/test",
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let r = app
        .call(Method::POST, "/api/registries/r/test", None, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_self_signed_certificate_fails_tls_naming_the_unknown_authority() {
    let registry = tokio::task::spawn_blocking(|| TlsRegistry::start(&Certified::self_signed()))
        .await
        .unwrap();
    let port = registry.port;
    let yaml = format!(
        "registries:\n\
         \x20 strict:\n    url: \"https://127.0.0.1:{port}\"\n\
         \x20 lenient:\n    url: \"https://127.0.0.1:{port}\"\n    insecure: true\n"
    );
    let app = app(&yaml).await;

    let strict = app.test("strict").await;
    assert_eq!(strict["ok"], false);
    assert_eq!(
        steps(&strict),
        names(&[("reachable", true), ("tls", false)])
    );
    let m = last_message(&strict);
    assert!(m.contains("signed by an unknown authority"), "{m}");
    assert!(m.contains("UnknownIssuer"), "{m}");
    assert!(m.contains("`insecure: true` for registry `strict`"), "{m}");

    let lenient = app.test("lenient").await;
    assert_eq!(lenient["ok"], true, "{lenient:#}");
    assert_eq!(
        steps(&lenient),
        names(&[
            ("reachable", true),
            ("tls", true),
            ("api", true),
            ("auth", true)
        ])
    );
    let tls = lenient["steps"][1]["message"].as_str().unwrap();
    assert!(
        tls.contains("without certificate checks") && tls.contains("unknown authority"),
        "{tls}"
    );
}

/// A stand-in for Harbor: the registry's `/v2/` with Bearer tokens from `/service/token`, and
/// the project API with Basic auth, as Harbor documents them.
#[derive(Clone, Default)]
struct Harbor {
    base: Arc<Mutex<String>>,
    projects: Arc<Mutex<HashSet<String>>>,
    posts: Arc<AtomicUsize>,
    heads: Arc<AtomicUsize>,
}

fn basic_ok(headers: &HeaderMap) -> Option<bool> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    Some(decoded == format!("{REG_USER}:{REG_PASSWORD}").as_bytes())
}

fn harbor_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({ "errors": [{ "code": code, "message": message }] })),
    )
        .into_response()
}

async fn v2(State(h): State<Harbor>, headers: HeaderMap) -> Response {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if bearer == Some("user-token") {
        return (
            StatusCode::OK,
            [("docker-distribution-api-version", "registry/2.0")],
            Json(json!({})),
        )
            .into_response();
    }
    let base = h.base.lock().unwrap().clone();
    (
        StatusCode::UNAUTHORIZED,
        [
            ("docker-distribution-api-version", "registry/2.0".to_owned()),
            (
                "www-authenticate",
                format!(r#"Bearer realm="{base}/service/token",service="harbor-registry""#),
            ),
        ],
        Json(json!({"errors": [{"code": "UNAUTHORIZED", "message": "unauthorized to access repository: , action: "}]})),
    )
        .into_response()
}

/// Harbor's token service: an anonymous token without credentials (which `/v2/` refuses),
/// a user token for good ones, 401 for bad ones.
async fn token(Query(q): Query<HashMap<String, String>>, headers: HeaderMap) -> Response {
    assert_eq!(
        q.get("service").map(String::as_str),
        Some("harbor-registry")
    );
    match basic_ok(&headers) {
        None => Json(json!({ "token": "anonymous-token", "expires_in": 1800 })).into_response(),
        Some(true) => Json(json!({ "token": "user-token", "expires_in": 1800 })).into_response(),
        Some(false) => harbor_error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "authentication failed",
        ),
    }
}

async fn head_project(
    State(h): State<Harbor>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    h.heads.fetch_add(1, Ordering::SeqCst);
    if basic_ok(&headers) != Some(true) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let Some(name) = q.get("project_name") else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    if h.projects.lock().unwrap().contains(name) {
        StatusCode::OK.into_response()
    } else {
        StatusCode::NOT_FOUND.into_response()
    }
}

async fn list_projects(
    State(h): State<Harbor>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if basic_ok(&headers) != Some(true) {
        return harbor_error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "unauthorized");
    }
    let projects = h.projects.lock().unwrap();
    let list: Vec<Value> = projects
        .iter()
        .filter(|p| q.get("name").is_none_or(|n| n == *p))
        .map(|p| json!({ "name": p, "metadata": { "public": "false" } }))
        .collect();
    Json(list).into_response()
}

async fn create_project(State(h): State<Harbor>, headers: HeaderMap, body: String) -> Response {
    h.posts.fetch_add(1, Ordering::SeqCst);
    if basic_ok(&headers) != Some(true) {
        return harbor_error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "unauthorized");
    }
    let Ok(req) = serde_json::from_str::<Value>(&body) else {
        return harbor_error(StatusCode::BAD_REQUEST, "BAD_REQUEST", "invalid body");
    };
    let Some(name) = req["project_name"].as_str() else {
        return harbor_error(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "project_name is required",
        );
    };
    assert_eq!(req["metadata"]["public"], "false", "{req}");
    let mut projects = h.projects.lock().unwrap();
    if !projects.insert(name.to_owned()) {
        return harbor_error(
            StatusCode::CONFLICT,
            "CONFLICT",
            &format!("The project named {name} already exists"),
        );
    }
    (
        StatusCode::CREATED,
        [(
            header::LOCATION,
            format!("/api/v2.0/projects/{}", projects.len()),
        )],
    )
        .into_response()
}

async fn start_harbor() -> (Harbor, String) {
    let harbor = Harbor::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    *harbor.base.lock().unwrap() = base.clone();
    let router = Router::new()
        .route("/v2/", get(v2))
        .route("/service/token", get(token))
        .route(
            "/api/v2.0/projects",
            get(list_projects).head(head_project).post(create_project),
        )
        .with_state(harbor.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (harbor, base)
}

fn harbor_yaml(base: &str) -> String {
    format!(
        "registries:\n\
         \x20 harbor:\n    type: harbor\n    url: \"{base}\"\n    username: {REG_USER}\n    password: {REG_PASSWORD}\n    project: mirror\n\
         \x20 auto:\n    type: harbor\n    url: \"{base}\"\n    username: {REG_USER}\n    password: {REG_PASSWORD}\n    project: other\n    create_project: true\n\
         \x20 wrong:\n    type: harbor\n    url: \"{base}\"\n    username: {REG_USER}\n    password: {WRONG_PASSWORD}\n    project: mirror\n\
         \x20 anonymous:\n    type: harbor\n    url: \"{base}\"\n    project: mirror\n"
    )
}

#[tokio::test]
async fn harbor_bearer_auth_and_the_project_step() {
    let (harbor, base) = start_harbor().await;
    let app = app(&harbor_yaml(&base)).await;

    let missing = app.test("harbor").await;
    assert_eq!(missing["ok"], false, "{missing:#}");
    assert_eq!(
        steps(&missing),
        names(&[
            ("reachable", true),
            ("tls", true),
            ("api", true),
            ("auth", true),
            ("project", false)
        ])
    );
    assert!(
        missing["steps"][3]["message"]
            .as_str()
            .unwrap()
            .contains("(Bearer token from"),
        "{missing:#}"
    );
    let m = last_message(&missing);
    assert!(
        m.contains("project `mirror` does not exist, and auto-create is off")
            && m.contains("`create_project: true` for registry `harbor`"),
        "{m}"
    );

    let auto = app.test("auto").await;
    assert_eq!(auto["ok"], true, "{auto:#}");
    assert!(
        last_message(&auto).contains("auto-create is on"),
        "{auto:#}"
    );
    assert_eq!(
        harbor.posts.load(Ordering::SeqCst),
        0,
        "the test creates nothing"
    );

    let wrong = app.test("wrong").await;
    assert_eq!(steps(&wrong).last().unwrap(), &("auth".to_owned(), false));
    let m = last_message(&wrong);
    assert!(
        m.contains(&format!("refused the credentials of user `{REG_USER}`"))
            && m.contains("HTTP 401"),
        "{m}"
    );

    let anonymous = app.test("anonymous").await;
    assert!(
        last_message(&anonymous)
            .contains("requires a login, and registry `anonymous` has no credentials"),
        "{anonymous:#}"
    );

    harbor.projects.lock().unwrap().insert("mirror".into());
    let present = app.test("harbor").await;
    assert_eq!(present["ok"], true, "{present:#}");
    assert_eq!(last_message(&present), "project `mirror` exists");
}

#[tokio::test]
async fn ensure_harbor_project_creates_a_missing_project_once() {
    let (harbor, base) = start_harbor().await;
    let config = Config::parse(&harbor_yaml(&base), Path::new("registries.yaml"), false).unwrap();
    let registry = &config.registries["auto"];
    let client = HarborClient::new(Duration::from_secs(5));

    assert_eq!(
        ensure_harbor_project(&client, registry, "other")
            .await
            .unwrap(),
        ProjectStatus::Created
    );
    assert!(harbor.projects.lock().unwrap().contains("other"));
    assert_eq!(harbor.posts.load(Ordering::SeqCst), 1);
    // Known now: no request at all.
    let heads = harbor.heads.load(Ordering::SeqCst);
    assert_eq!(
        ensure_harbor_project(&client, registry, "other")
            .await
            .unwrap(),
        ProjectStatus::Existed
    );
    assert_eq!(harbor.heads.load(Ordering::SeqCst), heads);
    // Another client (another worker) asks, finds it, creates nothing.
    let other = HarborClient::new(Duration::from_secs(5));
    assert_eq!(
        ensure_harbor_project(&other, registry, "other")
            .await
            .unwrap(),
        ProjectStatus::Existed
    );
    assert_eq!(harbor.posts.load(Ordering::SeqCst), 1);
    // Creating an existing project is Harbor's 409: existed.
    assert_eq!(
        other.create_project(registry, "other").await.unwrap(),
        ProjectStatus::Existed
    );
    assert_eq!(harbor.posts.load(Ordering::SeqCst), 2);

    // Bad credentials: a clear error without the password.
    let wrong = &config.registries["wrong"];
    let e = ensure_harbor_project(&other, wrong, "third")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(&format!("refused the credentials of user `{REG_USER}`")),
        "{e}"
    );
    assert!(!e.contains(WRONG_PASSWORD), "{e}");
    assert!(!harbor.projects.lock().unwrap().contains("third"));
}
