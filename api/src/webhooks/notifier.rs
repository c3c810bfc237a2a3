//! Reads the job-ends stream through the `notifier` group (each end goes to one api replica),
//! finishes an export's bundle, and queues a delivery for every endpoint that wants it. An end is acknowledged and deleted
//! only once its deliveries are queued; one left pending by a replica that died is claimed by
//! another after [`STALE`].

use std::collections::HashMap;
use std::time::Duration;

use docker_sync_common::queue::job::JobStatus;
use docker_sync_common::queue::task::TaskStatus;
use docker_sync_common::queue::{read, NOTIFIER_GROUP};
use redis::streams::{
    StreamAutoClaimOptions, StreamAutoClaimReply, StreamReadOptions, StreamReadReply,
};
use redis::AsyncCommands;
use tokio_util::sync::CancellationToken;

use super::deliveries::fan_out;
use super::format::{FailedImage, JobSummary, Payload, FAILED_LISTED};
use super::Event;
use crate::error::AppError;
use crate::state::AppState;

/// An end pending this long with another replica is taken over.
const STALE: Duration = Duration::from_secs(60);
const BATCH: usize = 16;

pub fn spawn(state: AppState, shutdown: CancellationToken) {
    let me = format!("api-{}", uuid::Uuid::new_v4());
    tokio::spawn(async move {
        while !shutdown.is_cancelled() {
            let step = tokio::select! {
                _ = shutdown.cancelled() => return,
                r = step(&state, &me) => r,
            };
            if let Err(e) = step {
                // Redis away, or back without the group: wait, then make it again.
                tracing::debug!(error = %e, "notifier: reading job ends failed");
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    });
}

async fn ensure_group(state: &AppState) -> Result<(), AppError> {
    let mut conn = state.pool.get().await?;
    let made: redis::RedisResult<()> = conn
        .xgroup_create_mkstream(state.keys.job_ends(), NOTIFIER_GROUP, "0")
        .await;
    match made {
        Ok(()) => Ok(()),
        Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Handles what is pending too long elsewhere, then waits up to a second for new ends.
async fn step(state: &AppState, me: &str) -> Result<(), AppError> {
    ensure_group(state).await?;
    let stream = state.keys.job_ends();
    let mut conn = state.pool.get().await?;
    let stale: StreamAutoClaimReply = conn
        .xautoclaim_options(
            &stream,
            NOTIFIER_GROUP,
            me,
            STALE.as_millis() as u64,
            "0-0",
            StreamAutoClaimOptions::default().count(BATCH),
        )
        .await?;
    let mut entries: Vec<(String, HashMap<String, redis::Value>)> =
        stale.claimed.into_iter().map(|e| (e.id, e.map)).collect();
    if entries.is_empty() {
        let opts = StreamReadOptions::default()
            .group(NOTIFIER_GROUP, me)
            .count(BATCH)
            .block(1000);
        let read: Option<StreamReadReply> = conn.xread_options(&[&stream], &[">"], &opts).await?;
        for key in read.map(|r| r.keys).unwrap_or_default() {
            entries.extend(key.ids.into_iter().map(|e| (e.id, e.map)));
        }
    }
    drop(conn);
    for (id, fields) in entries {
        let field = |name: &str| -> Option<String> {
            fields
                .get(name)
                .and_then(|v| redis::from_redis_value(v.clone()).ok())
        };
        if let Some(job) = field("job") {
            // The same reader finishes an export's bundle: one replica handles each end, and
            // an end is acknowledged only once both are done.
            crate::bundles::finalize::job_ended(state, &job).await?;
            job_ended(state, &job).await?;
        }
        let mut conn = state.pool.get().await?;
        redis::pipe()
            .atomic()
            .xack(&stream, NOTIFIER_GROUP, &[&id])
            .xdel(&stream, &[&id])
            .query_async::<()>(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Queues the deliveries for one job's end.
async fn job_ended(state: &AppState, id: &str) -> Result<(), AppError> {
    let Some((job, tasks)) = read::job(&state.pool, &state.keys, id).await? else {
        return Ok(()); // expired before anyone read its end
    };
    let counts = job.counts();
    let status = JobStatus::derive(&counts, job.started());
    let failed = matches!(status, JobStatus::Failed | JobStatus::Partial);
    let (event, wanted): (Event, &[Event]) = if failed {
        (Event::JobFailed, &[Event::JobFinished, Event::JobFailed])
    } else {
        (Event::JobFinished, &[Event::JobFinished])
    };
    let payload = Payload {
        event,
        delivery: String::new(),
        at_ms: job
            .finished_at_ms
            .unwrap_or_else(docker_sync_common::now_ms),
        link: state.public_url.as_ref().map(|u| format!("{u}/jobs/{id}")),
        job: Some(JobSummary {
            id: job.id.clone(),
            status,
            target: job.registry.clone(),
            namespace: job.namespace.clone(),
            total: job.total,
            counts,
            created_at_ms: job.created_at_ms,
            finished_at_ms: job.finished_at_ms,
            trigger: job.trigger.clone(),
            failed: tasks
                .iter()
                .filter(|t| t.status == TaskStatus::Failed)
                .take(FAILED_LISTED)
                .map(|t| FailedImage {
                    source: t.source.clone(),
                    target: t.target.clone(),
                    error: t.error.clone(),
                })
                .collect(),
        }),
        rule: None,
    };
    fan_out(state, wanted, payload).await?;
    Ok(())
}
