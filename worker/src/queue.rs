//! The worker's side of the Redis task stream: reading through the consumer group, reclaiming
//! the tasks of dead workers, leases, and the atomic task transitions of `queue.lua`.

use std::collections::HashMap;
use std::time::Duration;

use docker_sync_common::event::{now_ms, Event};
use docker_sync_common::keys::{Keys, WORKER_GROUP};
use docker_sync_common::redis::deadpool_redis::Pool;
use docker_sync_common::task::{TaskMessage, TaskStatus};

use crate::registry::RateLimit;
use redis::aio::MultiplexedConnection;
use redis::streams::{StreamAutoClaimOptions, StreamReadOptions, StreamReadReply};
use redis::{AsyncCommands, Script};

/// How long job data (job, tasks, events) is kept after its last change.
pub const JOB_TTL_SECS: u64 = 7 * 24 * 3600;

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("redis pool: {0}")]
    Pool(#[from] docker_sync_common::redis::deadpool_redis::PoolError),
}

/// An entry taken from the stream; `fields` is None when the entry was deleted meanwhile.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: String,
    pub fields: HashMap<String, String>,
}

impl Entry {
    pub fn message(&self) -> Result<TaskMessage, docker_sync_common::task::FieldError> {
        TaskMessage::from_fields(&self.fields)
    }
}

/// What a transition found.
#[derive(Debug, PartialEq, Eq)]
pub enum Transition {
    Done,
    /// Started; the attempt number and how often the entry has been delivered.
    Started {
        attempt: u32,
        deliveries: u32,
    },
    /// Another consumer owns the entry now: stop working on it.
    Lost,
    /// The task had already finished (its acknowledgement was lost); the entry is now removed.
    AlreadyFinished,
    /// The task's data is gone (expired); the entry is now removed.
    Gone,
}

#[derive(Clone)]
pub struct Queue {
    pool: Pool,
    keys: Keys,
    consumer: String,
    script: Script,
}

impl Queue {
    pub fn new(pool: Pool, keys: Keys, consumer: String) -> Self {
        Self {
            pool,
            keys,
            consumer,
            script: Script::new(include_str!("queue.lua")),
        }
    }

    pub fn consumer(&self) -> &str {
        &self.consumer
    }

    /// Creates the stream and group, waiting for Redis if it is not up yet.
    pub async fn wait_for_group(&self, shutdown: &tokio_util::sync::CancellationToken) -> bool {
        docker_sync_common::redis::wait_for_group(&self.pool, &self.keys, shutdown).await
    }

    /// Entries delivered to this consumer before (it restarted under the same name).
    pub async fn own_pending(&self, count: usize) -> Result<Vec<Entry>, QueueError> {
        let mut conn = self.pool.get().await?;
        let opts = StreamReadOptions::default()
            .group(WORKER_GROUP, &self.consumer)
            .count(count);
        let reply: StreamReadReply = conn
            .xread_options(&[self.keys.tasks()], &["0"], &opts)
            .await?;
        Ok(entries(reply))
    }

    /// Claims entries whose owner has not refreshed its lease for `lease`.
    pub async fn reclaim(&self, lease: Duration, count: usize) -> Result<Vec<Entry>, QueueError> {
        let mut conn = self.pool.get().await?;
        let mut cursor = "0-0".to_owned();
        // XAUTOCLAIM looks at COUNT*10 pending entries per call; follow the cursor a few rounds
        // so a long pending list of live tasks does not hide an expired one at its end.
        for _ in 0..10 {
            let reply: redis::streams::StreamAutoClaimReply = conn
                .xautoclaim_options(
                    self.keys.tasks(),
                    WORKER_GROUP,
                    &self.consumer,
                    lease.as_millis() as u64,
                    &cursor,
                    StreamAutoClaimOptions::default().count(count),
                )
                .await?;
            let claimed: Vec<Entry> = reply.claimed.into_iter().map(Entry::from).collect();
            if !claimed.is_empty() || reply.next_stream_id == "0-0" {
                return Ok(claimed);
            }
            cursor = reply.next_stream_id;
        }
        Ok(Vec::new())
    }

    /// New entries for this consumer, waiting at most `block`. Uses the dedicated connection:
    /// a blocking read must not hold up the pool.
    pub async fn read_new(
        &self,
        conn: &mut MultiplexedConnection,
        count: usize,
        block: Duration,
    ) -> Result<Vec<Entry>, QueueError> {
        let opts = StreamReadOptions::default()
            .group(WORKER_GROUP, &self.consumer)
            .count(count)
            .block(block.as_millis() as usize);
        let reply: Option<StreamReadReply> = conn
            .xread_options(&[self.keys.tasks()], &[">"], &opts)
            .await?;
        Ok(reply.map(entries).unwrap_or_default())
    }

    /// Removes an entry that cannot be run (malformed, or deleted while pending).
    pub async fn ack_and_delete(&self, entry: &Entry) -> Result<(), QueueError> {
        let mut conn = self.pool.get().await?;
        redis::pipe()
            .atomic()
            .xack(self.keys.tasks(), WORKER_GROUP, &[&entry.id])
            .xdel(self.keys.tasks(), &[&entry.id])
            .query_async::<()>(&mut *conn)
            .await?;
        Ok(())
    }

    /// Marks the task running and publishes `started` (its attempt number set by the script).
    pub async fn start(
        &self,
        entry: &Entry,
        job: &str,
        task: &str,
        started: &Event,
    ) -> Result<Transition, QueueError> {
        self.run("start", entry, job, task, Some(started), &[])
            .await
    }

    /// Records the pull limit `host` reported, for every worker; the hash expires with the window
    /// (six hours when the registry did not say).
    pub async fn save_rate_limit(&self, host: &str, limit: &RateLimit) -> Result<(), QueueError> {
        let key = self.keys.rate_limit(host);
        let mut fields = vec![
            ("remaining", limit.remaining.to_string()),
            ("seen_at_ms", now_ms().to_string()),
        ];
        if let Some(l) = limit.limit {
            fields.push(("limit", l.to_string()));
        }
        if let Some(w) = limit.window_s {
            fields.push(("window_s", w.to_string()));
        }
        let ttl = limit.window_s.unwrap_or(6 * 3600).max(1) as i64;
        let mut conn = self.pool.get().await?;
        redis::pipe()
            .atomic()
            .del(&key)
            .hset_multiple(&key, &fields)
            .expire(&key, ttl)
            .query_async::<()>(&mut *conn)
            .await?;
        Ok(())
    }

    /// Counts a digest check that could not run against `registry` (cluster-wide, behind
    /// `digest_check_failures_total`).
    pub async fn count_digest_check_failure(&self, registry: &str) -> Result<(), QueueError> {
        let mut conn = self.pool.get().await?;
        conn.hincr::<_, _, _, ()>(
            self.keys.stats(),
            docker_sync_common::keys::digest_check_failures_field(registry),
            1,
        )
        .await?;
        Ok(())
    }

    /// The pull limit last recorded for `host` (by any worker), with when it was seen (ms).
    pub async fn rate_limit(&self, host: &str) -> Result<Option<(RateLimit, u64)>, QueueError> {
        let mut conn = self.pool.get().await?;
        let f: HashMap<String, String> = conn.hgetall(self.keys.rate_limit(host)).await?;
        let num = |k: &str| f.get(k).and_then(|v| v.parse::<u64>().ok());
        Ok(num("remaining").map(|remaining| {
            (
                RateLimit {
                    remaining,
                    limit: num("limit"),
                    window_s: num("window_s"),
                },
                num("seen_at_ms").unwrap_or(0),
            )
        }))
    }

    /// Records fields on the task and publishes the event.
    pub async fn update(
        &self,
        entry: &Entry,
        job: &str,
        task: &str,
        event: Option<&Event>,
        fields: &[(&str, String)],
    ) -> Result<Transition, QueueError> {
        let mut args = Vec::with_capacity(fields.len() * 2);
        for (k, v) in fields {
            args.push(k.to_string());
            args.push(v.clone());
        }
        self.run("update", entry, job, task, event, &args).await
    }

    /// Extends the lease on the entry; `Lost` when another worker has taken it.
    pub async fn refresh(
        &self,
        entry: &Entry,
        job: &str,
        task: &str,
    ) -> Result<Transition, QueueError> {
        self.run("refresh", entry, job, task, None, &[]).await
    }

    /// Gives the task back to the group: another worker claims it at once.
    pub async fn requeue(
        &self,
        entry: &Entry,
        job: &str,
        task: &str,
        event: &Event,
        lease: Duration,
    ) -> Result<Transition, QueueError> {
        let idle = (lease.as_millis() as u64 * 10).to_string();
        self.run("requeue", entry, job, task, Some(event), &[idle])
            .await
    }

    /// Records the final state, acknowledges and deletes the entry (and copies it to the dead
    /// letters when `dead_reason` is given), and counts it in the stats.
    #[allow(clippy::too_many_arguments)]
    pub async fn finish(
        &self,
        entry: &Entry,
        job: &str,
        task: &str,
        status: TaskStatus,
        duration: Duration,
        dead_reason: Option<&str>,
        event: &Event,
        fields: &[(&str, String)],
    ) -> Result<Transition, QueueError> {
        let mut args = vec![
            status.as_str().to_owned(),
            duration.as_millis().to_string(),
            dead_reason.unwrap_or("").to_owned(),
        ];
        for (k, v) in fields {
            args.push(k.to_string());
            args.push(v.clone());
        }
        self.run("finish", entry, job, task, Some(event), &args)
            .await
    }

    async fn run(
        &self,
        op: &str,
        entry: &Entry,
        job: &str,
        task: &str,
        event: Option<&Event>,
        extra: &[String],
    ) -> Result<Transition, QueueError> {
        let k = &self.keys;
        let event = event
            .map(|e| serde_json::to_string(e).expect("events serialise"))
            .unwrap_or_default();
        let mut inv = self.script.prepare_invoke();
        inv.key(k.tasks())
            .key(k.task(task))
            .key(k.job(job))
            .key(k.job_events(job))
            .key(k.stats())
            .key(k.dead_letter())
            .arg(op)
            .arg(WORKER_GROUP)
            .arg(&self.consumer)
            .arg(&entry.id)
            .arg(k.events_channel(job))
            .arg(now_ms())
            .arg(JOB_TTL_SECS)
            .arg(event)
            .arg(job);
        for a in extra {
            inv.arg(a);
        }
        let mut conn = self.pool.get().await?;
        let reply: Vec<String> = inv.invoke_async(&mut *conn).await?;
        Ok(match reply.first().map(String::as_str) {
            Some("lost") => Transition::Lost,
            Some("gone") => Transition::Gone,
            Some("finished") => Transition::AlreadyFinished,
            _ if op == "start" => Transition::Started {
                attempt: reply.get(1).and_then(|a| a.parse().ok()).unwrap_or(1),
                deliveries: reply.get(2).and_then(|a| a.parse().ok()).unwrap_or(1),
            },
            _ => Transition::Done,
        })
    }
}

fn entries(reply: StreamReadReply) -> Vec<Entry> {
    reply
        .keys
        .into_iter()
        .flat_map(|k| k.ids)
        .map(Entry::from)
        .collect()
}

impl From<redis::streams::StreamId> for Entry {
    fn from(id: redis::streams::StreamId) -> Entry {
        Entry {
            fields: docker_sync_common::redis::text_fields(&id),
            id: id.id,
        }
    }
}
