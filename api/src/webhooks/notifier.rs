//! Turns a job's end into a delivery for every endpoint that wants it. Called by the job-ends
//! reader ([`crate::jobs::ends`]) before it acknowledges the end.

use docker_sync_common::queue::job::JobStatus;
use docker_sync_common::queue::read;
use docker_sync_common::queue::task::TaskStatus;

use super::deliveries::fan_out;
use super::format::{FailedImage, JobSummary, Payload, FAILED_LISTED};
use super::Event;
use crate::error::AppError;
use crate::state::AppState;

/// Queues the deliveries for one job's end.
pub async fn job_ended(state: &AppState, id: &str) -> Result<(), AppError> {
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
