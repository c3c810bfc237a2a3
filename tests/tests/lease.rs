//! The lease end to end, with worker processes: one frozen mid-copy (SIGSTOP) loses its task to
//! another and, thawed, is refused; live workers keep theirs past the lease's length; a worker
//! restarted under its name takes its own pending task first.
//!
//! The source registry sits behind a slow proxy so each copy takes seconds.

mod common;

use std::time::{Duration, Instant};

use common::{pending, push_images, slow_stack, submit_one, task_hash, wait_copying, LAYER};
use docker_sync_tests::{Stack, StackOptions, KEY_PREFIX};
use nix::sys::signal::Signal;
use redis::Commands;

fn stats(stack: &Stack) -> std::collections::HashMap<String, String> {
    stack
        .redis()
        .hgetall(format!("{KEY_PREFIX}:stats"))
        .unwrap()
}

/// Waits until `worker`'s log contains `text`.
fn wait_log(stack: &Stack, worker: usize, text: &str, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while !stack.workers[worker].log().contains(text) {
        assert!(
            Instant::now() < deadline,
            "worker {} never logged {text:?}:\n{}",
            stack.workers[worker].name,
            stack.logs()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_worker_frozen_mid_copy_loses_its_task_and_is_refused_when_it_thaws() {
    let stack = slow_stack(StackOptions {
        workers: 2,
        concurrency: 1,
        lease: "1500ms".into(),
        ..StackOptions::default()
    });
    let (job, digest) = submit_one(&stack, "frozen/img");
    let copying = wait_copying(&stack, &job, 0);
    let owner = stack
        .workers
        .iter()
        .position(|w| {
            task_hash(&stack, &serde_json::json!({ "tasks": [copying] }))["worker"] == w.name
        })
        .expect("one of the workers runs the task");
    stack.workers[owner].signal(Signal::SIGSTOP);

    let done = stack.wait_job(&job, Duration::from_secs(60));
    assert_eq!(done["status"], "succeeded", "{done:#}");
    let task = task_hash(&stack, &done);
    assert_eq!(task["deliveries"], "2", "taken over once: {task:?}");
    assert_eq!(task["digest"], digest);

    stack.workers[owner].signal(Signal::SIGCONT);
    wait_log(
        &stack,
        owner,
        "lease lost to another worker",
        Duration::from_secs(20),
    );
    // Whatever the thawed worker had left to write was refused: nothing is counted twice.
    let (_, again) = stack.get(&format!("/api/jobs/{job}"));
    assert_eq!(again["counts"]["succeeded"], 1, "{again:#}");
    assert_eq!(again["status"], "succeeded");
    let job_hash: std::collections::HashMap<String, String> = stack
        .redis()
        .hgetall(format!("{KEY_PREFIX}:job:{job}"))
        .unwrap();
    assert_eq!(job_hash["finished"], "1", "{job_hash:?}");
    assert_eq!(job_hash["succeeded"], "1", "{job_hash:?}");
    assert_eq!(stats(&stack)["sync_total"], "1");
    assert_eq!(pending(&stack), 0);
}

#[test]
fn live_workers_keep_their_tasks_past_a_short_lease() {
    let stack = slow_stack(StackOptions {
        workers: 2,
        concurrency: 1,
        batch_size: 1,
        // Each copy takes about four of these.
        lease: "1s".into(),
        ..StackOptions::default()
    });
    let pushed = push_images(&stack.source, &[("long/a", "1"), ("long/b", "1")], LAYER);
    let images: Vec<String> = pushed
        .iter()
        .map(|p| p.reference(&stack.source_host()))
        .collect();
    let job = stack.submit(&images, "skip");
    let done = stack.wait_job(job["id"].as_str().unwrap(), Duration::from_secs(60));
    assert_eq!(done["status"], "succeeded", "{done:#}");
    let mut conn = stack.redis();
    for task in done["tasks"].as_array().unwrap() {
        let id = task["id"].as_str().unwrap();
        let hash: std::collections::HashMap<String, String> =
            conn.hgetall(format!("{KEY_PREFIX}:task:{id}")).unwrap();
        assert_eq!(
            hash["deliveries"], "1",
            "renewed, never taken over: {hash:?}"
        );
        assert_eq!(hash["attempts"], "1", "{hash:?}");
        let started = task["started_at_ms"].as_u64().unwrap();
        let finished = task["finished_at_ms"].as_u64().unwrap();
        assert!(
            finished - started > 2_000,
            "the copy must outlast the lease for this test to mean anything: {task:#}"
        );
    }
    assert!(!stack.logs().contains("reclaimed tasks whose lease expired"));
}

#[test]
fn a_worker_restarted_under_its_name_takes_its_own_task_first() {
    let mut stack = slow_stack(StackOptions {
        workers: 1,
        concurrency: 1,
        // Far longer than the test: only the restarted owner can take the task.
        lease: "10m".into(),
        ..StackOptions::default()
    });
    let (job, _) = submit_one(&stack, "restarted/img");
    wait_copying(&stack, &job, 0);
    let name = stack.workers[0].name.clone();
    stack.workers[0].signal(Signal::SIGKILL);
    stack.workers[0]
        .wait_exit(Duration::from_secs(5))
        .expect("SIGKILL ends it");
    stack.start_worker(&name);

    let done = stack.wait_job(&job, Duration::from_secs(60));
    assert_eq!(done["status"], "succeeded", "{done:#}");
    let task = task_hash(&stack, &done);
    assert_eq!(task["deliveries"], "2", "{task:?}");
    wait_log(
        &stack,
        1,
        "resuming tasks this consumer held before",
        Duration::from_secs(1),
    );
    assert_eq!(pending(&stack), 0);
}
