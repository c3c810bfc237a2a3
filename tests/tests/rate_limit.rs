//! Docker Hub's pull limit: a stand-in in front of the source registry adds Docker Hub's
//! `ratelimit-remaining: N;w=21600` to every answer, N set by the test. Below the worker's floor
//! the task is held (`waiting`, nothing pulled); once N is raised the copy goes through.
//!
//! The stand-in forwards every request to the real source registry (one request per
//! connection), counting manifest GETs: a pull as Docker Hub counts them.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::push_images;
use docker_sync_tests::{Stack, StackOptions, KEY_PREFIX};
use redis::Commands;
use serde_json::Value;

const FLOOR: u32 = 5;

#[derive(Default)]
struct StandIn {
    remaining: AtomicU32,
    manifest_gets: AtomicU32,
    upstream: Mutex<String>,
}

fn start_stand_in(remaining: u32) -> (String, Arc<StandIn>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the stand-in");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let state = Arc::new(StandIn {
        remaining: AtomicU32::new(remaining),
        ..StandIn::default()
    });
    let shared = state.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let state = shared.clone();
            std::thread::spawn(move || {
                let _ = serve(conn, &state);
            });
        }
    });
    (url, state)
}

fn serve(mut conn: TcpStream, state: &StandIn) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (method, path) = match (parts.next(), parts.next()) {
        (Some(m), Some(p)) => (m.to_owned(), p.to_owned()),
        _ => return Ok(()),
    };
    let mut accept = Vec::new();
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            match k.trim().to_ascii_lowercase().as_str() {
                "accept" => accept.push(v.trim().to_owned()),
                "content-length" => length = v.trim().parse().unwrap_or(0),
                _ => {}
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    if method == "GET" && path.contains("/manifests/") {
        state.manifest_gets.fetch_add(1, Ordering::SeqCst);
    }

    let upstream = state.upstream.lock().unwrap().clone();
    let mut req = ureq::AgentBuilder::new()
        .redirects(0)
        .build()
        .request(&method, &format!("{upstream}{path}"));
    if !accept.is_empty() {
        req = req.set("Accept", &accept.join(", "));
    }
    let resp = match req.call() {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(_) => {
            let msg = "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
            return conn.write_all(msg.as_bytes());
        }
    };
    let status = resp.status();
    let mut head = format!("HTTP/1.1 {status} {}\r\n", resp.status_text());
    for name in [
        "content-type",
        "docker-content-digest",
        "docker-distribution-api-version",
        "location",
        "www-authenticate",
    ] {
        if let Some(v) = resp.header(name) {
            head.push_str(&format!("{name}: {v}\r\n"));
        }
    }
    let left = state.remaining.load(Ordering::SeqCst);
    head.push_str(&format!(
        "ratelimit-limit: 100;w=21600\r\nratelimit-remaining: {left};w=21600\r\n"
    ));
    let upstream_length = resp.header("content-length").map(str::to_owned);
    let mut out = Vec::new();
    resp.into_reader().read_to_end(&mut out)?;
    let length = if method == "HEAD" {
        upstream_length.unwrap_or_else(|| "0".into())
    } else {
        out.len().to_string()
    };
    head.push_str(&format!(
        "content-length: {length}\r\nconnection: close\r\n\r\n"
    ));
    conn.write_all(head.as_bytes())?;
    if method != "HEAD" {
        conn.write_all(&out)?;
    }
    conn.flush()
}

/// Waits until the job's first task is held; returns its view.
fn wait_held(stack: &Stack, job: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, j) = stack.get(&format!("/api/jobs/{job}"));
        let task = j["tasks"][0].clone();
        if task["waiting"].is_string() {
            return task;
        }
        assert!(
            Instant::now() < deadline,
            "the task was never held: {j:#}\n{}",
            stack.logs()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn limited_stack(url: String) -> Stack {
    Stack::start(StackOptions {
        workers: 1,
        source_url: Some(url),
        worker_env: vec![
            ("DOCKER_SYNC_RATE_LIMIT_FLOOR".into(), FLOOR.to_string()),
            ("DOCKER_SYNC_RATE_LIMIT_RECHECK".into(), "200ms".into()),
        ],
        ..StackOptions::default()
    })
}

#[test]
fn copies_wait_while_the_pull_limit_is_below_the_floor_and_go_on_once_it_refills() {
    let (url, stand_in) = start_stand_in(3);
    let stack = limited_stack(url);
    *stand_in.upstream.lock().unwrap() = stack.source.url();
    let pushed = push_images(&stack.source, &[("limited/app", "1")], 4096);
    let job = stack.submit(&[pushed[0].reference(&stack.source_host())], "skip");
    let job = job["id"].as_str().unwrap().to_owned();

    // Held: the task runs (keeps its lease) but says why it waits, and nothing is pulled.
    let task = wait_held(&stack, &job);
    assert_eq!(task["status"], "running", "{task:#}");
    let reason = task["waiting"].as_str().unwrap();
    assert!(
        reason.contains("pull limit nearly used: 3 of 100 left"),
        "{reason}"
    );
    assert!(task["waiting_until_ms"].as_u64().is_some(), "{task:#}");
    let waiting: Vec<Value> = stack
        .job_events(&job)
        .into_iter()
        .filter(|e| e["kind"] == "waiting")
        .collect();
    assert_eq!(waiting.len(), 1, "one waiting event: {waiting:#?}");
    assert_eq!(waiting[0]["reason"], reason);
    let limit: std::collections::HashMap<String, String> = stack
        .redis()
        .hgetall(format!("{KEY_PREFIX}:ratelimit:{}", stack.source_host()))
        .unwrap();
    assert_eq!(limit.get("remaining").map(String::as_str), Some("3"));
    assert_eq!(limit.get("limit").map(String::as_str), Some("100"));
    assert_eq!(limit.get("window_s").map(String::as_str), Some("21600"));
    let ttl: i64 = stack
        .redis()
        .ttl(format!("{KEY_PREFIX}:ratelimit:{}", stack.source_host()))
        .unwrap();
    assert!(ttl > 0 && ttl <= 21600, "expires with the window: {ttl}");

    let (status, metrics) = stack.get("/metrics");
    assert_eq!(status, 200);
    let line = format!("ratelimit_remaining{{host=\"{}\"}} 3", stack.source_host());
    assert!(
        metrics.as_str().unwrap_or_default().contains(&line),
        "{line} in {metrics}"
    );

    // Several rechecks later: still held, still nothing pulled.
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(stand_in.manifest_gets.load(Ordering::SeqCst), 0);
    let (_, j) = stack.get(&format!("/api/jobs/{job}"));
    assert_eq!(j["tasks"][0]["status"], "running", "{j:#}");

    // The window refills: the next recheck lets the copy go.
    stand_in.remaining.store(99, Ordering::SeqCst);
    let done = stack.wait_job(&job, Duration::from_secs(60));
    assert_eq!(done["status"], "succeeded", "{done:#}\n{}", stack.logs());
    assert!(done["tasks"][0]["waiting"].is_null(), "{done:#}");
    assert!(stand_in.manifest_gets.load(Ordering::SeqCst) > 0);
    assert_eq!(
        stack.target.manifest_digest("mirror/limited/app", "1"),
        Some(pushed[0].digest.clone())
    );
    let kinds: Vec<String> = stack
        .job_events(&job)
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or_default().to_owned())
        .collect();
    let held = kinds.iter().position(|k| k == "waiting").unwrap();
    let finished = kinds.iter().position(|k| k == "succeeded").unwrap();
    assert!(held < finished, "{kinds:?}");
}

#[test]
fn a_held_task_is_handed_back_at_once_on_sigterm() {
    let (url, stand_in) = start_stand_in(0);
    let mut stack = limited_stack(url);
    *stand_in.upstream.lock().unwrap() = stack.source.url();
    let pushed = push_images(&stack.source, &[("held/app", "1")], 4096);
    let job = stack.submit(&[pushed[0].reference(&stack.source_host())], "skip");
    let job = job["id"].as_str().unwrap().to_owned();
    wait_held(&stack, &job);

    // The grace is 20 s; a held task has no copy to finish and goes back at once.
    let stopped = Instant::now();
    stack.workers[0].signal(nix::sys::signal::Signal::SIGTERM);
    stack.workers[0]
        .wait_exit(Duration::from_secs(10))
        .expect("the worker exits without waiting out the grace");
    assert!(stopped.elapsed() < Duration::from_secs(10));
    let (_, j) = stack.get(&format!("/api/jobs/{job}"));
    assert_eq!(j["tasks"][0]["status"], "queued", "{j:#}");
    assert!(j["tasks"][0]["waiting"].is_null(), "{j:#}");
    assert!(stack
        .job_events(&job)
        .iter()
        .any(|e| e["kind"] == "requeued"));

    // Another worker, once the limit refilled, copies it; the old hold does not show.
    stand_in.remaining.store(100, Ordering::SeqCst);
    stack.start_worker("w2");
    let done = stack.wait_job(&job, Duration::from_secs(60));
    assert_eq!(done["status"], "succeeded", "{done:#}\n{}", stack.logs());
    assert!(stand_in.manifest_gets.load(Ordering::SeqCst) > 0);
}
