//! The Bearer-token flow of the distribution spec (Docker Hub, ghcr.io, quay.io, Harbor), against
//! a stand-in that follows it: 401 with `WWW-Authenticate: Bearer realm=...,service=...`, a token
//! endpoint that takes Basic credentials and a scope, then the manifest with the token. Docker
//! Hub itself cannot be reached from the test machines.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{any, get};
use axum::{Json, Router};
use docker_sync_common::registry::Transport;
use docker_sync_common::registry::{Reach, RegistryClient};
use secrecy::SecretString;

const DIGEST: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

#[derive(Clone, Default)]
struct Counters {
    token_requests: Arc<AtomicUsize>,
}

async fn manifest(State(base): State<(String, Counters)>, headers: HeaderMap) -> impl IntoResponse {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
    if auth == Some("Bearer good-token") {
        return (
            StatusCode::OK,
            [("docker-content-digest", DIGEST.to_owned())],
        )
            .into_response();
    }
    let challenge = format!(
        r#"Bearer realm="{}/token",service="stand-in",scope="repository:lib/app:pull""#,
        base.0
    );
    (StatusCode::UNAUTHORIZED, [("www-authenticate", challenge)]).into_response()
}

async fn token(
    State((_, counters)): State<(String, Counters)>,
    Query(q): Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
) -> impl IntoResponse {
    counters.token_requests.fetch_add(1, Ordering::SeqCst);
    // "user:pass" in Basic.
    let basic = headers.get("authorization").and_then(|v| v.to_str().ok());
    let scope_ok = q.get("scope").map(String::as_str) == Some("repository:lib/app:pull")
        && q.get("service").map(String::as_str) == Some("stand-in");
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

async fn start() -> (String, Counters) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let counters = Counters::default();
    let app = Router::new()
        .route("/v2/lib/app/manifests/{reference}", any(manifest))
        .route("/token", get(token))
        .with_state((base.clone(), counters.clone()));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, counters)
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

#[tokio::test]
async fn a_bearer_challenge_is_answered_with_a_token_and_the_token_is_reused() {
    let (base, counters) = start().await;
    let client = RegistryClient::new(std::time::Duration::from_secs(5));
    let digest = client
        .manifest_digest(&access(&base, "pass"), "lib/app", "1")
        .await
        .unwrap();
    assert_eq!(digest.as_deref(), Some(DIGEST));
    let again = client
        .manifest_digest(&access(&base, "pass"), "lib/app", "2")
        .await
        .unwrap();
    assert_eq!(again.as_deref(), Some(DIGEST));
    assert_eq!(
        counters.token_requests.load(Ordering::SeqCst),
        1,
        "the cached token is reused"
    );
}

#[tokio::test]
async fn wrong_credentials_are_reported_as_such() {
    let (base, _) = start().await;
    let client = RegistryClient::new(std::time::Duration::from_secs(5));
    let err = client
        .manifest_digest(&access(&base, "wrong"), "lib/app", "1")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("token request failed"), "{err}");
    assert!(
        !err.to_string().contains("wrong"),
        "no secret in errors: {err}"
    );
}
