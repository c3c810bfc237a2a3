//! `/api/downloads`: the bundles export jobs wrote, to list, download (a file, or a whole
//! bundle as one streamed tar or zip), upload and delete, and the room the folder has left. Every path segment is a [`SafeName`] before it
//! touches the file system; a name that is not one is a 400 naming what is wrong with it.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use docker_sync_common::bundle::{Needed, SafeName, Usage};
use futures::TryStreamExt;
use serde::Deserialize;
use serde_json::json;
use tokio_util::io::{ReaderStream, StreamReader, SyncIoBridge};

use crate::auth::audit;
use crate::auth::principal::Caller;
use crate::bundles::archive::{archive_body, Packing};
use crate::bundles::store::BundleSummary;
use crate::bundles::upload::{self, UploadError};
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

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ArchiveQuery {
    /// `tar` (the default) or `zip`.
    pub format: Option<String>,
}

/// `GET /api/downloads/{bundle}/archive`: the whole bundle as one tar or zip
/// (`<bundle>/<file>`), written while it is sent.
#[utoipa::path(get, path = "/api/downloads/{bundle}/archive", tag = "downloads",
    params(("bundle" = String, Path), ArchiveQuery),
    responses(
        (status = 200, description = "The bundle as a tar, or a zip of stored entries",
         content(("application/x-tar"), ("application/zip"))),
        (status = 400, description = "Not a valid name or format", body = ErrorBody),
        (status = 404, description = "No such bundle", body = ErrorBody),
    ))]
pub async fn archive(
    State(state): State<AppState>,
    Path(bundle): Path<String>,
    Query(query): Query<ArchiveQuery>,
) -> Result<Response, AppError> {
    let bundle = name("bundle", &bundle)?;
    let packing = match query.format.as_deref() {
        None => Packing::Tar,
        Some(format) => Packing::parse(format).map_err(AppError::BadRequest)?,
    };
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
            (header::CONTENT_TYPE, packing.content_type().to_owned()),
            (
                header::CONTENT_DISPOSITION,
                attachment(&format!("{bundle}.{}", packing.extension())),
            ),
        ],
        archive_body(packing, bundle.to_string(), files),
    )
        .into_response())
}

/// `GET /api/downloads/usage`: what the downloads folder holds, its quota and free space.
#[utoipa::path(get, path = "/api/downloads/usage", tag = "downloads",
    responses((status = 200, description = "Bytes used, allowed and free", body = Usage)))]
pub async fn usage(State(state): State<AppState>) -> Result<Json<Usage>, AppError> {
    let (quota, root) = (state.quota, state.downloads.root().to_owned());
    let usage = tokio::task::spawn_blocking(move || quota.usage(&root))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))??;
    Ok(Json(usage))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// The new bundle's name; default `import-<UTC time>-<8 hex digits>`.
    pub name: Option<String>,
}

/// A path segment below `/api/downloads/` that is a route of its own, not a bundle.
const RESERVED: &[&str] = &["usage"];

/// `POST /api/downloads`: a bundle uploaded as a tar (as `/archive` makes it), written to disk
/// while it arrives, checked against its `manifest.json`, then put in place whole (audited).
#[utoipa::path(post, path = "/api/downloads", tag = "downloads",
    params(UploadQuery),
    request_body(content = String, content_type = "application/x-tar",
                 description = "A tar of one bundle's files, at the top or in one folder"),
    responses(
        (status = 201, description = "The bundle, in place", body = BundleSummary),
        (status = 400, description = "Not a bundle: the entry or manifest line at fault", body = ErrorBody),
        (status = 409, description = "A bundle of that name exists", body = ErrorBody),
        (status = 415, description = "The body is not a tar", body = ErrorBody),
        (status = 507, description = "Past the downloads quota or free-space floor", body = ErrorBody),
    ))]
pub async fn upload(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(query): Query<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<BundleSummary>), AppError> {
    let bundle = match query.name.as_deref() {
        Some(given) => {
            let bundle = name("name", given)?;
            if RESERVED.contains(&bundle.as_str()) {
                return Err(AppError::BadRequest(format!(
                    "name {given:?} is taken by the route /api/downloads/{given}; choose another"
                )));
            }
            bundle
        }
        None => default_name(),
    };
    if let Some(kind) = headers.get(header::CONTENT_TYPE) {
        let kind = kind.to_str().unwrap_or("");
        let essence = kind.split(';').next().unwrap_or("").trim();
        if !matches!(
            essence,
            "application/x-tar" | "application/tar" | "application/octet-stream"
        ) {
            return Err(AppError::UnsupportedMediaType(format!(
                "Content-Type {kind:?}: send the bundle as application/x-tar"
            )));
        }
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let (quota, root) = (state.quota, state.downloads.root().to_owned());
    let measured_at = root.clone();
    let room_now = tokio::task::spawn_blocking(move || {
        quota.check_for(&measured_at, declared.unwrap_or(0), "upload")
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))??;

    let stream = body.into_data_stream().map_err(std::io::Error::other);
    let reader = SyncIoBridge::new(StreamReader::new(stream));
    let id = bundle.clone();
    let room = room_now.room();
    let received = tokio::task::spawn_blocking(move || upload::receive(&root, &id, reader, room))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let received = received.map_err(|e| match e {
        UploadError::Invalid(m) => AppError::BadRequest(m),
        UploadError::Exists(_) => AppError::Conflict(e.to_string()),
        UploadError::Full { received } => room_now
            .refuse(Needed::MoreThan(received), "upload")
            .map_or_else(|| AppError::Internal(e.to_string()), AppError::from),
        UploadError::Body(e) => AppError::BadRequest(format!("the upload is no whole tar: {e}")),
        UploadError::Io(m) => AppError::Internal(m),
    })?;

    let downloads = state.downloads.clone();
    let id = bundle.clone();
    let summary = tokio::task::spawn_blocking(move || downloads.summary(&id))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
        .map_err(|e| AppError::Internal(format!("reading bundle {bundle}: {e}")))?;
    tracing::info!(bundle = %bundle, user = caller.actor(), size = summary.size, "bundle uploaded");
    audit::record(
        &state,
        caller.actor(),
        "bundle.upload",
        bundle.as_str(),
        &caller.client,
        json!({ "files": received.files.len(), "size": summary.size }),
    )
    .await;
    Ok((StatusCode::CREATED, Json(summary)))
}

/// `import-20261202T031500Z-1a2b3c4d`: sorts by time, and two uploads in one second differ.
fn default_name() -> SafeName {
    let time = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let short = &uuid::Uuid::new_v4().simple().to_string()[..8];
    SafeName::parse(&format!("import-{time}-{short}")).expect("letters, digits and '-'")
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
