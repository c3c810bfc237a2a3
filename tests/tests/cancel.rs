//! Cancelling a job with the real api, worker, skopeo and registries: queued tasks never start,
//! a running copy is stopped (skopeo gone, its authfile and temporary folder removed), the job
//! ends `cancelled`, nothing stays in the stream or pending, the WebSocket tells it, and a
//! finished job cannot be cancelled.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{nul_separated, pending, push_images, running_skopeo, slow_stack, LAYER};
use docker_sync_tests::{Stack, StackOptions, KEY_PREFIX};
use redis::Commands;
use serde_json::Value;

fn stream_len(stack: &Stack) -> usize {
    stack.redis().xlen(format!("{KEY_PREFIX}:tasks")).unwrap()
}

fn statuses(job: &Value) -> Vec<&str> {
    job["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["status"].as_str().unwrap())
        .collect()
}

fn wait_any_copying(stack: &Stack, job: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (_, j) = stack.get(&format!("/api/jobs/{job}"));
        let copying = j["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["status"] == "running" && t["blobs_done"].as_u64().unwrap_or(0) >= 1);
        if copying {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no copy started: {j:#}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn refs(stack: &Stack, repos: &[(&str, &str)]) -> Vec<String> {
    push_images(&stack.source, repos, LAYER)
        .iter()
        .map(|p| p.reference(&stack.source_host()))
        .collect()
}

#[test]
fn a_running_job_is_cancelled_its_copy_stopped_and_nothing_left_behind() {
    // One copy at a time: the first image copies (slowly), the other two wait for the slot.
    let stack = slow_stack(StackOptions {
        workers: 1,
        concurrency: 1,
        ..StackOptions::default()
    });
    let images = refs(&stack, &[("c/one", "1"), ("c/two", "1"), ("c/three", "1")]);
    let job = stack.submit(&images, "skip")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut socket = stack.events_socket(&job);
    // Whichever image the worker took first: the other two wait for the one copy slot.
    wait_any_copying(&stack, &job);
    let skopeo = running_skopeo(&stack, 0);
    let argv = nul_separated(format!("/proc/{skopeo}/cmdline"));
    let environ = nul_separated(format!("/proc/{skopeo}/environ"));
    let authfile = PathBuf::from(&argv[argv.iter().position(|a| a == "--authfile").unwrap() + 1]);
    let tmpdir = PathBuf::from(
        environ
            .iter()
            .find_map(|e| e.strip_prefix("TMPDIR="))
            .expect("skopeo has a TMPDIR"),
    );
    assert!(authfile.exists() && tmpdir.is_dir());

    let (status, body) = stack.post(&format!("/api/jobs/{job}/cancel"), &Value::Null);
    assert_eq!(status, 202, "{body:#}");
    assert!(
        body["cancel_requested_at_ms"].as_u64().is_some(),
        "{body:#}"
    );
    assert_eq!(body["cancelled_by"], "e2e-admin", "{body:#}");

    let done = stack.wait_job(&job, Duration::from_secs(30));
    assert_eq!(done["status"], "cancelled", "{done:#}\n{}", stack.logs());
    assert_eq!(statuses(&done), ["cancelled"; 3], "{done:#}");
    assert_eq!(done["counts"]["cancelled"], 3, "{done:#}");
    assert!(
        !PathBuf::from(format!("/proc/{skopeo}")).exists(),
        "skopeo {skopeo} still runs"
    );
    assert!(
        !authfile.exists(),
        "{} outlived the copy",
        authfile.display()
    );
    assert!(!tmpdir.exists(), "{} outlived the copy", tmpdir.display());
    assert_eq!(pending(&stack), 0, "entries left pending");
    assert_eq!(stream_len(&stack), 0, "entries left in the stream");
    // A cancelled task is no sync: the statistics count none.
    let stats: std::collections::HashMap<String, String> = stack
        .redis()
        .hgetall(format!("{KEY_PREFIX}:stats"))
        .unwrap();
    assert_eq!(
        stats.get("sync_total").map(String::as_str),
        None,
        "{stats:?}"
    );
    // The copy was stopped, not failed: no retry, no skopeo error.
    assert!(
        !stack.logs().contains("copy failed, retrying"),
        "{}",
        stack.logs()
    );

    // The socket saw the request, each task's cancel and the job's end.
    let mut kinds = Vec::new();
    loop {
        match socket.read() {
            Ok(tungstenite::Message::Text(t)) => {
                let e: Value = serde_json::from_str(&t).unwrap();
                kinds.push(e["kind"].as_str().unwrap().to_owned());
                if e["kind"] == "job_finished" {
                    assert_eq!(e["status"], "cancelled", "{e}");
                    break;
                }
            }
            Ok(_) => {}
            Err(e) => panic!("socket closed before job_finished: {e}; saw {kinds:?}"),
        }
    }
    assert!(kinds.contains(&"cancel_requested".to_owned()), "{kinds:?}");
    assert_eq!(
        kinds.iter().filter(|k| *k == "cancelled").count(),
        3,
        "{kinds:?}"
    );

    let (status, body) = stack.post(&format!("/api/jobs/{job}/cancel"), &Value::Null);
    assert_eq!(status, 409, "{body:#}");
    let error = body["error"].as_str().unwrap();
    assert!(error.contains("already finished (cancelled)"), "{error}");

    // The worker goes on serving: the next job copies.
    let next = refs(&stack, &[("c/four", "1")]);
    let job = stack.submit(&next, "skip");
    let done = stack.wait_job(job["id"].as_str().unwrap(), Duration::from_secs(60));
    assert_eq!(done["status"], "succeeded", "{done:#}");
}

#[test]
fn a_job_cancelled_before_any_worker_read_it_never_runs() {
    let mut stack = Stack::start(StackOptions {
        workers: 0,
        ..StackOptions::default()
    });
    let images = refs(&stack, &[("q/one", "1"), ("q/two", "1")]);
    let job = stack.submit(&images, "skip")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(stream_len(&stack), 2);
    let (status, body) = stack.post(&format!("/api/jobs/{job}/cancel"), &Value::Null);
    assert_eq!(status, 202, "{body:#}");
    // Nothing was running: the job ended with the request.
    assert_eq!(body["status"], "cancelled", "{body:#}");
    assert_eq!(statuses(&body), ["cancelled"; 2]);
    assert_eq!(stream_len(&stack), 0, "the entries are deleted unread");

    // A worker started now finds nothing of it to do.
    stack.start_worker("late");
    let other = refs(&stack, &[("q/three", "1")]);
    let later = stack.submit(&other, "skip");
    let done = stack.wait_job(later["id"].as_str().unwrap(), Duration::from_secs(60));
    assert_eq!(done["status"], "succeeded", "{done:#}");
    assert_eq!(stack.target.manifest_digest("mirror/q/one", "1"), None);
    let log = stack.workers[0].log();
    assert_eq!(log.matches("task started").count(), 1, "{log}");
    assert_eq!(pending(&stack), 0);

    // Who started it: the stack's admin, through its API token.
    assert_eq!(body["trigger"]["kind"], "token", "{body:#}");
    assert_eq!(body["trigger"]["user"], "e2e-admin", "{body:#}");

    // Retry runs the cancelled tasks as a new job, linked both ways.
    let (status, retry) = stack.post(&format!("/api/jobs/{job}/retry"), &Value::Null);
    assert_eq!(status, 202, "{retry:#}");
    assert_eq!(retry["retry_of"], job.as_str(), "{retry:#}");
    assert_eq!(retry["total"], 2, "{retry:#}");
    let retried = retry["id"].as_str().unwrap();
    let done = stack.wait_job(retried, Duration::from_secs(60));
    assert_eq!(done["status"], "succeeded", "{done:#}");
    assert!(stack.target.manifest_digest("mirror/q/one", "1").is_some());
    let (_, old) = stack.get(&format!("/api/jobs/{job}"));
    assert_eq!(old["retries"], serde_json::json!([retried]), "{old:#}");
    // Nothing failed in the retry: nothing to retry there, nor can a running job be retried.
    let (status, body) = stack.post(&format!("/api/jobs/{retried}/retry"), &Value::Null);
    assert_eq!(status, 409, "{body:#}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("no failed or cancelled task"),
        "{body:#}"
    );

    // "Sync again" queues the first job's lines again: both images are there now, so skipped.
    let (status, again) = stack.post(&format!("/api/jobs/{job}/sync-again"), &Value::Null);
    assert_eq!(status, 202, "{again:#}");
    assert_eq!(again["total"], 2, "{again:#}");
    let done = stack.wait_job(again["id"].as_str().unwrap(), Duration::from_secs(60));
    assert_eq!(done["counts"]["skipped"], 2, "{done:#}");
}
