//! Faults of the parts around the workers, with real processes: Redis killed and restarted from
//! its AOF, the target registry away for 20 s: each job still finishes with every image copied
//! once and nothing left pending. A worker whose disk is full for its authfiles fails the task
//! with an error that says so, and serves the next job once there is room again.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{pending, push_images, slow_stack, wait_copying, LAYER};
use docker_sync_tests::{Stack, StackOptions, KEY_PREFIX};
use redis::Commands;

const REPOS: [(&str, &str); 4] = [
    ("f/one", "1"),
    ("f/two", "1"),
    ("f/three", "1"),
    ("f/four", "1"),
];

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

/// A 256 KiB tmpfs, unmounted when dropped. Mounting needs root, which CI has: a run that cannot
/// mount fails here rather than skip the check.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount() -> SmallDisk {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=256k", "tmpfs"])
            .arg(dir.path())
            .output()
            .expect("cannot run mount(8)");
        assert!(
            out.status.success(),
            "mounting a small tmpfs failed (the test needs root): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        SmallDisk { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file until the disk says it is full.
    fn fill(&self) -> PathBuf {
        use std::io::Write;
        let path = self.path().join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        let chunk = vec![0u8; 4096];
        loop {
            match file.write_all(&chunk).and_then(|_| file.sync_all()) {
                Ok(()) => continue,
                Err(e) if e.raw_os_error() == Some(28) => return path,
                Err(e) => panic!("filling the tmpfs: {e}"),
            }
        }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        // Lazy: the worker may still have the folder open when the test ends.
        let _ = Command::new("umount").arg("-l").arg(self.path()).status();
    }
}

#[test]
fn a_worker_whose_disk_is_full_fails_the_task_clearly_and_serves_the_next_job() {
    let mut stack = Stack::start(StackOptions {
        workers: 0,
        ..StackOptions::default()
    });
    let disk = SmallDisk::mount();
    let work = disk.path().join("work");
    stack.start_worker_with(
        "w-small",
        &[("DOCKER_SYNC_WORK_DIR", work.display().to_string())],
    );
    // The worker clears and creates its folders at start; fill the disk only after that.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !work.join("auth").is_dir() {
        assert!(
            std::time::Instant::now() < deadline,
            "worker never made its folders\n{}",
            stack.logs()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let filler = disk.fill();

    let pushed = push_images(&stack.source, &[("full/one", "1")], LAYER);
    let job = stack.submit(&[pushed[0].reference(&stack.source_host())], "skip");
    let done = stack.wait_job(job["id"].as_str().unwrap(), Duration::from_secs(60));
    assert_eq!(done["status"], "failed", "{done:#}");
    let error = done["tasks"][0]["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("cannot write the authfile") && error.contains("No space left on device"),
        "the task error should say the disk is full: {done:#}"
    );
    // A full disk may clear up, so it is retried like a dropped connection: the stack's
    // `retry_count: 1` makes two attempts, then the task fails with the disk's error.
    assert_eq!(done["tasks"][0]["attempts"], 2, "{done:#}");

    std::fs::remove_file(filler).unwrap();
    let pushed = push_images(&stack.source, &[("full/two", "1")], LAYER);
    let job = stack.submit(&[pushed[0].reference(&stack.source_host())], "skip");
    let done = stack.wait_job(job["id"].as_str().unwrap(), Duration::from_secs(60));
    assert_eq!(done["status"], "succeeded", "{done:#}\n{}", stack.logs());
    assert!(
        stack.workers[0]
            .wait_exit(Duration::from_millis(300))
            .is_none(),
        "the worker should still be running"
    );
    assert_eq!(
        stack.target.manifest_digest("mirror/full/two", "1"),
        Some(pushed[0].digest.clone())
    );
    assert_eq!(pending(&stack), 0, "entries left pending");
}
