//! The worker: takes copy tasks from the Redis stream through the consumer group and runs
//! skopeo, any number of processes side by side. It keeps no state of its own; a killed worker's
//! tasks are reclaimed by the others once its lease lapses.
#![forbid(unsafe_code)]

mod errors;
mod hold;
mod lookup;
mod process;
pub mod progress;
pub mod queue;
pub mod registry;
pub mod settings;
pub mod skopeo;

use std::sync::Arc;
use std::time::Duration;

use docker_sync_common::config::sealing::SealingKeys;
use docker_sync_common::config::stored::{Catalog, RegistryStore};
use docker_sync_common::config::Config;
use docker_sync_common::registry::harbor::HarborClient;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::queue::{Entry, Queue};
use crate::registry::RegistryClient;
pub use crate::settings::Settings;
use crate::skopeo::Skopeo;

/// How long one blocking read waits for new tasks; also how quickly shutdown is noticed.
const READ_BLOCK: Duration = Duration::from_secs(1);

pub struct Worker {
    queue: Queue,
    /// skopeo copies running at once (`concurrency`); tasks beyond it may be checked meanwhile.
    copies: Semaphore,
    /// registries.yaml as loaded at start (sync settings, filters).
    config: Arc<Config>,
    /// The registries in force: the file's plus those stored through the api.
    catalog: Catalog,
    settings: Settings,
    skopeo: Skopeo,
    registry: RegistryClient,
    /// Harbor's project API, for `create_project: true`.
    harbor: HarborClient,
    /// Registries whose digest check failed already in this process (logged once at WARN).
    warned: std::sync::Mutex<std::collections::HashSet<String>>,
}

impl Worker {
    pub fn new(
        config: Config,
        sealing: Option<SealingKeys>,
        settings: Settings,
    ) -> anyhow::Result<Arc<Worker>> {
        let pool =
            docker_sync_common::redis::pool(&settings.redis_url, 4 + 3 * settings.concurrency)?;
        let config = Arc::new(config);
        let store = RegistryStore::new(pool.clone(), settings.keys.clone(), sealing.map(Arc::new));
        let skopeo = Skopeo::new(settings.skopeo.clone(), settings.work_dir.join("auth"))?;
        Ok(Arc::new(Worker {
            queue: Queue::new(pool, settings.keys.clone(), settings.consumer.clone()),
            copies: Semaphore::new(settings.concurrency),
            registry: RegistryClient::new(Duration::from_secs(30)),
            harbor: HarborClient::new(Duration::from_secs(30)),
            catalog: Catalog::new(config.clone(), store),
            config,
            settings,
            skopeo,
            warned: Default::default(),
        }))
    }

    /// Runs until `shutdown` fires, then stops reading, gives running copies the grace period to
    /// finish, and hands the rest back to the group.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) -> anyhow::Result<()> {
        if !self.queue.wait_for_group(&shutdown).await {
            return Ok(());
        }
        let mut reader =
            docker_sync_common::redis::blocking_connection(&self.settings.redis_url, READ_BLOCK)
                .await?;
        // Tasks in hand: the copy slots plus `batch_size` more whose digest check (often all a
        // re-sync needs) runs while copies go on.
        let in_flight = self.settings.concurrency + self.settings.batch_size;
        let slots = Arc::new(Semaphore::new(in_flight));
        let tracker = TaskTracker::new();
        let stop = process::Stop {
            soft: shutdown.clone(),
            hard: CancellationToken::new(),
        };
        tracing::info!(
            consumer = self.queue.consumer(),
            copies = self.settings.concurrency,
            in_flight,
            "worker started"
        );

        // Our own pending entries first: this consumer restarted and had tasks in hand.
        let mut backlog = self.queue.own_pending(10_000).await?;
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
            while permits.len() < self.settings.batch_size {
                match slots.clone().try_acquire_owned() {
                    Ok(p) => permits.push(p),
                    Err(_) => break,
                }
            }
            let entries = if backlog.is_empty() {
                match self.next_entries(&mut reader, permits.len()).await {
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
                            &self.settings.redis_url,
                            READ_BLOCK,
                        )
                        .await
                        {
                            reader = conn;
                        }
                        continue;
                    }
                }
            } else {
                let n = permits.len().min(backlog.len());
                backlog.drain(..n).collect()
            };
            for (entry, permit) in entries.into_iter().zip(permits.drain(..)) {
                let (me, stop) = (self.clone(), stop.clone());
                tracker.spawn(async move {
                    if let Err(e) = me.process(entry, stop).await {
                        tracing::error!(error = %e, "task bookkeeping failed; the task will be reclaimed");
                    }
                    drop(permit);
                });
            }
        }

        tracker.close();
        if !tracker.is_empty() {
            tracing::info!(running = tracker.len(), grace = ?self.settings.shutdown_grace, "waiting for running copies");
        }
        if tokio::time::timeout(self.settings.shutdown_grace, tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!("shutdown grace over: stopping skopeo and handing tasks back");
            stop.hard.cancel();
            tracker.wait().await;
        }
        tracing::info!("worker stopped");
        Ok(())
    }

    /// Expired tasks of dead workers first, then new ones.
    async fn next_entries(
        &self,
        reader: &mut redis::aio::MultiplexedConnection,
        count: usize,
    ) -> Result<Vec<Entry>, queue::QueueError> {
        let reclaimed = self.queue.reclaim(self.settings.lease, count).await?;
        if !reclaimed.is_empty() {
            tracing::info!(
                count = reclaimed.len(),
                "reclaimed tasks whose lease expired"
            );
            return Ok(reclaimed);
        }
        self.queue.read_new(reader, count, READ_BLOCK).await
    }
}
