//! Reads the job-ends stream through the `notifier` group, so each end goes to one api replica,
//! and does what a job's end calls for: an export's bundle files
//! ([`crate::bundles::finalize`]) and the webhook deliveries ([`crate::webhooks::notifier`]).
//! An end is acknowledged and deleted only once both are done; one left pending by a replica
//! that died is claimed by another after [`STALE`]. Then the bundle files are written again,
//! harmlessly, and webhooks may be told twice: deliveries are at least once.

use std::collections::HashMap;
use std::time::Duration;

use docker_sync_common::queue::NOTIFIER_GROUP;
use redis::streams::{
    StreamAutoClaimOptions, StreamAutoClaimReply, StreamReadOptions, StreamReadReply,
};
use redis::AsyncCommands;
use tokio_util::sync::CancellationToken;

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
                tracing::debug!(error = %e, "reading job ends failed");
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
            crate::bundles::finalize::job_ended(state, &job).await?;
            crate::webhooks::notifier::job_ended(state, &job).await?;
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
