//! Reading jobs back, for the api's job routes.

use std::collections::HashMap;

use deadpool_redis::Pool;
use redis::AsyncCommands;

use super::job::JobRecord;
use super::task::TaskRecord;
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
