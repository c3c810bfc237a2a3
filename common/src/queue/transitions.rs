//! What a worker records about a task it holds: that it started, how it is going, and how it
//! ended. Each is one call of `transitions.lua`, refused (`Lost`) when the caller no longer holds
//! the entry (see [`super::lease`]), so a worker that froze past its lease cannot overwrite the
//! new owner's work or count a task twice.

use std::time::Duration;

use super::consumer::{field_args, Consumer, Entry, QueueError, Transition};
use super::event::Event;
use super::task::{TaskField, TaskStatus};

impl Consumer {
    /// Marks the task running (attempts + 1, this consumer, the delivery count), stamps the
    /// job's start, and publishes `started`, whose attempt number the script fills in.
    pub async fn start(
        &self,
        entry: &Entry,
        job: &str,
        task: &str,
        started: &Event,
    ) -> Result<Transition, QueueError> {
        self.invoke("start", entry, job, task, Some(started), &[])
            .await
    }

    /// Records fields on the task and publishes the event (if any).
    pub async fn update(
        &self,
        entry: &Entry,
        job: &str,
        task: &str,
        event: Option<&Event>,
        fields: &[(TaskField, String)],
    ) -> Result<Transition, QueueError> {
        self.invoke("update", entry, job, task, event, &field_args(fields))
            .await
    }

    /// Records how the task ended, acknowledges and deletes the entry (copying it to the dead
    /// letters when the ending has a `dead_reason`), counts it in the job and the stats, and on
    /// the job's last task sets the job's final status and publishes `job_finished`.
    pub async fn finish(
        &self,
        entry: &Entry,
        job: &str,
        task: &str,
        ending: Ending<'_>,
    ) -> Result<Transition, QueueError> {
        let mut args = vec![
            ending.status.as_str().to_owned(),
            ending.duration.as_millis().to_string(),
            ending.dead_reason.unwrap_or("").to_owned(),
            ending.reason.unwrap_or("").to_owned(),
        ];
        args.extend(field_args(ending.fields));
        self.invoke("finish", entry, job, task, Some(ending.event), &args)
            .await
    }
}

/// How a task ended, for [`Consumer::finish`].
pub struct Ending<'a> {
    /// A final status ([`TaskStatus::is_terminal`]).
    pub status: TaskStatus,
    pub duration: Duration,
    /// Set when the task is given up on: the entry is copied to the dead letters with it.
    pub dead_reason: Option<&'a str>,
    /// Why a failed task failed, as the statistics count failures: a problem's code
    /// (`source:manifest_unknown`) or the error's first words.
    pub reason: Option<&'a str>,
    pub event: &'a Event,
    pub fields: &'a [(TaskField, String)],
}
