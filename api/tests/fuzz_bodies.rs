//! Property-based fuzzing of what clients send: JSON bodies of every route that takes one, sent
//! by an admin (the role that reaches the most code), and users.yaml. No body may cause a 5xx
//! or a panic: a client's mistake is a 4xx that says what was wrong. Failing inputs are kept by
//! proptest in `fuzz_bodies.proptest-regressions` and replayed first.

mod support;

use std::path::Path;

use axum::http::Method;
use docker_sync_api::auth::users_file::UsersFile;
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestRunner};
use serde_json::{Map, Value};

/// Field names the routes read, so generated objects reach past the first check.
const FIELDS: &[&str] = &[
    "images",
    "target",
    "replace_level",
    "namespace",
    "platform",
    "username",
    "password",
    "remember_me",
    "old_password",
    "new_password",
    "name",
    "display_name",
    "type",
    "url",
    "insecure",
    "create_project",
    "description",
    "proxy",
    "proxy_password",
    "no_proxy",
    "clear_password",
    "role",
    "expires_in_days",
    "disabled",
    "must_change_password",
    "enabled",
    "schedule",
    "cron",
    "timezone",
    "missed",
    "format",
    "events",
    "secret",
    "clear_secret",
];

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        Just(Value::from(u64::MAX)),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        // No glob or selector characters: a tag listing would reach out to the internet.
        "[a-z0-9:/._ \n-]{0,40}".prop_map(Value::from),
        "[A-Za-z0-9:/.@#%{}\\[\\]\"' \t-]{0,60}"
            .prop_map(|s| Value::from(s.replace(['*', '?'], ""))),
        Just(Value::from("admin")),
        Just(Value::from("1")),
        Just(Value::from("linux/arm64")),
        Just(Value::from("x".repeat(5000))),
    ]
}

/// Each route with a body it accepts: the fuzzer changes, removes and adds fields of it, so most
/// bodies get past deserialisation into the handler.
const ROUTES: &[(&str, &str, &str)] = &[
    (
        "POST",
        "/api/jobs",
        r#"{"images": "127.0.0.1:9/a/b:1", "target": "target", "replace_level": "all"}"#,
    ),
    (
        "POST",
        "/api/jobs/preview",
        r#"{"images": "127.0.0.1:9/a/b:1", "target": "target", "replace_level": "1", "namespace": "ns"}"#,
    ),
    (
        "POST",
        "/api/scripts",
        r#"{"images": ["127.0.0.1:9/a/b:1"], "target": "target", "replace_level": "skip"}"#,
    ),
    (
        "POST",
        "/api/registries",
        r#"{"name": "stored", "type": "harbor", "url": "http://127.0.0.1:9", "username": "u", "password": "p"}"#,
    ),
    (
        "PUT",
        "/api/registries/stored",
        r#"{"type": "generic", "url": "127.0.0.1:9", "insecure": true}"#,
    ),
    ("POST", "/api/registries/stored/test", r#"{}"#),
    (
        "POST",
        "/api/users",
        r#"{"username": "fuzzed", "password": "Fuzzed-passw0rd", "role": "viewer"}"#,
    ),
    (
        "PATCH",
        "/api/users/fuzzed",
        r#"{"role": "operator", "disabled": false}"#,
    ),
    (
        "POST",
        "/api/users/fuzzed/password",
        r#"{"password": "Fuzzed-passw0rd-2"}"#,
    ),
    (
        "POST",
        "/api/tokens",
        r#"{"name": "t", "role": "viewer", "expires_in_days": 30}"#,
    ),
    (
        "POST",
        "/api/rules",
        r#"{"name": "fuzzed", "images": "127.0.0.1:9/a/b:1", "target": "target", "replace_level": "1", "schedule": {"cron": "0 3 * * *", "timezone": "Asia/Shanghai", "missed": "skip"}}"#,
    ),
    (
        "PUT",
        "/api/rules/fuzzed",
        r#"{"images": "127.0.0.1:9/a/b:2", "target": "target", "enabled": false}"#,
    ),
    ("POST", "/api/rules/fuzzed/run", r#"{}"#),
    (
        "POST",
        "/api/webhooks",
        r#"{"name": "fuzzed", "format": "dingtalk", "url": "http://127.0.0.1:9/robot/send?access_token=t", "events": ["job.failed", "rule.skipped"], "secret": "s"}"#,
    ),
    (
        "PUT",
        "/api/webhooks/fuzzed",
        r#"{"format": "generic", "events": ["job.finished"], "clear_secret": true}"#,
    ),
    ("POST", "/api/webhooks/fuzzed/test", r#"{}"#),
    (
        "POST",
        "/api/auth/password",
        r#"{"old_password": "wrong", "new_password": "Fuzzed-passw0rd-3"}"#,
    ),
];

/// A change to a body, drawn blind and applied by [`apply`]: which field, how, and a candidate
/// value of each JSON type.
type Change = (usize, u8, String, Value, bool, Value);

fn changes() -> impl Strategy<Value = Vec<Change>> {
    let text = prop_oneof![
        "[a-z0-9:/._ \n-]{0,40}",
        "[A-Za-z0-9:/.@#%{}\\[\\]\"' \t-]{0,60}".prop_map(|s| s.replace(['*', '?'], "")),
        Just("x".repeat(5000)),
        Just(String::new()),
    ];
    let number = prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        Just(Value::from(u64::MAX)),
        Just(Value::from(0)),
        (0u64..5000).prop_map(Value::from),
    ];
    let anything = scalar().prop_recursive(2, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(("[a-z_]{1,10}", inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    });
    prop::collection::vec(
        (
            any::<usize>(),
            0u8..10,
            text,
            number,
            any::<bool>(),
            anything,
        ),
        1..4,
    )
}

/// Mostly a value of the type the field already has (so the body still deserialises and the
/// handler's own checks run), sometimes anything, sometimes the field removed; sometimes another
/// field the routes read.
fn apply(body: &mut Value, changes: Vec<Change>) {
    let fields = body.as_object_mut().expect("every base body is an object");
    for (pick, mode, text, number, flag, anything) in changes {
        let keys: Vec<String> = fields.keys().cloned().collect();
        let field = if mode < 7 && !keys.is_empty() {
            keys[pick % keys.len()].clone()
        } else {
            FIELDS[pick % FIELDS.len()].to_owned()
        };
        let value = match (mode, fields.get(&field)) {
            (9, _) => {
                fields.remove(&field);
                continue;
            }
            (0..=6, Some(Value::String(_))) => Value::from(text),
            (0..=6, Some(Value::Number(_))) => number,
            (0..=6, Some(Value::Bool(_))) => Value::from(flag),
            _ => anything,
        };
        fields.insert(field, value);
    }
}

#[test]
fn no_body_makes_the_api_fail() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    // A sealing key, so webhook bodies get as far as sealing their URL and secret.
    let key = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(key.path(), "fuzz-sealing-key-0123456789abcdefghijklmn").unwrap();
    let app = rt.block_on(support::app(
        "registries:\n  target:\n    url: http://127.0.0.1:9\n",
        &["--secret-key-file", key.path().to_str().unwrap()],
    ));
    let cookie = rt.block_on(app.login("boss"));
    let mut runner = TestRunner::new(RunnerConfig {
        cases: 900,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"),
        )),
        source_file: Some(file!()),
        ..RunnerConfig::default()
    });
    let routes = prop::sample::select(ROUTES);
    runner
        .run(&(routes, changes()), |((method, path, base), changes)| {
            let mut body: Value = serde_json::from_str(base).unwrap();
            apply(&mut body, changes);
            let method: Method = method.parse().unwrap();
            let reply = rt.block_on(app.call(method.clone(), path, Some(&cookie), body.clone()));
            prop_assert!(
                reply.status.as_u16() < 500,
                "{method} {path} with {body} answered {}: {}",
                reply.status,
                reply.text
            );
            Ok(())
        })
        .unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn users_yaml_loads_or_names_the_problem(
        lines in prop::collection::vec(
            (0usize..4, prop::sample::select(&["users", "username", "password_hash", "role", "display_name", "disabled", "admin"][..]), "[a-z0-9$./:\\[\\]{} -]{0,30}"),
            0..10,
        )
    ) {
        let text: Vec<String> = lines
            .iter()
            .map(|(depth, k, v)| format!("{}{k}: {v}", "  ".repeat(*depth)))
            .collect();
        if let Err(e) = UsersFile::parse(&text.join("\n"), Path::new("users.yaml")) {
            let message = e.to_string();
            prop_assert!(message.contains("users.yaml"), "the error names the file: {message}");
        }
    }
}
