//! Workers that die or are stopped in the middle of a copy lose nothing, and a browser that
//! connects late sees every event once, in order.
//!
//! The source registry sits behind a slow proxy so each copy takes seconds.

mod common;

use std::time::{Duration, Instant};

use common::{push_images, slow_stack, submit_one, task_hash, wait_copying, LAYER};
use docker_sync_tests::{Stack, StackOptions, KEY_PREFIX, TARGET_PASSWORD};
use nix::sys::signal::Signal;
use redis::Commands;
use serde_json::Value;

#[test]
fn a_worker_killed_mid_copy_has_its_task_finished_by_another() {
    let mut stack = slow_stack(StackOptions {
        workers: 1,
        lease: "1500ms".into(),
        ..StackOptions::default()
    });
    let (job, digest) = submit_one(&stack, "killed/img");
    wait_copying(&stack, &job, 0);
    stack.workers[0].signal(Signal::SIGKILL);
    stack.workers[0]
        .wait_exit(Duration::from_secs(5))
        .expect("SIGKILL ends it");
    stack.start_worker("w2");

    let done = stack.wait_job(&job, Duration::from_secs(60));
    assert_eq!(done["status"], "succeeded", "{done:#}");
    assert_eq!(
        stack
            .target
            .manifest_digest("mirror/killed/img", "1")
            .as_deref(),
        Some(digest.as_str())
    );
    let task = task_hash(&stack, &done);
    assert_eq!(task["deliveries"], "2", "reclaimed once: {task:?}");
    assert_eq!(task["attempts"], "2", "{task:?}");
    assert!(stack.logs().contains("reclaimed tasks whose lease expired"));
}

#[test]
fn a_task_that_keeps_killing_workers_goes_to_the_dead_letters() {
    let mut stack = slow_stack(StackOptions {
        workers: 1,
        lease: "1500ms".into(),
        max_deliveries: 1,
        ..StackOptions::default()
    });
    let (job, _) = submit_one(&stack, "poison/img");
    wait_copying(&stack, &job, 0);
    stack.workers[0].signal(Signal::SIGKILL);
    stack.workers[0]
        .wait_exit(Duration::from_secs(5))
        .expect("SIGKILL ends it");
    stack.start_worker("w2");

    let done = stack.wait_job(&job, Duration::from_secs(60));
    assert_eq!(done["status"], "failed", "{done:#}");
    assert!(
        done["tasks"][0]["error"]
            .as_str()
            .unwrap()
            .contains("delivered 2 times"),
        "{done:#}"
    );
    let mut conn = stack.redis();
    let dead: redis::streams::StreamRangeReply =
        conn.xrange_all(format!("{KEY_PREFIX}:tasks:dead")).unwrap();
    assert_eq!(dead.ids.len(), 1);
    let entry = &dead.ids[0];
    let field = |k: &str| entry.get::<String>(k).unwrap_or_default();
    assert_eq!(field("registry"), "target");
    assert_eq!(field("deliveries"), "2");
    assert!(field("source").ends_with("/poison/img:1"));
    assert!(!format!("{:?}", entry.map).contains(TARGET_PASSWORD));
    let left: u64 = conn.xlen(format!("{KEY_PREFIX}:tasks")).unwrap();
    assert_eq!(left, 0, "a dead-lettered entry leaves the task stream");
}

#[test]
fn sigterm_lets_the_running_copy_finish_within_the_grace() {
    let mut stack = slow_stack(StackOptions {
        workers: 1,
        shutdown_grace: "60s".into(),
        ..StackOptions::default()
    });
    let (job, digest) = submit_one(&stack, "graceful/img");
    wait_copying(&stack, &job, 0);
    stack.workers[0].signal(Signal::SIGTERM);
    let status = stack.workers[0]
        .wait_exit(Duration::from_secs(60))
        .expect("exits after the copy");
    assert!(status.success(), "{status}");

    let done = stack.wait_job(&job, Duration::from_secs(5));
    assert_eq!(done["status"], "succeeded", "{done:#}");
    assert_eq!(
        stack
            .target
            .manifest_digest("mirror/graceful/img", "1")
            .as_deref(),
        Some(digest.as_str())
    );
    assert_eq!(task_hash(&stack, &done)["deliveries"], "1");
}

#[test]
fn sigterm_past_the_grace_hands_the_task_back_and_another_worker_takes_it_at_once() {
    let mut stack = slow_stack(StackOptions {
        workers: 1,
        shutdown_grace: "300ms".into(),
        // Far longer than the test waits: only the hand-back can explain a quick pickup.
        lease: "120s".into(),
        ..StackOptions::default()
    });
    let (job, digest) = submit_one(&stack, "handback/img");
    wait_copying(&stack, &job, 0);
    stack.workers[0].signal(Signal::SIGTERM);
    let status = stack.workers[0]
        .wait_exit(Duration::from_secs(10))
        .expect("exits after the grace");
    assert!(status.success(), "{status}");
    let (_, j) = stack.get(&format!("/api/jobs/{job}"));
    assert_eq!(
        j["tasks"][0]["status"],
        "queued",
        "handed back: {j:#}\n{}",
        stack.logs()
    );

    stack.start_worker("w2");
    let done = stack.wait_job(&job, Duration::from_secs(40));
    assert_eq!(done["status"], "succeeded", "{done:#}");
    assert_eq!(
        stack
            .target
            .manifest_digest("mirror/handback/img", "1")
            .as_deref(),
        Some(digest.as_str())
    );
    let task = task_hash(&stack, &done);
    assert_eq!(task["attempts"], "2", "{task:?}");
    assert_eq!(
        task["deliveries"], "1",
        "a hand-back is not a failed delivery: {task:?}"
    );
}

#[test]
fn a_late_websocket_receives_every_event_once_in_order() {
    let stack = slow_stack(StackOptions {
        workers: 1,
        concurrency: 1,
        ..StackOptions::default()
    });
    let pushed = push_images(
        &stack.source,
        &[("ws/one", "1"), ("ws/two", "1")],
        LAYER / 2,
    );
    let images: Vec<String> = pushed
        .iter()
        .map(|p| p.reference(&stack.source_host()))
        .collect();
    let job = stack.submit(&images, "skip");
    let job = job["id"].as_str().unwrap().to_owned();
    wait_copying(&stack, &job, 0);

    let mut socket = stack.events_socket(&job);
    let mut received: Vec<Value> = Vec::new();
    loop {
        match socket.read() {
            Ok(tungstenite::Message::Text(t)) => received.push(serde_json::from_str(&t).unwrap()),
            Ok(tungstenite::Message::Close(_)) | Err(_) => break,
            Ok(_) => {}
        }
    }
    let ids: Vec<String> = received
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    let stored: redis::streams::StreamRangeReply = stack
        .redis()
        .xrange_all(format!("{KEY_PREFIX}:job:{job}:events"))
        .unwrap();
    let stored: Vec<String> = stored.ids.into_iter().map(|e| e.id).collect();
    assert_eq!(ids, stored, "every stored event, in stream order, once");
    assert_eq!(
        received.first().unwrap()["kind"],
        "queued",
        "history starts at the beginning"
    );
    assert_eq!(received.last().unwrap()["kind"], "job_finished");
    assert_eq!(received.last().unwrap()["status"], "succeeded");
    for kind in ["started", "progress", "succeeded"] {
        assert!(
            received.iter().any(|e| e["kind"] == kind),
            "no {kind} event"
        );
    }
}

#[test]
fn while_redis_is_down_health_says_so_and_the_workers_come_back_with_it() {
    let mut stack = Stack::start(StackOptions::default());
    // As a probe asks: no credentials.
    let health = |stack: &Stack| match ureq::get(&format!("{}/health", stack.api_url())).call() {
        Ok(r) => r.status(),
        Err(ureq::Error::Status(code, _)) => code,
        Err(e) => panic!("/health: {e}"),
    };
    let wait_health = |stack: &Stack, want: u16| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while health(stack) != want {
            assert!(Instant::now() < deadline, "/health never answered {want}");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    assert_eq!(health(&stack), 200);

    // Redis goes away without saving: it comes back empty, without the workers' group.
    let _: redis::RedisResult<()> = redis::cmd("SHUTDOWN")
        .arg("NOSAVE")
        .query(&mut stack.redis());
    wait_health(&stack, 503);
    // Long enough for every worker to fail a few reads.
    std::thread::sleep(Duration::from_secs(2));
    stack.redis.restart();
    wait_health(&stack, 200);
    stack.renew_token();

    let pushed = push_images(&stack.source, &[("after/outage", "1")], 4096);
    let job = stack.submit(&[pushed[0].reference(&stack.source_host())], "skip");
    let done = stack.wait_job(job["id"].as_str().unwrap(), Duration::from_secs(60));
    assert_eq!(done["status"], "succeeded", "{done:#}");
    assert_eq!(
        done["tasks"][0]["digest"],
        pushed[0].digest.as_str(),
        "{done:#}"
    );
}
