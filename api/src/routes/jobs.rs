use axum::extract::{FromRequest, Path, Query, State, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;

use crate::auth::audit;
use crate::auth::principal::Caller;
use crate::error::{AppError, ErrorBody};
use crate::events;
use crate::jobs::plan::{plan, JobRequest};
use crate::jobs::store::{self, JobView};
use crate::jobs::tags;
use crate::jobs::JobId;
use crate::state::AppState;
use docker_sync_common::queue::job::TriggerKind;

/// `Json` whose rejections come out as our JSON errors.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct ApiJson<T>(pub T);

/// `POST /api/jobs`: 202 with the job and its tasks, or 400 naming every bad line (nothing is
/// queued then).
#[utoipa::path(post, path = "/api/jobs", tag = "jobs",
    request_body = JobRequest,
    responses(
        (status = 202, description = "Queued: the job and one task per image", body = JobView),
        (status = 400, description = "Any bad line (each in `errors`), an unknown target or a bad platform; nothing is queued", body = ErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(req): ApiJson<JobRequest>,
) -> Result<(StatusCode, Json<JobView>), AppError> {
    let config = state.catalog.current().await?;
    let plan = plan(&req, &config, &tags::lister(&state, &config)).await?;
    let origin = store::Origin {
        trigger: caller.trigger(),
        lines: req.images.to_text(),
        retry_of: None,
    };
    let job = store::create(&state, &plan, origin).await?;
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
#[utoipa::path(post, path = "/api/jobs/{id}/cancel", tag = "jobs",
    params(("id" = String, Path, description = "The job's UUID")),
    responses(
        (status = 202, description = "Cancelled: queued tasks ended, running copies being stopped (`status` is `cancelled` once none runs)", body = JobView),
        (status = 404, description = "No such job", body = ErrorBody),
        (status = 409, description = "The job had finished; the error names its status", body = ErrorBody),
    ))]
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

#[utoipa::path(get, path = "/api/jobs/{id}", tag = "jobs",
    params(("id" = String, Path, description = "The job's UUID")),
    responses(
        (status = 200, description = "The job with its tasks", body = JobView),
        (status = 404, description = "No such job (any id that is not a UUID too)", body = ErrorBody),
    ))]
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

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// How many of the newest jobs, 1 to 200.
    #[param(default = 20)]
    limit: Option<usize>,
    /// Only jobs started this way: `session`, `token`, `schedule` or `run_now`.
    trigger: Option<String>,
    /// Only jobs this user started (by session, token or "run now").
    user: Option<String>,
    /// Only jobs of this sync rule.
    rule: Option<String>,
}

#[utoipa::path(get, path = "/api/jobs", tag = "jobs",
    params(ListQuery),
    responses(
        (status = 200, description = "The newest jobs with their counts, newest first; with a filter, those among the newest 2000 that match", body = Vec<JobView>),
        (status = 400, description = "An unknown `trigger`", body = ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<JobView>>, AppError> {
    let limit = q.limit.unwrap_or(20).clamp(1, 200);
    let kind = match q.trigger.as_deref().filter(|t| !t.is_empty()) {
        None => None,
        Some(t) => Some(
            [
                TriggerKind::Session,
                TriggerKind::Token,
                TriggerKind::Schedule,
                TriggerKind::RunNow,
            ]
            .into_iter()
            .find(|k| k.as_str() == t)
            .ok_or_else(|| {
                AppError::BadRequest(format!(
                    "trigger `{t}` is none of session, token, schedule, run_now"
                ))
            })?,
        ),
    };
    let filter = store::JobFilter {
        kind,
        user: q.user.filter(|u| !u.is_empty()),
        rule: q.rule.filter(|r| !r.is_empty()),
    };
    Ok(Json(store::list(&state, limit, &filter).await?))
}

/// `GET /api/jobs/{id}/events`: WebSocket of the job's events, history first.
#[utoipa::path(get, path = "/api/jobs/{id}/events", tag = "jobs",
    params(("id" = String, Path, description = "The job's UUID")),
    responses(
        (status = 101, description = "A WebSocket. Each text message is one event as JSON (this schema plus `id`, its stream id, unique and increasing), the job's history first; after `job_finished` the server closes the socket", body = docker_sync_common::queue::event::Event),
        (status = 404, description = "No such job", body = ErrorBody),
    ))]
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
