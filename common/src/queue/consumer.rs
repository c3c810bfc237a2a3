//! A worker's membership in the consumer group: the entries it holds, and the one script through
//! which it changes them. What it may do with an entry is split by subject: [`super::lease`]
//! (taking, keeping and handing back entries) and [`super::transitions`] (recording a task's
//! progress and end).

use std::collections::HashMap;

use deadpool_redis::Pool;
use redis::Script;

use super::event::Event;
use super::index::Facet;
use super::limits::{DEAD_LETTERS_KEPT, EVENTS_PER_JOB};
use super::task::{FieldError, TaskMessage, TaskStatus};
use super::WORKER_GROUP;
use crate::now_ms;
use crate::redis::Keys;

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("redis pool: {0}")]
    Pool(#[from] deadpool_redis::PoolError),
}

/// An entry taken from the task stream.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: String,
    pub fields: HashMap<String, String>,
}

impl Entry {
    pub fn message(&self) -> Result<TaskMessage, FieldError> {
        TaskMessage::from_fields(&self.fields)
    }
}

impl From<redis::streams::StreamId> for Entry {
    fn from(id: redis::streams::StreamId) -> Entry {
        Entry {
            fields: crate::redis::text_fields(&id),
            id: id.id,
        }
    }
}

/// What the script found when asked to change a task.
#[derive(Debug, PartialEq, Eq)]
pub enum Transition {
    Done,
    /// Started; the attempt number and how often the entry has been delivered.
    Started {
        attempt: u32,
        deliveries: u32,
    },
    /// Another consumer owns the entry now: stop working on it.
    Lost,
    /// The task had already finished (its acknowledgement was lost); the entry is now removed.
    AlreadyFinished,
    /// The task's data is gone (expired); the entry is now removed.
    Gone,
    /// Recorded, and the job has been cancelled: stop the copy and end the task `cancelled`.
    CancelRequested,
    /// The job had been cancelled: the task ended `cancelled` instead of starting or going back
    /// to the queue, and the entry is now removed.
    Cancelled,
}

/// One consumer of the workers' group.
#[derive(Clone)]
pub struct Consumer {
    pub(super) pool: Pool,
    pub(super) keys: Keys,
    pub(super) name: String,
    script: Script,
}

impl Consumer {
    pub fn new(pool: Pool, keys: Keys, name: impl Into<String>) -> Self {
        Self {
            pool,
            keys,
            name: name.into(),
            script: Script::new(concat!(
                include_str!("job_end.lua"),
                include_str!("transitions.lua")
            )),
        }
    }

    /// The consumer's name in the group.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `op` of `transitions.lua` on the entry of `task` (of `job`).
    pub(super) async fn invoke(
        &self,
        op: &str,
        entry: &Entry,
        job: &str,
        task: &str,
        event: Option<&Event>,
        extra: &[String],
    ) -> Result<Transition, QueueError> {
        let k = &self.keys;
        let event = event
            .map(|e| serde_json::to_string(e).expect("events serialise"))
            .unwrap_or_default();
        let final_statuses: Vec<&str> = TaskStatus::ALL
            .into_iter()
            .filter(|s| s.is_terminal())
            .map(TaskStatus::as_str)
            .collect();
        let mut inv = self.script.prepare_invoke();
        inv.key(k.tasks())
            .key(k.task(task))
            .key(k.job(job))
            .key(k.job_events(job))
            .key(k.stats())
            .key(k.dead_letter())
            .key(k.job_ends())
            .arg(op)
            .arg(WORKER_GROUP)
            .arg(&self.name)
            .arg(&entry.id)
            .arg(k.events_channel(job))
            .arg(now_ms())
            .arg(job)
            .arg(event)
            .arg(k.jobs_by(Facet::Status.as_str(), ""))
            .arg(EVENTS_PER_JOB)
            .arg(DEAD_LETTERS_KEPT)
            .arg(super::stats::buckets_arg())
            .arg(final_statuses.join(","))
            .arg(k.stats_bucket_prefix("hour"))
            .arg(k.stats_bucket_prefix("day"));
        for a in extra {
            inv.arg(a);
        }
        let mut conn = self.pool.get().await?;
        let reply: Vec<String> = inv.invoke_async(&mut *conn).await?;
        Ok(match reply.first().map(String::as_str) {
            Some("lost") => Transition::Lost,
            Some("gone") => Transition::Gone,
            Some("finished") => Transition::AlreadyFinished,
            Some("cancelled") => Transition::Cancelled,
            _ if reply.get(1).map(String::as_str) == Some("cancel") => Transition::CancelRequested,
            _ if op == "start" => Transition::Started {
                attempt: reply.get(1).and_then(|a| a.parse().ok()).unwrap_or(1),
                deliveries: reply.get(2).and_then(|a| a.parse().ok()).unwrap_or(1),
            },
            _ => Transition::Done,
        })
    }
}

/// Fields and values as the script takes them: `field, value, ...`.
pub(super) fn field_args(fields: &[(super::task::TaskField, String)]) -> Vec<String> {
    fields
        .iter()
        .flat_map(|(k, v)| [k.as_str().to_owned(), v.clone()])
        .collect()
}
