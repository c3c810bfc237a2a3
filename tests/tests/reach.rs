//! Registries configured the way people write them: a plain-HTTP registry as a bare `host:port`
//! with `insecure: true` (in registries.yaml and through the api), a self-signed HTTPS registry
//! with `insecure: true`, a source only reachable through a proxy. For each, the first job
//! copies, an unchanged re-sync skips without pulling, and the connection test agrees with the
//! copy. A digest check that cannot run is visible; a missing image is not retried.

mod common;

use std::time::Duration;

use common::push_images;
use docker_sync_tests::tls::{Certified, TlsRegistry};
use docker_sync_tests::{Stack, StackOptions, TargetSpelling, TARGET_PASSWORD, TARGET_USER};
use serde_json::{json, Value};

const JOB_TIMEOUT: Duration = Duration::from_secs(120);

fn tasks(job: &Value) -> &Vec<Value> {
    job["tasks"].as_array().expect("tasks array")
}

/// Submits `images` to registry `target` and waits for the job.
fn sync(stack: &Stack, images: &[String], target: &str) -> Value {
    let (status, job) = stack.post(
        "/api/jobs",
        &json!({ "images": images.join("\n"), "target": target, "replace_level": "skip" }),
    );
    assert_eq!(status, 202, "job refused: {job}");
    stack.wait_job(job["id"].as_str().unwrap(), JOB_TIMEOUT)
}

/// Every task of `job` ended `want`, none copied without checking the target.
fn assert_all(job: &Value, want: &str, stack: &Stack) {
    for task in tasks(job) {
        assert_eq!(task["status"], want, "{task:#}\n{}", stack.logs());
        assert!(task.get("unchecked").is_none(), "{task:#}");
    }
}

/// Every image of `pushed` is at the stack's target under `mirror/`, with its source digest.
fn assert_mirrored(stack: &Stack, pushed: &[common::Pushed]) {
    for p in pushed {
        let repo = format!("mirror/{}", p.repo);
        assert_eq!(
            stack.target.manifest_digest(&repo, &p.tag).as_deref(),
            Some(p.digest.as_str()),
            "{repo}:{}",
            p.tag
        );
    }
}

fn connection_test(stack: &Stack, name: &str) -> Value {
    let (status, report) = stack.post(&format!("/api/registries/{name}/test"), &json!({}));
    assert_eq!(status, 200, "{report}");
    report
}

fn metrics(stack: &Stack) -> String {
    ureq::get(&format!("{}/metrics", stack.api_url()))
        .call()
        .expect("GET /metrics")
        .into_string()
        .unwrap()
}

/// The references of `pushed` at `host`.
fn refs(pushed: &[common::Pushed], host: &str) -> Vec<String> {
    pushed.iter().map(|p| p.reference(host)).collect()
}

#[test]
fn a_plain_http_target_written_as_a_bare_host_with_insecure_keeps_the_fast_path() {
    let stack = Stack::start(StackOptions {
        target_spelling: TargetSpelling::BareInsecure,
        ..StackOptions::default()
    });
    let pushed = push_images(
        &stack.source,
        &[("bare/a", "1"), ("bare/b", "1"), ("multi/bare", "1")],
        16 * 1024,
    );
    let images = refs(&pushed, &stack.source_host());

    let first = sync(&stack, &images, "target");
    assert_eq!(first["status"], "succeeded", "{first:#}");
    assert_all(&first, "succeeded", &stack);
    assert_mirrored(&stack, &pushed);
    let again = sync(&stack, &images, "target");
    assert_all(&again, "skipped", &stack);

    let report = connection_test(&stack, "target");
    assert_eq!(report["ok"], true, "{report:#}");
    assert_eq!(report["transport"], "plain HTTP (insecure)", "{report:#}");
    assert!(!metrics(&stack).contains("digest_check_failures_total"));
    assert!(!stack.logs().contains("digest check failed"));
}

#[test]
fn a_registry_added_in_the_ui_as_a_bare_host_with_insecure_keeps_the_fast_path() {
    let stack = Stack::start(StackOptions::default());
    // What the UI's dialog sends with the Insecure box ticked.
    let (status, body) = stack.post(
        "/api/registries",
        &json!({
            "name": "lab",
            "type": "generic",
            "url": stack.target.host(),
            "insecure": true,
            "username": TARGET_USER,
            "password": TARGET_PASSWORD,
            "namespace": "lab",
        }),
    );
    assert_eq!(status, 201, "{body}");
    let pushed = push_images(&stack.source, &[("ui/a", "1"), ("ui/b", "2")], 16 * 1024);
    let images = refs(&pushed, &stack.source_host());

    assert_all(&sync(&stack, &images, "lab"), "succeeded", &stack);
    assert_eq!(
        stack.target.manifest_digest("lab/ui/a", "1").as_deref(),
        Some(pushed[0].digest.as_str())
    );
    assert_all(&sync(&stack, &images, "lab"), "skipped", &stack);
    let report = connection_test(&stack, "lab");
    assert_eq!(report["ok"], true, "{report:#}");
    assert_eq!(report["transport"], "plain HTTP (insecure)", "{report:#}");
}

#[test]
fn a_self_signed_https_registry_with_insecure_copies_and_skips() {
    let stack = Stack::start(StackOptions::default());
    let tls = TlsRegistry::start(&Certified::self_signed());
    let (status, body) = stack.post(
        "/api/registries",
        &json!({ "name": "selfsigned", "url": tls.host(), "insecure": true, "namespace": "m" }),
    );
    assert_eq!(status, 201, "{body}");
    let pushed = push_images(
        &stack.source,
        &[("tls/a", "1"), ("multi/tls", "1")],
        16 * 1024,
    );
    let images = refs(&pushed, &stack.source_host());

    assert_all(&sync(&stack, &images, "selfsigned"), "succeeded", &stack);
    assert_all(&sync(&stack, &images, "selfsigned"), "skipped", &stack);
    let report = connection_test(&stack, "selfsigned");
    assert_eq!(report["ok"], true, "{report:#}");
    assert_eq!(
        report["transport"], "HTTPS without certificate checks (insecure)",
        "{report:#}"
    );
    let tls_step = &report["steps"][1];
    assert!(
        tls_step["message"]
            .as_str()
            .unwrap()
            .contains("unknown authority"),
        "{report:#}"
    );
}

#[test]
fn a_source_only_a_proxy_resolves_is_copied_and_rechecked_through_it_without_pulling() {
    let proxy_password = "proxy-secret-4711";
    let stack = Stack::start(StackOptions {
        source_via_proxy: Some("mirror-source.test".into()),
        source_proxy_credentials: Some(("corp".into(), proxy_password.into())),
        ..StackOptions::default()
    });
    let proxy = stack.forward_proxy().expect("the stack's forward proxy");
    let pushed = push_images(
        &stack.source,
        &[("proxied/a", "1"), ("multi/proxied", "1")],
        16 * 1024,
    );
    let images = refs(&pushed, &stack.source_host());
    assert!(images[0].starts_with("mirror-source.test:"), "{images:?}");

    let first = sync(&stack, &images, "target");
    assert_all(&first, "succeeded", &stack);
    assert_mirrored(&stack, &pushed);
    // skopeo pulled through the proxy (the name resolves nowhere else).
    assert!(
        proxy.count("GET", "/manifests/") >= 2,
        "{:?}",
        proxy.requests()
    );
    assert!(proxy.count("GET", "/blobs/") >= 2, "{:?}", proxy.requests());

    proxy.reset_counts();
    let again = sync(&stack, &images, "target");
    assert_all(&again, "skipped", &stack);
    // Skipped without pulling: only HEADs went to the source, through the proxy.
    assert_eq!(
        proxy.count("GET", "/manifests/"),
        0,
        "{:?}",
        proxy.requests()
    );
    assert_eq!(proxy.count("GET", "/blobs/"), 0, "{:?}", proxy.requests());
    assert!(
        proxy.count("HEAD", "/manifests/") >= 2,
        "{:?}",
        proxy.requests()
    );
    assert_eq!(proxy.refused(), 0);

    let report = connection_test(&stack, "source");
    assert_eq!(report["ok"], true, "{report:#}");
    assert!(
        report["steps"][0]["message"]
            .as_str()
            .unwrap()
            .contains("the proxy `http://corp@127.0.0.1:"),
        "{report:#}"
    );
    assert_eq!(report["transport"], "plain HTTP (insecure)", "{report:#}");
    // The proxy's password reached the proxy, and nothing else.
    assert_eq!(proxy.auth_failures(), 0);
    stack.assert_secret_nowhere(proxy_password, "the proxy password");
    let (_, registries) = stack.get("/api/registries");
    assert!(!registries.to_string().contains(proxy_password));
}

#[test]
fn the_process_wide_proxy_variables_carry_a_source_without_a_proxy_of_its_own() {
    let stack = Stack::start(StackOptions {
        source_via_proxy: Some("mirror-source.test".into()),
        source_proxy_in_env: true,
        ..StackOptions::default()
    });
    let yaml = std::fs::read_to_string(stack.config_dir().join("registries.yaml")).unwrap();
    assert!(!yaml.contains("proxy:"), "{yaml}");
    let proxy = stack.forward_proxy().expect("the stack's forward proxy");
    let pushed = push_images(&stack.source, &[("envproxy/a", "1")], 16 * 1024);
    let images = refs(&pushed, &stack.source_host());

    assert_all(&sync(&stack, &images, "target"), "succeeded", &stack);
    assert!(
        proxy.count("GET", "/manifests/") >= 1,
        "{:?}",
        proxy.requests()
    );
    proxy.reset_counts();
    assert_all(&sync(&stack, &images, "target"), "skipped", &stack);
    assert_eq!(
        proxy.count("GET", "/manifests/"),
        0,
        "{:?}",
        proxy.requests()
    );
    assert_eq!(proxy.count("GET", "/blobs/"), 0, "{:?}", proxy.requests());
    assert!(
        proxy.count("HEAD", "/manifests/") >= 1,
        "{:?}",
        proxy.requests()
    );
    // The api's connection test goes the same way, and says so.
    let report = connection_test(&stack, "source");
    assert_eq!(report["ok"], true, "{report:#}");
    assert_eq!(report["steps"][0]["skipped"], true, "{report:#}");
    assert!(
        report["steps"][0]["message"]
            .as_str()
            .unwrap()
            .contains("HTTPS_PROXY"),
        "{report:#}"
    );
}

#[test]
fn a_digest_check_that_cannot_run_is_visible_on_the_task_counted_and_warned_once() {
    let stack = Stack::start(StackOptions {
        workers: 1,
        source_via_proxy: Some("mirror-source.test".into()),
        source_proxy_refuses_heads: true,
        ..StackOptions::default()
    });
    let pushed = push_images(
        &stack.source,
        &[("nohead/a", "1"), ("nohead/b", "1"), ("nohead/c", "1")],
        16 * 1024,
    );
    let images = refs(&pushed, &stack.source_host());
    let done = sync(&stack, &images, "target");
    assert_eq!(done["status"], "succeeded", "{done:#}");
    for task in tasks(&done) {
        assert_eq!(task["status"], "succeeded", "{task:#}");
        let why = task["unchecked"].as_str().unwrap_or_default();
        assert!(
            why.starts_with("the source digest could not be read") && why.contains("denied"),
            "{task:#}"
        );
    }
    assert!(
        metrics(&stack).contains("digest_check_failures_total{registry=\"source\"} 3"),
        "{}",
        metrics(&stack)
    );
    let logs = stack.logs();
    let warned: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("digest check failed"))
        .collect();
    assert_eq!(
        warned.len(),
        1,
        "one WARN for the registry, not one per image:\n{logs}"
    );
    assert!(warned[0].contains("registry=source"), "{}", warned[0]);

    let succeeded: Vec<Value> = stack
        .job_events(done["id"].as_str().unwrap())
        .into_iter()
        .filter(|e| e["kind"] == "succeeded")
        .collect();
    assert_eq!(succeeded.len(), 3);
    assert!(
        succeeded.iter().all(|e| e["unchecked"].is_string()),
        "{succeeded:#?}"
    );
}

#[test]
fn a_missing_image_fails_at_the_first_attempt() {
    let stack = Stack::start(StackOptions {
        retry_count: 3,
        ..StackOptions::default()
    });
    push_images(&stack.source, &[("present/app", "1")], 4096);
    let images = vec![
        format!("{}/present/app:nope", stack.source_host()),
        format!("{}/absent/app:1", stack.source_host()),
    ];
    let done = sync(&stack, &images, "target");
    assert_eq!(done["status"], "failed", "{done:#}");
    for task in tasks(&done) {
        assert_eq!(task["status"], "failed", "{task:#}");
        assert_eq!(task["attempts"], 1, "not retried: {task:#}");
        assert!(task["error"].as_str().unwrap().contains("not"), "{task:#}");
    }
    assert!(!stack.logs().contains("copy failed, retrying"));
}
