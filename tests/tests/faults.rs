//! Faults of the parts around the workers, with real processes: Redis killed and restarted from
//! its AOF, the target registry away for 20 s. Each job still finishes with every image copied
//! once and nothing left pending.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{push_images, slow_stack, wait_copying, LAYER};
use docker_sync_tests::{Stack, StackOptions, KEY_PREFIX};
use redis::Commands;

const REPOS: [(&str, &str); 4] = [
    ("f/one", "1"),
    ("f/two", "1"),
    ("f/three", "1"),
    ("f/four", "1"),
];

fn pending(stack: &Stack) -> usize {
    let reply: redis::streams::StreamPendingReply = stack
        .redis()
        .xpending(format!("{KEY_PREFIX}:tasks"), "workers")
        .unwrap();
    reply.count()
}

fn hash(stack: &Stack, key: &str) -> HashMap<String, String> {
    stack
        .redis()
        .hgetall(format!("{KEY_PREFIX}:{key}"))
        .unwrap()
}

/// Submits REPOS, waits until a copy runs, does `fault`, and checks the job's end: succeeded,
/// each target digest its source's, counts that add up to one per image, nothing pending.
fn survives(stack: &mut Stack, fault: impl FnOnce(&mut Stack)) {
    let pushed = push_images(&stack.source, &REPOS, LAYER);
    let refs: Vec<String> = pushed
        .iter()
        .map(|p| p.reference(&stack.source_host()))
        .collect();
    let job = stack.submit(&refs, "skip")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    wait_copying(stack, &job, 0);
    fault(stack);

    let done = stack.wait_job(&job, Duration::from_secs(240));
    assert_eq!(done["status"], "succeeded", "{done:#}\n{}", stack.logs());
    for p in &pushed {
        assert_eq!(
            stack
                .target
                .manifest_digest(&format!("mirror/{}", p.repo), &p.tag),
            Some(p.digest.clone()),
            "{}",
            p.repo
        );
    }
    let total = REPOS.len().to_string();
    let counts = hash(stack, &format!("job:{job}"));
    assert_eq!(counts["finished"], total, "{counts:?}");
    let ok: u64 = ["succeeded", "skipped"]
        .iter()
        .map(|k| counts.get(*k).map_or(0, |v| v.parse::<u64>().unwrap()))
        .sum();
    assert_eq!(ok.to_string(), total, "{counts:?}");
    assert_eq!(hash(stack, "stats")["sync_total"], total);
    assert_eq!(pending(stack), 0, "entries left pending");
}

#[test]
fn a_job_survives_redis_killed_and_restarted_from_its_aof() {
    let mut stack = slow_stack(StackOptions {
        redis_aof: true,
        retry_count: 3,
        ..StackOptions::default()
    });
    survives(&mut stack, |stack| {
        // appendfsync everysec may lose the last second of writes: by now the job and its
        // tasks are over a second old (a copy is running), so only progress may be lost.
        std::thread::sleep(Duration::from_millis(1500));
        stack.redis.kill_and_restart_keeping_data();
    });
}

#[test]
fn a_job_survives_its_target_registry_away_for_20_seconds() {
    // Backoff doubles from 100 ms: ten retries wait 0.1 × (2^10 − 1) ≈ 102 s in all, well over
    // the 20 s outage even if skopeo's own attempts fail at once (connection refused).
    let mut stack = slow_stack(StackOptions {
        retry_count: 10,
        ..StackOptions::default()
    });
    survives(&mut stack, |stack| {
        stack.target.halt();
        std::thread::sleep(Duration::from_secs(20));
        stack.target.resume();
    });
}
