//! Scheduled rules and webhooks with the real binaries: three api processes on one Redis fire a
//! schedule once, a restart after every replica was down catches up (or skips) the missed fires
//! as each rule says, and a job that ended while no api was up is still announced. A real
//! worker copies the rules' images into the target registry.
//!
//! Waiting for real fires would make this test minutes long. The rules fire hourly at the
//! current minute, so no real fire comes while it runs, and the test moves a rule's cursor back
//! in `e2e:schedules` (the documented key an operator sees in redis-cli): to just before this
//! minute's fire for a fire that is due now, to two hours ago for "every replica was down for
//! two hours". What happens then is the scheduler's own work against the wall clock.

mod common;

use std::time::{Duration, Instant};

use common::push_images;
use docker_sync_tests::{Stack, StackOptions, WebhookReceiver, KEY_PREFIX};
use redis::Commands;
use serde_json::{json, Value};

const MINUTE: u64 = 60_000;

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn schedules() -> String {
    format!("{KEY_PREFIX}:schedules")
}

fn runs(stack: &Stack, rule: &str) -> Vec<Value> {
    let (status, body) = stack.get(&format!("/api/rules/{rule}"));
    assert_eq!(status, 200, "{body}");
    let mut runs = body["runs"].as_array().unwrap().clone();
    runs.reverse();
    runs
}

fn wait_runs(stack: &Stack, rule: &str, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = runs(stack, rule);
        if r.len() >= n {
            return r;
        }
        assert!(
            Instant::now() < deadline,
            "rule {rule} has {} runs, not {n}: {r:#?}",
            r.len()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until every replica has seen the rule (its cursor exists), then sets the cursor.
fn set_cursor(stack: &Stack, rule: &str, at_ms: u64) {
    let mut redis = stack.redis();
    let deadline = Instant::now() + Duration::from_secs(10);
    while redis
        .hget::<_, _, Option<u64>>(schedules(), rule)
        .unwrap()
        .is_none()
    {
        assert!(
            Instant::now() < deadline,
            "no replica started the schedule of {rule}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let _: () = redis.hset(schedules(), rule, at_ms).unwrap();
}

fn job_status_in_redis(stack: &Stack, job: &str) -> Option<String> {
    stack
        .redis()
        .hget(format!("{KEY_PREFIX}:job:{job}"), "status")
        .unwrap()
}

#[test]
fn three_api_processes_fire_once_and_a_restart_catches_up_and_announces() {
    let mut stack = Stack::start(StackOptions {
        workers: 1,
        ..StackOptions::default()
    });
    let pushed = push_images(
        &stack.source,
        &[("team/app", "1.0"), ("team/cli", "2.0")],
        16 * 1024,
    );
    stack.start_api_replica();
    stack.start_api_replica();
    let receiver = WebhookReceiver::start(&[]);
    let (status, hook) = stack.post(
        "/api/webhooks",
        &json!({ "name": "ops", "format": "generic", "url": receiver.url(), "events": ["job.finished", "rule.skipped"], "secret": "e2e-hook-secret" }),
    );
    assert_eq!(status, 201, "{hook}");
    let source = stack.source_host();
    // This minute's fire must still be on time (within a minute) when the cursor is moved.
    if now_ms() % MINUTE > 45_000 {
        std::thread::sleep(Duration::from_millis(MINUTE - now_ms() % MINUTE + 500));
    }
    let this_minute = now_ms() / MINUTE * MINUTE;
    let cron = format!("{} * * * *", this_minute / MINUTE % 60);
    for (name, image, missed) in [
        ("mirror", &pushed[0], "run"),
        ("paused", &pushed[1], "skip"),
    ] {
        let (status, body) = stack.post(
            "/api/rules",
            &json!({ "name": name, "images": image.reference(&source), "target": "target", "replace_level": "1", "schedule": { "cron": cron, "missed": missed } }),
        );
        assert_eq!(status, 201, "{body}");
    }

    // One fire due now, seen by three schedulers: one job.
    set_cursor(&stack, "mirror", this_minute - 1_000);
    let first = wait_runs(&stack, "mirror", 1);
    std::thread::sleep(Duration::from_secs(3)); // every replica has ticked again
    let r = runs(&stack, "mirror");
    assert_eq!(r.len(), 1, "one run across three replicas: {r:#?}");
    let job = first[0]["job"].as_str().unwrap().to_owned();
    assert_eq!(first[0]["trigger"], "schedule");
    let done = stack.wait_job(&job, Duration::from_secs(60));
    assert_eq!(done["status"], "succeeded", "{done:#}");
    assert_eq!(
        done["trigger"],
        json!({ "kind": "schedule", "rule": "mirror" })
    );
    assert_eq!(
        stack.target.manifest_digest("mirror/app", "1.0").as_deref(),
        Some(pushed[0].digest.as_str())
    );
    let queued = stack.logs().matches("rule run queued").count();
    assert_eq!(queued, 1, "the api logs queued it once");
    receiver.wait_for("the scheduled job's end", Duration::from_secs(15), |r| {
        r.body.contains(&job)
    });

    // "Run now", then every api goes down; the worker finishes the job meanwhile.
    let (status, manual) = stack.post("/api/rules/paused/run", &Value::Null);
    assert_eq!(status, 202, "{manual}");
    let manual = manual["id"].as_str().unwrap().to_owned();
    stack.kill_apis();
    let deadline = Instant::now() + Duration::from_secs(60);
    while job_status_in_redis(&stack, &manual).as_deref() != Some("succeeded") {
        assert!(
            Instant::now() < deadline,
            "the run-now job did not finish while the apis were down"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Down for two hours, as far as the schedules can tell: two fires missed.
    let two_hours_ago = now_ms() - 120 * MINUTE;
    set_cursor(&stack, "mirror", two_hours_ago);
    set_cursor(&stack, "paused", two_hours_ago);
    stack.restart_api();

    let r = wait_runs(&stack, "mirror", 2);
    assert_eq!(
        r[1]["missed"], 2,
        "the catch-up stands for both missed fires: {r:#?}"
    );
    let again = r[1]["job"].as_str().unwrap();
    assert_eq!(
        stack.wait_job(again, Duration::from_secs(60))["status"],
        "succeeded"
    );
    let p = wait_runs(&stack, "paused", 2);
    assert_eq!(p[0]["job"], manual.as_str());
    assert_eq!(p[0]["trigger"], "run_now");
    assert_eq!(p[1]["skipped"], "missed", "{p:#?}");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(runs(&stack, "mirror").len(), 2, "no more than one catch-up");

    // Announced: the job that ended while no api was up, and the skipped fire.
    let ended = receiver.wait_for(
        "the job that ended during the outage",
        Duration::from_secs(15),
        |r| r.body.contains(&manual),
    );
    assert_eq!(ended.headers["x-docker-sync-event"], "job.finished");
    let skipped = receiver.wait_for("the skipped fire", Duration::from_secs(15), |r| {
        r.headers.get("x-docker-sync-event").map(String::as_str) == Some("rule.skipped")
    });
    let body: Value = serde_json::from_str(&skipped.body).unwrap();
    assert_eq!(body["rule"]["name"], "paused");
    assert_eq!(body["rule"]["skipped"], "missed");
    receiver.wait_for("the catch-up job's end", Duration::from_secs(15), |r| {
        r.body.contains(again)
    });
    let jobs_announced: Vec<String> = receiver
        .requests()
        .iter()
        .filter(|r| r.headers["x-docker-sync-event"] == "job.finished")
        .map(|r| {
            serde_json::from_str::<Value>(&r.body).unwrap()["job"]["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let mut unique = jobs_announced.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 3, "three jobs ended: {jobs_announced:?}");
    stack.assert_secret_nowhere("e2e-hook-secret", "the webhook secret");
}
