use axum::extract::{FromRequest, Path, Query, State, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;

use crate::auth::audit;
use crate::auth::principal::Caller;
use crate::error::AppError;
use crate::events;
use crate::jobs::plan::{plan, JobRequest};
use crate::jobs::store::{self, JobView};
use crate::jobs::tags;
use crate::jobs::JobId;
use crate::state::AppState;

/// `Json` whose rejections come out as our JSON errors.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct ApiJson<T>(pub T);

/// `POST /api/jobs`: 202 with the job and its tasks, or 400 naming every bad line (nothing is
/// queued then).
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(req): ApiJson<JobRequest>,
) -> Result<(StatusCode, Json<JobView>), AppError> {
    let config = state.catalog.current().await?;
    let plan = plan(&req, &config, &tags::lister(&state, &config)).await?;
    let job = store::create(&state, &plan).await?;
    state.metrics.jobs_submitted.inc();
    tracing::info!(job = %job.id, tasks = job.total, target = %job.target, user = caller.actor(), "job queued");
    let detail = serde_json::json!({ "tasks": job.total, "target": job.target, "replace_level": job.replace_level });
    audit::record(
        &state,
        caller.actor(),
        "job.submit",
        &job.id,
        &caller.client,
        detail,
    )
    .await;
    Ok((StatusCode::ACCEPTED, Json(job)))
}

/// `POST /api/jobs/{id}/cancel`: 202 with the job as it is now (`cancel_requested_at_ms` set;
/// `cancelled` once its running copies have stopped), 409 when it had finished.
pub async fn cancel(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<JobView>), AppError> {
    use docker_sync_common::queue::cancel::{cancel, Cancel};
    let id = JobId::parse(&id)?;
    let id = id.as_str();
    let (cancelled, running) = match cancel(&state.pool, &state.keys, id, caller.actor()).await? {
        Cancel::NoSuchJob => return Err(AppError::NotFound(format!("no job `{id}`"))),
        Cancel::AlreadyFinished(status) => {
            return Err(AppError::Conflict(format!(
                "job `{id}` has already finished ({status}): there is nothing left to cancel"
            )))
        }
        Cancel::Requested { cancelled, running } => (cancelled, running),
    };
    tracing::info!(
        job = id,
        cancelled,
        running,
        user = caller.actor(),
        "job cancelled"
    );
    let detail = serde_json::json!({ "cancelled": cancelled, "running": running });
    audit::record(
        &state,
        caller.actor(),
        "job.cancel",
        id,
        &caller.client,
        detail,
    )
    .await;
    let view = store::get(&state, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no job `{id}`")))?;
    Ok((StatusCode::ACCEPTED, Json(view)))
}

pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<JobView>, AppError> {
    let id = JobId::parse(&id)?;
    store::get(&state, id.as_str())
        .await?
        .map(Json)
        .ok_or_else(|| AppError::NotFound(format!("no job `{}`", id.as_str())))
}

#[derive(Deserialize)]
pub struct ListQuery {
    limit: Option<usize>,
}

pub async fn list(
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<JobView>>, AppError> {
    let limit = q.limit.unwrap_or(20).clamp(1, 200);
    Ok(Json(store::list(&state, limit).await?))
}

/// `GET /api/jobs/{id}/events`: WebSocket of the job's events, history first.
pub async fn events(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ws: WebSocketUpgrade,
) -> Result<Response, AppError> {
    let id = JobId::parse(&id)?.as_str().to_owned();
    if !store::exists(&state, &id).await? {
        return Err(AppError::NotFound(format!("no job `{id}`")));
    }
    Ok(ws
        .on_upgrade(move |socket| events::relay(socket, id, state))
        .into_response())
}
