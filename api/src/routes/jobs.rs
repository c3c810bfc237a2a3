use axum::extract::{FromRequest, Path, Query, State, WebSocketUpgrade};
use axum::http::{HeaderValue, StatusCode};
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
use docker_sync_common::queue::index::{Cursor, JobQuery};
use docker_sync_common::queue::job::{JobStatus, TriggerKind};
use docker_sync_common::queue::log;
use docker_sync_common::queue::read::{self, TaskQuery};
use docker_sync_common::queue::task::{TaskRecord, TaskStatus};

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

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GetQuery {
    /// `false`: the job with its tasks counted by status but not listed (page them with
    /// `/api/jobs/{id}/tasks`); what a job of thousands of images should be read with.
    #[param(default = true)]
    tasks: Option<bool>,
}

#[utoipa::path(get, path = "/api/jobs/{id}", tag = "jobs",
    params(("id" = String, Path, description = "The job's UUID"), GetQuery),
    responses(
        (status = 200, description = "The job with its tasks (or without, `tasks=false`)", body = JobView),
        (status = 404, description = "No such job (any id that is not a UUID too)", body = ErrorBody),
    ))]
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<GetQuery>,
) -> Result<Json<JobView>, AppError> {
    let id = JobId::parse(&id)?;
    let view = if q.tasks.unwrap_or(true) {
        store::get(&state, id.as_str()).await?
    } else {
        store::snapshot(&state, id.as_str())
            .await?
            .map(|(view, _)| view)
    };
    view.map(Json)
        .ok_or_else(|| AppError::NotFound(format!("no job `{}`", id.as_str())))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TasksQuery {
    /// Only tasks in one of these states (comma-separated): `queued`, `running`, `succeeded`,
    /// `skipped`, `failed`, `cancelled`.
    status: Option<String>,
    /// Only tasks whose source or target contains this text, case-insensitive.
    q: Option<String>,
    /// Where to go on: the `X-Next-Cursor` of the previous page.
    cursor: Option<String>,
    /// Tasks per page, 1 to 500.
    #[param(default = 100)]
    limit: Option<usize>,
}

/// `GET /api/jobs/{id}/tasks`: a page of the job's tasks in submission order.
#[utoipa::path(get, path = "/api/jobs/{id}/tasks", tag = "jobs",
    params(("id" = String, Path, description = "The job's UUID"), TasksQuery),
    responses(
        (status = 200, description = "The tasks that match, in submission order. When more may follow, `X-Next-Cursor` names where the next page starts; a page can be short when a search looked through many tasks", body = Vec<TaskRecord>,
            headers(("x-next-cursor" = String, description = "Pass as `cursor` for the next page; absent on the last one"))),
        (status = 400, description = "An unknown `status`, a bad cursor or a text over 256 characters", body = ErrorBody),
        (status = 404, description = "No such job", body = ErrorBody),
    ))]
pub async fn tasks(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<TasksQuery>,
) -> Result<Response, AppError> {
    let id = JobId::parse(&id)?;
    if !store::exists(&state, id.as_str()).await? {
        return Err(AppError::NotFound(format!("no job `{}`", id.as_str())));
    }
    let mut statuses = Vec::new();
    for s in q
        .status
        .iter()
        .flat_map(|s| s.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let status: TaskStatus = s.parse().map_err(|_| {
            AppError::BadRequest(format!(
                "status `{s}` is none of queued, running, succeeded, skipped, failed, cancelled"
            ))
        })?;
        statuses.push(status);
    }
    let text = q.q.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
    if text.as_ref().is_some_and(|t| t.chars().count() > MAX_TEXT) {
        return Err(AppError::BadRequest(format!(
            "`q` is longer than {MAX_TEXT} characters"
        )));
    }
    let from = match q.cursor.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        None => 0,
        Some(c) => c.parse().map_err(|_| {
            AppError::BadRequest(format!(
                "cursor `{c}` is not one this api handed out (take `X-Next-Cursor` of the previous page)"
            ))
        })?,
    };
    let query = TaskQuery {
        statuses,
        text,
        from,
        limit: q.limit.unwrap_or(100).clamp(1, 500),
    };
    let (tasks, next) = read::task_page(&state.pool, &state.keys, id.as_str(), &query).await?;
    let mut response = Json(tasks).into_response();
    if let Some(next) = next {
        response
            .headers_mut()
            .insert(NEXT_CURSOR, HeaderValue::from(next));
    }
    Ok(response)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// How many jobs per page, 1 to 200.
    #[param(default = 20)]
    limit: Option<usize>,
    /// Where to go on: the `X-Next-Cursor` of the previous page.
    cursor: Option<String>,
    /// Only jobs in one of these states (comma-separated): `queued`, `running`, `succeeded`,
    /// `partial`, `failed`, `cancelled`.
    status: Option<String>,
    /// Only jobs into this target registry (its name).
    registry: Option<String>,
    /// Only jobs started this way: `session`, `token`, `schedule` or `run_now`.
    trigger: Option<String>,
    /// Only jobs this user started (by session, token or "run now").
    user: Option<String>,
    /// Only jobs started with an API token of this name.
    token: Option<String>,
    /// Only jobs of this sync rule.
    rule: Option<String>,
    /// Only jobs created at or after this time (ms since the epoch).
    from: Option<u64>,
    /// Only jobs created before this time (ms since the epoch).
    to: Option<u64>,
    /// Only jobs with an image (source or target) containing this text, case-insensitive.
    q: Option<String>,
}

/// The longest search text: image references are at most a few hundred characters.
const MAX_TEXT: usize = 256;

impl ListQuery {
    fn into_query(self) -> Result<JobQuery, AppError> {
        let given = |v: Option<String>| v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let trigger = match given(self.trigger) {
            None => None,
            Some(t) => Some(
                TriggerKind::ALL
                    .into_iter()
                    .find(|k| k.as_str() == t)
                    .ok_or_else(|| {
                        AppError::BadRequest(format!(
                            "trigger `{t}` is none of session, token, schedule, run_now"
                        ))
                    })?,
            ),
        };
        let mut statuses = Vec::new();
        for s in given(self.status).iter().flat_map(|s| s.split(',')) {
            let s = s.trim();
            let status = JobStatus::ALL
                .into_iter()
                .find(|k| k.as_str() == s)
                .ok_or_else(|| {
                    AppError::BadRequest(format!(
                        "status `{s}` is none of queued, running, succeeded, partial, failed, cancelled"
                    ))
                })?;
            if !statuses.contains(&status) {
                statuses.push(status);
            }
        }
        if let (Some(from), Some(to)) = (self.from, self.to) {
            if from >= to {
                return Err(AppError::BadRequest(format!(
                    "`from` ({from}) must be before `to` ({to})"
                )));
            }
        }
        let text = given(self.q);
        if text.as_ref().is_some_and(|t| t.chars().count() > MAX_TEXT) {
            return Err(AppError::BadRequest(format!(
                "`q` is longer than {MAX_TEXT} characters"
            )));
        }
        let cursor = match given(self.cursor) {
            None => None,
            Some(c) => Some(Cursor::parse(&c).ok_or_else(|| {
                AppError::BadRequest(format!(
                    "cursor `{c}` is not one this api handed out (take `X-Next-Cursor` of the previous page)"
                ))
            })?),
        };
        Ok(JobQuery {
            statuses,
            registry: given(self.registry),
            user: given(self.user),
            token: given(self.token),
            rule: given(self.rule),
            trigger,
            from_ms: self.from,
            to_ms: self.to,
            text,
            limit: self.limit.unwrap_or(20).clamp(1, 200),
            cursor,
        })
    }
}

/// The header naming where the next page starts; absent on the last page.
pub const NEXT_CURSOR: &str = "x-next-cursor";

#[utoipa::path(get, path = "/api/jobs", tag = "jobs",
    params(ListQuery),
    responses(
        (status = 200, description = "The jobs that match every filter, newest first, with their counts. When more may follow, the `X-Next-Cursor` header names where the next page starts (pass it as `cursor`); a page can be short, or even empty, when a text search looked through many jobs without finding enough", body = Vec<JobView>,
            headers(("x-next-cursor" = String, description = "Pass as `cursor` for the next page; absent on the last one"))),
        (status = 400, description = "An unknown `status` or `trigger`, `from` not before `to`, a bad cursor, or a text over 256 characters", body = ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Response, AppError> {
    let (jobs, next) = store::list(&state, &q.into_query()?).await?;
    let mut response = Json(jobs).into_response();
    if let Some(next) = next {
        let value = HeaderValue::from_str(&next.to_string()).expect("digits, dashes and hex");
        response.headers_mut().insert(NEXT_CURSOR, value);
    }
    Ok(response)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// `true`: start with a `snapshot` message (the job without tasks, its counts, and `id`,
    /// the event it stands at), then the events after it. What a browser opening a big job
    /// wants: the stream keeps only the newest ~10,000 events.
    snapshot: Option<bool>,
    /// Start after this event (the `id` of the last one a reconnecting client got).
    after: Option<String>,
}

/// `GET /api/jobs/{id}/events`: WebSocket of the job's events.
#[utoipa::path(get, path = "/api/jobs/{id}/events", tag = "jobs",
    params(("id" = String, Path, description = "The job's UUID"), EventsQuery),
    responses(
        (status = 101, description = "A WebSocket. Each text message is one event as JSON (this schema plus `id`, its stream id, unique and increasing): the history the stream holds first (or a `snapshot`, or the events after `after`); after `job_finished` the server closes the socket", body = docker_sync_common::queue::event::Event),
        (status = 400, description = "`after` is not a stream id", body = ErrorBody),
        (status = 404, description = "No such job", body = ErrorBody),
    ))]
pub async fn events(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<EventsQuery>,
    ws: WebSocketUpgrade,
) -> Result<Response, AppError> {
    let id = JobId::parse(&id)?.as_str().to_owned();
    let start = match (q.snapshot.unwrap_or(false), q.after.as_deref()) {
        (true, _) => events::Start::Snapshot,
        (false, Some(after)) => {
            events::Start::After(events::EventId::parse(after).ok_or_else(|| {
                AppError::BadRequest(format!(
                    "`after` `{after}` is not an event id (`<ms>-<seq>`)"
                ))
            })?)
        }
        (false, None) => events::Start::History,
    };
    if !store::exists(&state, &id).await? {
        return Err(AppError::NotFound(format!("no job `{id}`")));
    }
    Ok(ws
        .on_upgrade(move |socket| events::relay(socket, id, state, start))
        .into_response())
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct LogLine {
    pub at_ms: u64,
    pub line: String,
}

/// `GET /api/jobs/{id}/tasks/{task}/log`: the task's log, oldest first.
#[utoipa::path(get, path = "/api/jobs/{id}/tasks/{task}/log", tag = "jobs",
    params(("id" = String, Path, description = "The job's UUID"), ("task" = String, Path, description = "The task's UUID")),
    responses(
        (status = 200, description = "The task's newest 200 log lines, oldest first: each attempt, the digest check, skopeo's output and how it ended", body = Vec<LogLine>),
        (status = 404, description = "No such task in that job", body = ErrorBody),
    ))]
pub async fn task_log(
    State(state): State<AppState>,
    Path((id, task)): Path<(String, String)>,
) -> Result<Json<Vec<LogLine>>, AppError> {
    let id = JobId::parse(&id)?;
    let task_id = JobId::parse(&task)?;
    let lines = log::read(&state.pool, &state.keys, id.as_str(), task_id.as_str())
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no task `{task}` in job `{}`", id.as_str())))?;
    Ok(Json(
        lines
            .into_iter()
            .map(|l| LogLine {
                at_ms: l.at_ms,
                line: l.line,
            })
            .collect(),
    ))
}
