//! `POST /api/downloads/{bundle}/push`: a bundle pushed into a registry as a job (an import),
//! planned by [`crate::bundles::import`].

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use docker_sync_common::bundle::SafeName;

use crate::auth::audit;
use crate::auth::principal::Caller;
use crate::bundles::import::{self, PushRequest};
use crate::error::{AppError, ErrorBody};
use crate::jobs::store::{self, JobView, Origin};
use crate::routes::jobs::ApiJson;
use crate::state::AppState;

#[utoipa::path(post, path = "/api/downloads/{bundle}/push", tag = "downloads",
    params(("bundle" = String, Path, description = "The bundle's folder name")),
    request_body = PushRequest,
    responses(
        (status = 202, description = "Queued: one task per archive of the bundle", body = JobView),
        (status = 400, description = "Not a valid name, an unknown target, a line the naming rules refuse, or a file the manifest lists is missing", body = ErrorBody),
        (status = 404, description = "No such bundle", body = ErrorBody),
        (status = 409, description = "The bundle has no manifest.json yet (its export is still running)", body = ErrorBody),
    ))]
pub async fn push(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(bundle): Path<String>,
    ApiJson(req): ApiJson<PushRequest>,
) -> Result<(StatusCode, Json<JobView>), AppError> {
    let bundle = SafeName::parse(&bundle)
        .map_err(|e| AppError::BadRequest(format!("bundle {bundle:?}: {e}")))?;
    let config = state.catalog.current().await?;
    let plan = import::plan(&state, &config, &bundle, &req).await?;
    let origin = Origin {
        trigger: caller.trigger(),
        lines: plan
            .tasks
            .iter()
            .map(|t| t.source.to_string())
            .collect::<Vec<_>>()
            .join("\n"),
        retry_of: None,
    };
    let job = store::create(&state, &plan, origin).await?;
    tracing::info!(job = %job.id, %bundle, tasks = job.total, target = %job.target, user = caller.actor(), "bundle push queued");
    let detail =
        serde_json::json!({ "bundle": bundle.as_str(), "tasks": job.total, "target": job.target });
    audit::record(
        &state,
        caller.actor(),
        "bundle.push",
        &job.id,
        &caller.client,
        detail,
    )
    .await;
    Ok((StatusCode::ACCEPTED, Json(job)))
}
