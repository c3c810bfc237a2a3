//! Shared by the end-to-end test files: the image set pushed to the source registry.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use docker_sync_tests::{
    build_image, push_layout, ImageSpec, Registry, Stack, StackOptions, KEY_PREFIX,
};
use redis::Commands;
use serde_json::Value;

/// A source image: its repository path, tag and the digest the source registry reports.
pub struct Pushed {
    pub repo: String,
    pub tag: String,
    pub digest: String,
}

impl Pushed {
    /// How the job refers to it.
    pub fn reference(&self, source_host: &str) -> String {
        format!("{source_host}/{}:{}", self.repo, self.tag)
    }
}

/// Pushes `repos` (path, tag) with small single-platform images sharing a base layer, and a
/// multi-arch index for every path starting with `multi`.
pub fn push_images(source: &Registry, repos: &[(&str, &str)], layer_bytes: usize) -> Vec<Pushed> {
    repos
        .iter()
        .map(|(repo, tag)| {
            let unique = format!("{repo}:{tag}");
            let spec = if repo.starts_with("multi") {
                ImageSpec::multi_arch(
                    "base",
                    &unique,
                    layer_bytes,
                    &[("linux", "amd64"), ("linux", "arm64")],
                )
            } else {
                ImageSpec::single("base", &unique, layer_bytes)
            };
            let image = build_image(&spec, tag);
            let digest = push_layout(source, &image, repo, tag);
            Pushed {
                repo: repo.to_string(),
                tag: tag.to_string(),
                digest,
            }
        })
        .collect()
}

/// The standard set: multi-level paths, a multi-arch index, shared base layers.
pub const EIGHT: [(&str, &str); 9] = [
    ("a/b/c/img", "1"),
    ("a/b/c/img", "2"),
    ("x/y", "1"),
    ("multi/arch", "1"),
    ("team/app", "1.0"),
    ("team/app", "1.1"),
    ("tools/busy", "1"),
    ("deep/er/path/z", "3"),
    ("solo", "latest"),
];

// Copies that take seconds, for tests that act on a worker in the middle of one.

/// About 4 s per image through the proxy: 2 layers of 192 KiB at 96 KiB/s.
pub const LAYER: usize = 192 * 1024;
pub const RATE: usize = 96 * 1024;

pub fn slow_stack(options: StackOptions) -> Stack {
    Stack::start(StackOptions {
        source_rate: Some(RATE),
        ..options
    })
}

/// Waits until the job's task `index` is copying (skopeo has reported a blob).
pub fn wait_copying(stack: &Stack, job: &str, index: usize) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, j) = stack.get(&format!("/api/jobs/{job}"));
        let task = &j["tasks"][index];
        if task["status"] == "running" && task["blobs_done"].as_u64().unwrap_or(0) >= 1 {
            return task.clone();
        }
        assert!(
            Instant::now() < deadline,
            "task never started copying: {j:#}\n{}",
            stack.logs()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn submit_one(stack: &Stack, repo: &str) -> (String, String) {
    let pushed = push_images(&stack.source, &[(repo, "1")], LAYER);
    let job = stack.submit(&[pushed[0].reference(&stack.source_host())], "skip");
    (
        job["id"].as_str().unwrap().to_owned(),
        pushed[0].digest.clone(),
    )
}

pub fn task_hash(stack: &Stack, job: &Value) -> std::collections::HashMap<String, String> {
    let id = job["tasks"][0]["id"].as_str().unwrap();
    stack
        .redis()
        .hgetall(format!("{KEY_PREFIX}:task:{id}"))
        .unwrap()
}

/// The pid of a `skopeo` whose parent is `parent`, scanning /proc.
pub fn skopeo_child(parent: u32) -> Option<u32> {
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // `pid (comm) state ppid ...`: comm may hold spaces, so split after the last ')'.
            let (head, rest) = stat.rsplit_once(')')?;
            let ppid: u32 = rest.split_whitespace().nth(1)?.parse().ok()?;
            (ppid == parent && head.ends_with("(skopeo")).then_some(pid)
        })
}

/// The skopeo the stack's worker `worker` runs, waiting up to 10 s for it.
pub fn running_skopeo(stack: &Stack, worker: usize) -> u32 {
    let parent = stack.workers[worker].pid();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(pid) = skopeo_child(parent) {
            return pid;
        }
        assert!(Instant::now() < deadline, "no skopeo child of {parent}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A `/proc/<pid>/environ` or `cmdline`: NUL-separated strings.
pub fn nul_separated(path: String) -> Vec<String> {
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    bytes
        .split(|b| *b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

/// How many task-stream entries are pending in the workers' group (delivered, not acknowledged).
pub fn pending(stack: &Stack) -> usize {
    let reply: redis::streams::StreamPendingReply = stack
        .redis()
        .xpending(format!("{KEY_PREFIX}:tasks"), "workers")
        .unwrap();
    reply.count()
}
