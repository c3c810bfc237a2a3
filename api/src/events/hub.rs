//! One pub/sub connection per api process, fanned out to every WebSocket in it.

use std::sync::Arc;
use std::time::Duration;

use docker_sync_common::redis::Keys;
use futures::StreamExt;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// Broadcasts the id of each job that has a new event.
#[derive(Clone)]
pub struct Hub {
    tx: broadcast::Sender<Arc<str>>,
    feeds: super::Feeds,
}

impl Default for Hub {
    fn default() -> Self {
        Self::new()
    }
}

impl Hub {
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(1024);
        Self {
            tx,
            feeds: super::Feeds::default(),
        }
    }

    /// The per-job readers the WebSockets of this process share.
    pub fn feeds(&self) -> &super::Feeds {
        &self.feeds
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<str>> {
        self.tx.subscribe()
    }

    /// Listens on `<prefix>:events:*` until `shutdown`, reconnecting when Redis goes away.
    pub fn spawn_listener(&self, redis_url: String, keys: Keys, shutdown: CancellationToken) {
        let tx = self.tx.clone();
        tokio::spawn(async move {
            let mut failures = 0u32;
            loop {
                let run = listen(&redis_url, &keys, &tx);
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    result = run => {
                        if let Err(e) = result {
                            failures += 1;
                            tracing::warn!(error = %e, "event subscription lost; reconnecting");
                        }
                    }
                }
                let wait = Duration::from_millis(200 * u64::from(failures.min(25)));
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(wait) => {}
                }
            }
        });
    }
}

async fn listen(
    url: &str,
    keys: &Keys,
    tx: &broadcast::Sender<Arc<str>>,
) -> redis::RedisResult<()> {
    let client = redis::Client::open(url)?;
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.psubscribe(keys.events_pattern()).await?;
    let mut messages = pubsub.on_message();
    while let Some(msg) = messages.next().await {
        if let Some(job) = keys.job_of_channel(msg.get_channel_name()) {
            // No receivers is fine: nobody is watching that job.
            let _ = tx.send(Arc::from(job));
        }
    }
    Ok(())
}
