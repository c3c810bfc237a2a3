//! One stream entry from start to end: start it, keep its lease while [`crate::run`] works on
//! it, and record how it ended, or hand it back when the worker stops. This is all a worker does
//! with an entry; `lib.rs` only decides which entries to take.

use std::time::Instant;

use docker_sync_common::queue::event::{Event, EventKind};
use docker_sync_common::queue::task::{TaskField, TaskMessage, TaskStatus};
use docker_sync_common::queue::{Consumer, Ending, Entry, QueueError, Transition};
use tokio_util::sync::CancellationToken;

use crate::parts::Parts;
use crate::run::{run, Outcome};

/// How a worker stops: `soft` on SIGTERM (no new copies), `hard` when the grace is over
/// (running copies are stopped and handed back).
#[derive(Clone, Default)]
pub struct Stop {
    pub soft: CancellationToken,
    pub hard: CancellationToken,
}

/// What may interrupt one task: the worker stopping (`soft`: hand the task back rather than
/// start a copy) or the operator cancelling its job (`cancel`: stop even a running copy).
pub(crate) struct Interrupt<'a> {
    pub soft: &'a CancellationToken,
    pub cancel: &'a CancellationToken,
}

impl Interrupt<'_> {
    /// The task end an interruption that has fired calls for.
    pub fn outcome(&self) -> Outcome {
        if self.cancel.is_cancelled() {
            Outcome::Cancelled
        } else {
            Outcome::HandBack
        }
    }

    /// Waits for either, and says which task end it calls for.
    pub async fn fired(&self) -> Outcome {
        tokio::select! {
            biased;
            _ = self.cancel.cancelled() => Outcome::Cancelled,
            _ = self.soft.cancelled() => Outcome::HandBack,
        }
    }
}

/// Processes one entry until it finishes, is lost to another worker, or the worker stops.
pub async fn process(parts: &Parts, entry: Entry, stop: &Stop) -> Result<(), QueueError> {
    let consumer = &parts.consumer;
    let msg = match entry.message() {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(entry = %entry.id, error = %e, "dropping a malformed task entry");
            return consumer.discard(&entry).await;
        }
    };
    let worker = consumer.name().to_owned();
    // The script fills in the attempt number.
    let started_event = Event::for_task(&msg, EventKind::Started { attempt: 0, worker });
    let started = Instant::now();
    let (attempt, deliveries) = match consumer
        .start(&entry, &msg.job, &msg.task, &started_event)
        .await?
    {
        Transition::Started {
            attempt,
            deliveries,
        } => (attempt, deliveries),
        other => {
            // Cancelled: the job was, and the script has ended the task.
            tracing::info!(task = %msg.task, ?other, "task not started");
            return Ok(());
        }
    };
    if deliveries > parts.settings.max_deliveries {
        return dead_letter(consumer, &entry, &msg, deliveries, started).await;
    }
    tracing::info!(task = %msg.task, source = %msg.source, target = %msg.target, attempt, "task started");
    let worker = consumer.name();
    crate::task_log::note(
        parts,
        &msg,
        format!(
            "attempt {attempt} on worker {worker}: {} -> {}",
            msg.source, msg.target
        ),
    )
    .await;

    let lost = CancellationToken::new();
    let cancel = parts.cancels.watch(&msg.job);
    let lease = keep_lease(parts, &entry, &msg, lost.clone(), cancel.token.clone());
    let interrupt = Interrupt {
        soft: &stop.soft,
        cancel: &cancel.token,
    };
    let outcome = tokio::select! {
        o = run(parts, &entry, &msg, attempt, &interrupt) => o,
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
            vec![(TaskField::Digest, digest)],
        ),
        Outcome::Succeeded { digest, unchecked } => {
            let mut fields = vec![(TaskField::Unchecked, unchecked.clone().unwrap_or_default())];
            fields.extend(digest.clone().map(|d| (TaskField::Digest, d)));
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
            {
                let code = crate::failure::error_code(&error, &tail).unwrap_or_default();
                vec![
                    (TaskField::Error, error),
                    (TaskField::OutputTail, tail),
                    (TaskField::ErrorCode, code),
                ]
            },
        ),
        Outcome::HandBack => {
            let ev = Event::for_task(
                &msg,
                EventKind::Requeued {
                    reason: "the worker is shutting down".into(),
                },
            );
            consumer
                .hand_back(&entry, &msg.job, &msg.task, &ev, parts.settings.lease)
                .await?;
            tracing::info!(task = %msg.task, "shutting down: task handed back");
            return Ok(());
        }
        Outcome::Lost => {
            tracing::warn!(task = %msg.task, "lease lost to another worker: stopped");
            return Ok(());
        }
        Outcome::Cancelled => {
            let by = parts.cancelled_by(&msg.job).await;
            (
                TaskStatus::Cancelled,
                EventKind::Cancelled { by: by.clone() },
                vec![(TaskField::Error, format!("cancelled by {by}"))],
            )
        }
    };
    tracing::info!(task = %msg.task, source = %msg.source, status = %status, ms = elapsed.as_millis() as u64, "task finished");
    let error = fields
        .iter()
        .find(|(k, _)| *k == TaskField::Error)
        .map(|(_, v)| v.as_str());
    let ended = match error.filter(|e| !e.is_empty()) {
        Some(e) => format!(
            "{status} after {}: {e}",
            humantime::format_duration(crate::failure::round_to_ms(elapsed))
        ),
        None => format!(
            "{status} after {}",
            humantime::format_duration(crate::failure::round_to_ms(elapsed))
        ),
    };
    crate::task_log::note(parts, &msg, ended).await;
    let reason = (status == TaskStatus::Failed).then(|| {
        let field = |f| {
            fields
                .iter()
                .find(|(k, _)| *k == f)
                .map_or("", |(_, v)| v.as_str())
        };
        crate::failure::stats_reason(field(TaskField::Error), field(TaskField::OutputTail))
    });
    let ending = Ending {
        status,
        duration: elapsed,
        dead_reason: None,
        reason: reason.as_deref(),
        event: &Event::for_task(&msg, kind),
        fields: &fields,
    };
    if consumer.finish(&entry, &msg.job, &msg.task, ending).await? == Transition::Lost {
        tracing::warn!(task = %msg.task, "lease lost to another worker: its end is not recorded");
    }
    Ok(())
}

/// A task delivered more often than allowed keeps killing workers (or keeps being cut off):
/// record it failed and park the entry in the dead-letter stream.
async fn dead_letter(
    consumer: &Consumer,
    entry: &Entry,
    msg: &TaskMessage,
    deliveries: u32,
    started: Instant,
) -> Result<(), QueueError> {
    let reason = format!(
        "delivered {deliveries} times without finishing (workers crashed or were killed while copying it)"
    );
    tracing::warn!(task = %msg.task, source = %msg.source, %reason, "moving task to the dead letters");
    let event = Event::for_task(
        msg,
        EventKind::Failed {
            error: reason.clone(),
        },
    );
    let ending = Ending {
        status: TaskStatus::Failed,
        duration: started.elapsed(),
        dead_reason: Some(&reason),
        reason: Some("delivered too often"),
        event: &event,
        fields: &[(TaskField::Error, reason.clone())],
    };
    consumer.finish(entry, &msg.job, &msg.task, ending).await?;
    Ok(())
}

/// Renews the lease every third of its length until aborted; cancels `lost` when another
/// worker has taken the entry, and `cancel` when the job was cancelled (the pub/sub message
/// may have been missed).
fn keep_lease(
    parts: &Parts,
    entry: &Entry,
    msg: &TaskMessage,
    lost: CancellationToken,
    cancel: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let (consumer, entry, job, task) = (
        parts.consumer.clone(),
        entry.clone(),
        msg.job.clone(),
        msg.task.clone(),
    );
    let every = parts.settings.lease / 3;
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            match consumer.refresh(&entry, &job, &task).await {
                Ok(Transition::Lost) => {
                    lost.cancel();
                    return;
                }
                Ok(Transition::CancelRequested) => cancel.cancel(),
                Ok(_) => {}
                // Redis unreachable: keep trying; the lease may lapse and the task run twice,
                // which is safe because a copy of an identical image is a no-op.
                Err(e) => tracing::warn!(task = %task, error = %e, "cannot refresh the lease"),
            }
        }
    })
}
