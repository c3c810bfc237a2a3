//! The work on one task: read both digests and skip an image the target already has,
//! otherwise create the Harbor project if asked, wait out the source's pull limit, and copy with
//! skopeo, retrying with backoff, reporting each step as an event. With signatures, the image's
//! signatures and referrers follow it ([`crate::related`]), also when the image was skipped.

use std::path::PathBuf;
use std::time::Duration;

use docker_sync_common::config::Config;
use docker_sync_common::image::ImageRef;
use docker_sync_common::queue::event::{Event, EventKind};
use docker_sync_common::queue::task::{ArchiveLeg, Direction, TaskField, TaskMessage};
use docker_sync_common::queue::Entry;
use docker_sync_common::registry::explain::Side;
use docker_sync_common::registry::harbor;
use docker_sync_common::registry::Reach;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::digest_check::{digest, platform_digest, source_head, Asked, SourceHead};
use crate::failure::{backoff, copy_error, is_permanent, is_rate_limited, round_to_ms};
use crate::parts::Parts;
use crate::pull_limit::{hold, Hold};
use crate::related::{copy_related, Sides, Stopped};
use crate::skopeo::{ArchiveEnd, CopyError, CopyRequest, Endpoint};
use crate::step::Interrupt;
use docker_sync_common::queue::log::LogLine;

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
    /// An operator cancelled the job: skopeo, if it ran, has been stopped.
    Cancelled,
}

pub(crate) async fn run(
    parts: &Parts,
    entry: &Entry,
    msg: &TaskMessage,
    first_attempt: u32,
    interrupt: &Interrupt<'_>,
) -> Outcome {
    if let Some(leg) = &msg.archive {
        if leg.direction == Direction::Export {
            return crate::export::run(parts, entry, msg, leg, first_attempt, interrupt).await;
        }
    }
    // An import reads a bundle's archive; `source` only names what it was exported from.
    let imported = msg.archive.as_ref();
    if let Some(leg) = imported {
        let path = bundle_file(parts, leg);
        if !path.is_file() {
            return failed(format!(
                "bundle `{}` has no file `{}` in the downloads folder {} (deleted, or this \
                 worker sees another folder than the api: DOCKER_SYNC_DOWNLOADS)",
                leg.bundle,
                leg.file,
                parts.settings.downloads.display()
            ));
        }
    }
    let (source, target) = match (ImageRef::parse(&msg.source), ImageRef::parse(&msg.target)) {
        (Ok(s), Ok(t)) => (s, t),
        (Err(e), _) | (_, Err(e)) => {
            return failed(format!("invalid image reference in the task: {e}"))
        }
    };
    // registries.yaml plus the registries stored through the api, read afresh for each task
    // so an edit applies without restarting workers.
    let config = match parts.catalog.current().await {
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
    let target_reach = Reach::for_host(target.registry(), Some(target_config), insecure_default);
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
        if let Some(leg) = imported {
            return SourceHead {
                unchecked: leg.digest.is_none().then(|| {
                    "a docker-archive keeps no manifest digest to compare the target with".into()
                }),
                digest: leg.digest.clone(),
                ..SourceHead::default()
            };
        }
        match source.digest() {
            Some(d) => SourceHead {
                digest: Some(d.to_owned()),
                ..SourceHead::default()
            },
            None => source_head(parts, &source_asked).await,
        }
    };
    let (head, target_lookup) = tokio::join!(source_lookup, digest(parts, &target_asked));
    let head_retry_after = head.retry_after;
    // With a platform, skopeo copies that platform's manifest out of an index unchanged: the
    // target is compared with (and ends up with) that manifest's digest, not the index's.
    let source_lookup = match (&head.unchecked, &msg.platform) {
        (Some(reason), _) => Err(reason.clone()),
        (None, None) => Ok(head.digest.clone()),
        (None, Some(platform)) => {
            match platform_digest(parts, &source_asked, &head, platform).await {
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
    let checked = match (&source_digest, &target_digest, &unchecked) {
        (Some(s), Some(t), _) if s == t => format!("digest check: the target has {s} already"),
        (Some(s), Some(t), _) => format!("digest check: source {s}, target {t}: copying"),
        (Some(s), None, None) => {
            format!("digest check: source {s}, the target has no such tag: copying")
        }
        (_, _, Some(reason)) => format!("digest check could not run ({reason}): copying"),
        _ => "digest check: no source digest: copying".to_owned(),
    };
    crate::task_log::note(parts, msg, checked).await;
    let sides = Sides {
        source: &source,
        target: &target,
        source_reach: &source_reach,
        target_reach: &target_reach,
    };
    if let Some(digest) = &source_digest {
        if target_digest.as_ref() == Some(digest) {
            // Skipped or not, a re-sync still fills in signatures the target lacks.
            let skipped = Outcome::Skipped {
                digest: digest.clone(),
            };
            return with_related(parts, entry, msg, &sides, skipped, interrupt).await;
        }
    }
    if interrupt.cancel.is_cancelled() {
        return Outcome::Cancelled;
    }
    if let Some(reason) = &unchecked {
        let _ = parts
            .consumer
            .update(
                entry,
                &msg.job,
                &msg.task,
                None,
                &[(TaskField::Unchecked, reason.clone())],
            )
            .await;
    }

    // A missing Harbor project is created before the first push into it (opt-in).
    if target_config.create_project {
        let project = target.repository().split('/').next().unwrap_or_default();
        match harbor::ensure_harbor_project(&parts.harbor, target_config, project).await {
            Ok(harbor::ProjectStatus::Created) => {
                tracing::info!(task = %msg.task, project, "created the Harbor project");
            }
            Ok(harbor::ProjectStatus::Existed) => {}
            Err(e) => return failed(e.to_string()),
        }
    }

    // A copy counts against the source's pull limit: hold it while the limit is nearly used
    // up (or the HEAD was answered 429), keeping the lease and no copy slot.
    if imported.is_none()
        && hold(
            parts,
            entry,
            msg,
            &source_asked,
            head_retry_after,
            interrupt,
        )
        .await
            == Hold::Stopping
    {
        return interrupt.outcome();
    }

    // The digest check above needs no copy slot; a copy does. Waiting for one, a stopping
    // worker gives the task back rather than start a copy it may not finish.
    let slot = tokio::select! {
        biased;
        stopped = interrupt.fired() => return stopped,
        slot = parts.copies.acquire() => slot.expect("the copy semaphore is never closed"),
    };
    let request = CopyRequest {
        source: Endpoint::new(source.clone(), &source_reach),
        target: Endpoint::new(target.clone(), &target_reach),
        platform: msg.platform.clone(),
        preserve_digests: imported.is_some_and(|leg| ArchiveEnd::keeps_digests(leg.format)),
        timeout: Duration::from_secs(parts.config.sync.timeout),
        archive: imported.map(|leg| {
            ArchiveEnd::new(
                Direction::Import,
                leg.format,
                &bundle_file(parts, leg),
                None,
            )
        }),
    };
    if let Err(ended) = copy_with_retries(
        parts,
        entry,
        msg,
        &request,
        &config,
        first_attempt,
        interrupt,
    )
    .await
    {
        return ended;
    }
    let digest = digest(parts, &target_asked).await.ok().flatten();
    if let (Some(src), Some(dst)) = (&source_digest, &digest) {
        if src != dst {
            if imported.is_some() {
                return failed(format!(
                    "digest check: the bundle's manifest.json records {src} for this file, but \
                     the target now has {dst}: the archive is not the image that was exported"
                ));
            }
            tracing::warn!(task = %msg.task, %src, %dst, "target digest differs from the source");
        }
    }
    // The signatures' copies take a slot each as they need one.
    drop(slot);
    let copied = Outcome::Succeeded {
        digest: digest.or(source_digest),
        unchecked,
    };
    with_related(parts, entry, msg, &sides, copied, interrupt).await
}

/// The copy with its retries and backoff, each attempt reported: Ok once skopeo succeeded,
/// else how the task ends.
pub(crate) async fn copy_with_retries(
    parts: &Parts,
    entry: &Entry,
    msg: &TaskMessage,
    request: &CopyRequest,
    config: &Config,
    first_attempt: u32,
    interrupt: &Interrupt<'_>,
) -> Result<(), Outcome> {
    let retries = parts.config.sync.retry_count;
    let mut attempt = first_attempt;
    for n in 0..=retries {
        if n > 0 {
            // Each attempt is `started` with its number, so the page shows live the count
            // the task's record keeps.
            attempt += 1;
            let ev = Event::for_task(
                msg,
                EventKind::Started {
                    attempt,
                    worker: parts.consumer.name().to_owned(),
                },
            );
            let _ = parts
                .consumer
                .update(
                    entry,
                    &msg.job,
                    &msg.task,
                    Some(&ev),
                    &[(TaskField::Attempts, attempt.to_string())],
                )
                .await;
        }
        match copy_reporting(parts, entry, msg, request, interrupt.cancel).await {
            Ok(()) => return Ok(()),
            Err(CopyError::Cancelled) => return Err(Outcome::Cancelled),
            Err(e) if n < retries && !is_permanent(&e) => {
                let mut message = copy_error(&e, request, config, &msg.registry);
                let delay = backoff(parts.settings.retry_backoff, n);
                // skopeo honours `Retry-After` itself before giving up; we add the backoff.
                if is_rate_limited(&e) {
                    message.push_str(&format!(
                        " (rate-limited: next attempt in {})",
                        humantime::format_duration(round_to_ms(delay))
                    ));
                }
                tracing::warn!(task = %msg.task, attempt, error = %e, "copy failed, retrying");
                let wait = humantime::format_duration(round_to_ms(delay));
                crate::task_log::note(
                    parts,
                    msg,
                    format!("attempt {attempt} failed: {message}; next attempt in {wait}"),
                )
                .await;
                let ev = Event::for_task(
                    msg,
                    EventKind::Retrying {
                        attempt,
                        error: message.clone(),
                        delay_ms: delay.as_millis() as u64,
                    },
                );
                let _ = parts
                    .consumer
                    .update(
                        entry,
                        &msg.job,
                        &msg.task,
                        Some(&ev),
                        &[(TaskField::Error, message)],
                    )
                    .await;
                tokio::select! {
                    _ = interrupt.cancel.cancelled() => return Err(Outcome::Cancelled),
                    _ = tokio::time::sleep(delay) => {}
                }
            }
            Err(e) => {
                return Err(Outcome::Failed {
                    error: copy_error(&e, request, config, &msg.registry),
                    tail: e.tail().to_owned(),
                });
            }
        }
    }
    unreachable!("the last attempt returns")
}

/// Runs skopeo and forwards its progress as events.
async fn copy_reporting(
    parts: &Parts,
    entry: &Entry,
    msg: &TaskMessage,
    request: &CopyRequest,
    cancel: &CancellationToken,
) -> Result<(), CopyError> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let copy = parts.skopeo.copy(request, tx, cancel);
    tokio::pin!(copy);
    loop {
        // Progress first, so the last steps are recorded before the result.
        tokio::select! {
            biased;
            Some(out) = rx.recv() => {
                // The lines that came together go to the log in one call.
                let mut lines = vec![LogLine::now(format!("skopeo: {}", out.line))];
                let mut step = out.progress;
                while let Ok(more) = rx.try_recv() {
                    lines.push(LogLine::now(format!("skopeo: {}", more.line)));
                    step = more.progress.or(step);
                }
                crate::task_log::write(parts, msg, &lines).await;
                let Some(p) = step else { continue };
                let ev = Event::for_task(msg, EventKind::Progress {
                        blobs_done: p.blobs_done,
                        images_done: p.images_done,
                        images_total: p.images_total,
                        step: p.step,
                    });
                let fields = [
                    (TaskField::BlobsDone, p.blobs_done.to_string()),
                    (TaskField::ImagesDone, p.images_done.to_string()),
                    (TaskField::ImagesTotal, p.images_total.map(|t| t.to_string()).unwrap_or_default()),
                ];
                if let Err(e) = parts.consumer.update(entry, &msg.job, &msg.task, Some(&ev), &fields).await {
                    tracing::warn!(task = %msg.task, error = %e, "cannot record progress");
                }
            }
            result = &mut copy => return result,
        }
    }
}

/// The image's end, or the signatures step's when the task asked for it and it did not finish.
/// An import has no source registry to find them in: the api takes the option for registry
/// sources only.
async fn with_related(
    parts: &Parts,
    entry: &Entry,
    msg: &TaskMessage,
    sides: &Sides<'_>,
    image: Outcome,
    interrupt: &Interrupt<'_>,
) -> Outcome {
    if !msg.signatures || msg.archive.is_some() {
        return image;
    }
    let digest = match &image {
        Outcome::Skipped { digest }
        | Outcome::Succeeded {
            digest: Some(digest),
            ..
        } => digest.clone(),
        _ => {
            return failed(
                "the image is at the target, but neither side told its digest, so its \
                 signatures and referrers could not be looked for"
                    .to_owned(),
            )
        }
    };
    match copy_related(parts, entry, msg, sides, &digest, interrupt).await {
        Ok(()) => image,
        Err(Stopped::Cancelled) => Outcome::Cancelled,
        Err(Stopped::Failed(error)) => failed(error),
    }
}

/// Where a bundle's file is: both names were checked as safe when the entry was read.
pub(crate) fn bundle_file(parts: &Parts, leg: &ArchiveLeg) -> PathBuf {
    parts.settings.downloads.join(&leg.bundle).join(&leg.file)
}

pub(crate) fn failed(error: String) -> Outcome {
    Outcome::Failed {
        error,
        tail: String::new(),
    }
}
