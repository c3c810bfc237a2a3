//! What the operator's console reads, from a real job through real workers: a job's tasks paged
//! and filtered, each task's log, the job without its tasks, a WebSocket that starts from a
//! snapshot and shares one feed, the jobs' search, and the statistics.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::push_images;
use docker_sync_tests::{Stack, StackOptions};
use serde_json::Value;

fn list(v: &Value) -> &Vec<Value> {
    v.as_array().unwrap_or_else(|| panic!("not a list: {v}"))
}

fn log_text(stack: &Stack, job: &str, task: &str) -> String {
    let (status, lines) = stack.get(&format!("/api/jobs/{job}/tasks/{task}/log"));
    assert_eq!(status, 200, "{lines}");
    list(&lines)
        .iter()
        .map(|l| {
            assert!(l["at_ms"].as_u64().unwrap() > 0, "{l}");
            l["line"].as_str().unwrap().to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_finished_job_pages_its_tasks_shows_each_log_and_counts_in_the_statistics() {
    let stack = Stack::start(StackOptions {
        workers: 1,
        retry_count: 0,
        ..StackOptions::default()
    });
    let pushed = push_images(
        &stack.source,
        &[("ok/a", "1"), ("ok/b", "1"), ("ok/c", "1")],
        16 * 1024,
    );
    let mut images: Vec<String> = pushed
        .iter()
        .map(|p| p.reference(&stack.source_host()))
        .collect();
    images.push(format!("{}/ok/a:does-not-exist", stack.source.host()));
    let job = stack.submit(&images, "skip");
    let id = job["id"].as_str().unwrap().to_owned();
    let done = stack.wait_job(&id, Duration::from_secs(120));
    assert_eq!(done["status"], "partial", "{done:#}");

    // Pages in submission order, the cursor handing on.
    let (status, first, next) = stack.get_page(&format!("/api/jobs/{id}/tasks?limit=2"));
    assert_eq!(status, 200, "{first}");
    assert_eq!(list(&first).len(), 2);
    assert_eq!(first[0]["index"], 0);
    let next = next.expect("a cursor after the first page");
    let (_, second, after) = stack.get_page(&format!("/api/jobs/{id}/tasks?limit=2&cursor={next}"));
    assert_eq!(list(&second).len(), 2);
    assert_eq!(second[1]["index"], 3);
    assert_eq!(after, None, "the last page has no cursor");
    // Filtered by status and searched by image.
    let (_, failed) = stack.get(&format!("/api/jobs/{id}/tasks?status=failed"));
    assert_eq!(list(&failed).len(), 1);
    assert!(failed[0]["source"]
        .as_str()
        .unwrap()
        .ends_with("does-not-exist"));
    let (_, b) = stack.get(&format!("/api/jobs/{id}/tasks?q=OK/B"));
    assert_eq!(list(&b).len(), 1, "{b}");
    let (_, none) = stack.get(&format!("/api/jobs/{id}/tasks?status=running,queued"));
    assert!(list(&none).is_empty());
    let (status, bad) = stack.get(&format!("/api/jobs/{id}/tasks?status=done"));
    assert_eq!(status, 400, "{bad}");

    // Each task's log, a successful one's too.
    let ok = &done["tasks"][0];
    let log = log_text(&stack, &id, ok["id"].as_str().unwrap());
    for expected in [
        "attempt 1 on worker",
        "digest check: source sha256:",
        "skopeo: Copying blob",
        "skopeo: Writing manifest",
        "succeeded after",
    ] {
        assert!(log.contains(expected), "`{expected}` in:\n{log}");
    }
    let missing = &done["tasks"][3];
    let log = log_text(&stack, &id, missing["id"].as_str().unwrap());
    assert!(log.contains("failed after"), "{log}");
    assert!(log.contains("manifest unknown"), "{log}");
    let (status, _) = stack.get(&format!(
        "/api/jobs/00000000-0000-4000-8000-000000000000/tasks/{}/log",
        ok["id"].as_str().unwrap()
    ));
    assert_eq!(status, 404, "a task is read through its own job");

    // The job without its tasks still counts them.
    let (_, summary) = stack.get(&format!("/api/jobs/{id}?tasks=false"));
    assert!(summary.get("tasks").is_none(), "{summary}");
    assert_eq!(summary["counts"]["succeeded"], 3, "{summary}");
    assert_eq!(summary["counts"]["failed"], 1, "{summary}");
    assert_eq!(summary["status"], "partial");

    // A snapshot of a finished job, then the close.
    let mut ws = stack.events_socket_with(&id, "?snapshot=true");
    let first = ws.read().expect("the snapshot");
    let snap: Value = serde_json::from_str(first.to_text().unwrap()).unwrap();
    assert_eq!(snap["kind"], "snapshot", "{snap}");
    assert_eq!(snap["job"]["counts"]["succeeded"], 3, "{snap}");
    assert!(matches!(ws.read(), Ok(tungstenite::Message::Close(_))));

    // The jobs' search finds it by status and image.
    let (_, partial) = stack.get("/api/jobs?status=partial");
    assert_eq!(list(&partial)[0]["id"], id.as_str());
    let (_, by_image) = stack.get("/api/jobs?q=ok/c:1");
    assert_eq!(list(&by_image).len(), 1);

    // The statistics counted every image and the job, in total and for the registry.
    let (status, stats) = stack.get("/api/stats");
    assert_eq!(status, 200, "{stats}");
    let totals = &stats["totals"];
    assert_eq!(totals["copied"], 3, "{stats:#}");
    assert_eq!(totals["failed"], 1, "{stats:#}");
    assert_eq!(totals["jobs"]["partial"], 1, "{stats:#}");
    assert_eq!(totals["success_rate"], 0.75, "{stats:#}");
    assert!(totals["duration_p50_ms"].as_u64().is_some(), "{stats:#}");
    assert_eq!(
        list(&stats["series"]).len(),
        24,
        "a day of hours by default"
    );
    assert_eq!(stats["registries"][0]["name"], "target", "{stats:#}");
    assert_eq!(stats["registries"][0]["copied"], 3);
    assert_eq!(
        stats["top_reasons"][0]["name"], "manifest unknown",
        "{stats:#}"
    );
    assert!(stats["top_failing"][0]["name"]
        .as_str()
        .unwrap()
        .ends_with("ok/a:does-not-exist"));
    let (_, by_day) = stack.get("/api/stats?bucket=day&registry=target");
    assert_eq!(by_day["totals"]["copied"], 3, "{by_day:#}");
    let (_, other) = stack.get("/api/stats?registry=nowhere");
    assert_eq!(other["totals"]["copied"], 0, "{other:#}");
    let (status, _) = stack.get("/api/stats?bucket=week");
    assert_eq!(status, 400);
}

#[test]
fn sockets_that_start_from_a_snapshot_see_every_task_end_once() {
    let mut stack = Stack::start(StackOptions {
        workers: 0,
        ..StackOptions::default()
    });
    let repos: Vec<(String, String)> = (0..6)
        .map(|i| (format!("live/img{i}"), "1".into()))
        .collect();
    let refs: Vec<(&str, &str)> = repos
        .iter()
        .map(|(r, t)| (r.as_str(), t.as_str()))
        .collect();
    let pushed = push_images(&stack.source, &refs, 8 * 1024);
    let images: Vec<String> = pushed
        .iter()
        .map(|p| p.reference(&stack.source_host()))
        .collect();
    let job = stack.submit(&images, "skip");
    let id = job["id"].as_str().unwrap().to_owned();
    // Three browsers join before any worker runs; the snapshot shows everything queued.
    let mut sockets: Vec<_> = (0..3)
        .map(|_| stack.events_socket_with(&id, "?snapshot=true"))
        .collect();
    for ws in &mut sockets {
        let snap: Value = serde_json::from_str(ws.read().unwrap().to_text().unwrap()).unwrap();
        assert_eq!(snap["kind"], "snapshot");
        assert_eq!(snap["job"]["counts"]["queued"], 6, "{snap}");
    }
    stack.start_worker("w1");
    let mut seen: Vec<Vec<String>> = Vec::new();
    for ws in &mut sockets {
        let mut ids = Vec::new();
        let mut ends = HashSet::new();
        loop {
            match ws.read().expect("events until the close") {
                tungstenite::Message::Text(t) => {
                    let e: Value = serde_json::from_str(&t).unwrap();
                    ids.push(e["id"].as_str().unwrap().to_owned());
                    if matches!(e["kind"].as_str(), Some("succeeded" | "skipped" | "failed")) {
                        assert!(
                            ends.insert(e["task"].as_str().unwrap().to_owned()),
                            "twice: {e}"
                        );
                    }
                }
                tungstenite::Message::Close(_) => break,
                _ => {}
            }
        }
        assert_eq!(ends.len(), 6, "every task's end");
        let mut sorted = ids.clone();
        sorted.sort_by_key(|i| {
            let (a, b) = i.split_once('-').unwrap();
            (a.parse::<u64>().unwrap(), b.parse::<u64>().unwrap())
        });
        sorted.dedup();
        assert_eq!(ids, sorted, "in order, each once");
        seen.push(ids);
    }
    assert!(
        seen.windows(2).all(|w| w[0] == w[1]),
        "every socket saw the same events"
    );
    // A client that reconnects after an event gets only what came after it.
    let mid = &seen[0][seen[0].len() / 2];
    let mut again = stack.events_socket_with(&id, &format!("?after={mid}"));
    let mut rest = Vec::new();
    while let Ok(tungstenite::Message::Text(t)) = again.read() {
        let e: Value = serde_json::from_str(&t).unwrap();
        rest.push(e["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(rest, seen[0][seen[0].len() / 2 + 1..].to_vec());
}
