//! Cancelling a job: queued tasks end at once, running ones when their worker has stopped
//! skopeo. All in `cancel.lua`, atomically with the job's end when nothing is left running.

use deadpool_redis::Pool;
use redis::Script;

use super::index::Facet;
use super::limits::EVENTS_PER_JOB;
use super::QueueError;
use super::WORKER_GROUP;
use crate::now_ms;
use crate::redis::Keys;

/// What a cancel found.
#[derive(Debug, PartialEq, Eq)]
pub enum Cancel {
    NoSuchJob,
    /// The job had ended before (with this status): nothing to cancel.
    AlreadyFinished(String),
    /// Marked cancelled: `cancelled` queued tasks ended now; `running` end when their workers
    /// have stopped them (0: the job has ended).
    Requested {
        cancelled: u32,
        running: u32,
    },
}

pub async fn cancel(pool: &Pool, keys: &Keys, job: &str, by: &str) -> Result<Cancel, QueueError> {
    let script = Script::new(concat!(
        include_str!("job_end.lua"),
        include_str!("cancel.lua")
    ));
    let mut inv = script.prepare_invoke();
    inv.key(keys.tasks())
        .key(keys.job(job))
        .key(keys.job_tasks(job))
        .key(keys.job_events(job))
        .key(keys.job_ends())
        .key(keys.stats())
        .arg(WORKER_GROUP)
        .arg(now_ms())
        .arg(job)
        .arg(keys.events_channel(job))
        .arg(by)
        .arg(keys.jobs_by(Facet::Status.as_str(), ""))
        .arg(EVENTS_PER_JOB)
        .arg(keys.task(""))
        .arg(keys.cancel_channel())
        .arg(keys.stats_bucket_prefix("hour"))
        .arg(keys.stats_bucket_prefix("day"));
    let mut conn = pool.get().await?;
    let reply: Vec<String> = inv.invoke_async(&mut *conn).await?;
    let n = |i: usize| reply.get(i).and_then(|v| v.parse().ok()).unwrap_or(0);
    Ok(match reply.first().map(String::as_str) {
        Some("missing") => Cancel::NoSuchJob,
        Some("finished") => Cancel::AlreadyFinished(reply.get(1).cloned().unwrap_or_default()),
        _ => Cancel::Requested {
            cancelled: n(1),
            running: n(2),
        },
    })
}
