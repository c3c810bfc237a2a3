//! Queuing a job: the job hash, a hash per task, the task list, a `queued` event per task and one
//! task-stream entry per task, in one MULTI/EXEC, so a submission is queued whole or not at all.

use deadpool_redis::Pool;

use super::event::{Event, EventKind};
use super::index::{self, Facet};
use super::job::JobStatus;
use super::job::{JobField, Trigger};
use super::limits::{Retention, EVENTS_PER_JOB};
use super::task::{ArchiveLeg, Direction};
use super::task::{TaskField, TaskMessage, TaskRecord, TaskStatus};
use super::QueueError;
use super::EVENT_FIELD;
use crate::bundle::ArchiveFormat;
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
    /// Also copy each image's signatures and referrers.
    pub with_signatures: bool,
    /// JSON list of the lines the filters dropped (shown on the job page).
    pub dropped: String,
    pub tasks: Vec<NewTask>,
    pub trigger: Trigger,
    /// The image list as submitted, kept for "sync again".
    pub lines: String,
    /// The finished job whose tasks this one runs again: it lists this job in its retries.
    pub retry_of: Option<&'a str>,
    /// How long the job and its statistics are kept.
    pub retention: Retention,
    /// An export job's format (its tasks write into the bundle named after the job), or an
    /// import job's bundle; None for registry to registry.
    pub bundle: Option<BundleSide<'a>>,
}

/// Where a job's archives are: see [`super::task::ArchiveLeg`].
pub enum BundleSide<'a> {
    Export(ArchiveFormat),
    Import {
        format: ArchiveFormat,
        bundle: &'a str,
    },
}

/// One image of a new job.
pub struct NewTask {
    /// Line of the submitted list it came from.
    pub line: usize,
    pub source: String,
    pub target: String,
    /// The archive's file name in the bundle, for an export or import job.
    pub file: Option<String>,
    /// The digest the bundle's manifest records for the file (imports).
    pub digest: Option<String>,
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
    let ttl = new.retention.job_secs() as i64;
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
        (JobField::StatsKeepS, new.retention.stats_secs().to_string()),
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
    if new.with_signatures {
        job_fields.push((JobField::WithSignatures, "1".to_owned()));
    }
    match &new.bundle {
        Some(BundleSide::Export(format)) => {
            job_fields.push((JobField::Export, format.as_str().to_owned()))
        }
        Some(BundleSide::Import { bundle, .. }) => {
            job_fields.push((JobField::Bundle, (*bundle).to_owned()))
        }
        None => {}
    }
    pipe.hset_multiple(keys.job(&job), &named(&job_fields))
        .ignore();
    let mut images = String::new();
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
            signatures: new.with_signatures,
            archive: archive_leg(new, &job, planned),
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
        for image in [&planned.source, &planned.target] {
            images.push_str(&image.to_lowercase());
            images.push('\n');
        }
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
        .set_ex(keys.job_images(&job), images, ttl as u64)
        .ignore();
    index_job(&mut pipe, keys, new, &job, now);
    pipe.publish(keys.events_channel(&job), "queued").ignore();
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

fn archive_leg(new: &NewJob<'_>, job: &str, planned: &NewTask) -> Option<ArchiveLeg> {
    let (direction, format, bundle) = match new.bundle.as_ref()? {
        BundleSide::Export(format) => (Direction::Export, *format, job),
        BundleSide::Import { format, bundle } => (Direction::Import, *format, *bundle),
    };
    Some(ArchiveLeg {
        direction,
        format,
        bundle: bundle.to_owned(),
        file: planned.file.clone()?,
        digest: planned.digest.clone(),
    })
}

/// Puts the job in the index (every job, `queued`, its properties) and drops what the retention
/// has let expire from the sets it touches, so the index never outgrows the jobs.
fn index_job(pipe: &mut redis::Pipeline, keys: &Keys, new: &NewJob<'_>, job: &str, now: u64) {
    let ttl = new.retention.job_secs();
    let expired = format!("({}", now.saturating_sub(ttl * 1000));
    let mut sets = vec![
        keys.jobs(),
        keys.jobs_by(Facet::Status.as_str(), JobStatus::Queued.as_str()),
    ];
    sets.extend(
        index::facets(new.registry, &new.trigger)
            .into_iter()
            .map(|(facet, value)| keys.jobs_by(facet.as_str(), &value)),
    );
    for set in &sets {
        pipe.zadd(set, job, now)
            .ignore()
            .zrembyscore(set, "-inf", &expired)
            .ignore();
    }
    // A property no new job has for a whole retention (a deleted user) leaves no set behind.
    for set in &sets[2..] {
        pipe.expire(set, ttl as i64).ignore();
    }
    // The final statuses' sets are only ever added to by the workers' script: trim them here.
    for status in [
        JobStatus::Succeeded,
        JobStatus::Failed,
        JobStatus::Partial,
        JobStatus::Cancelled,
        JobStatus::Running,
    ] {
        pipe.zrembyscore(
            keys.jobs_by(Facet::Status.as_str(), status.as_str()),
            "-inf",
            &expired,
        )
        .ignore();
    }
}

fn named<F: AsRef<str>>(fields: &[(F, String)]) -> Vec<(&str, &str)> {
    fields
        .iter()
        .map(|(k, v)| (k.as_ref(), v.as_str()))
        .collect()
}
