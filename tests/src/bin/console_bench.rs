//! The operator's console under load: the jobs' search with many jobs stored, and how fast a
//! progress event reaches many browsers on a big running job.
//!
//! `cargo run --release -p docker-sync-tests --bin console-bench -- [--jobs 10000]
//! [--tasks 10000] [--sockets 20] [--rate 500]`
//!
//! Starts a fresh [`Stack`] (Redis, registries, api; no worker), then:
//! 1. queues `--jobs` jobs through the queue's own `submit` (several users, rules, tokens and
//!    images; some cancelled), and times `GET /api/jobs` with each kind of filter;
//! 2. queues one job of `--tasks` tasks, opens `--sockets` WebSockets on it (`snapshot=true`, as
//!    the job page does) and plays workers through the real script (`transitions.lua`) at
//!    `--rate` tasks a second, each task a start, a progress and an end; every socket records
//!    how long each event took from the worker writing it to the socket reading it;
//! 3. times the big job's summary, its first task page and a filtered one.
//!
//! Figures are printed; nothing is asserted: this is a benchmark.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use docker_sync_common::now_ms;
use docker_sync_common::queue::event::{Event, EventKind};
use docker_sync_common::queue::job::{Trigger, TriggerKind};
use docker_sync_common::queue::submit::{submit, NewJob, NewTask};
use docker_sync_common::queue::task::TaskStatus;
use docker_sync_common::queue::{cancel, lease, Consumer, Ending};
use docker_sync_common::redis::{blocking_connection, pool, Keys};
use docker_sync_tests::{Stack, StackOptions, KEY_PREFIX};
use serde_json::Value;

#[derive(Parser, Debug)]
#[command(about = "Times the jobs' search and live event delivery of docker-image-sync")]
struct Args {
    /// Jobs stored for the search timings.
    #[arg(long, default_value_t = 10_000)]
    jobs: usize,
    /// Tasks of the big running job.
    #[arg(long, default_value_t = 10_000)]
    tasks: usize,
    /// Browsers (WebSockets) watching it.
    #[arg(long, default_value_t = 20)]
    sockets: usize,
    /// Tasks the simulated workers finish per second (three events each).
    #[arg(long, default_value_t = 500)]
    rate: usize,
    /// Requests per timed search.
    #[arg(long, default_value_t = 30)]
    requests: usize,
}

fn main() {
    let args = Args::parse();
    let stack = Stack::start(StackOptions {
        workers: 0,
        ..StackOptions::default()
    });
    let rt = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let pool = pool(&stack.redis.url(), 16).expect("a redis pool");
    let keys = Keys::new(KEY_PREFIX);

    eprintln!("queuing {} jobs...", args.jobs);
    let started = Instant::now();
    rt.block_on(fill(&pool, &keys, args.jobs));
    eprintln!("queued in {:.1} s", started.elapsed().as_secs_f64());
    println!(
        "\n## GET /api/jobs with {} jobs stored ({} requests each)\n",
        args.jobs, args.requests
    );
    println!("| query | jobs answered | p50 ms | p95 ms | max ms |");
    println!("|---|---|---|---|---|");
    for (what, query) in [
        ("newest 50", "limit=50"),
        ("status=cancelled", "status=cancelled&limit=50"),
        ("user", "user=user-3&limit=50"),
        ("rule", "rule=nightly&limit=50"),
        (
            "user + registry + status",
            "user=user-1&registry=target&status=queued&limit=50",
        ),
        ("text, common image", "q=library/nginx&limit=50"),
        ("text, rare image", "q=app-4242:&limit=50"),
        (
            "text, nothing matches (whole budget)",
            "q=no-such-image&limit=50",
        ),
        ("created in the last second (none)", ""),
    ] {
        let query = if query.is_empty() {
            let to = now_ms();
            format!("from={}&limit=50", to - 1000)
        } else {
            query.to_owned()
        };
        time_row(
            &stack,
            what,
            &format!("/api/jobs?{query}"),
            args.requests,
            true,
        );
    }

    println!(
        "\n## A running job of {} tasks, {} browsers\n",
        args.tasks, args.sockets
    );
    let (job, latencies, delivered, took) = rt.block_on(live(&stack, &pool, &keys, &args));
    let mut all: Vec<u64> = latencies.into_iter().flatten().collect();
    all.sort_unstable();
    let q = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
    };
    println!("| figure | value |");
    println!("|---|---|");
    println!(
        "| events delivered (all sockets) | {delivered} in {:.1} s |",
        took.as_secs_f64()
    );
    println!(
        "| event latency p50 | {} ms |",
        q(0.50).map_or("-".into(), |v| v.to_string())
    );
    println!(
        "| event latency p99 | {} ms |",
        q(0.99).map_or("-".into(), |v| v.to_string())
    );
    println!(
        "| event latency max | {} ms |",
        all.last().map_or("-".into(), |v| v.to_string())
    );
    println!("\n| request on that job | p50 ms | p95 ms | max ms |");
    println!("|---|---|---|---|");
    for (what, path) in [
        (
            "summary (?tasks=false)",
            format!("/api/jobs/{job}?tasks=false"),
        ),
        (
            "first page of tasks",
            format!("/api/jobs/{job}/tasks?limit=100"),
        ),
        (
            "tasks, status=failed",
            format!("/api/jobs/{job}/tasks?status=failed&limit=100"),
        ),
        (
            "tasks, text search",
            format!("/api/jobs/{job}/tasks?q=app-9999:&limit=100"),
        ),
    ] {
        time_row(&stack, what, &path, args.requests, false);
    }
}

fn times(stack: &Stack, path: &str, n: usize) -> (Vec<f64>, usize) {
    let mut ms = Vec::with_capacity(n);
    let mut answered = 0;
    for _ in 0..n {
        let t = Instant::now();
        let (status, body) = stack.get(path);
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(status, 200, "{path}: {body}");
        answered = body.as_array().map_or(0, Vec::len);
    }
    ms.sort_by(f64::total_cmp);
    (ms, answered)
}

fn pct(ms: &[f64], p: f64) -> f64 {
    ms[((ms.len() as f64 * p) as usize).min(ms.len() - 1)]
}

/// One table row: the request's name, how many jobs it answered when `answered`, and its times.
fn time_row(stack: &Stack, what: &str, path: &str, n: usize, answered: bool) {
    let (ms, count) = times(stack, path, n);
    let count = if answered {
        format!(" {count} |")
    } else {
        String::new()
    };
    println!(
        "| {what} |{count} {:.1} | {:.1} | {:.1} |",
        pct(&ms, 0.5),
        pct(&ms, 0.95),
        ms[ms.len() - 1]
    );
}

fn trigger(i: usize) -> Trigger {
    let user = Some(format!("user-{}", i % 7));
    match i % 4 {
        0 => Trigger {
            kind: TriggerKind::Token,
            user,
            token: Some("ci".into()),
            rule: None,
        },
        1 => Trigger {
            kind: TriggerKind::Schedule,
            user: None,
            token: None,
            rule: Some(if i % 8 == 1 {
                "nightly".into()
            } else {
                "hourly".into()
            }),
        },
        _ => Trigger {
            kind: TriggerKind::Session,
            user,
            token: None,
            rule: None,
        },
    }
}

async fn fill(pool: &docker_sync_common::redis::deadpool_redis::Pool, keys: &Keys, n: usize) {
    for i in 0..n {
        let tasks = (0..1 + i % 3)
            .map(|k| {
                let repo = if (i + k) % 5 == 0 {
                    "library/nginx".to_owned()
                } else {
                    format!("bench/app-{}", (i * 3 + k) % 5000)
                };
                NewTask {
                    line: k + 1,
                    source: format!("docker.io/{repo}:{}", i % 20),
                    target: format!("127.0.0.1:1/mirror/{repo}:{}", i % 20),
                    file: None,
                    digest: None,
                }
            })
            .collect();
        let job = NewJob {
            registry: "target",
            replace_level: "skip".into(),
            namespace: "mirror",
            platform: None,
            with_signatures: false,
            dropped: "[]".into(),
            tasks,
            trigger: trigger(i),
            lines: String::new(),
            retry_of: None,
            retention: Default::default(),
            bundle: None,
        };
        let id = submit(pool, keys, &job).await.expect("submit").job;
        if i % 10 == 0 {
            cancel::cancel(pool, keys, &id, "bench")
                .await
                .expect("cancel");
        }
        if i % 1000 == 999 {
            eprintln!("  {} jobs", i + 1);
        }
    }
}

/// The big job, the sockets' latencies (ms), the events they got, and how long it ran.
async fn live(
    stack: &Stack,
    pool: &docker_sync_common::redis::deadpool_redis::Pool,
    keys: &Keys,
    args: &Args,
) -> (String, Vec<Vec<u64>>, usize, Duration) {
    let job = NewJob {
        registry: "target",
        replace_level: "skip".into(),
        namespace: "mirror",
        platform: None,
        with_signatures: false,
        dropped: "[]".into(),
        tasks: (0..args.tasks)
            .map(|i| NewTask {
                line: i + 1,
                source: format!("docker.io/bench/app-{i}:1"),
                target: format!("127.0.0.1:1/mirror/bench/app-{i}:1"),
                file: None,
                digest: None,
            })
            .collect(),
        trigger: trigger(2),
        lines: String::new(),
        retry_of: None,
        retention: Default::default(),
        bundle: None,
    };
    let id = submit(pool, keys, &job).await.expect("submit").job;
    // The sockets, each in its own thread: a browser's view of the job.
    let mut readers = Vec::new();
    for _ in 0..args.sockets {
        let mut ws = stack.events_socket_with(&id, "?snapshot=true");
        readers.push(std::thread::spawn(move || {
            let mut got = Vec::new();
            loop {
                let msg = match ws.read() {
                    Ok(msg) => msg,
                    Err(e) => {
                        eprintln!("socket: {e} after {} events", got.len());
                        break;
                    }
                };
                let tungstenite::Message::Text(text) = msg else {
                    if matches!(msg, tungstenite::Message::Close(_)) {
                        break;
                    }
                    continue;
                };
                let now = now_ms();
                let event: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                if let Some(at) = event["at_ms"].as_u64() {
                    got.push(now.saturating_sub(at));
                }
                if event["kind"] == "job_finished" {
                    break;
                }
            }
            got
        }));
    }
    let mut conn = pool.get().await.expect("conn");
    lease::ensure_group(&mut *conn, keys).await.expect("group");
    drop(conn);
    let started = Instant::now();
    play_workers(&stack.redis.url(), pool, keys, &id, args.tasks, args.rate).await;
    {
        let mut conn = pool.get().await.expect("conn");
        let n: usize = redis::cmd("XLEN")
            .arg(keys.job_events(&id))
            .query_async(&mut *conn)
            .await
            .unwrap_or(0);
        let status: Option<String> = redis::cmd("HGET")
            .arg(keys.job(&id))
            .arg("status")
            .query_async(&mut *conn)
            .await
            .unwrap_or(None);
        eprintln!(
            "workers done in {:.1} s: {n} events in the stream, job {status:?}",
            started.elapsed().as_secs_f64()
        );
    }
    let latencies: Vec<Vec<u64>> = readers
        .into_iter()
        .map(|r| r.join().expect("reader"))
        .collect();
    let delivered = latencies.iter().map(Vec::len).sum();
    (id, latencies, delivered, started.elapsed())
}

/// Works through `job`'s tasks at `rate` a second: start, one progress, succeeded (every
/// hundredth failed), through the same script the workers use.
async fn play_workers(
    url: &str,
    pool: &docker_sync_common::redis::deadpool_redis::Pool,
    keys: &Keys,
    job: &str,
    total: usize,
    rate: usize,
) {
    let consumer = Arc::new(Consumer::new(pool.clone(), keys.clone(), "bench-worker"));
    let mut conn = blocking_connection(url, Duration::ZERO)
        .await
        .expect("conn");
    let mut done = 0;
    let tick = Duration::from_secs_f64(1.0 / rate.max(1) as f64);
    let mut next = tokio::time::Instant::now();
    while done < total {
        let entries = consumer
            .claim_new(&mut conn, 100, Duration::from_millis(100))
            .await
            .expect("claim");
        for entry in entries {
            let msg = entry.message().expect("a task");
            // The search's jobs queued tasks too: out of the way, unrecorded.
            if msg.job != job {
                consumer.discard(&entry).await.expect("discard");
                continue;
            }
            let ev = |kind| Event::for_task(&msg, kind);
            let started = ev(EventKind::Started {
                attempt: 0,
                worker: "bench-worker".into(),
            });
            consumer
                .start(&entry, &msg.job, &msg.task, &started)
                .await
                .expect("start");
            let progress = ev(EventKind::Progress {
                blobs_done: 1,
                images_done: 0,
                images_total: Some(1),
                step: "Copying blob sha256:0123456789ab…".into(),
            });
            consumer
                .update(&entry, &msg.job, &msg.task, Some(&progress), &[])
                .await
                .expect("progress");
            let failed = done % 100 == 99;
            let (status, kind) = if failed {
                (
                    TaskStatus::Failed,
                    EventKind::Failed {
                        error: "manifest unknown".into(),
                    },
                )
            } else {
                (
                    TaskStatus::Succeeded,
                    EventKind::Succeeded {
                        digest: None,
                        duration_ms: 1,
                        unchecked: None,
                    },
                )
            };
            let end = ev(kind);
            let ending = Ending {
                status,
                duration: Duration::from_millis(1),
                dead_reason: None,
                reason: failed.then_some("manifest unknown"),
                event: &end,
                fields: &[],
            };
            consumer
                .finish(&entry, &msg.job, &msg.task, ending)
                .await
                .expect("finish");
            done += 1;
            next += tick;
            tokio::time::sleep_until(next).await;
        }
    }
}
