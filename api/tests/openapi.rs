//! `GET /api/openapi.json` against the route table, in both directions, and against the
//! OpenAPI validator CI installs (`openapi-spec-validator`, from PyPI): a missing validator
//! fails the test rather than skipping it, or CI would pass without ever validating.

mod support;

use std::collections::BTreeSet;
use std::process::Command;

use axum::http::{Method, StatusCode};
use docker_sync_api::openapi::role_name;
use docker_sync_api::startup::api_routes;
use serde_json::{json, Value};

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// The document as anyone, logged in or not, fetches it.
async fn served() -> Value {
    let app = support::app("registries: {}\n", &[]).await;
    let r = app
        .call(Method::GET, "/api/openapi.json", None, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.body.is_object(), "JSON: {}", r.text);
    r.body
}

/// (method, path, `x-required-role`) of every operation in the document.
fn operations(doc: &Value) -> BTreeSet<(String, String, String)> {
    let paths = doc["paths"].as_object().expect("paths");
    let mut found = BTreeSet::new();
    for (path, item) in paths {
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let role = op["x-required-role"].as_str().unwrap_or("(none)");
            found.insert((method.to_uppercase(), path.clone(), role.to_owned()));
        }
    }
    found
}

#[tokio::test]
async fn the_document_has_every_route_of_the_table_with_its_role_and_no_other() {
    let doc = served().await;
    let version = doc["openapi"].as_str().unwrap_or_default();
    assert!(version.starts_with("3."), "OpenAPI 3.x, not {version:?}");
    let declared: BTreeSet<(String, String, String)> = api_routes()
        .declared
        .iter()
        .map(|d| {
            let role = role_name(d.access).to_owned();
            (d.method.to_string(), d.path.to_owned(), role)
        })
        .collect();
    let documented = operations(&doc);
    let undocumented: Vec<_> = declared.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&declared).collect();
    assert!(
        undocumented.is_empty() && extra.is_empty(),
        "routes missing from the document (or with another role there): {undocumented:#?}\n\
         operations the route table lacks: {extra:#?}"
    );
}

#[tokio::test]
async fn only_public_routes_go_without_the_cookie_or_a_token() {
    let doc = served().await;
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["session_cookie"]["in"], "cookie");
    assert_eq!(schemes["session_cookie"]["name"], "dsync_session");
    assert_eq!(schemes["bearer_token"]["scheme"], "bearer");
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let security = op["security"]
                .as_array()
                .expect("security on every operation");
            if op["x-required-role"] == "public" {
                assert!(security.is_empty(), "{method} {path}: {security:?}");
            } else {
                let names: Vec<_> = security
                    .iter()
                    .flat_map(|s| s.as_object().unwrap().keys())
                    .collect();
                assert_eq!(names, ["session_cookie", "bearer_token"], "{method} {path}");
                assert!(
                    op["responses"]["401"].is_object(),
                    "{method} {path} answers 401"
                );
            }
        }
    }
}

#[tokio::test]
async fn the_document_passes_openapi_spec_validator() {
    let doc = served().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    let out = Command::new("openapi-spec-validator")
        .arg(&file)
        .output()
        .expect(
            "openapi-spec-validator is not installed: `pip install openapi-spec-validator` \
             (README, tests)",
        );
    assert!(
        out.status.success(),
        "openapi-spec-validator refused the document:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn the_signatures_option_and_its_counts_are_documented() {
    let doc = served().await;
    let schemas = &doc["components"]["schemas"];
    let described = |schema: &str, field: &str| {
        schemas[schema]["properties"][field]["description"]
            .as_str()
            .unwrap_or_else(|| panic!("{schema}.{field} has no description: {:#}", schemas[schema]))
            .to_owned()
    };
    assert!(described("JobRequest", "with_signatures").contains("signatures"));
    assert!(described("JobView", "with_signatures").contains("related_copied"));
    assert!(described("TaskRecord", "related_copied").contains("did not ask"));
    assert!(described("RuleSpec", "with_signatures").contains("signatures"));
}
