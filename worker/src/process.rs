//! One task from start to finish: skip it when the target already has the source's digest,
//! otherwise copy with skopeo, retrying with backoff, while keeping the lease alive.

use std::time::{Duration, Instant};

use docker_sync_common::event::{now_ms, Event, EventKind};
use docker_sync_common::image::ImageRef;
use docker_sync_common::task::{TaskMessage, TaskStatus};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use docker_sync_common::registry::explain::Side;

use crate::lookup::{Asked, SourceHead};
use crate::queue::{Entry, QueueError, Transition};
use crate::registry::Reach;
use crate::skopeo::{CopyError, CopyRequest, Endpoint};
use crate::Worker;

/// How a task ended on this worker.
#[derive(Debug)]
pub(crate) enum Outcome {
    Skipped {
        digest: String,
    },
    Succeeded {
        digest: Option<String>,
        /// Why the target was not compared before copying, when it could not be.
        unchecked: Option<String>,
    },
    Failed {
        error: String,
        tail: String,
    },
    /// Shutting down: give the task back to the group.
    HandBack,
    /// Another worker took the entry over (our lease lapsed).
    Lost,
}

/// How a worker stops: `soft` on SIGTERM (no new copies), `hard` when the grace is over
/// (running copies are stopped and handed back).
#[derive(Clone, Default)]
pub(crate) struct Stop {
    pub soft: CancellationToken,
    pub hard: CancellationToken,
}

/// Longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

impl Worker {
    /// Runs one stream entry until it finishes, is lost, or the worker stops (see [`Stop`]).
    pub(crate) async fn process(&self, entry: Entry, stop: Stop) -> Result<(), QueueError> {
        let msg = match entry.message() {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(entry = %entry.id, error = %e, "dropping a malformed task entry");
                return self.queue.ack_and_delete(&entry).await;
            }
        };
        let event = |kind| task_event(&msg, kind);
        let worker = self.queue.consumer().to_owned();
        // The script fills in the attempt number.
        let started_event = event(EventKind::Started { attempt: 0, worker });
        let started = Instant::now();
        let (attempt, deliveries) = match self
            .queue
            .start(&entry, &msg.job, &msg.task, &started_event)
            .await?
        {
            Transition::Started {
                attempt,
                deliveries,
            } => (attempt, deliveries),
            other => {
                tracing::info!(task = %msg.task, ?other, "task not started");
                return Ok(());
            }
        };
        if deliveries > self.settings.max_deliveries {
            return self.dead_letter(&entry, &msg, deliveries, started).await;
        }
        tracing::info!(task = %msg.task, source = %msg.source, target = %msg.target, attempt, "task started");

        let lost = CancellationToken::new();
        let lease = self.keep_lease(&entry, &msg, lost.clone());
        let work = self.run_task(&entry, &msg, attempt, &stop.soft);
        let outcome = tokio::select! {
            o = work => o,
            _ = lost.cancelled() => Outcome::Lost,
            _ = stop.hard.cancelled() => Outcome::HandBack,
        };
        lease.abort();
        let elapsed = started.elapsed();
        let (status, kind, fields) = match outcome {
            Outcome::Skipped { digest } => (
                TaskStatus::Skipped,
                EventKind::Skipped {
                    digest: digest.clone(),
                },
                vec![("digest", digest)],
            ),
            Outcome::Succeeded { digest, unchecked } => {
                let mut fields = vec![("unchecked", unchecked.clone().unwrap_or_default())];
                fields.extend(digest.clone().map(|d| ("digest", d)));
                (
                    TaskStatus::Succeeded,
                    EventKind::Succeeded {
                        digest,
                        duration_ms: elapsed.as_millis() as u64,
                        unchecked,
                    },
                    fields,
                )
            }
            Outcome::Failed { error, tail } => (
                TaskStatus::Failed,
                EventKind::Failed {
                    error: error.clone(),
                },
                vec![("error", error), ("output_tail", tail)],
            ),
            Outcome::HandBack => {
                let ev = event(EventKind::Requeued {
                    reason: "the worker is shutting down".into(),
                });
                self.queue
                    .requeue(&entry, &msg.job, &msg.task, &ev, self.settings.lease)
                    .await?;
                tracing::info!(task = %msg.task, "shutting down: task handed back");
                return Ok(());
            }
            Outcome::Lost => {
                tracing::warn!(task = %msg.task, "lease lost to another worker: stopped");
                return Ok(());
            }
        };
        tracing::info!(task = %msg.task, source = %msg.source, status = %status, ms = elapsed.as_millis() as u64, "task finished");
        self.queue
            .finish(
                &entry,
                &msg.job,
                &msg.task,
                status,
                elapsed,
                None,
                &event(kind),
                &fields,
            )
            .await?;
        Ok(())
    }

    /// A task delivered more often than allowed keeps killing workers (or keeps being cut off):
    /// record it failed and park the entry in the dead-letter stream.
    async fn dead_letter(
        &self,
        entry: &Entry,
        msg: &TaskMessage,
        deliveries: u32,
        started: Instant,
    ) -> Result<(), QueueError> {
        let reason = format!(
            "delivered {deliveries} times without finishing (workers crashed or were killed while copying it)"
        );
        tracing::warn!(task = %msg.task, source = %msg.source, %reason, "moving task to the dead letters");
        let ev = task_event(
            msg,
            EventKind::Failed {
                error: reason.clone(),
            },
        );
        self.queue
            .finish(
                entry,
                &msg.job,
                &msg.task,
                TaskStatus::Failed,
                started.elapsed(),
                Some(&reason),
                &ev,
                &[("error", reason.clone())],
            )
            .await?;
        Ok(())
    }

    /// Refreshes the lease every third of its length until aborted; cancels `lost` when another
    /// worker has taken the entry.
    fn keep_lease(
        &self,
        entry: &Entry,
        msg: &TaskMessage,
        lost: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let (queue, entry, job, task) = (
            self.queue.clone(),
            entry.clone(),
            msg.job.clone(),
            msg.task.clone(),
        );
        let every = self.settings.lease / 3;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                match queue.refresh(&entry, &job, &task).await {
                    Ok(Transition::Lost) => {
                        lost.cancel();
                        return;
                    }
                    Ok(_) => {}
                    // Redis unreachable: keep trying; the lease may lapse and the task run twice,
                    // which is safe because a copy of an identical image is a no-op.
                    Err(e) => tracing::warn!(task = %task, error = %e, "cannot refresh the lease"),
                }
            }
        })
    }

    async fn run_task(
        &self,
        entry: &Entry,
        msg: &TaskMessage,
        first_attempt: u32,
        stop_soft: &CancellationToken,
    ) -> Outcome {
        let (source, target) = match (ImageRef::parse(&msg.source), ImageRef::parse(&msg.target)) {
            (Ok(s), Ok(t)) => (s, t),
            (Err(e), _) | (_, Err(e)) => {
                return failed(format!("invalid image reference in the task: {e}"))
            }
        };
        // registries.yaml plus the registries stored through the api, read afresh for each task
        // so an edit applies without restarting workers.
        let config = match self.catalog.current().await {
            Ok(config) => config,
            Err(e) => {
                tracing::warn!(task = %msg.task, error = %e, "cannot read the stored registries; handing the task back");
                return Outcome::HandBack;
            }
        };
        let Some(target_config) = config.registries.get(&msg.registry) else {
            return failed(match config.unusable.get(&msg.registry) {
                Some(reason) => format!(
                    "target registry `{}` cannot be used: {reason}",
                    msg.registry
                ),
                None => format!(
                    "target registry `{}` is neither in this worker's registries.yaml nor stored \
                     through the api (deleted after the job was queued?)",
                    msg.registry
                ),
            });
        };
        let source_entry = config.registry_for_host(source.registry());
        let insecure_default = config.tls_verify_disabled;
        let source_reach = Reach::for_host(
            source.registry(),
            source_entry.map(|(_, r)| r),
            insecure_default,
        );
        let target_reach =
            Reach::for_host(target.registry(), Some(target_config), insecure_default);
        let source_asked = Asked {
            side: Side::Source,
            image: &source,
            registry: source_entry.map_or(source.registry(), |(name, _)| name),
            configured: source_entry.is_some(),
            reach: &source_reach,
        };
        let target_asked = Asked {
            side: Side::Target,
            image: &target,
            registry: &msg.registry,
            configured: true,
            reach: &target_reach,
        };

        // Both sides at once: this check is all an unchanged image costs. The source's HEAD also
        // tells its pull limit (Docker Hub), kept in Redis for every worker.
        let source_lookup = async {
            match source.digest() {
                Some(d) => SourceHead {
                    digest: Some(d.to_owned()),
                    ..SourceHead::default()
                },
                None => self.source_head(&source_asked).await,
            }
        };
        let (head, target_lookup) = tokio::join!(source_lookup, self.digest(&target_asked));
        let head_retry_after = head.retry_after;
        // With a platform, skopeo copies that platform's manifest out of an index unchanged: the
        // target is compared with (and ends up with) that manifest's digest, not the index's.
        let source_lookup = match (&head.unchecked, &msg.platform) {
            (Some(reason), _) => Err(reason.clone()),
            (None, None) => Ok(head.digest.clone()),
            (None, Some(platform)) => {
                match self.platform_digest(&source_asked, &head, platform).await {
                    Ok(lookup) => lookup,
                    Err(error) => return failed(error),
                }
            }
        };
        let (source_digest, target_digest, unchecked) = match (source_lookup, target_lookup) {
            (Ok(s), Ok(t)) => (s, t, None),
            (Err(r), Ok(t)) => (None, t, Some(r)),
            (Ok(s), Err(r)) => (s, None, Some(r)),
            (Err(a), Err(b)) => (None, None, Some(format!("{b}; {a}"))),
        };
        if let Some(digest) = &source_digest {
            if target_digest.as_ref() == Some(digest) {
                return Outcome::Skipped {
                    digest: digest.clone(),
                };
            }
        }
        if let Some(reason) = &unchecked {
            let _ = self
                .queue
                .update(
                    entry,
                    &msg.job,
                    &msg.task,
                    None,
                    &[("unchecked", reason.clone())],
                )
                .await;
        }

        // A missing Harbor project is created before the first push into it (opt-in).
        if target_config.create_project {
            let project = target.repository().split('/').next().unwrap_or_default();
            match docker_sync_common::registry::harbor::ensure_harbor_project(
                &self.harbor,
                target_config,
                project,
            )
            .await
            {
                Ok(docker_sync_common::registry::harbor::ProjectStatus::Created) => {
                    tracing::info!(task = %msg.task, project, "created the Harbor project");
                }
                Ok(docker_sync_common::registry::harbor::ProjectStatus::Existed) => {}
                Err(e) => return failed(e.to_string()),
            }
        }

        // A copy counts against the source's pull limit: hold it while the limit is nearly used
        // up (or the HEAD was answered 429), keeping the lease and no copy slot.
        if let Some(outcome) = self
            .hold_for_rate_limit(entry, msg, &source_asked, head_retry_after, stop_soft)
            .await
        {
            return outcome;
        }

        // The digest check above needs no copy slot; a copy does. Waiting for one, a stopping
        // worker gives the task back rather than start a copy it may not finish.
        let _slot = tokio::select! {
            biased;
            _ = stop_soft.cancelled() => return Outcome::HandBack,
            slot = self.copies.acquire() => slot.expect("the copy semaphore is never closed"),
        };
        let request = CopyRequest {
            source: Endpoint::new(source.clone(), &source_reach),
            target: Endpoint::new(target.clone(), &target_reach),
            platform: msg.platform.clone(),
            timeout: Duration::from_secs(self.config.sync.timeout),
        };
        let retries = self.config.sync.retry_count;
        let mut attempt = first_attempt;
        for n in 0..=retries {
            if n > 0 {
                // Each attempt is `started` with its number, so the page shows live the count
                // the task's record keeps.
                attempt += 1;
                let ev = task_event(
                    msg,
                    EventKind::Started {
                        attempt,
                        worker: self.queue.consumer().to_owned(),
                    },
                );
                let _ = self
                    .queue
                    .update(
                        entry,
                        &msg.job,
                        &msg.task,
                        Some(&ev),
                        &[("attempts", attempt.to_string())],
                    )
                    .await;
            }
            match self.copy_reporting(entry, msg, &request).await {
                Ok(()) => {
                    let digest = self.digest(&target_asked).await.ok().flatten();
                    if let (Some(src), Some(dst)) = (&source_digest, &digest) {
                        if src != dst {
                            tracing::warn!(task = %msg.task, %src, %dst, "target digest differs from the source");
                        }
                    }
                    return Outcome::Succeeded {
                        digest: digest.or(source_digest),
                        unchecked,
                    };
                }
                Err(e) if n < retries && !is_permanent(&e) => {
                    let mut message =
                        crate::errors::copy_error(&e, &request, &config, &msg.registry);
                    let delay = backoff(self.settings.retry_backoff, n);
                    // skopeo honours `Retry-After` itself before giving up; we add the backoff.
                    if is_rate_limited(&e) {
                        message.push_str(&format!(
                            " (rate-limited: next attempt in {})",
                            humantime::format_duration(round_to_ms(delay))
                        ));
                    }
                    tracing::warn!(task = %msg.task, attempt, error = %e, "copy failed, retrying");
                    let ev = task_event(
                        msg,
                        EventKind::Retrying {
                            attempt,
                            error: message.clone(),
                            delay_ms: delay.as_millis() as u64,
                        },
                    );
                    let _ = self
                        .queue
                        .update(entry, &msg.job, &msg.task, Some(&ev), &[("error", message)])
                        .await;
                    tokio::time::sleep(delay).await;
                }
                Err(e) => {
                    return Outcome::Failed {
                        error: crate::errors::copy_error(&e, &request, &config, &msg.registry),
                        tail: e.tail().to_owned(),
                    };
                }
            }
        }
        unreachable!("the last attempt returns")
    }

    /// Runs skopeo and forwards its progress as events.
    async fn copy_reporting(
        &self,
        entry: &Entry,
        msg: &TaskMessage,
        request: &CopyRequest,
    ) -> Result<(), CopyError> {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let copy = self.skopeo.copy(request, tx);
        tokio::pin!(copy);
        loop {
            // Progress first, so the last steps are recorded before the result.
            tokio::select! {
                biased;
                Some(p) = rx.recv() => {
                    let ev = task_event(msg, EventKind::Progress {
                            blobs_done: p.blobs_done,
                            images_done: p.images_done,
                            images_total: p.images_total,
                            step: p.step,
                        });
                    let fields = [
                        ("blobs_done", p.blobs_done.to_string()),
                        ("images_done", p.images_done.to_string()),
                        ("images_total", p.images_total.map(|t| t.to_string()).unwrap_or_default()),
                    ];
                    if let Err(e) = self.queue.update(entry, &msg.job, &msg.task, Some(&ev), &fields).await {
                        tracing::warn!(task = %msg.task, error = %e, "cannot record progress");
                    }
                }
                result = &mut copy => return result,
            }
        }
    }
}

/// An event about this task (the index is only known to the api).
pub(crate) fn task_event(msg: &TaskMessage, kind: EventKind) -> Event {
    Event {
        job: msg.job.clone(),
        task: Some(msg.task.clone()),
        index: None,
        at_ms: now_ms(),
        kind,
    }
}

fn failed(error: String) -> Outcome {
    Outcome::Failed {
        error,
        tail: String::new(),
    }
}

/// Whether another attempt cannot help: the image or repository does not exist at the source,
/// the registry refuses the credentials or denies access, the index has no such platform, or
/// the copy cannot be set up at all. Timeouts, 5xx, 429 and dropped connections are retried.
fn is_permanent(e: &CopyError) -> bool {
    use docker_sync_common::registry::explain::Problem;
    match e {
        CopyError::Failed { summary, tail, .. } => {
            let text = format!("{summary}\n{tail}");
            let lower = text.to_ascii_lowercase();
            if lower.contains("no image found in manifest list for architecture")
                || lower.contains("choosing an image from manifest list")
            {
                return true;
            }
            matches!(
                Problem::classify(summary),
                Some(
                    Problem::ManifestUnknown
                        | Problem::NameUnknown
                        | Problem::Unauthorized
                        | Problem::Denied(_)
                )
            )
        }
        CopyError::TwoProxies { .. } | CopyError::Spawn { .. } => true,
        CopyError::Timeout(..) | CopyError::AuthFile(_) => false,
    }
}

/// Whether skopeo failed on a 429 (pull or push limit).
fn is_rate_limited(e: &CopyError) -> bool {
    let text = match e {
        CopyError::Failed { summary, tail, .. } => format!("{summary}\n{tail}"),
        _ => return false,
    };
    docker_sync_common::registry::explain::Problem::classify(&text)
        == Some(docker_sync_common::registry::explain::Problem::RateLimited)
}

pub(crate) fn round_to_ms(d: Duration) -> Duration {
    Duration::from_millis(d.as_millis() as u64)
}

/// base, 2×base, 4×base, … capped at a minute.
fn backoff(base: Duration, retry: u32) -> Duration {
    base.saturating_mul(1 << retry.min(16)).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_cap() {
        let b = Duration::from_secs(2);
        assert_eq!(backoff(b, 0), Duration::from_secs(2));
        assert_eq!(backoff(b, 2), Duration::from_secs(8));
        assert_eq!(backoff(b, 10), MAX_BACKOFF);
    }
}
