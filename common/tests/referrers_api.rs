//! [`related`] against a stand-in registry that has the OCI 1.1 referrers API (distribution 2.8,
//! which the end-to-end test runs, has none): the API's answer is used and the referrers tag is
//! not asked for; a registry answering the route with something that is not an index is treated
//! as having no API.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{header, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::Router;
use docker_sync_common::registry::{
    related, CopyBy, CosignSuffix, Reach, RegistryClient, RelatedKind, Transport,
};

const IMAGE: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const SIG: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
const REFERRER: &str = "sha256:3333333333333333333333333333333333333333333333333333333333333333";
const TAG: &str = "sha256-1111111111111111111111111111111111111111111111111111111111111111";

/// Starts the stand-in; `api` chooses what `GET /v2/lib/app/referrers/<digest>` returns. The
/// requests it saw (`METHOD path`) are in the returned list.
async fn stand_in(api: String) -> (String, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let app = Router::new().fallback(move |method: Method, uri: Uri| {
        let (log, api) = (log.clone(), api.clone());
        async move {
            let path = uri.path().to_owned();
            log.lock().unwrap().push(format!("{method} {path}"));
            if path == format!("/v2/lib/app/manifests/{TAG}.sig") {
                return (
                    [
                        (
                            header::CONTENT_TYPE,
                            "application/vnd.oci.image.manifest.v1+json",
                        ),
                        (
                            header::HeaderName::from_static("docker-content-digest"),
                            SIG,
                        ),
                    ],
                    "",
                )
                    .into_response();
            }
            if path == format!("/v2/lib/app/referrers/{IMAGE}") {
                let content_type = if api.starts_with('{') {
                    "application/vnd.oci.image.index.v1+json"
                } else {
                    "text/html"
                };
                return ([(header::CONTENT_TYPE, content_type)], api).into_response();
            }
            StatusCode::NOT_FOUND.into_response()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (host, seen)
}

fn reach(host: &str) -> Reach {
    Reach {
        host: host.to_owned(),
        transport: Transport::PlainHttp,
        credentials: None,
        proxy: None,
    }
}

#[tokio::test]
async fn the_referrers_api_answers_and_the_referrers_tag_is_not_asked_for() {
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",
        "manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json",
        "digest":"{REFERRER}","size":10,"artifactType":"application/spdx+json"}}]}}"#
    );
    let (host, seen) = stand_in(index).await;
    let client = RegistryClient::new(Duration::from_secs(5));
    let found = related(&client, &reach(&host), "lib/app", IMAGE)
        .await
        .unwrap();
    assert_eq!(found.len(), 2, "{found:#?}");
    assert_eq!(found[0].kind, RelatedKind::Cosign(CosignSuffix::Sig));
    assert_eq!(
        (found[0].digest.as_str(), &found[0].copy),
        (SIG, &CopyBy::Tag(format!("{TAG}.sig")))
    );
    assert_eq!(
        found[1].kind,
        RelatedKind::Referrer {
            artifact_type: Some("application/spdx+json".into())
        }
    );
    assert_eq!(
        (found[1].digest.as_str(), &found[1].copy),
        (REFERRER, &CopyBy::Digest)
    );
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        [
            format!("HEAD /v2/lib/app/manifests/{TAG}.sig"),
            format!("HEAD /v2/lib/app/manifests/{TAG}.att"),
            format!("HEAD /v2/lib/app/manifests/{TAG}.sbom"),
            format!("GET /v2/lib/app/referrers/{IMAGE}"),
        ],
        "three HEADs and the API, no tag list and no referrers tag"
    );
}

#[tokio::test]
async fn a_route_answered_with_a_web_page_falls_back_to_the_referrers_tag() {
    let (host, seen) = stand_in("<html>not a registry route</html>".into()).await;
    let client = RegistryClient::new(Duration::from_secs(5));
    let found = related(&client, &reach(&host), "lib/app", IMAGE)
        .await
        .unwrap();
    assert_eq!(found.len(), 1, "only the signature: {found:#?}");
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen.last().map(String::as_str),
        Some(format!("GET /v2/lib/app/manifests/{TAG}").as_str()),
        "{seen:?}"
    );
}
