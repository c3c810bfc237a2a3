//! Running a finished job's images again, as a new job: `retry` its failed and cancelled tasks
//! (or one task), linked both ways with the old job, or `sync_again` its original lines, whose
//! tag patterns are expanded afresh.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use docker_sync_common::bundle::{ArchiveFormat, SafeName};
use docker_sync_common::image::{ImageRef, Platform};
use docker_sync_common::queue::job::{Counts, JobRecord, JobStatus};
use docker_sync_common::queue::read;
use docker_sync_common::queue::task::{TaskRecord, TaskStatus};
use serde::Deserialize;

use crate::auth::audit;
use crate::auth::principal::Caller;
use crate::bundles::import::{self, PushRequest};
use crate::error::{AppError, ErrorBody};
use crate::jobs::plan::{plan, ExportRequest, Images, JobRequest, Plan, PlannedTask};
use crate::jobs::store::{self, JobView, Origin};
use crate::jobs::tags;
use crate::jobs::JobId;
use crate::state::AppState;

/// Body of a retry; none, `null` or `{}` retries every failed and cancelled task.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryRequest {
    /// Retry only this task (it must have failed or been cancelled).
    #[serde(default)]
    pub task: Option<String>,
}

/// A finished job and its tasks, or the 404/409 that says why it cannot be run again.
async fn finished_job(
    state: &AppState,
    id: &str,
) -> Result<(JobRecord, Vec<TaskRecord>), AppError> {
    let Some((job, tasks)) = read::job(&state.pool, &state.keys, id).await? else {
        return Err(AppError::NotFound(format!("no job `{id}`")));
    };
    let mut counts = Counts::default();
    tasks.iter().for_each(|t| counts.add(t.status));
    let status = JobStatus::derive(&counts, job.started());
    if !status.is_final() {
        return Err(AppError::Conflict(format!(
            "job `{id}` is still {}: wait for it to finish (or cancel it) first",
            status.as_str()
        )));
    }
    Ok((job, tasks))
}

fn can_retry(task: &TaskRecord) -> bool {
    matches!(task.status, TaskStatus::Failed | TaskStatus::Cancelled)
}

/// `POST /api/jobs/{id}/retry`
#[utoipa::path(post, path = "/api/jobs/{id}/retry", tag = "jobs",
    params(("id" = String, Path, description = "The finished job's UUID")),
    request_body(content = RetryRequest, description = "Optional: `{\"task\": \"<task id>\"}` retries that task alone"),
    responses(
        (status = 202, description = "The new job, with `retry_of` naming the old one", body = JobView),
        (status = 404, description = "No such job or task", body = ErrorBody),
        (status = 409, description = "The job has not finished, or has nothing failed or cancelled to retry", body = ErrorBody),
    ))]
pub async fn retry(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<JobView>), AppError> {
    // No body, `null` and `{}` all mean every failed and cancelled task.
    let req: RetryRequest = if body.iter().all(u8::is_ascii_whitespace) {
        RetryRequest::default()
    } else {
        serde_json::from_slice::<Option<RetryRequest>>(&body)
            .map_err(|e| AppError::BadRequest(format!("body: {e}")))?
            .unwrap_or_default()
    };
    let id = JobId::parse(&id)?;
    let id = id.as_str();
    let (job, tasks) = finished_job(&state, id).await?;
    let chosen: Vec<&TaskRecord> = match &req.task {
        Some(task) => {
            let t = tasks
                .iter()
                .find(|t| &t.id == task)
                .ok_or_else(|| AppError::NotFound(format!("job `{id}` has no task `{task}`")))?;
            if !can_retry(t) {
                return Err(AppError::Conflict(format!(
                    "task `{task}` {}: only a failed or cancelled task is retried",
                    t.status
                )));
            }
            vec![t]
        }
        None => tasks.iter().filter(|t| can_retry(t)).collect(),
    };
    if chosen.is_empty() {
        return Err(AppError::Conflict(format!(
            "job `{id}` has no failed or cancelled task to retry"
        )));
    }
    // A retry adds to its job's target; a bundle is a finished set of files, so the images go
    // again with "sync again": a new bundle for an export, a push that skips what the target
    // has for an import.
    if job.export.is_some() || job.bundle.is_some() {
        return Err(AppError::Conflict(format!(
            "job `{id}` works on a bundle: use sync again (POST /api/jobs/{id}/sync-again), which \
             exports into a new bundle or pushes the bundle again, skipping what the target has"
        )));
    }
    let image = |r: &str| {
        ImageRef::parse(r).map_err(|e| AppError::Internal(format!("stored task image `{r}`: {e}")))
    };
    let plan = Plan {
        registry: job.registry.clone(),
        export: None,
        import: None,
        namespace: job.namespace.clone(),
        replace_level: job
            .replace_level
            .parse()
            .map_err(|e| AppError::Internal(format!("stored replace level: {e}")))?,
        platform: Platform::parse_option(job.platform.as_deref())
            .map_err(|e| AppError::Internal(format!("stored platform: {e}")))?,
        with_signatures: job.with_signatures,
        tasks: chosen
            .iter()
            .map(|t| {
                Ok(PlannedTask {
                    line: t.line as usize,
                    source: image(&t.source)?,
                    target: image(&t.target)?,
                })
            })
            .collect::<Result<_, AppError>>()?,
        dropped: Vec::new(),
    };
    let origin = Origin {
        trigger: caller.trigger(),
        lines: chosen
            .iter()
            .map(|t| t.source.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        retry_of: Some(id),
    };
    let new = store::create(&state, &plan, origin).await?;
    let detail = serde_json::json!({ "retry_of": id, "tasks": new.total });
    audit::record(
        &state,
        caller.actor(),
        "job.retry",
        &new.id,
        &caller.client,
        detail,
    )
    .await;
    Ok((StatusCode::ACCEPTED, Json(new)))
}

/// `POST /api/jobs/{id}/sync-again`
#[utoipa::path(post, path = "/api/jobs/{id}/sync-again", tag = "jobs",
    params(("id" = String, Path, description = "The finished job's UUID")),
    responses(
        (status = 202, description = "A new job of the same lines, target, level, namespace, platform and signatures choice", body = JobView),
        (status = 400, description = "A line no longer plans (e.g. the target registry is gone)", body = ErrorBody),
        (status = 404, description = "No such job", body = ErrorBody),
        (status = 409, description = "The job has not finished, or predates recorded image lists", body = ErrorBody),
    ))]
pub async fn sync_again(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<JobView>), AppError> {
    let id = JobId::parse(&id)?;
    let id = id.as_str();
    let (job, _) = finished_job(&state, id).await?;
    let Some(lines) = job.lines else {
        return Err(AppError::Conflict(format!(
            "job `{id}` was queued before jobs kept their image list: submit its images again"
        )));
    };
    let config = state.catalog.current().await?;
    if let Some(bundle) = &job.bundle {
        let bundle = SafeName::parse(bundle)
            .map_err(|e| AppError::Internal(format!("stored bundle `{bundle}`: {e}")))?;
        let push = PushRequest {
            target: job.registry.clone(),
            replace_level: parse_level(&job.replace_level)?,
            namespace: Some(job.namespace.clone()),
        };
        let plan = import::plan(&state, &config, &bundle, &push).await?;
        return again(&state, &caller, id, &plan, lines).await;
    }
    let export = match job.export.as_deref() {
        Some(format) => Some(ExportRequest {
            format: ArchiveFormat::parse(format)
                .ok_or_else(|| AppError::Internal(format!("stored export format `{format}`")))?,
        }),
        None => None,
    };
    let req = JobRequest {
        images: Images::Text(lines.clone()),
        target: if export.is_some() {
            String::new()
        } else {
            job.registry
        },
        export,
        replace_level: job
            .replace_level
            .parse()
            .map_err(|e| AppError::Internal(format!("stored replace level: {e}")))?,
        namespace: Some(job.namespace),
        platform: job.platform,
        with_signatures: job.with_signatures,
    };
    let plan = plan(&req, &config, &tags::lister(&state, &config)).await?;
    again(&state, &caller, id, &plan, lines).await
}

async fn again(
    state: &AppState,
    caller: &Caller,
    of: &str,
    plan: &Plan,
    lines: String,
) -> Result<(StatusCode, Json<JobView>), AppError> {
    let origin = Origin {
        trigger: caller.trigger(),
        lines,
        retry_of: None,
    };
    let new = store::create(state, plan, origin).await?;
    let detail = serde_json::json!({ "again_of": of, "tasks": new.total });
    audit::record(
        state,
        caller.actor(),
        "job.sync_again",
        &new.id,
        &caller.client,
        detail,
    )
    .await;
    Ok((StatusCode::ACCEPTED, Json(new)))
}

fn parse_level(stored: &str) -> Result<docker_sync_common::image::mapping::ReplaceLevel, AppError> {
    stored
        .parse()
        .map_err(|e| AppError::Internal(format!("stored replace level: {e}")))
}
