//! One task from start to finish: skip it when the target already has the source's digest,
//! otherwise copy with skopeo, retrying with backoff, while keeping the lease alive.

use std::time::{Duration, Instant};

use docker_sync_common::event::{now_ms, Event, EventKind};
use docker_sync_common::image_ref::ImageRef;
use docker_sync_common::platform::Platform;
use docker_sync_common::registry::{IndexEntry, ManifestKind};
use docker_sync_common::task::{TaskMessage, TaskStatus};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::queue::{Entry, QueueError, Transition};
use crate::registry::{Access, RateLimit};
use crate::skopeo::{CopyError, CopyRequest, Endpoint};
use crate::Worker;

/// How a task ended on this worker.
#[derive(Debug)]
enum Outcome {
    Skipped {
        digest: String,
    },
    Succeeded {
        digest: Option<String>,
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

/// What the source's manifest HEAD told (all None when it failed or was not needed).
#[derive(Debug, Default)]
struct SourceHead {
    digest: Option<String>,
    media_type: Option<String>,
    /// The source answered 429: wait this long before pulling.
    retry_after: Option<Duration>,
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
            Outcome::Succeeded { digest } => (
                TaskStatus::Succeeded,
                EventKind::Succeeded {
                    digest: digest.clone(),
                    duration_ms: elapsed.as_millis() as u64,
                },
                digest.map(|d| vec![("digest", d)]).unwrap_or_default(),
            ),
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
        let source_config = config.registry_for_host(source.registry()).map(|(_, r)| r);
        let source_access = Access::for_host(source.registry(), source_config);
        let target_access = Access::for_host(target.registry(), Some(target_config));

        // Both sides at once: this check is all an unchanged image costs. The source's HEAD also
        // tells its pull limit (Docker Hub), kept in Redis for every worker.
        let source_lookup = async {
            match source.digest() {
                Some(d) => SourceHead {
                    digest: Some(d.to_owned()),
                    ..SourceHead::default()
                },
                None => self.source_head(&source_access, &source).await,
            }
        };
        let (head, target_digest) =
            tokio::join!(source_lookup, self.digest(&target_access, &target));
        let head_retry_after = head.retry_after;
        // With a platform, skopeo copies that platform's manifest out of an index unchanged: the
        // target is compared with (and ends up with) that manifest's digest, not the index's.
        let source_digest = match &msg.platform {
            None => head.digest,
            Some(platform) => match self
                .platform_digest(&source_access, &source, &head, platform)
                .await
            {
                Ok(digest) => digest,
                Err(error) => return failed(error),
            },
        };
        if let Some(digest) = &source_digest {
            if target_digest.as_ref() == Some(digest) {
                return Outcome::Skipped {
                    digest: digest.clone(),
                };
            }
        }

        // A missing Harbor project is created before the first push into it (opt-in).
        if target_config.create_project {
            let project = target.repository().split('/').next().unwrap_or_default();
            match docker_sync_common::harbor::ensure_harbor_project(
                &self.harbor,
                target_config,
                project,
            )
            .await
            {
                Ok(docker_sync_common::harbor::ProjectStatus::Created) => {
                    tracing::info!(task = %msg.task, project, "created the Harbor project");
                }
                Ok(docker_sync_common::harbor::ProjectStatus::Existed) => {}
                Err(e) => return failed(e.to_string()),
            }
        }

        // A copy counts against the source's pull limit: hold it while the limit is nearly used
        // up (or the HEAD was answered 429), keeping the lease and no copy slot.
        if let Some(outcome) = self
            .hold_for_rate_limit(
                entry,
                msg,
                &source_access,
                &source,
                head_retry_after,
                stop_soft,
            )
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
            source: Endpoint {
                image: source.clone(),
                tls_verify: source_access.tls_verify,
                credentials: source_access.credentials.clone(),
            },
            target: Endpoint {
                image: target.clone(),
                tls_verify: target_access.tls_verify,
                credentials: target_access.credentials.clone(),
            },
            platform: msg.platform.clone(),
            timeout: Duration::from_secs(self.config.sync.timeout),
        };
        let retries = self.config.sync.retry_count;
        let mut attempt = first_attempt;
        for n in 0..=retries {
            if n > 0 {
                attempt += 1;
                let _ = self
                    .queue
                    .update(
                        entry,
                        &msg.job,
                        &msg.task,
                        None,
                        &[("attempts", attempt.to_string())],
                    )
                    .await;
            }
            match self.copy_reporting(entry, msg, &request).await {
                Ok(()) => {
                    let digest = self.digest(&target_access, &target).await;
                    if let (Some(src), Some(dst)) = (&source_digest, &digest) {
                        if src != dst {
                            tracing::warn!(task = %msg.task, %src, %dst, "target digest differs from the source");
                        }
                    }
                    return Outcome::Succeeded {
                        digest: digest.or(source_digest),
                    };
                }
                Err(e) if n < retries => {
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

    /// The source's digest by HEAD, recording the pull limit it reports (in Redis, for every
    /// worker) and returning `Retry-After` when it answered 429.
    async fn source_head(&self, access: &Access, image: &ImageRef) -> SourceHead {
        let reference = image.tag().or(image.digest()).unwrap_or("latest");
        match self
            .registry
            .manifest_head(access, image.repository(), reference)
            .await
        {
            Ok(head) => {
                if let Some(limit) = &head.rate_limit {
                    tracing::debug!(
                        host = image.registry(),
                        remaining = limit.remaining,
                        "pull limit"
                    );
                    if let Err(e) = self.queue.save_rate_limit(image.registry(), limit).await {
                        tracing::warn!(error = %e, "cannot record the pull limit");
                    }
                }
                SourceHead {
                    digest: head.digest,
                    media_type: head.media_type,
                    retry_after: None,
                }
            }
            Err(e) => {
                tracing::info!(image = %image, error = %e, "digest lookup failed; copying anyway");
                let limited =
                    e.problem() == Some(docker_sync_common::explain::Problem::RateLimited);
                SourceHead {
                    retry_after: limited
                        .then(|| e.retry_after().unwrap_or(self.settings.rate_limit_recheck)),
                    ..SourceHead::default()
                }
            }
        }
    }

    /// Holds the task while the source's pull limit (as last seen by any worker) is below the
    /// floor, looking again every `rate_limit_recheck` with a fresh (free) HEAD; or, after a 429
    /// on the HEAD, for its `Retry-After`. Emits `waiting` with the reason, and a progress step
    /// when it lets go. `Some` only when the worker is stopping meanwhile.
    async fn hold_for_rate_limit(
        &self,
        entry: &Entry,
        msg: &TaskMessage,
        access: &Access,
        source: &ImageRef,
        retry_after: Option<Duration>,
        stop_soft: &CancellationToken,
    ) -> Option<Outcome> {
        let host = source.registry();
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
            retry_after = self.source_head(access, source).await.retry_after;
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

    /// The digest the target gets when only `platform` is copied from `source`: the matching
    /// entry's of an index, the manifest's own for a single image (skopeo copies it as it is).
    /// None when it cannot be known (the lookup failed: skopeo then copies and reports); an error,
    /// failing the task, when the index has no image for the platform.
    async fn platform_digest(
        &self,
        access: &Access,
        source: &ImageRef,
        head: &SourceHead,
        platform: &Platform,
    ) -> Result<Option<String>, String> {
        let Some(digest) = &head.digest else {
            return Ok(None);
        };
        // The HEAD's Content-Type spares a GET (a pull on Docker Hub) for a single image.
        if let Some(media_type) = &head.media_type {
            if !docker_sync_common::registry::is_index_media_type(media_type) {
                return Ok(Some(digest.clone()));
            }
        }
        match self
            .registry
            .manifest_kind(access, source.repository(), digest)
            .await
        {
            Ok(ManifestKind::Image) => Ok(Some(digest.clone())),
            Ok(ManifestKind::Index(entries)) => {
                match platform.choose(&entries, |e| e.platform.as_ref()) {
                    Some(entry) => Ok(Some(entry.digest.clone())),
                    None => Err(missing_platform(source, platform, &entries)),
                }
            }
            Ok(ManifestKind::Missing) => Ok(None),
            Err(e) => {
                tracing::info!(image = %source, error = %e, "cannot read the index; copying anyway");
                Ok(None)
            }
        }
    }

    /// A digest lookup failure is not fatal: skopeo will then copy and report the real error.
    ///
    /// A tag is asked for before a digest: on the target, what matters is where the tag points.
    async fn digest(&self, access: &Access, image: &ImageRef) -> Option<String> {
        let reference = image.tag().or(image.digest()).unwrap_or("latest");
        match self
            .registry
            .manifest_digest(access, image.repository(), reference)
            .await
        {
            Ok(d) => d,
            Err(e) => {
                tracing::info!(image = %image, error = %e, "digest lookup failed; copying anyway");
                None
            }
        }
    }
}

/// An event about this task (the index is only known to the api).
fn task_event(msg: &TaskMessage, kind: EventKind) -> Event {
    Event {
        job: msg.job.clone(),
        task: Some(msg.task.clone()),
        index: None,
        at_ms: now_ms(),
        kind,
    }
}

/// Why a task for one platform fails: the index has no image for it; names those it has.
fn missing_platform(source: &ImageRef, platform: &Platform, entries: &[IndexEntry]) -> String {
    let mut names: Vec<String> = Vec::new();
    let mut unlabelled = 0;
    for entry in entries {
        match &entry.platform {
            // BuildKit's attestation manifests, not images.
            Some(p) if p.os == "unknown" && p.arch == "unknown" => {}
            Some(p) => {
                let name = p.to_string();
                if !names.contains(&name) {
                    names.push(name);
                }
            }
            None => unlabelled += 1,
        }
    }
    let unlabelled = match unlabelled {
        0 => String::new(),
        1 => "1 entry without a platform".to_owned(),
        n => format!("{n} entries without a platform"),
    };
    let has = match (names.is_empty(), unlabelled.is_empty()) {
        (true, true) => "no images".to_owned(),
        (true, false) => unlabelled,
        (false, true) => names.join(", "),
        (false, false) => format!("{} and {unlabelled}", names.join(", ")),
    };
    format!(
        "`{}` has no {platform} image: its multi-arch index has {has}; choose one of those \
         platforms, or copy all platforms",
        source.familiar()
    )
}

fn failed(error: String) -> Outcome {
    Outcome::Failed {
        error,
        tail: String::new(),
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

/// Whether skopeo failed on a 429 (pull or push limit).
fn is_rate_limited(e: &CopyError) -> bool {
    let text = match e {
        CopyError::Failed { summary, tail, .. } => format!("{summary}\n{tail}"),
        _ => return false,
    };
    docker_sync_common::explain::Problem::classify(&text)
        == Some(docker_sync_common::explain::Problem::RateLimited)
}

fn round_to_ms(d: Duration) -> Duration {
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

    #[test]
    fn a_missing_platform_names_those_the_index_has() {
        let entry = |platform: Option<&str>| IndexEntry {
            digest: "sha256:x".into(),
            platform: platform.map(|p| {
                let parts: Vec<&str> = p.split('/').collect();
                Platform::new(parts[0], parts[1], parts.get(2).copied())
            }),
        };
        let source = ImageRef::parse("127.0.0.1:5000/multi/arch:1").unwrap();
        let entries = [
            entry(Some("linux/amd64")),
            entry(Some("linux/arm64/v8")),
            entry(Some("unknown/unknown")),
            entry(Some("linux/amd64")),
        ];
        assert_eq!(
            missing_platform(&source, &"linux/s390x".parse().unwrap(), &entries),
            "`127.0.0.1:5000/multi/arch:1` has no linux/s390x image: its multi-arch index has \
             linux/amd64, linux/arm64/v8; choose one of those platforms, or copy all platforms"
        );
        assert_eq!(
            missing_platform(&source, &"linux/s390x".parse().unwrap(), &[entry(None)]),
            "`127.0.0.1:5000/multi/arch:1` has no linux/s390x image: its multi-arch index has \
             1 entry without a platform; choose one of those platforms, or copy all platforms"
        );
    }

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
