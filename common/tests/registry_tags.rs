//! `GET /v2/<name>/tags/list` against a stand-in registry that pages the way the distribution
//! spec says (`n`, `last`, `Link: <...>; rel="next"`) and asks for a Bearer token, like Docker
//! Hub, ghcr.io and Harbor do. (distribution 2.8, which the end-to-end tests run, ignores `n` and
//! answers one page, so paging is tested here.)

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use docker_sync_common::registry::explain::{Party, Problem, Side};
use docker_sync_common::registry::{Reach, RegistryClient, RegistryError, Transport};
use secrecy::SecretString;

/// What the stand-in does; shared with its handlers.
#[derive(Clone)]
struct StandIn {
    base: String,
    /// The most tags it puts on a page, whatever `n` asks.
    page_limit: usize,
    /// Answer 400 to any `n` (some registries refuse it).
    refuse_n: bool,
    /// Put this absolute URL in the first page's `Link` instead of the real next page.
    foreign_link: Option<String>,
    pages_served: Arc<AtomicUsize>,
    token_requests: Arc<AtomicUsize>,
}

fn all_tags() -> Vec<String> {
    (0..250).map(|i| format!("1.{i}.0")).collect()
}

async fn tags(
    State(s): State<StandIn>,
    Path(repo): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> axum::response::Response {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
    if auth != Some("Bearer good-token") {
        let challenge = format!(
            r#"Bearer realm="{}/token",service="stand-in",scope="repository:{repo}:pull""#,
            s.base
        );
        return (StatusCode::UNAUTHORIZED, [("www-authenticate", challenge)]).into_response();
    }
    if repo != "lib/app" {
        let body = serde_json::json!({"errors": [{"code": "NAME_UNKNOWN", "message": "repository name not known to registry", "detail": {"name": repo}}]});
        return (StatusCode::NOT_FOUND, Json(body)).into_response();
    }
    if s.refuse_n && q.contains_key("n") {
        return (StatusCode::BAD_REQUEST, "n is not supported").into_response();
    }
    s.pages_served.fetch_add(1, Ordering::SeqCst);
    let n = q
        .get("n")
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(usize::MAX)
        .min(s.page_limit);
    let all = all_tags();
    let start = match q.get("last") {
        Some(last) => all
            .iter()
            .position(|t| t == last)
            .map_or(all.len(), |i| i + 1),
        None => 0,
    };
    let page: Vec<&String> = all.iter().skip(start).take(n).collect();
    let mut resp = Json(serde_json::json!({"name": repo, "tags": page})).into_response();
    if start + page.len() < all.len() {
        let last = page.last().map(|t| t.as_str()).unwrap_or("");
        let link = match (&s.foreign_link, start) {
            (Some(url), 0) => format!(r#"<{url}>; rel="next""#),
            _ => format!(r#"</v2/{repo}/tags/list?last={last}&n={n}>; rel="next""#),
        };
        resp.headers_mut().insert("link", link.parse().unwrap());
    }
    resp
}

async fn token(
    State(s): State<StandIn>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> impl IntoResponse {
    s.token_requests.fetch_add(1, Ordering::SeqCst);
    // "user:pass" in Basic.
    let basic = headers.get("authorization").and_then(|v| v.to_str().ok());
    let scope_ok = q.get("scope").is_some_and(|s| s.ends_with(":pull"));
    if basic == Some("Basic dXNlcjpwYXNz") && scope_ok {
        (
            StatusCode::OK,
            Json(serde_json::json!({"token": "good-token", "expires_in": 300})),
        )
            .into_response()
    } else {
        StatusCode::UNAUTHORIZED.into_response()
    }
}

async fn start(
    page_limit: usize,
    refuse_n: bool,
    foreign_link: Option<String>,
) -> (StandIn, Reach) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = StandIn {
        base: base.clone(),
        page_limit,
        refuse_n,
        foreign_link,
        pages_served: Arc::default(),
        token_requests: Arc::default(),
    };
    let app = Router::new()
        .route("/v2/{*rest}", get(route_v2))
        .route("/token", get(token))
        .with_state(state.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (state, access(&base, "pass"))
}

/// `/v2/<repo>/tags/list` with a repository of several parts.
async fn route_v2(
    state: State<StandIn>,
    Path(rest): Path<String>,
    query: Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> axum::response::Response {
    match rest.strip_suffix("/tags/list") {
        Some(repo) => tags(state, Path(repo.to_owned()), query, headers).await,
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `http://host` is plain HTTP, `https://host` verified HTTPS: the rule of registries.yaml.
fn access(base: &str, password: &str) -> Reach {
    let (transport, host) = match base.split_once("://") {
        Some(("http", host)) => (Transport::PlainHttp, host),
        Some((_, host)) => (Transport::Https, host),
        None => (Transport::Https, base),
    };
    Reach {
        host: host.to_owned(),
        transport,
        credentials: Some(("user".into(), SecretString::from(password.to_owned()))),
        proxy: None,
    }
}

fn client() -> RegistryClient {
    RegistryClient::new(Duration::from_secs(5))
}

fn party(host: &str) -> Party<'_> {
    Party {
        side: Side::Source,
        host,
        subject: format!("{host}/lib/app"),
        namespace: None,
        registry: Some("src"),
        has_credentials: true,
    }
}

#[tokio::test]
async fn follows_link_pages_with_one_token() {
    let (s, access) = start(100, false, None).await;
    let tags = client()
        .list_tags(&access, "lib/app", 10_000)
        .await
        .unwrap();
    assert_eq!(tags, all_tags());
    assert_eq!(
        s.pages_served.load(Ordering::SeqCst),
        3,
        "250 tags, 100 a page"
    );
    assert_eq!(
        s.token_requests.load(Ordering::SeqCst),
        1,
        "the token is reused"
    );
}

#[tokio::test]
async fn a_registry_refusing_n_is_asked_without_it() {
    let (s, access) = start(1000, true, None).await;
    let tags = client()
        .list_tags(&access, "lib/app", 10_000)
        .await
        .unwrap();
    assert_eq!(tags.len(), 250);
    assert_eq!(s.pages_served.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn more_tags_than_the_limit_is_an_error() {
    let (_, access) = start(100, false, None).await;
    let err = client()
        .list_tags(&access, "lib/app", 120)
        .await
        .unwrap_err();
    assert!(
        matches!(err, RegistryError::TooManyTags { limit: 120 }),
        "{err}"
    );
    assert_eq!(err.to_string(), "the repository has more than 120 tags");
}

#[tokio::test]
async fn a_link_to_another_host_is_not_followed() {
    let (_, access) = start(
        100,
        false,
        Some("http://127.0.0.2:1/v2/lib/app/tags/list".into()),
    )
    .await;
    let err = client()
        .list_tags(&access, "lib/app", 10_000)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("next page link `http://127.0.0.2:1/v2/lib/app/tags/list` leaves"),
        "{err}"
    );
}

#[tokio::test]
async fn a_missing_repository_is_name_unknown() {
    let (s, access) = start(100, false, None).await;
    let err = client()
        .list_tags(&access, "lib/nope", 10_000)
        .await
        .unwrap_err();
    assert_eq!(err.problem(), Some(Problem::NameUnknown), "{err}");
    let host = s.base.trim_start_matches("http://");
    assert_eq!(
        err.explain(&party(host)),
        format!("the repository of `{host}/lib/app` does not exist at `{host}` (name unknown): check the name")
    );
}

#[tokio::test]
async fn wrong_credentials_are_unauthorized_without_the_secret() {
    let (s, _) = start(100, false, None).await;
    let err = client()
        .list_tags(&access(&s.base, "wrong-secret"), "lib/app", 10_000)
        .await
        .unwrap_err();
    assert_eq!(err.problem(), Some(Problem::Unauthorized), "{err}");
    let host = s.base.trim_start_matches("http://");
    let text = err.explain(&party(host));
    assert!(
        text.starts_with(&format!(
            "the source registry `{host}` refused the credentials of registry `src`"
        )),
        "{text}"
    );
    assert!(!text.contains("wrong-secret") && !err.to_string().contains("wrong-secret"));
}

#[tokio::test]
async fn an_unreachable_registry_is_connection_refused() {
    // Bind and drop: nothing listens there any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let host = format!("127.0.0.1:{port}");
    let err = client()
        .list_tags(&access(&format!("http://{host}"), "pass"), "lib/app", 10)
        .await
        .unwrap_err();
    assert_eq!(err.problem(), Some(Problem::ConnectionRefused), "{err}");
    assert!(
        err.explain(&party(&host)).starts_with(&format!(
            "cannot connect to the source registry `{host}` (connection refused)"
        )),
        "{err}"
    );
}

#[tokio::test]
async fn https_to_a_plain_http_registry_is_named() {
    let (s, _) = start(100, false, None).await;
    let host = s.base.trim_start_matches("http://").to_owned();
    let err = client()
        .list_tags(&access(&format!("https://{host}"), "pass"), "lib/app", 10)
        .await
        .unwrap_err();
    assert_eq!(err.problem(), Some(Problem::PlainHttp), "{err}");
}
