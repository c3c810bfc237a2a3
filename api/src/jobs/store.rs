//! Jobs in Redis, as the api shows them. The records (fields, entries, TTL, the status rule) are
//! in [`docker_sync_common::queue`]; this file turns them into the routes' JSON.

use std::collections::HashSet;

use docker_sync_common::bundle::file_name;
use docker_sync_common::queue::index::{self, Cursor, JobQuery};
use docker_sync_common::queue::job::{Counts, JobRecord, JobStatus, Trigger};
use docker_sync_common::queue::submit::{NewJob, NewTask};
use docker_sync_common::queue::task::TaskRecord;
use docker_sync_common::queue::{read, submit};
use serde::Serialize;

use crate::error::AppError;
use crate::jobs::plan::Plan;
use crate::state::AppState;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JobView {
    pub id: String,
    pub status: JobStatus,
    pub created_at_ms: u64,
    pub started_at_ms: Option<u64>,
    pub finished_at_ms: Option<u64>,
    pub target: String,
    pub replace_level: String,
    pub namespace: String,
    /// The one platform the job copies out of multi-arch images; absent: every platform.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// Whether each image's signatures and referrers are copied too (their counts are on the
    /// tasks: `related_copied`, `related_skipped`).
    pub with_signatures: bool,
    pub total: u32,
    pub counts: Counts,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tasks: Option<Vec<TaskRecord>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filtered: Option<Vec<serde_json::Value>>,
    /// When an operator cancelled the job, and who.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancel_requested_at_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancelled_by: Option<String>,
    /// Who or what started the job (absent on jobs older than the field).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trigger: Option<Trigger>,
    /// The job whose failed tasks this one runs again, and the jobs that ran this one's again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_of: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub retries: Vec<String>,
    /// An export job's archive format (`docker-archive`, `oci-archive`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub export: Option<String>,
    /// The bundle an export job writes (the folder in the downloads named after the job), or
    /// an import job reads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bundle: Option<String>,
    /// Read without its tasks (`?tasks=false`): the id of the job's newest event when the
    /// counts were taken, so a client adds only the events after it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_event: Option<String>,
}

impl JobView {
    fn new(job: JobRecord, counts: Counts) -> JobView {
        // An export's bundle is the folder named after the job.
        let bundle = job
            .bundle
            .clone()
            .or_else(|| job.export.as_ref().map(|_| job.id.clone()));
        JobView {
            status: JobStatus::derive(&counts, job.started()),
            id: job.id,
            created_at_ms: job.created_at_ms,
            started_at_ms: job.started_at_ms,
            finished_at_ms: job.finished_at_ms,
            target: job.registry,
            replace_level: job.replace_level,
            namespace: job.namespace,
            platform: job.platform,
            with_signatures: job.with_signatures,
            total: job.total,
            counts,
            tasks: None,
            filtered: None,
            cancel_requested_at_ms: job.cancel_requested_at_ms,
            cancelled_by: job.cancelled_by,
            trigger: job.trigger,
            retry_of: job.retry_of,
            retries: job.retries,
            bundle,
            export: job.export,
            at_event: None,
        }
    }
}

/// Where a new job comes from, recorded on it.
pub struct Origin<'a> {
    pub trigger: Trigger,
    /// The image list as submitted (for "sync again").
    pub lines: String,
    /// The job whose failed tasks it runs again.
    pub retry_of: Option<&'a str>,
}

/// The plan's tasks as queued: an export's get their file names here, unique in the bundle.
fn new_tasks(plan: &Plan) -> Vec<NewTask> {
    let mut taken = HashSet::new();
    plan.tasks
        .iter()
        .enumerate()
        .map(|(n, t)| {
            let imported = plan.import.as_ref().and_then(|i| i.files.get(n));
            let file = match (imported, plan.export) {
                (Some((file, _)), _) => Some(file.clone()),
                (None, Some(format)) => {
                    let tag = t.target.tag().or(t.target.digest()).unwrap_or("latest");
                    Some(file_name(t.target.repository(), tag, format, &mut taken).to_string())
                }
                (None, None) => None,
            };
            NewTask {
                line: t.line,
                source: t.source.to_string(),
                target: t.stored_target(),
                file,
                digest: imported.and_then(|(_, digest)| digest.clone()),
            }
        })
        .collect()
}

/// Queues the plan (counted in the submitted-jobs metric, whoever submits it); returns the new
/// job as `GET /api/jobs/{id}` would show it.
pub async fn create(
    state: &AppState,
    plan: &Plan,
    origin: Origin<'_>,
) -> Result<JobView, AppError> {
    if plan.export.is_some() {
        // Refused before anything is queued, with the numbers; the workers check again
        // before each archive, since a queue can be long.
        let (quota, root) = (state.quota, state.downloads.root().to_owned());
        tokio::task::spawn_blocking(move || quota.check_export(&root))
            .await
            .map_err(|e| AppError::Internal(e.to_string()))??;
    }
    let new = NewJob {
        trigger: origin.trigger.clone(),
        lines: origin.lines,
        retry_of: origin.retry_of,
        retention: state.retention,
        registry: &plan.registry,
        replace_level: plan.replace_level.to_string(),
        namespace: &plan.namespace,
        platform: plan.platform.as_ref(),
        with_signatures: plan.with_signatures,
        dropped: serde_json::to_string(&plan.dropped).expect("serialisable"),
        tasks: new_tasks(plan),
        bundle: plan.bundle(),
    };
    let submitted = submit::submit(&state.pool, &state.keys, &new).await?;
    state.metrics.job_submitted();
    let total = submitted.tasks.len() as u32;
    let counts = Counts {
        queued: total,
        ..Counts::default()
    };
    let job_id = submitted.job.clone();
    Ok(JobView {
        id: submitted.job,
        status: JobStatus::Queued,
        created_at_ms: submitted.created_at_ms,
        started_at_ms: None,
        finished_at_ms: None,
        target: plan.registry.clone(),
        replace_level: new.replace_level,
        namespace: plan.namespace.clone(),
        platform: plan.platform.as_ref().map(ToString::to_string),
        with_signatures: plan.with_signatures,
        total,
        counts,
        tasks: Some(submitted.tasks),
        filtered: Some(
            plan.dropped
                .iter()
                .map(|d| serde_json::to_value(d).expect("serialisable"))
                .collect(),
        ),
        cancel_requested_at_ms: None,
        cancelled_by: None,
        trigger: Some(origin.trigger),
        retry_of: origin.retry_of.map(str::to_owned),
        retries: Vec::new(),
        export: plan.export.map(|f| f.as_str().to_owned()),
        bundle: match (&plan.export, &plan.import) {
            (Some(_), _) => Some(job_id.clone()),
            (None, Some(import)) => Some(import.bundle.clone()),
            (None, None) => None,
        },
        at_event: None,
    })
}

/// The job with every task, or None when there is no such job.
pub async fn get(state: &AppState, job: &str) -> Result<Option<JobView>, AppError> {
    let Some((job, tasks)) = read::job(&state.pool, &state.keys, job).await? else {
        return Ok(None);
    };
    let mut counts = Counts::default();
    tasks.iter().for_each(|t| counts.add(t.status));
    let filtered = job.dropped.clone();
    let mut view = JobView::new(job, counts);
    view.filtered = filtered;
    view.tasks = Some(tasks);
    Ok(Some(view))
}

/// The job without its tasks (counted by status), and the event it stands at: what a job of
/// 10,000 tasks shows before its tasks are paged in.
pub async fn snapshot(
    state: &AppState,
    job: &str,
) -> Result<Option<(JobView, crate::events::EventId)>, AppError> {
    let Some(snap) = read::snapshot(&state.pool, &state.keys, job).await? else {
        return Ok(None);
    };
    let filtered = snap.job.dropped.clone();
    let mut view = JobView::new(snap.job, snap.counts);
    view.filtered = filtered;
    let at = crate::events::EventId::parse(&snap.last_event).unwrap_or_default();
    view.at_event = Some(at.to_string());
    Ok(Some((view, at)))
}

/// One page of the jobs matching `query`, without their tasks, and where the next starts.
pub async fn list(
    state: &AppState,
    query: &JobQuery,
) -> Result<(Vec<JobView>, Option<Cursor>), AppError> {
    let page = index::search(&state.pool, &state.keys, query).await?;
    let jobs = read::job_records(&state.pool, &state.keys, &page.ids).await?;
    let views = jobs
        .into_iter()
        .map(|job| {
            let counts = job.counts();
            JobView::new(job, counts)
        })
        .collect();
    Ok((views, page.next))
}

/// Whether a job exists (for the WebSocket route, before upgrading).
pub async fn exists(state: &AppState, job: &str) -> Result<bool, AppError> {
    Ok(read::exists(&state.pool, &state.keys, job).await?)
}
