//! How a worker holds a task: the lease.
//!
//! A task is a stream entry read through the consumer group `workers`. Reading it (`XREADGROUP`)
//! makes the reader its owner, and the entry stays in the group's pending list until it is
//! finished. The owner renews its lease by resetting the entry's idle time ([`Consumer::refresh`],
//! every third of the lease); an entry idle for longer than the lease belongs to a worker that
//! died or froze, and any worker takes it over ([`Consumer::reclaim`], `XAUTOCLAIM`), which
//! raises its delivery count. The old owner finds out on its next write: every change goes
//! through `transitions.lua`, which refuses it (`Lost`) unless the caller still owns the entry.
//! A worker that stops hands its tasks back ([`Consumer::hand_back`]) so another one takes them
//! at once, and a worker restarted under the same name first takes the entries it held
//! ([`Consumer::own_pending`]).

use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::streams::{
    StreamAutoClaimOptions, StreamAutoClaimReply, StreamReadOptions, StreamReadReply,
};
use redis::AsyncCommands;

use super::consumer::{Consumer, Entry, QueueError, Transition};
use super::event::Event;
use super::WORKER_GROUP;
use crate::redis::Keys;

/// Creates the task stream and the workers' consumer group if they do not exist yet. Both
/// binaries call it at start, so `XINFO GROUPS` works before the first job.
pub async fn ensure_group<C: redis::aio::ConnectionLike + Send>(
    conn: &mut C,
    keys: &Keys,
) -> redis::RedisResult<()> {
    let created: redis::RedisResult<()> = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(keys.tasks())
        .arg(WORKER_GROUP)
        .arg("0")
        .arg("MKSTREAM")
        .query_async(conn)
        .await;
    match created {
        Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
        other => other,
    }
}

/// [`ensure_group`], retried until Redis answers: in Kubernetes or compose, Redis may come up
/// after us, and crash-looping would only add back-off delays. False if `shutdown` came first.
pub async fn wait_for_group(
    pool: &deadpool_redis::Pool,
    keys: &Keys,
    shutdown: &tokio_util::sync::CancellationToken,
) -> bool {
    let mut delay = Duration::from_millis(200);
    loop {
        let attempt = async {
            let mut conn = pool.get().await.map_err(|e| e.to_string())?;
            ensure_group(&mut *conn, keys)
                .await
                .map_err(|e| e.to_string())
        };
        match attempt.await {
            Ok(()) => return true,
            Err(e) => tracing::warn!(error = %e, retry_in = ?delay, "Redis is not reachable yet"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return false,
            _ = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}

impl Consumer {
    /// Entries delivered to this consumer before: it restarted under the same name with tasks in
    /// hand. Taken before anything new, and without waiting for their lease to lapse.
    pub async fn own_pending(&self, count: usize) -> Result<Vec<Entry>, QueueError> {
        let mut conn = self.pool.get().await?;
        let opts = StreamReadOptions::default()
            .group(WORKER_GROUP, &self.name)
            .count(count);
        let reply: StreamReadReply = conn
            .xread_options(&[self.keys.tasks()], &["0"], &opts)
            .await?;
        Ok(entries(reply))
    }

    /// Takes over entries whose owner has not renewed its lease for `lease`.
    pub async fn reclaim(&self, lease: Duration, count: usize) -> Result<Vec<Entry>, QueueError> {
        let mut conn = self.pool.get().await?;
        let mut cursor = "0-0".to_owned();
        // XAUTOCLAIM looks at COUNT*10 pending entries per call; follow the cursor a few rounds
        // so a long pending list of live tasks does not hide an expired one at its end.
        for _ in 0..10 {
            let reply: StreamAutoClaimReply = conn
                .xautoclaim_options(
                    self.keys.tasks(),
                    WORKER_GROUP,
                    &self.name,
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

    /// New entries for this consumer, waiting at most `block`. `conn` must be a dedicated
    /// connection: a blocking read must not hold up a pooled one.
    pub async fn claim_new(
        &self,
        conn: &mut MultiplexedConnection,
        count: usize,
        block: Duration,
    ) -> Result<Vec<Entry>, QueueError> {
        let opts = StreamReadOptions::default()
            .group(WORKER_GROUP, &self.name)
            .count(count)
            .block(block.as_millis() as usize);
        let reply: Option<StreamReadReply> = conn
            .xread_options(&[self.keys.tasks()], &[">"], &opts)
            .await?;
        Ok(reply.map(entries).unwrap_or_default())
    }

    /// Renews the lease on the entry; `Lost` when another worker has taken it.
    pub async fn refresh(
        &self,
        entry: &Entry,
        job: &str,
        task: &str,
    ) -> Result<Transition, QueueError> {
        self.invoke("refresh", entry, job, task, None, &[]).await
    }

    /// Gives the task back to the group (status `queued` again, `event` published): the entry
    /// is marked long idle so the next worker's reclaim takes it at once, and this delivery is
    /// taken back, since a hand-back is no failure and must not lead to the dead letters.
    pub async fn hand_back(
        &self,
        entry: &Entry,
        job: &str,
        task: &str,
        event: &Event,
        lease: Duration,
    ) -> Result<Transition, QueueError> {
        let idle = (lease.as_millis() as u64 * 10).to_string();
        self.invoke("requeue", entry, job, task, Some(event), &[idle])
            .await
    }

    /// Removes an entry that cannot be a task (malformed, or deleted while pending).
    pub async fn discard(&self, entry: &Entry) -> Result<(), QueueError> {
        let mut conn = self.pool.get().await?;
        redis::pipe()
            .atomic()
            .xack(self.keys.tasks(), WORKER_GROUP, &[&entry.id])
            .xdel(self.keys.tasks(), &[&entry.id])
            .query_async::<()>(&mut *conn)
            .await?;
        Ok(())
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
