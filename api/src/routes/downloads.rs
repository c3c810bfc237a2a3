//! `/api/downloads`: the bundles export jobs wrote, to list, download (a file, or a whole
//! bundle as one streamed tar) and delete. Every path segment is a [`SafeName`] before it
//! touches the file system; a name that is not one is a 400 naming what is wrong with it.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use docker_sync_common::bundle::SafeName;
use serde_json::json;
use tokio_util::io::ReaderStream;

use crate::auth::audit;
use crate::auth::principal::Caller;
use crate::bundles::archive::tar_body;
use crate::bundles::store::BundleSummary;
use crate::error::{AppError, ErrorBody};
use crate::state::AppState;

/// `GET /api/downloads`: every bundle, newest first, with its files and manifest.
#[utoipa::path(get, path = "/api/downloads", tag = "downloads",
    responses((status = 200, description = "Bundles, newest first", body = Vec<BundleSummary>)))]
pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<BundleSummary>>, AppError> {
    let downloads = state.downloads.clone();
    let bundles = tokio::task::spawn_blocking(move || downloads.list())
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
        .map_err(|e| AppError::Internal(format!("reading the downloads folder: {e}")))?;
    Ok(Json(bundles))
}

/// `GET /api/downloads/{bundle}/files/{file}`: one file, streamed.
#[utoipa::path(get, path = "/api/downloads/{bundle}/files/{file}", tag = "downloads",
    params(("bundle" = String, Path), ("file" = String, Path)),
    responses(
        (status = 200, description = "The file", content_type = "application/octet-stream"),
        (status = 400, description = "Not a valid name", body = ErrorBody),
        (status = 404, description = "No such bundle or file", body = ErrorBody),
    ))]
pub async fn file(
    State(state): State<AppState>,
    Path((bundle, file)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let (bundle, file) = (name("bundle", &bundle)?, name("file", &file)?);
    let path = state
        .downloads
        .file(&bundle, &file)
        .ok_or_else(|| AppError::NotFound(format!("no file {file} in bundle {bundle}")))?;
    let opened = tokio::fs::File::open(&path)
        .await
        .map_err(|e| AppError::Internal(format!("{}: {e}", path.display())))?;
    let size = opened.metadata().await.map(|m| m.len()).ok();
    let mut response = (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, content_type(file.as_str()).to_owned()),
            (header::CONTENT_DISPOSITION, attachment(file.as_str())),
        ],
        Body::from_stream(ReaderStream::new(opened)),
    )
        .into_response();
    if let Some(size) = size {
        response
            .headers_mut()
            .insert(header::CONTENT_LENGTH, size.into());
    }
    Ok(response)
}

/// `GET /api/downloads/{bundle}/archive`: the whole bundle as one tar (`<bundle>/<file>`),
/// written while it is sent.
#[utoipa::path(get, path = "/api/downloads/{bundle}/archive", tag = "downloads",
    params(("bundle" = String, Path)),
    responses(
        (status = 200, description = "The bundle as a tar", content_type = "application/x-tar"),
        (status = 400, description = "Not a valid name", body = ErrorBody),
        (status = 404, description = "No such bundle", body = ErrorBody),
    ))]
pub async fn archive(
    State(state): State<AppState>,
    Path(bundle): Path<String>,
) -> Result<Response, AppError> {
    let bundle = name("bundle", &bundle)?;
    let dir = state
        .downloads
        .bundle_dir(&bundle)
        .ok_or_else(|| AppError::NotFound(format!("no bundle {bundle}")))?;
    let downloads = state.downloads.clone();
    let id = bundle.clone();
    let summary = tokio::task::spawn_blocking(move || downloads.summary(&id))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
        .map_err(|e| AppError::Internal(format!("{}: {e}", dir.display())))?;
    let files = summary
        .files
        .into_iter()
        .map(|f| (dir.join(&f.name), f.name))
        .collect();
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/x-tar".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                attachment(&format!("{bundle}.tar")),
            ),
        ],
        tar_body(bundle.to_string(), files),
    )
        .into_response())
}

/// `DELETE /api/downloads/{bundle}`: removes a bundle and its files (admins; audited).
#[utoipa::path(delete, path = "/api/downloads/{bundle}", tag = "downloads",
    params(("bundle" = String, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Not a valid name", body = ErrorBody),
        (status = 404, description = "No such bundle", body = ErrorBody),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(bundle): Path<String>,
) -> Result<StatusCode, AppError> {
    let bundle = name("bundle", &bundle)?;
    let downloads = state.downloads.clone();
    let id = bundle.clone();
    let removed = tokio::task::spawn_blocking(move || downloads.delete(&id))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
        .map_err(|e| AppError::Internal(format!("deleting bundle {bundle}: {e}")))?;
    if !removed {
        return Err(AppError::NotFound(format!("no bundle {bundle}")));
    }
    tracing::info!(bundle = %bundle, user = caller.actor(), "bundle deleted");
    audit::record(
        &state,
        caller.actor(),
        "bundle.delete",
        bundle.as_str(),
        &caller.client,
        json!({}),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

fn name(what: &str, value: &str) -> Result<SafeName, AppError> {
    SafeName::parse(value).map_err(|e| AppError::BadRequest(format!("{what} {value:?}: {e}")))
}

fn content_type(file: &str) -> &'static str {
    match file.rsplit('.').next() {
        Some("json") => "application/json",
        Some("md") => "text/markdown; charset=utf-8",
        Some("sh") => "text/x-shellscript; charset=utf-8",
        Some("tar") => "application/x-tar",
        _ => "application/octet-stream",
    }
}

/// A safe name needs no quoting beyond the quotes themselves.
fn attachment(file: &str) -> String {
    format!("attachment; filename=\"{file}\"")
}
