//! What the api and the workers write into Redis is what `common::queue` names: every field of
//! the job, task and stats hashes is a known one, and the job's final status, which the script
//! sets, is the one `JobStatus::derive` gives.

use std::collections::HashMap;
use std::time::Duration;

use docker_sync_common::queue::event::{Event, EventKind};
use docker_sync_common::queue::job::{Counts, JobField, JobStatus};
use docker_sync_common::queue::stats;
use docker_sync_common::queue::submit::{submit, NewJob, NewTask};
use docker_sync_common::queue::task::{TaskField, TaskStatus};
use docker_sync_common::queue::{lease, Consumer, Ending, EVENT_FIELD};
use docker_sync_common::redis::client::AsyncCommands;
use docker_sync_common::redis::Keys;
use docker_sync_tests::RedisServer;

/// Runs a job of one task per status in `ends` through the script; returns the job hash, the
/// task hashes, and the stats hash.
async fn run_job(
    redis: &RedisServer,
    ends: &[TaskStatus],
) -> (
    HashMap<String, String>,
    Vec<HashMap<String, String>>,
    HashMap<String, String>,
) {
    let pool = docker_sync_common::redis::pool(&redis.url(), 4).unwrap();
    let keys = Keys::new(format!("records-{}", uuid::Uuid::new_v4()));
    lease::ensure_group(&mut *pool.get().await.unwrap(), &keys)
        .await
        .unwrap();
    let new = NewJob {
        registry: "target",
        replace_level: "full".into(),
        namespace: "mirror",
        platform: Some(&"linux/arm64".parse().unwrap()),
        with_signatures: false,
        dropped: "[]".into(),
        trigger: docker_sync_common::queue::job::Trigger {
            kind: docker_sync_common::queue::job::TriggerKind::Session,
            user: Some("test".into()),
            token: None,
            rule: None,
        },
        lines: String::new(),
        retry_of: None,
        retention: Default::default(),
        bundle: None,
        tasks: (0..ends.len())
            .map(|i| NewTask {
                line: i + 1,
                source: format!("127.0.0.1:1/src/img{i}:1"),
                target: format!("127.0.0.1:2/mirror/img{i}:1"),
                file: None,
                digest: None,
            })
            .collect(),
    };
    let submitted = submit(&pool, &keys, &new).await.unwrap();
    let consumer = Consumer::new(pool.clone(), keys.clone(), "w");
    let mut reader = docker_sync_common::redis::blocking_connection(&redis.url(), Duration::ZERO)
        .await
        .unwrap();
    let entries = consumer
        .claim_new(&mut reader, ends.len(), Duration::from_millis(100))
        .await
        .unwrap();
    assert_eq!(entries.len(), ends.len());
    for (entry, status) in entries.iter().zip(ends) {
        let msg = entry.message().unwrap();
        let event = |kind| Event::for_task(&msg, kind);
        consumer
            .start(
                entry,
                &msg.job,
                &msg.task,
                &event(EventKind::Started {
                    attempt: 0,
                    worker: "w".into(),
                }),
            )
            .await
            .unwrap();
        // Every field a worker records along the way.
        let along: Vec<(TaskField, String)> = [
            TaskField::BlobsDone,
            TaskField::ImagesDone,
            TaskField::ImagesTotal,
            TaskField::Waiting,
            TaskField::WaitingUntilMs,
            TaskField::Unchecked,
            TaskField::Attempts,
        ]
        .into_iter()
        .map(|f| (f, "1".to_owned()))
        .collect();
        consumer
            .update(entry, &msg.job, &msg.task, None, &along)
            .await
            .unwrap();
        let fields = [
            (TaskField::Digest, "sha256:00".to_owned()),
            (TaskField::Error, String::new()),
            (TaskField::OutputTail, String::new()),
        ];
        let ending = Ending {
            status: *status,
            duration: Duration::from_millis(1500),
            dead_reason: (*status == TaskStatus::Failed).then_some("given up"),
            reason: None,
            event: &event(EventKind::Failed {
                error: String::new(),
            }),
            fields: &fields,
        };
        consumer
            .finish(entry, &msg.job, &msg.task, ending)
            .await
            .unwrap();
    }
    let mut conn = pool.get().await.unwrap();
    let job: HashMap<String, String> = conn.hgetall(keys.job(&submitted.job)).await.unwrap();
    let mut tasks = Vec::new();
    for t in &submitted.tasks {
        tasks.push(conn.hgetall(keys.task(&t.id)).await.unwrap());
    }
    let stats: HashMap<String, String> = conn.hgetall(keys.stats()).await.unwrap();
    let events: redis::streams::StreamRangeReply = conn
        .xrange_all(keys.job_events(&submitted.job))
        .await
        .unwrap();
    for e in events.ids {
        assert_eq!(e.map.keys().collect::<Vec<_>>(), [EVENT_FIELD]);
    }
    check_index_and_statistics(&mut conn, &keys, &submitted.job, &job, &tasks, ends).await;
    (job, tasks, stats)
}

/// The index holds the job under its final status alone, and the hourly statistics count its
/// images by outcome (copies' durations too) and the job by status, in total and per registry.
async fn check_index_and_statistics(
    conn: &mut deadpool_redis::Connection,
    keys: &Keys,
    id: &str,
    job: &HashMap<String, String>,
    tasks: &[HashMap<String, String>],
    ends: &[TaskStatus],
) {
    let status = job["status"].as_str();
    for s in JobStatus::ALL {
        let set = keys.jobs_by("status", s.as_str());
        let score: Option<f64> = conn.zscore(&set, id).await.unwrap();
        assert_eq!(
            score.is_some(),
            s.as_str() == status,
            "{set} for a {status} job"
        );
    }
    // Summed over the hours the tasks ended in (a run may straddle one).
    let mut hours: Vec<u64> = tasks
        .iter()
        .map(|t| t["finished_at_ms"].parse::<u64>().unwrap())
        .map(|ms| ms - ms % 3_600_000)
        .collect();
    hours.dedup();
    let mut sum: HashMap<String, i64> = HashMap::new();
    for hour in hours {
        let bucket: HashMap<String, i64> =
            conn.hgetall(keys.stats_bucket("hour", hour)).await.unwrap();
        for (k, v) in bucket {
            *sum.entry(k).or_default() += v;
        }
    }
    let count = |s: TaskStatus| ends.iter().filter(|e| **e == s).count() as i64;
    for (field, n) in [
        ("copied", count(TaskStatus::Succeeded)),
        ("skipped", count(TaskStatus::Skipped)),
        ("failed", count(TaskStatus::Failed)),
        ("dur_count", count(TaskStatus::Succeeded)),
        (&format!("jobs_{status}") as &str, 1),
    ] {
        assert_eq!(sum.get(field).copied().unwrap_or(0), n, "{field}: {sum:?}");
        let per_registry = format!("r:target:{field}");
        assert_eq!(
            sum.get(&per_registry).copied().unwrap_or(0),
            n,
            "{per_registry}"
        );
    }
    assert!(
        !sum.contains_key("cancelled"),
        "a cancel is no sync: {sum:?}"
    );
}

#[tokio::test]
async fn every_field_written_is_one_the_records_name() {
    let redis = RedisServer::start();
    let (job, tasks, stats) = run_job(
        &redis,
        &[
            TaskStatus::Succeeded,
            TaskStatus::Skipped,
            TaskStatus::Failed,
        ],
    )
    .await;
    for name in job.keys() {
        assert!(
            JobField::is_known(name),
            "job field `{name}` has no JobField"
        );
    }
    for task in &tasks {
        for name in task.keys() {
            assert!(
                TaskField::is_known(name),
                "task field `{name}` has no TaskField"
            );
        }
    }
    let mut known: Vec<String> = [
        stats::SYNC_TOTAL,
        stats::SYNC_SUCCESS,
        stats::SYNC_FAILED,
        stats::SYNC_SKIPPED,
        stats::DURATION_COUNT,
        stats::DURATION_SUM_MS,
    ]
    .map(String::from)
    .to_vec();
    known.extend(
        stats::DURATION_BUCKETS_S
            .into_iter()
            .map(stats::duration_bucket),
    );
    let mut cluster = Vec::new();
    for name in stats.keys() {
        match stats::ClusterField::parse(name) {
            // job_end.lua's bucket list is stats.rs's: every bound it writes is one Rust knows.
            Some(stats::ClusterField::Seconds {
                part: stats::SecondsPart::Le(Some(le)),
                ..
            }) => assert!(
                stats::TASK_SECONDS_LE_MS.contains(&le),
                "bucket `{name}` is not in TASK_SECONDS_LE_MS"
            ),
            Some(field) => cluster.push(field),
            None => assert!(
                known.contains(name),
                "stats field `{name}` is not in stats.rs"
            ),
        }
    }
    assert!(!cluster.is_empty(), "{stats:?}");
    assert_eq!(stats[stats::SYNC_TOTAL], "3");
    // 1.5 s: above the first bucket, in every other.
    assert_eq!(stats.get(&stats::duration_bucket(1)), None);
    assert_eq!(stats[&stats::duration_bucket(5)], "3");
    // The cluster-wide histogram counts each task into its smallest bucket only: 1.5 s is 2.5 s's.
    let in_bucket = |le: &str| {
        stats
            .iter()
            .filter(|(k, _)| k.starts_with("task_seconds:") && k.contains(&format!(":{le}:")))
            .map(|(_, v)| v.parse::<u64>().unwrap())
            .sum::<u64>()
    };
    assert_eq!(in_bucket("le_2500"), 3, "{stats:?}");
    assert_eq!(in_bucket("le_1000"), 0, "{stats:?}");
}

#[tokio::test]
async fn the_script_ends_a_job_with_the_status_the_rule_derives() {
    let redis = RedisServer::start();
    use TaskStatus::*;
    for ends in [
        vec![Succeeded, Skipped],
        vec![Failed, Failed],
        vec![Skipped, Failed],
        vec![Succeeded],
        vec![Succeeded, Cancelled],
        vec![Failed, Cancelled],
    ] {
        let (job, _, _) = run_job(&redis, &ends).await;
        let mut counts = Counts::default();
        ends.iter().for_each(|s| counts.add(*s));
        let derived = JobStatus::derive(&counts, true);
        assert_eq!(job["status"], derived.as_str(), "{ends:?}");
        assert!(job.contains_key(JobField::FinishedAtMs.as_str()));
    }
}

#[tokio::test]
async fn a_cancel_ends_queued_tasks_at_once_and_the_running_one_through_its_worker() {
    use docker_sync_common::queue::cancel::{cancel, Cancel};
    use docker_sync_common::queue::Transition;
    let redis = RedisServer::start();
    let pool = docker_sync_common::redis::pool(&redis.url(), 4).unwrap();
    let keys = Keys::new(format!("cancel-{}", uuid::Uuid::new_v4()));
    let mut conn = pool.get().await.unwrap();
    lease::ensure_group(&mut *conn, &keys).await.unwrap();
    let new = NewJob {
        registry: "target",
        replace_level: "full".into(),
        namespace: "mirror",
        platform: None,
        with_signatures: false,
        dropped: "[]".into(),
        trigger: docker_sync_common::queue::job::Trigger {
            kind: docker_sync_common::queue::job::TriggerKind::Session,
            user: Some("test".into()),
            token: None,
            rule: None,
        },
        lines: String::new(),
        retry_of: None,
        retention: Default::default(),
        bundle: None,
        tasks: (0..3)
            .map(|i| NewTask {
                line: i + 1,
                source: format!("127.0.0.1:1/src/img{i}:1"),
                target: format!("127.0.0.1:2/mirror/img{i}:1"),
                file: None,
                digest: None,
            })
            .collect(),
    };
    let job = submit(&pool, &keys, &new).await.unwrap().job;
    let consumer = Consumer::new(pool.clone(), keys.clone(), "w");
    let mut reader = docker_sync_common::redis::blocking_connection(&redis.url(), Duration::ZERO)
        .await
        .unwrap();
    // The worker holds two entries and has started the first; the third is unread.
    let held = consumer
        .claim_new(&mut reader, 2, Duration::from_millis(100))
        .await
        .unwrap();
    let started = Event::for_task(
        &held[0].message().unwrap(),
        EventKind::Started {
            attempt: 0,
            worker: "w".into(),
        },
    );
    let (first, second) = (held[0].message().unwrap(), held[1].message().unwrap());
    consumer
        .start(&held[0], &job, &first.task, &started)
        .await
        .unwrap();

    let done = cancel(&pool, &keys, &job, "ops").await.unwrap();
    assert_eq!(
        done,
        Cancel::Requested {
            cancelled: 2,
            running: 1
        }
    );
    let hash: HashMap<String, String> = conn.hgetall(keys.job(&job)).await.unwrap();
    for name in hash.keys() {
        assert!(
            JobField::is_known(name),
            "job field `{name}` has no JobField"
        );
    }
    assert_eq!(hash[JobField::CancelledBy.as_str()], "ops");
    assert!(
        !hash.contains_key(JobField::Status.as_str()),
        "a task still runs"
    );
    let len: usize = conn.xlen(keys.tasks()).await.unwrap();
    assert_eq!(
        len, 1,
        "the queued entries are deleted, the running one is not"
    );

    // The held but unstarted entry is no longer the worker's: it cannot start.
    assert_eq!(
        consumer
            .start(&held[1], &job, &second.task, &started)
            .await
            .unwrap(),
        Transition::Lost
    );
    // The running one's worker hears of it at its next refresh, and ends it.
    assert_eq!(
        consumer.refresh(&held[0], &job, &first.task).await.unwrap(),
        Transition::CancelRequested
    );
    let ending = Ending {
        status: TaskStatus::Cancelled,
        duration: Duration::from_millis(10),
        dead_reason: None,
        reason: None,
        event: &Event::for_task(&first, EventKind::Cancelled { by: "ops".into() }),
        fields: &[],
    };
    consumer
        .finish(&held[0], &job, &first.task, ending)
        .await
        .unwrap();
    let hash: HashMap<String, String> = conn.hgetall(keys.job(&job)).await.unwrap();
    assert_eq!(hash[JobField::Status.as_str()], "cancelled");
    assert_eq!(hash["cancelled"], "3");
    let stats: HashMap<String, String> = conn.hgetall(keys.stats()).await.unwrap();
    // A cancel is no sync: only the cluster-wide count of tasks by result has it, untimed.
    assert_eq!(
        stats,
        HashMap::from([("tasks:cancelled:target".to_owned(), "3".to_owned())]),
        "{stats:?}"
    );
    let len: usize = conn.xlen(keys.tasks()).await.unwrap();
    assert_eq!(len, 0);
    // The end is written for the notifier by the same script, once.
    let ends: redis::streams::StreamRangeReply = conn.xrange_all(keys.job_ends()).await.unwrap();
    assert_eq!(ends.ids.len(), 1);
    let end = &ends.ids[0];
    assert_eq!(end.get::<String>("job").as_deref(), Some(job.as_str()));
    assert_eq!(end.get::<String>("status").as_deref(), Some("cancelled"));
    assert_eq!(
        cancel(&pool, &keys, &job, "ops").await.unwrap(),
        Cancel::AlreadyFinished("cancelled".into())
    );
}

/// The names between backticks in the third column of the README's key-table row for `key`.
fn readme_fields(key: &str) -> Vec<String> {
    let readme = include_str!("../../README.md");
    let row = readme
        .lines()
        .find(|l| l.starts_with(&format!("| `{key}` |")))
        .unwrap_or_else(|| panic!("README has no key-table row for `{key}`"));
    let contents = row.split(" | ").nth(2).expect("three columns");
    contents
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}

#[test]
fn the_readme_key_table_names_every_field_and_no_other() {
    let task: Vec<String> = TaskField::ALL.iter().map(|f| f.as_str().into()).collect();
    assert_eq!(sorted(readme_fields("dsync:task:<id>")), sorted(task));

    let mut job: Vec<String> = JobField::ALL.iter().map(|f| f.as_str().into()).collect();
    job.extend(
        TaskStatus::ALL
            .iter()
            .filter(|s| s.is_terminal())
            .map(|s| s.as_str().to_owned()),
    );
    assert_eq!(sorted(readme_fields("dsync:job:<id>")), sorted(job));

    let message = docker_sync_common::queue::task::TaskMessage {
        task: "t".into(),
        job: "j".into(),
        source: "s".into(),
        target: "t".into(),
        registry: "r".into(),
        platform: Some("linux/arm64".parse().unwrap()),
        signatures: true,
        archive: None,
    };
    // An export and an import of an OCI archive: between them every field a leg writes.
    let leg = |direction, digest: Option<&str>| docker_sync_common::queue::task::ArchiveLeg {
        direction,
        format: docker_sync_common::bundle::ArchiveFormat::OciArchive,
        bundle: "b".into(),
        file: "f.oci.tar".into(),
        digest: digest.map(str::to_owned),
    };
    use docker_sync_common::queue::task::Direction;
    let legs = [
        leg(Direction::Export, None),
        leg(Direction::Import, Some("sha256:00")),
    ];
    let entry: Vec<String> = std::iter::once(message.clone())
        .chain(
            legs.into_iter()
                .map(|l| docker_sync_common::queue::task::TaskMessage {
                    archive: Some(l),
                    ..message.clone()
                }),
        )
        .flat_map(|m| m.to_fields())
        .map(|(k, _)| k.to_owned())
        .collect();
    assert_eq!(sorted(readme_fields("dsync:tasks")), sorted(entry));
}
