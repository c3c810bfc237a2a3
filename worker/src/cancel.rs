//! Jobs an operator cancelled, as this worker learns of them: the api publishes the job's id on
//! `<prefix>:cancel`, and every task this worker holds of that job is interrupted. Pub/sub loses
//! messages while the connection is down, so the lease refresh also reports a cancelled job
//! (see `step.rs`); this listener only makes the stop quick.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use docker_sync_common::redis::Keys;
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

/// The jobs of the tasks in hand, each with the token that interrupts them.
#[derive(Default)]
pub struct Cancels {
    jobs: Mutex<HashMap<String, (CancellationToken, usize)>>,
}

/// A task's watch on its job; dropping it forgets the job once no task of it is left.
pub struct Watch<'a> {
    cancels: &'a Cancels,
    job: String,
    pub token: CancellationToken,
}

impl Cancels {
    pub fn watch(&self, job: &str) -> Watch<'_> {
        let mut jobs = self.jobs.lock().expect("not poisoned");
        let (token, count) = jobs.entry(job.to_owned()).or_default();
        *count += 1;
        Watch {
            cancels: self,
            job: job.to_owned(),
            token: token.clone(),
        }
    }

    pub fn cancel(&self, job: &str) {
        if let Some((token, _)) = self.jobs.lock().expect("not poisoned").get(job) {
            tracing::info!(job, "job cancelled: stopping its tasks");
            token.cancel();
        }
    }
}

impl Drop for Watch<'_> {
    fn drop(&mut self) {
        let mut jobs = self.cancels.jobs.lock().expect("not poisoned");
        if let Some((_, count)) = jobs.get_mut(&self.job) {
            *count -= 1;
            if *count == 0 {
                jobs.remove(&self.job);
            }
        }
    }
}

/// Listens on the cancel channel until `shutdown`, reconnecting when Redis goes away.
pub async fn listen(
    cancels: Arc<Cancels>,
    redis_url: String,
    keys: Keys,
    shutdown: CancellationToken,
) {
    let mut failures = 0u32;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            result = subscribe(&cancels, &redis_url, &keys) => {
                if let Err(e) = result {
                    failures += 1;
                    tracing::warn!(error = %e, "cancel subscription lost; reconnecting");
                }
            }
        }
        let wait = Duration::from_millis(200 * u64::from(failures.clamp(1, 25)));
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

async fn subscribe(cancels: &Cancels, url: &str, keys: &Keys) -> redis::RedisResult<()> {
    let client = redis::Client::open(url)?;
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(keys.cancel_channel()).await?;
    let mut messages = pubsub.on_message();
    while let Some(msg) = messages.next().await {
        if let Ok(job) = msg.get_payload::<String>() {
            cancels.cancel(&job);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cancel_reaches_every_task_of_the_job_and_only_while_one_is_held() {
        let cancels = Cancels::default();
        let (a, b) = (cancels.watch("j1"), cancels.watch("j1"));
        let other = cancels.watch("j2");
        cancels.cancel("j1");
        assert!(a.token.is_cancelled() && b.token.is_cancelled());
        assert!(!other.token.is_cancelled());
        drop((a, b));
        assert!(!cancels.jobs.lock().unwrap().contains_key("j1"));
        // A later task of a job cancelled before it was held is stopped by the script instead.
        assert!(!cancels.watch("j1").token.is_cancelled());
    }
}
