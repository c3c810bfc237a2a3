//! Holding a task while its source's pull limit is nearly used up (Docker Hub), instead of
//! burning the rest of the quota on failures.

use std::time::Duration;

use docker_sync_common::event::{now_ms, EventKind};
use docker_sync_common::task::TaskMessage;
use tokio_util::sync::CancellationToken;

use crate::lookup::Asked;
use crate::process::{round_to_ms, task_event, Outcome};
use crate::queue::Entry;
use crate::registry::RateLimit;
use crate::Worker;

impl Worker {
    /// Holds the task while the source's pull limit (as last seen by any worker) is below the
    /// floor, looking again every `rate_limit_recheck` with a fresh (free) HEAD; or, after a 429
    /// on the HEAD, for its `Retry-After`. Emits `waiting` with the reason, and a progress step
    /// when it lets go. `Some` only when the worker is stopping meanwhile.
    pub(crate) async fn hold_for_rate_limit(
        &self,
        entry: &Entry,
        msg: &TaskMessage,
        source: &Asked<'_>,
        retry_after: Option<Duration>,
        stop_soft: &CancellationToken,
    ) -> Option<Outcome> {
        let host = source.image.registry();
        let floor = self.settings.rate_limit_floor;
        let mut announced: Option<String> = None;
        let mut retry_after = retry_after;
        loop {
            let (reason, until_ms, wait) = if let Some(wait) = retry_after.take() {
                let reason = format!(
                    "`{host}` answered 429 Too Many Requests: waiting {} (Retry-After) before pulling",
                    humantime::format_duration(round_to_ms(wait))
                );
                (reason, now_ms() + wait.as_millis() as u64, wait)
            } else {
                if floor == 0 {
                    break;
                }
                let known = match self.queue.rate_limit(host).await {
                    Ok(k) => k,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot read the pull limit");
                        None
                    }
                };
                let Some((limit, seen_at_ms)) = known.filter(|(l, _)| l.remaining < floor) else {
                    break;
                };
                let recheck = self.settings.rate_limit_recheck;
                let refill_ms = limit.window_s.map(|w| seen_at_ms + w * 1000);
                let until_ms = refill_ms.unwrap_or_else(|| now_ms() + recheck.as_millis() as u64);
                (rate_limit_reason(host, &limit, floor), until_ms, recheck)
            };
            if announced.as_deref() != Some(reason.as_str()) {
                tracing::info!(task = %msg.task, %reason, "holding the task");
                let ev = task_event(
                    msg,
                    EventKind::Waiting {
                        reason: reason.clone(),
                        until_ms,
                    },
                );
                let fields = [
                    ("waiting", reason.clone()),
                    ("waiting_until_ms", until_ms.to_string()),
                ];
                if let Err(e) = self
                    .queue
                    .update(entry, &msg.job, &msg.task, Some(&ev), &fields)
                    .await
                {
                    tracing::warn!(task = %msg.task, error = %e, "cannot record the hold");
                }
                announced = Some(reason);
            }
            tokio::select! {
                biased;
                _ = stop_soft.cancelled() => return Some(Outcome::HandBack),
                _ = tokio::time::sleep(wait) => {}
            }
            // The HEAD is not counted against the limit: look again at what is left.
            retry_after = self.source_head(source).await.retry_after;
        }
        if announced.is_some() {
            let ev = task_event(
                msg,
                EventKind::Progress {
                    blobs_done: 0,
                    images_done: 0,
                    images_total: None,
                    step: format!("`{host}` allows pulls again: copying"),
                },
            );
            let fields = [
                ("waiting", String::new()),
                ("waiting_until_ms", String::new()),
            ];
            if let Err(e) = self
                .queue
                .update(entry, &msg.job, &msg.task, Some(&ev), &fields)
                .await
            {
                tracing::warn!(task = %msg.task, error = %e, "cannot record the end of the hold");
            }
        }
        None
    }
}

/// Why a task is held: "Docker Hub pull limit nearly used: 3 of 100 left in this 6h window".
fn rate_limit_reason(host: &str, limit: &RateLimit, floor: u64) -> String {
    let who = if host == "docker.io" {
        "Docker Hub".to_owned()
    } else {
        format!("`{host}`")
    };
    let of = limit.limit.map(|l| format!(" of {l}")).unwrap_or_default();
    let window = limit
        .window_s
        .map(|w| {
            format!(
                " in this {} window",
                humantime::format_duration(Duration::from_secs(w))
            )
        })
        .unwrap_or_default();
    format!(
        "{who} pull limit nearly used: {}{of} left{window} (floor {floor}); holding until it refills",
        limit.remaining
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hold_reasons_name_the_registry_and_the_numbers() {
        let l = RateLimit {
            remaining: 3,
            limit: Some(100),
            window_s: Some(21600),
        };
        assert_eq!(
            rate_limit_reason("docker.io", &l, 10),
            "Docker Hub pull limit nearly used: 3 of 100 left in this 6h window (floor 10); \
             holding until it refills"
        );
        let bare = RateLimit {
            remaining: 0,
            limit: None,
            window_s: None,
        };
        assert_eq!(
            rate_limit_reason("127.0.0.1:5000", &bare, 1),
            "`127.0.0.1:5000` pull limit nearly used: 0 left (floor 1); holding until it refills"
        );
    }
}
