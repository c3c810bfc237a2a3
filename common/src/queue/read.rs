//! Reading jobs back, for the api's job routes.

use std::collections::HashMap;

use deadpool_redis::Pool;
use redis::AsyncCommands;

use super::job::{Counts, JobRecord};
use super::task::{TaskRecord, TaskStatus};
use super::QueueError;
use crate::redis::Keys;

/// The job and every task still stored, in submission order; None when there is no such job.
pub async fn job(
    pool: &Pool,
    keys: &Keys,
    id: &str,
) -> Result<Option<(JobRecord, Vec<TaskRecord>)>, QueueError> {
    let mut conn = pool.get().await?;
    let task_ids: Vec<String> = conn.lrange(keys.job_tasks(id), 0, -1).await?;
    let retries: Vec<String> = conn.lrange(keys.job_retries(id), 0, -1).await?;
    // The job hash is read after the tasks, in the same pipeline: the script that finishes the
    // last task also stamps the job, so a view whose tasks are all done has the stamp too.
    let mut pipe = redis::pipe();
    for task in &task_ids {
        pipe.hgetall(keys.task(task));
    }
    pipe.hgetall(keys.job(id));
    let mut hashes: Vec<HashMap<String, String>> = pipe.query_async(&mut *conn).await?;
    let job = hashes.pop().unwrap_or_default();
    let Some(mut job) = JobRecord::from_hash(&job) else {
        return Ok(None);
    };
    job.retries = retries;
    let tasks = hashes.iter().filter_map(TaskRecord::from_hash).collect();
    Ok(Some((job, tasks)))
}

/// The job hash alone (no tasks, no retries): what a listing shows of a job.
pub async fn job_record(
    pool: &Pool,
    keys: &Keys,
    id: &str,
) -> Result<Option<JobRecord>, QueueError> {
    let mut conn = pool.get().await?;
    let fields: HashMap<String, String> = conn.hgetall(keys.job(id)).await?;
    Ok(JobRecord::from_hash(&fields))
}

/// The job hashes of `ids`, in that order; jobs that expired are left out.
pub async fn job_records(
    pool: &Pool,
    keys: &Keys,
    ids: &[String],
) -> Result<Vec<JobRecord>, QueueError> {
    if ids.is_empty() {
        // Redis refuses an empty pipeline.
        return Ok(Vec::new());
    }
    let mut conn = pool.get().await?;
    let mut pipe = redis::pipe();
    for id in ids {
        pipe.hgetall(keys.job(id));
    }
    let hashes: Vec<HashMap<String, String>> = pipe.query_async(&mut *conn).await?;
    Ok(hashes.iter().filter_map(JobRecord::from_hash).collect())
}

/// Whether a job exists (for the WebSocket route, before upgrading).
pub async fn exists(pool: &Pool, keys: &Keys, id: &str) -> Result<bool, QueueError> {
    let mut conn = pool.get().await?;
    Ok(conn.exists(keys.job(id)).await?)
}

/// Whether a job is still queued or running: it exists and has no final status yet (the
/// script that ends its last task sets one).
pub async fn is_going(pool: &Pool, keys: &Keys, id: &str) -> Result<bool, QueueError> {
    let mut conn = pool.get().await?;
    let (exists, status): (bool, Option<String>) = redis::pipe()
        .exists(keys.job(id))
        .hget(keys.job(id), super::job::JobField::Status.as_str())
        .query_async(&mut *conn)
        .await?;
    Ok(exists && status.is_none())
}

/// Tasks looked at per request at most (a text that matches nothing in a huge job).
pub const TASK_SEARCH_BUDGET: usize = 20_000;

/// Which of a job's tasks to list: any of `statuses` (empty: all), whose source or target
/// contains `text`, from position `from` of the submission order.
#[derive(Debug, Clone, Default)]
pub struct TaskQuery {
    pub statuses: Vec<TaskStatus>,
    pub text: Option<String>,
    pub from: usize,
    pub limit: usize,
}

/// A page of tasks in submission order, and the position to go on from (None: the end).
pub async fn task_page(
    pool: &Pool,
    keys: &Keys,
    job: &str,
    q: &TaskQuery,
) -> Result<(Vec<TaskRecord>, Option<usize>), QueueError> {
    let statuses: Vec<&str> = q.statuses.iter().map(|s| s.as_str()).collect();
    let script = redis::Script::new(include_str!("task_page.lua"));
    let mut conn = pool.get().await?;
    let (ids, next): (Vec<String>, i64) = script
        .key(keys.job_tasks(job))
        .arg(q.from)
        .arg(q.limit.max(1))
        .arg(TASK_SEARCH_BUDGET)
        .arg(statuses.join(","))
        .arg(q.text.as_deref().map(str::to_lowercase).unwrap_or_default())
        .arg(keys.task(""))
        .invoke_async(&mut *conn)
        .await?;
    let tasks = if ids.is_empty() {
        Vec::new()
    } else {
        let mut pipe = redis::pipe();
        for id in &ids {
            pipe.hgetall(keys.task(id));
        }
        let hashes: Vec<HashMap<String, String>> = pipe.query_async(&mut *conn).await?;
        hashes.iter().filter_map(TaskRecord::from_hash).collect()
    };
    Ok((tasks, usize::try_from(next).ok()))
}

/// A job as it is at one event: the job hash, its tasks counted by status, and the id of its
/// newest event (`0-0` for none); events after that id are what changed since.
pub struct Snapshot {
    pub job: JobRecord,
    pub counts: Counts,
    pub last_event: String,
}

/// None when there is no such job.
pub async fn snapshot(pool: &Pool, keys: &Keys, job: &str) -> Result<Option<Snapshot>, QueueError> {
    let order: Vec<&str> = TaskStatus::ALL.iter().map(|s| s.as_str()).collect();
    let script = redis::Script::new(include_str!("snapshot.lua"));
    let mut conn = pool.get().await?;
    let (last_event, numbers, fields): (String, Vec<u32>, HashMap<String, String>) = script
        .key(keys.job(job))
        .key(keys.job_tasks(job))
        .key(keys.job_events(job))
        .arg(keys.task(""))
        .arg(order.join(","))
        .invoke_async(&mut *conn)
        .await?;
    let Some(mut record) = JobRecord::from_hash(&fields) else {
        return Ok(None);
    };
    record.retries = conn.lrange(keys.job_retries(job), 0, -1).await?;
    let mut counts = Counts::default();
    for (status, n) in TaskStatus::ALL.iter().zip(numbers) {
        counts.add_n(*status, n);
    }
    Ok(Some(Snapshot {
        job: record,
        counts,
        last_event,
    }))
}
