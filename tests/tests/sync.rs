//! A job from the api through the stream to skopeo workers and into the target registry.

mod common;

use std::time::Duration;

use common::{push_images, EIGHT};
use docker_sync_tests::{Stack, StackOptions, KEY_PREFIX, TARGET_PASSWORD};
use redis::Commands;
use serde_json::Value;

fn tasks(job: &Value) -> &Vec<Value> {
    job["tasks"].as_array().expect("tasks array")
}

#[test]
fn a_job_copies_every_image_and_an_unchanged_resync_skips_them_all() {
    let stack = Stack::start(StackOptions::default());
    let pushed = push_images(&stack.source, &EIGHT, 64 * 1024);
    let mut images: Vec<String> = pushed
        .iter()
        .map(|p| p.reference(&stack.source_host()))
        .collect();
    // Pinned by digest: the copy must take exactly that manifest.
    images.push(format!(
        "{}/x/y:1@{}",
        stack.source.host(),
        pushed[2].digest
    ));

    let job = stack.submit(&images, "skip");
    assert_eq!(tasks(&job).len(), 10);
    assert_eq!(
        tasks(&job)[0]["target"],
        format!("{}/mirror/a/b/c/img:1", stack.target.host())
    );
    let done = stack.wait_job(job["id"].as_str().unwrap(), Duration::from_secs(120));
    assert_eq!(done["status"], "succeeded", "{done:#}");
    for (p, task) in pushed.iter().zip(tasks(&done)) {
        assert_eq!(task["status"], "succeeded", "{task:#}");
        let target_repo = format!("mirror/{}", p.repo);
        assert_eq!(
            stack
                .target
                .manifest_digest(&target_repo, &p.tag)
                .as_deref(),
            Some(p.digest.as_str()),
            "{target_repo}:{} differs from its source",
            p.tag
        );
        assert_eq!(task["digest"].as_str(), Some(p.digest.as_str()));
    }
    // The pinned one ends up the same image (it is also tag 1 of x/y, copied just before).
    let pinned = &tasks(&done)[9];
    assert!(
        matches!(pinned["status"].as_str(), Some("succeeded" | "skipped")),
        "{pinned:#}"
    );

    // Same list again: nothing changed, so nothing is copied.
    let again = stack.submit(&images, "skip");
    let done = stack.wait_job(again["id"].as_str().unwrap(), Duration::from_secs(60));
    assert_eq!(done["status"], "succeeded");
    for task in tasks(&done) {
        assert_eq!(task["status"], "skipped", "{task:#}");
    }
    assert_no_secret_anywhere(&stack);
}

/// Scans every key of the stack's Redis and every log line for the target password.
fn assert_no_secret_anywhere(stack: &Stack) {
    stack.assert_secret_nowhere(TARGET_PASSWORD, "registry password");
    stack.assert_secret_nowhere(stack.token(), "API token");

    // A failed login is logged, without the password tried; the admin's own never shows.
    let wrong = "Wrong-Pa55-never-logged";
    let resp = ureq::post(&format!("{}/api/auth/login", stack.api_url()))
        .set("Origin", &stack.api_url())
        .send_json(
            serde_json::json!({ "username": docker_sync_tests::ADMIN_USER, "password": wrong }),
        );
    assert!(matches!(resp, Err(ureq::Error::Status(401, _))));
    std::thread::sleep(std::time::Duration::from_millis(200));
    let logs = stack.logs();
    assert!(logs.contains("login failed"));
    for secret in [wrong, docker_sync_tests::ADMIN_PASSWORD] {
        assert!(!logs.contains(secret), "a log line holds a password");
    }
}

#[test]
fn replacement_levels_shape_the_target_paths() {
    let stack = Stack::start(StackOptions {
        workers: 1,
        ..StackOptions::default()
    });
    let pushed = push_images(
        &stack.source,
        &[("a/b/c/img", "1"), ("x/y", "2")],
        16 * 1024,
    );
    let images: Vec<String> = pushed
        .iter()
        .map(|p| p.reference(&stack.source_host()))
        .collect();
    for (level, expect) in [("all", ["img", "y"]), ("2", ["c/img", "y"])] {
        let job = stack.submit(&images, level);
        let done = stack.wait_job(job["id"].as_str().unwrap(), Duration::from_secs(60));
        assert_eq!(done["status"], "succeeded", "{done:#}");
        for (p, path) in pushed.iter().zip(expect) {
            let repo = format!("mirror/{path}");
            assert_eq!(
                stack.target.manifest_digest(&repo, &p.tag).as_deref(),
                Some(p.digest.as_str()),
                "level {level}: {repo}"
            );
        }
    }
}

#[test]
fn a_list_with_bad_lines_is_refused_whole_with_line_numbers() {
    let stack = Stack::start(StackOptions {
        workers: 0,
        ..StackOptions::default()
    });
    let body = serde_json::json!({
        "images": "nginx:1.25\n\n# a comment\nNginx:1\nok/img:1\nbad tag!\nimg@sha256:1234\n",
        "target": "target",
        "replace_level": "skip",
    });
    let (status, answer) = stack.post("/api/jobs", &body);
    assert_eq!(status, 400, "{answer}");
    let lines: Vec<u64> = answer["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [4, 6, 7], "{answer:#}");
    assert!(answer["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("lowercase"));

    let mut conn = stack.redis();
    let queued: u64 = conn.xlen(format!("{KEY_PREFIX}:tasks")).unwrap();
    assert_eq!(queued, 0, "nothing may be queued from a refused list");
    let jobs: u64 = conn.zcard(format!("{KEY_PREFIX}:jobs")).unwrap();
    assert_eq!(jobs, 0);

    for (body, needle) in [
        (
            serde_json::json!({"images": "nginx", "target": "nope"}),
            "unknown target registry",
        ),
        (
            serde_json::json!({"images": "nginx", "target": "target", "replace_level": "7x"}),
            "replacement level",
        ),
        (
            serde_json::json!({"images": "nginx:debug", "target": "target"}),
            "dropped by the filters",
        ),
        (
            serde_json::json!({"images": "", "target": "target"}),
            "empty",
        ),
    ] {
        let (status, answer) = stack.post("/api/jobs", &body);
        assert!(status == 400 || status == 422, "{status} {answer}");
        assert!(
            answer["error"].as_str().unwrap().contains(needle),
            "{answer}"
        );
    }
}

#[test]
fn a_missing_source_image_fails_at_once_an_unreachable_one_after_its_retries() {
    let stack = Stack::start(StackOptions {
        workers: 1,
        retry_count: 2,
        ..StackOptions::default()
    });
    let pushed = push_images(&stack.source, &[("ok/img", "1")], 16 * 1024);
    let closed = docker_sync_tests::free_port();
    let images = vec![
        pushed[0].reference(&stack.source_host()),
        format!("{}/ok/img:does-not-exist", stack.source.host()),
        // Nothing listens there: a transient failure, as far as anyone can tell.
        format!("127.0.0.1:{closed}/gone/img:1"),
    ];
    let job = stack.submit(&images, "skip");
    let done = stack.wait_job(job["id"].as_str().unwrap(), Duration::from_secs(60));
    assert_eq!(done["status"], "partial", "{done:#}");
    let unreachable = &tasks(&done)[2];
    assert_eq!(unreachable["status"], "failed");
    assert_eq!(
        unreachable["attempts"], 3,
        "one attempt and two retries: {unreachable:#}"
    );
    // Each attempt was announced with the number the task records, live as after a reload.
    let task_id = unreachable["id"].as_str().unwrap();
    let started: Vec<u64> = stack
        .job_events(done["id"].as_str().unwrap())
        .iter()
        .filter(|e| e["kind"] == "started" && e["task"] == task_id)
        .map(|e| e["attempt"].as_u64().unwrap())
        .collect();
    assert_eq!(started, [1, 2, 3]);
    let failed = &tasks(&done)[1];
    assert_eq!(failed["status"], "failed");
    assert_eq!(
        failed["attempts"], 1,
        "a missing image is not retried: {failed:#}"
    );
    assert!(
        failed["error"]
            .as_str()
            .unwrap()
            .contains("manifest unknown"),
        "{failed:#}"
    );
    assert!(
        failed["output"].as_str().unwrap().contains("level=fatal"),
        "{failed:#}"
    );

    let (_, metrics) = stack.get("/metrics");
    let metrics = metrics.as_str().unwrap().to_owned();
    assert!(metrics.contains("sync_total 3"), "{metrics}");
    assert!(metrics.contains("sync_failed 2"), "{metrics}");
    assert!(metrics.contains("sync_duration_count 3"), "{metrics}");
}

#[test]
fn a_bad_config_stops_both_binaries_with_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("registries.yaml"),
        "registries:\n  target:\n    url: \"http://127.0.0.1:1\"\n    pasword: oops\n",
    )
    .unwrap();
    let bins = docker_sync_tests::binaries();
    for bin in [&bins.api, &bins.worker] {
        let out = std::process::Command::new(bin)
            .env("DOCKER_SYNC_CONFIG", dir.path())
            .env("REDIS_URL", "redis://127.0.0.1:1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("registries.yaml:4:"), "{stderr}");
        assert!(stderr.contains("registries.target"), "{stderr}");
        assert!(stderr.contains("unknown field `pasword`"), "{stderr}");
    }
}
