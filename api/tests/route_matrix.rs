//! The route table against the one the README documents ("Who may call what"), written there
//! by hand: every documented route exists with the documented least role and every route is
//! documented. Each refusal says which role the route needs.

mod support;

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use docker_sync_api::auth::role::{Access, Role};
use docker_sync_api::startup::api_routes;
use serde_json::json;

/// (method, path, least role) as the README's table has them.
fn documented() -> BTreeSet<(String, String, String)> {
    let readme = include_str!("../../README.md");
    let section = readme
        .split("### Who may call what")
        .nth(1)
        .expect("the README has a `Who may call what` section");
    section
        .lines()
        .skip_while(|l| !l.starts_with("| method |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|row| {
            let cells: Vec<&str> = row.trim_matches('|').split('|').map(str::trim).collect();
            assert_eq!(cells.len(), 3, "a row of three cells: {row}");
            (cells[0].into(), cells[1].into(), cells[2].into())
        })
        .collect()
}

fn access_name(access: Access) -> String {
    match access {
        Access::Public => "public".into(),
        Access::Account => "account".into(),
        Access::Role(role) => role.as_str().into(),
    }
}

#[test]
fn the_routes_are_the_ones_the_readme_documents_with_the_same_roles() {
    let declared: BTreeSet<(String, String, String)> = api_routes()
        .declared
        .iter()
        .map(|d| {
            (
                d.method.to_string(),
                d.path.to_owned(),
                access_name(d.access),
            )
        })
        .collect();
    let documented = documented();
    assert!(documented.len() > 20, "the table was read: {documented:?}");
    let undocumented: Vec<_> = declared.difference(&documented).collect();
    let missing: Vec<_> = documented.difference(&declared).collect();
    assert!(
        undocumented.is_empty() && missing.is_empty(),
        "routes not in the README (or with another role there): {undocumented:#?}\n\
         README rows with no such route: {missing:#?}"
    );
}

#[tokio::test]
async fn a_refusal_names_the_role_it_takes() {
    let app = support::app("registries: {}\n", &[]).await;
    for (method, path, least) in documented() {
        let Some(needed) = Role::ALL.into_iter().find(|r| r.as_str() == least) else {
            continue;
        };
        let path = path
            .replace("{id}", "no-such-id")
            .replace("{name}", "nobody");
        for (user, role) in [("view", Role::Viewer), ("op", Role::Operator)] {
            if role >= needed {
                continue;
            }
            let cookie = app.login(user).await;
            let method: Method = method.parse().unwrap();
            let r = app
                .call(method.clone(), &path, Some(&cookie), json!({}))
                .await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{user} on {method} {path}");
            assert_eq!(
                r.body["error"],
                format!("your role ({role}) may not do this; it needs {needed}"),
                "{user} on {method} {path}"
            );
        }
    }
}
