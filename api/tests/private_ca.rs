//! A registry whose certificate comes from a private CA passes the TLS step without
//! `insecure: true` once that CA is in the trust store: the api's clients read the system's CA
//! store, as skopeo does. `SSL_CERT_FILE` stands in for the system store here (both rustls's
//! native-roots loader and Go honour it); this file holds one test, so setting it for the
//! process touches no other test.

mod support;

use axum::http::StatusCode;
use docker_sync_tests::tls::{Certified, TlsRegistry};
use serde_json::json;

#[tokio::test]
async fn a_private_ca_in_the_trust_store_is_trusted() {
    let certified = Certified::by_private_ca();
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("ca.pem");
    std::fs::write(&bundle, certified.ca_pem.as_deref().unwrap()).unwrap();
    // Before any client exists: the roots are read when a client is built.
    std::env::set_var("SSL_CERT_FILE", &bundle);

    let registry = tokio::task::spawn_blocking(move || TlsRegistry::start(&certified))
        .await
        .unwrap();
    let yaml = format!(
        "registries:\n  private:\n    url: \"https://127.0.0.1:{}\"\n",
        registry.port
    );
    let app = support::app(&yaml, &[]).await;
    let admin = app.login("boss").await;
    let r = app
        .post("/api/registries/private/test", &admin, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["ok"], true, "{:#}", r.body);
    let tls = r.body["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step"] == "tls")
        .expect("a tls step")
        .clone();
    assert_eq!(tls["ok"], true, "{tls:#}");
    assert!(tls.get("skipped").is_none(), "{tls:#}");
}
