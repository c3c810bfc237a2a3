//! The worker: takes copy tasks from the Redis stream through the consumer group and runs
//! skopeo, any number of processes side by side. It keeps no state of its own; a killed worker's
//! tasks are reclaimed by the others once its lease lapses.
#![forbid(unsafe_code)]

mod cancel;
mod digest_check;
mod export;
mod failure;
pub mod parts;
pub mod progress;
mod pull_limit;
mod related;
mod run;
pub mod settings;
pub mod skopeo;
pub mod step;
mod task_log;

use std::sync::Arc;
use std::time::Duration;

use docker_sync_common::config::sealing::SealingKeys;
use docker_sync_common::config::Config;
use docker_sync_common::queue::{Entry, QueueError};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::parts::Parts;
pub use crate::settings::Settings;
use crate::step::Stop;

/// How long one blocking read waits for new tasks; also how quickly shutdown is noticed.
const READ_BLOCK: Duration = Duration::from_secs(1);

/// Which entries to take, and when: this consumer's own pending entries first, then entries
/// whose lease lapsed, then new ones, as many as there are free slots; each is run by
/// [`step::process`].
pub struct Worker {
    parts: Arc<Parts>,
}

impl Worker {
    pub fn new(
        config: Config,
        sealing: Option<SealingKeys>,
        settings: Settings,
    ) -> anyhow::Result<Worker> {
        Ok(Worker {
            parts: Arc::new(Parts::new(config, sealing, settings)?),
        })
    }

    /// Runs until `shutdown` fires, then stops reading, gives running copies the grace period to
    /// finish, and hands the rest back to the group.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let parts = &self.parts;
        let consumer = &parts.consumer;
        if !docker_sync_common::queue::lease::wait_for_group(&parts.pool, &parts.keys, &shutdown)
            .await
        {
            return Ok(());
        }
        let mut reader =
            docker_sync_common::redis::blocking_connection(&parts.settings.redis_url, READ_BLOCK)
                .await?;
        // Tasks in hand: the copy slots plus `batch_size` more whose digest check (often all a
        // re-sync needs) runs while copies go on.
        let in_flight = parts.settings.concurrency + parts.settings.batch_size;
        let slots = Arc::new(Semaphore::new(in_flight));
        let tracker = TaskTracker::new();
        let stop = Stop {
            soft: shutdown.clone(),
            hard: CancellationToken::new(),
        };
        // Until the last task ends, not until shutdown: a cancel may come during the grace.
        let listening = CancellationToken::new();
        tokio::spawn(cancel::listen(
            parts.cancels.clone(),
            parts.settings.redis_url.clone(),
            parts.keys.clone(),
            listening.clone(),
        ));
        tracing::info!(
            consumer = consumer.name(),
            copies = parts.settings.concurrency,
            in_flight,
            "worker started"
        );

        // Our own pending entries first: this consumer restarted and had tasks in hand.
        let mut backlog = consumer.own_pending(10_000).await?;
        if !backlog.is_empty() {
            tracing::info!(
                count = backlog.len(),
                "resuming tasks this consumer held before"
            );
        }
        let mut redis_errors = 0u32;
        loop {
            // Biased: with a free slot also ready, a random pick could keep reading after SIGTERM.
            let permit = tokio::select! {
                biased;
                _ = shutdown.cancelled() => break,
                p = slots.clone().acquire_owned() => p.expect("the semaphore is never closed"),
            };
            let mut permits = vec![permit];
            while permits.len() < parts.settings.batch_size {
                match slots.clone().try_acquire_owned() {
                    Ok(p) => permits.push(p),
                    Err(_) => break,
                }
            }
            let entries = if backlog.is_empty() {
                match next_entries(parts, &mut reader, permits.len()).await {
                    Ok(e) => {
                        redis_errors = 0;
                        e
                    }
                    Err(e) => {
                        redis_errors += 1;
                        tracing::error!(error = %e, "cannot read tasks from Redis");
                        let wait = Duration::from_millis(200 * u64::from(redis_errors.min(25)));
                        tokio::select! {
                            biased;
                            _ = shutdown.cancelled() => break,
                            _ = tokio::time::sleep(wait) => {}
                        }
                        // The dedicated reader does not reconnect by itself.
                        if let Ok(conn) = docker_sync_common::redis::blocking_connection(
                            &parts.settings.redis_url,
                            READ_BLOCK,
                        )
                        .await
                        {
                            reader = conn;
                        }
                        // A Redis that came back without its data (no AOF) has no group: make
                        // it again, or no worker would ever read the new jobs.
                        if matches!(&e, QueueError::Redis(r) if r.code() == Some("NOGROUP")) {
                            if let Ok(mut conn) = parts.pool.get().await {
                                let made = docker_sync_common::queue::lease::ensure_group(
                                    &mut *conn,
                                    &parts.keys,
                                )
                                .await;
                                tracing::warn!(
                                    ok = made.is_ok(),
                                    "the consumer group was gone: made it again"
                                );
                            }
                        }
                        continue;
                    }
                }
            } else {
                let n = permits.len().min(backlog.len());
                backlog.drain(..n).collect()
            };
            for (entry, permit) in entries.into_iter().zip(permits.drain(..)) {
                let (parts, stop) = (self.parts.clone(), stop.clone());
                tracker.spawn(async move {
                    if let Err(e) = step::process(&parts, entry, &stop).await {
                        tracing::error!(error = %e, "task bookkeeping failed; the task will be reclaimed");
                    }
                    drop(permit);
                });
            }
        }

        tracker.close();
        if !tracker.is_empty() {
            tracing::info!(running = tracker.len(), grace = ?parts.settings.shutdown_grace, "waiting for running copies");
        }
        if tokio::time::timeout(parts.settings.shutdown_grace, tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!("shutdown grace over: stopping skopeo and handing tasks back");
            stop.hard.cancel();
            tracker.wait().await;
        }
        listening.cancel();
        tracing::info!("worker stopped");
        Ok(())
    }
}

/// Expired tasks of dead workers first, then new ones.
async fn next_entries(
    parts: &Parts,
    reader: &mut redis::aio::MultiplexedConnection,
    count: usize,
) -> Result<Vec<Entry>, QueueError> {
    let reclaimed = parts.consumer.reclaim(parts.settings.lease, count).await?;
    if !reclaimed.is_empty() {
        tracing::info!(
            count = reclaimed.len(),
            "reclaimed tasks whose lease expired"
        );
        return Ok(reclaimed);
    }
    parts.consumer.claim_new(reader, count, READ_BLOCK).await
}
