//! `POST /api/scripts`: the body of `POST /api/jobs`, answered with a shell script that makes
//! the same copies with skopeo instead of queueing them (see [`crate::scripts`]).

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Extension;

use crate::auth::audit;
use crate::auth::principal::Caller;
use crate::error::{AppError, ErrorBody};
use crate::jobs::plan::{plan, JobRequest};
use crate::jobs::tags;
use crate::routes::jobs::ApiJson;
use crate::scripts::{self, file_name, render};
use crate::state::AppState;

/// `200` with the script as an attachment `docker-sync-<target>.sh`; the same `400`s as
/// `POST /api/jobs` (every bad line with its number), and nothing is queued either way.
#[utoipa::path(post, path = "/api/scripts", tag = "scripts",
    request_body = JobRequest,
    responses(
        (status = 200, description = "A shell script making the same copies with skopeo, as an attachment", body = String, content_type = "text/x-shellscript; charset=utf-8"),
        (status = 400, description = "The same refusals as `POST /api/jobs`, and `export` (scripts copy into a registry)", body = ErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(req): ApiJson<JobRequest>,
) -> Result<Response, AppError> {
    // A script copies registry to registry on the caller's machine; an export is the workers'
    // (its bundle comes with a push.sh of its own).
    if req.export.is_some() {
        return Err(AppError::BadRequest(
            "a batch script copies into a registry: give `target`; to write a bundle, submit the \
             export as a job (POST /api/jobs) and download it from /api/downloads"
                .into(),
        ));
    }
    let config = state.catalog.current().await?;
    let plan = plan(&req, &config, &tags::lister(&state, &config)).await?;
    let script = render(&plan, &config);
    // file_name keeps only [A-Za-z0-9._-]: always a valid header value.
    let disposition = HeaderValue::from_str(&format!(
        "attachment; filename=\"{}\"",
        file_name(&plan.registry)
    ))
    .map_err(|e| AppError::Internal(format!("Content-Disposition: {e}")))?;
    tracing::info!(target = %plan.registry, images = plan.tasks.len(), user = caller.actor(), "script generated");
    let detail = serde_json::json!({ "target": plan.registry, "images": plan.tasks.len() });
    audit::record(
        &state,
        caller.actor(),
        "script.generate",
        &plan.registry,
        &caller.client,
        detail,
    )
    .await;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(scripts::CONTENT_TYPE),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        script,
    )
        .into_response())
}
