//! Queuing a job: the job hash, a hash per task, the task list, a `queued` event per task and one
//! task-stream entry per task, in one MULTI/EXEC, so a submission is queued whole or not at all.

use deadpool_redis::Pool;

use super::event::{Event, EventKind};
use super::job::{JobField, Trigger};
use super::limits::{job_ttl_secs, EVENTS_PER_JOB};
use super::task::{TaskField, TaskMessage, TaskRecord, TaskStatus};
use super::QueueError;
use super::EVENT_FIELD;
use crate::image::Platform;
use crate::now_ms;
use crate::redis::Keys;

/// A job as the api planned it.
pub struct NewJob<'a> {
    /// The target registry's name.
    pub registry: &'a str,
    pub replace_level: String,
    pub namespace: &'a str,
    pub platform: Option<&'a Platform>,
    /// JSON list of the lines the filters dropped (shown on the job page).
    pub dropped: String,
    pub tasks: Vec<NewTask>,
    pub trigger: Trigger,
    /// The image list as submitted, kept for "sync again".
    pub lines: String,
    /// The finished job whose tasks this one runs again: it lists this job in its retries.
    pub retry_of: Option<&'a str>,
}

/// One image of a new job.
pub struct NewTask {
    /// Line of the submitted list it came from.
    pub line: usize,
    pub source: String,
    pub target: String,
}

/// The queued job: its id, when, and its tasks as `GET /api/jobs/{id}` shows them.
pub struct Submitted {
    pub job: String,
    pub created_at_ms: u64,
    pub tasks: Vec<TaskRecord>,
}

pub async fn submit(pool: &Pool, keys: &Keys, new: &NewJob<'_>) -> Result<Submitted, QueueError> {
    let mut conn = pool.get().await?;
    let job = uuid::Uuid::new_v4().to_string();
    let now = now_ms();
    let ttl = job_ttl_secs() as i64;
    let mut pipe = redis::pipe();
    pipe.atomic();
    let mut job_fields = vec![
        (JobField::Id, job.clone()),
        (JobField::CreatedAtMs, now.to_string()),
        (JobField::Registry, new.registry.to_owned()),
        (JobField::ReplaceLevel, new.replace_level.clone()),
        (JobField::Namespace, new.namespace.to_owned()),
        (JobField::Total, new.tasks.len().to_string()),
        (JobField::Dropped, new.dropped.clone()),
        (
            JobField::Trigger,
            serde_json::to_string(&new.trigger).expect("serialisable"),
        ),
        (JobField::Lines, new.lines.clone()),
    ];
    if let Some(of) = new.retry_of {
        job_fields.push((JobField::RetryOf, of.to_owned()));
        pipe.rpush(keys.job_retries(of), &job)
            .ignore()
            .expire(keys.job_retries(of), ttl)
            .ignore();
    }
    if let Some(platform) = new.platform {
        job_fields.push((JobField::Platform, platform.to_string()));
    }
    pipe.hset_multiple(keys.job(&job), &named(&job_fields))
        .ignore();
    let mut tasks = Vec::with_capacity(new.tasks.len());
    for (index, planned) in new.tasks.iter().enumerate() {
        let task = uuid::Uuid::new_v4().to_string();
        let message = TaskMessage {
            task: task.clone(),
            job: job.clone(),
            source: planned.source.clone(),
            target: planned.target.clone(),
            registry: new.registry.to_owned(),
            platform: new.platform.cloned(),
        };
        let fields = [
            (TaskField::Id, task.clone()),
            (TaskField::Job, job.clone()),
            (TaskField::Index, index.to_string()),
            (TaskField::Line, planned.line.to_string()),
            (TaskField::Source, message.source.clone()),
            (TaskField::Target, message.target.clone()),
            (TaskField::Status, TaskStatus::Queued.as_str().to_owned()),
            (TaskField::Attempts, "0".into()),
            (TaskField::CreatedAtMs, now.to_string()),
        ];
        pipe.hset_multiple(keys.task(&task), &named(&fields))
            .ignore()
            .expire(keys.task(&task), ttl)
            .ignore()
            .rpush(keys.job_tasks(&job), &task)
            .ignore();
        let event = Event {
            job: job.clone(),
            task: Some(task.clone()),
            index: Some(index as u32),
            at_ms: now,
            kind: EventKind::Queued,
        };
        pipe.cmd("XADD")
            .arg(keys.job_events(&job))
            .arg("MAXLEN")
            .arg("~")
            .arg(EVENTS_PER_JOB)
            .arg("*")
            .arg(EVENT_FIELD)
            .arg(serde_json::to_string(&event).expect("events serialise"))
            .ignore();
        // The one reply kept: the entry's id, recorded on the task below.
        pipe.xadd(keys.tasks(), "*", &message.to_fields());
        tasks.push(TaskRecord::queued(
            task,
            index as u32,
            planned.line as u32,
            &message,
        ));
    }
    pipe.expire(keys.job(&job), ttl)
        .ignore()
        .expire(keys.job_tasks(&job), ttl)
        .ignore()
        .expire(keys.job_events(&job), ttl)
        .ignore()
        .zadd(keys.jobs(), &job, now)
        .ignore()
        .publish(keys.events_channel(&job), "queued")
        .ignore();
    let entries: Vec<String> = pipe.query_async(&mut *conn).await?;
    // Not in the transaction above (the ids are known only after it): a task whose entry id is
    // missing is still cancelled, by the worker that reads it (transitions.lua, `start`).
    let mut ids = redis::pipe();
    for (task, entry) in tasks.iter().zip(&entries) {
        ids.hset(keys.task(&task.id), TaskField::Entry.as_str(), entry)
            .ignore();
    }
    ids.query_async::<()>(&mut *conn).await?;
    Ok(Submitted {
        job,
        created_at_ms: now,
        tasks,
    })
}

fn named<F: AsRef<str>>(fields: &[(F, String)]) -> Vec<(&str, &str)> {
    fields
        .iter()
        .map(|(k, v)| (k.as_ref(), v.as_str()))
        .collect()
}
