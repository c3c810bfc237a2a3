//! The lease against a real Redis, below the end-to-end level: one process plays several
//! workers by holding several consumers of the group.

use std::collections::HashMap;
use std::time::Duration;

use docker_sync_common::queue::event::{Event, EventKind};
use docker_sync_common::queue::submit::{submit, NewJob, NewTask};
use docker_sync_common::queue::task::{TaskMessage, TaskStatus};
use docker_sync_common::queue::{lease, Consumer, Ending, Entry, Transition};
use docker_sync_common::redis::client::AsyncCommands;
use docker_sync_common::redis::deadpool_redis::Pool;
use docker_sync_common::redis::Keys;
use docker_sync_tests::RedisServer;

struct Queue {
    _redis: RedisServer,
    pool: Pool,
    keys: Keys,
    url: String,
}

async fn queue() -> Queue {
    let redis = RedisServer::start();
    let url = redis.url();
    let pool = docker_sync_common::redis::pool(&url, 8).unwrap();
    let keys = Keys::new("lease-test");
    lease::ensure_group(&mut *pool.get().await.unwrap(), &keys)
        .await
        .unwrap();
    Queue {
        _redis: redis,
        pool,
        keys,
        url,
    }
}

impl Queue {
    fn consumer(&self, name: &str) -> Consumer {
        Consumer::new(self.pool.clone(), self.keys.clone(), name)
    }

    /// Queues a job of `n` images.
    async fn submit(&self, n: usize) -> String {
        let job = NewJob {
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
            tasks: (0..n)
                .map(|i| NewTask {
                    line: i + 1,
                    source: format!("127.0.0.1:1/src/img{i}:1"),
                    target: format!("127.0.0.1:2/mirror/img{i}:1"),
                    file: None,
                    digest: None,
                })
                .collect(),
        };
        submit(&self.pool, &self.keys, &job).await.unwrap().job
    }

    /// `consumer` takes one new entry.
    async fn take(&self, consumer: &Consumer) -> (Entry, TaskMessage) {
        let mut conn = docker_sync_common::redis::blocking_connection(&self.url, Duration::ZERO)
            .await
            .unwrap();
        let mut entries = consumer
            .claim_new(&mut conn, 1, Duration::from_millis(100))
            .await
            .unwrap();
        assert_eq!(entries.len(), 1, "one entry queued");
        let entry = entries.remove(0);
        let msg = entry.message().unwrap();
        (entry, msg)
    }

    async fn hash(&self, key: String) -> HashMap<String, String> {
        self.pool.get().await.unwrap().hgetall(key).await.unwrap()
    }

    /// Entries pending in the group, and entries in the stream.
    async fn pending_and_length(&self) -> (usize, usize) {
        let mut conn = self.pool.get().await.unwrap();
        let pending: redis::streams::StreamPendingReply = conn
            .xpending(self.keys.tasks(), docker_sync_common::queue::WORKER_GROUP)
            .await
            .unwrap();
        let length: usize = conn.xlen(self.keys.tasks()).await.unwrap();
        (pending.count(), length)
    }
}

fn started(msg: &TaskMessage, worker: &str) -> Event {
    Event::for_task(
        msg,
        EventKind::Started {
            attempt: 0,
            worker: worker.into(),
        },
    )
}

async fn finish(c: &Consumer, entry: &Entry, msg: &TaskMessage) -> Transition {
    let event = Event::for_task(
        msg,
        EventKind::Succeeded {
            digest: None,
            duration_ms: 1,
            unchecked: None,
        },
    );
    let ending = Ending {
        status: TaskStatus::Succeeded,
        duration: Duration::from_millis(1),
        dead_reason: None,
        reason: None,
        event: &event,
        fields: &[],
    };
    c.finish(entry, &msg.job, &msg.task, ending).await.unwrap()
}

const LEASE: Duration = Duration::from_millis(300);

#[tokio::test]
async fn a_lapsed_lease_is_taken_over_and_the_old_owner_is_refused() {
    let q = queue().await;
    let job = q.submit(1).await;
    let (a, b) = (q.consumer("a"), q.consumer("b"));
    let (entry, msg) = q.take(&a).await;
    assert!(matches!(
        a.start(&entry, &msg.job, &msg.task, &started(&msg, "a"))
            .await
            .unwrap(),
        Transition::Started {
            attempt: 1,
            deliveries: 1
        }
    ));
    assert!(
        b.reclaim(LEASE, 10).await.unwrap().is_empty(),
        "a live lease is not taken"
    );

    tokio::time::sleep(LEASE + Duration::from_millis(100)).await;
    let taken = b.reclaim(LEASE, 10).await.unwrap();
    assert_eq!(taken.len(), 1, "a lapsed lease is taken over");
    assert_eq!(taken[0].id, entry.id);
    assert!(matches!(
        b.start(&taken[0], &msg.job, &msg.task, &started(&msg, "b"))
            .await
            .unwrap(),
        Transition::Started {
            attempt: 2,
            deliveries: 2
        }
    ));

    // The old owner wakes up: every write of its is refused.
    assert_eq!(
        a.refresh(&entry, &msg.job, &msg.task).await.unwrap(),
        Transition::Lost
    );
    assert_eq!(
        a.update(&entry, &msg.job, &msg.task, None, &[])
            .await
            .unwrap(),
        Transition::Lost
    );
    assert_eq!(finish(&a, &entry, &msg).await, Transition::Lost);
    let job_hash = q.hash(q.keys.job(&job)).await;
    assert_eq!(job_hash.get("finished"), None, "{job_hash:?}");
    assert_eq!(q.hash(q.keys.task(&msg.task)).await["worker"], "b");

    assert_eq!(finish(&b, &taken[0], &msg).await, Transition::Done);
    let job_hash = q.hash(q.keys.job(&job)).await;
    assert_eq!(job_hash["finished"], "1");
    assert_eq!(job_hash["succeeded"], "1");
    assert_eq!(job_hash["status"], "succeeded");
    assert_eq!(q.pending_and_length().await, (0, 0));
}

#[tokio::test]
async fn a_renewed_lease_is_kept_past_its_length() {
    let q = queue().await;
    q.submit(1).await;
    let (a, b) = (q.consumer("a"), q.consumer("b"));
    let (entry, msg) = q.take(&a).await;
    a.start(&entry, &msg.job, &msg.task, &started(&msg, "a"))
        .await
        .unwrap();
    // Four lease lengths, renewed every third of one.
    for _ in 0..12 {
        tokio::time::sleep(LEASE / 3).await;
        assert_eq!(
            a.refresh(&entry, &msg.job, &msg.task).await.unwrap(),
            Transition::Done
        );
        assert!(b.reclaim(LEASE, 10).await.unwrap().is_empty());
    }
    assert_eq!(finish(&a, &entry, &msg).await, Transition::Done);
    assert_eq!(q.hash(q.keys.task(&msg.task)).await["deliveries"], "1");
}

#[tokio::test]
async fn a_task_handed_back_is_taken_at_once_without_counting_a_delivery() {
    let q = queue().await;
    q.submit(1).await;
    let (a, b) = (q.consumer("a"), q.consumer("b"));
    let (entry, msg) = q.take(&a).await;
    a.start(&entry, &msg.job, &msg.task, &started(&msg, "a"))
        .await
        .unwrap();
    let back = Event::for_task(
        &msg,
        EventKind::Requeued {
            reason: "stopping".into(),
        },
    );
    assert_eq!(
        a.hand_back(&entry, &msg.job, &msg.task, &back, Duration::from_secs(60))
            .await
            .unwrap(),
        Transition::Done
    );
    assert_eq!(q.hash(q.keys.task(&msg.task)).await["status"], "queued");
    // The lease is a minute long, yet the entry is taken now.
    let taken = b.reclaim(Duration::from_secs(60), 10).await.unwrap();
    assert_eq!(taken.len(), 1);
    assert!(matches!(
        b.start(&taken[0], &msg.job, &msg.task, &started(&msg, "b"))
            .await
            .unwrap(),
        Transition::Started { deliveries: 1, .. }
    ));
}

#[tokio::test]
async fn an_acknowledgement_lost_after_the_finish_is_cleaned_up() {
    let q = queue().await;
    let job = q.submit(1).await;
    let (a, b) = (q.consumer("a"), q.consumer("b"));
    let (entry, msg) = q.take(&a).await;
    a.start(&entry, &msg.job, &msg.task, &started(&msg, "a"))
        .await
        .unwrap();
    // The task's end was recorded, but its entry is still pending (an older release wrote the
    // two in separate steps and crashed between them).
    let _: () = q
        .pool
        .get()
        .await
        .unwrap()
        .hset(q.keys.task(&msg.task), "status", "succeeded")
        .await
        .unwrap();
    tokio::time::sleep(LEASE + Duration::from_millis(100)).await;
    let taken = b.reclaim(LEASE, 10).await.unwrap();
    assert_eq!(taken.len(), 1);
    assert_eq!(
        b.start(&taken[0], &msg.job, &msg.task, &started(&msg, "b"))
            .await
            .unwrap(),
        Transition::AlreadyFinished
    );
    assert_eq!(q.pending_and_length().await, (0, 0), "the entry is gone");
    assert_eq!(
        q.hash(q.keys.job(&job)).await.get("finished"),
        None,
        "nothing is counted twice"
    );
}

#[tokio::test]
async fn a_task_whose_records_expired_is_dropped() {
    let q = queue().await;
    q.submit(1).await;
    let a = q.consumer("a");
    let (entry, msg) = q.take(&a).await;
    let _: () = q
        .pool
        .get()
        .await
        .unwrap()
        .del(q.keys.task(&msg.task))
        .await
        .unwrap();
    assert_eq!(
        a.start(&entry, &msg.job, &msg.task, &started(&msg, "a"))
            .await
            .unwrap(),
        Transition::Gone
    );
    assert_eq!(q.pending_and_length().await, (0, 0));
}

#[tokio::test]
async fn a_consumer_restarted_under_its_name_gets_its_own_entries_back() {
    let q = queue().await;
    q.submit(2).await;
    let (first, _) = q.take(&q.consumer("w1")).await;
    let (other, _) = q.take(&q.consumer("w2")).await;
    // w1 restarts: a new process, the same name.
    let again = q.consumer("w1");
    let own = again.own_pending(10).await.unwrap();
    assert_eq!(own.len(), 1);
    assert_eq!(own[0].id, first.id);
    assert_ne!(own[0].id, other.id);
    assert!(q.consumer("w3").own_pending(10).await.unwrap().is_empty());
}
