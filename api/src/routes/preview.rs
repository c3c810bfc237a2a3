//! `POST /api/jobs/preview`: what a job would copy, line by line, without queuing anything.
//!
//! Same body as `POST /api/jobs`. Every non-blank line of the list is answered: its copies
//! (`source` -> `target`, tag patterns and `@latest=N` expanded against the source's tags), what
//! it selected but drops (filter pattern or duplicate), or its error (bad reference, bad pattern,
//! tags that cannot be listed, a target name that cannot be made). A bad line is a line's
//! `error`, not a 400: a preview shows everything at once. Only an unknown target registry, a bad
//! platform or a malformed body is a 400. Nothing is written to Redis. With a platform, the
//! answer's `platform_note` says what that does to the target digests.

use axum::extract::State;
use axum::Json;
use docker_sync_common::image::{ImageRef, Platform};
use serde::Serialize;

use crate::error::{AppError, ErrorBody};
use crate::jobs::plan::{expand, JobRequest, LinePlan};
use crate::jobs::source_check::{self, SourceState};
use crate::jobs::tags;
use crate::routes::jobs::ApiJson;
use crate::state::AppState;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PreviewView {
    pub target: String,
    pub namespace: String,
    pub replace_level: String,
    /// The one platform the job would copy out of multi-arch images; absent: every platform.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// With a platform: what it does to the target digests, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform_note: Option<String>,
    pub lines: Vec<PreviewLine>,
    /// Images the job would copy.
    pub total: usize,
    /// Lines with an error: a job of this list would be refused while this is not 0.
    pub errors: usize,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PreviewLine {
    pub line: usize,
    pub input: String,
    pub images: Vec<PreviewImage>,
    pub dropped: Vec<PreviewDropped>,
    pub error: Option<String>,
    /// The error as a stable code and its parameters, for the UI's languages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub params: Option<serde_json::Value>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PreviewImage {
    pub source: String,
    pub target: String,
    /// What the source said of it (a manifest HEAD; for a platform, its index): absent past
    /// the first 200 images of a preview.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_state: Option<SourceState>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PreviewDropped {
    pub image: String,
    pub reason: String,
    /// The exclude pattern that dropped it, when one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
}

impl From<LinePlan> for PreviewLine {
    fn from(l: LinePlan) -> Self {
        PreviewLine {
            line: l.line,
            input: l.input,
            images: l
                .tasks
                .into_iter()
                .map(|t| PreviewImage {
                    source: t.source.to_string(),
                    target: t.target.to_string(),
                    source_state: None,
                })
                .collect(),
            dropped: l
                .dropped
                .into_iter()
                .map(|d| PreviewDropped {
                    image: d.image,
                    reason: d.reason,
                    pattern: d.pattern,
                })
                .collect(),
            code: l.error.as_ref().map(|e| e.code.clone()),
            params: l.error.as_ref().map(|e| e.params.clone()),
            error: l.error.map(|e| e.message),
        }
    }
}

#[utoipa::path(post, path = "/api/jobs/preview", tag = "jobs",
    request_body = JobRequest,
    responses(
        (status = 200, description = "Every line's copies, drops and error; nothing is queued", body = PreviewView),
        (status = 400, description = "An unknown target, a bad platform or a malformed body", body = ErrorBody),
    ))]
pub async fn preview(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<JobRequest>,
) -> Result<Json<PreviewView>, AppError> {
    let config = state.catalog.current().await?;
    let expanded = expand(&req, &config, &tags::lister(&state, &config)).await?;
    let sources: Vec<&ImageRef> = expanded
        .lines
        .iter()
        .flat_map(|l| l.tasks.iter().map(|t| &t.source))
        .collect();
    let states = source_check::check(
        &state.registry,
        &config,
        &sources,
        expanded.platform.as_ref(),
    )
    .await;
    let mut lines: Vec<PreviewLine> = expanded.lines.into_iter().map(PreviewLine::from).collect();
    for image in lines.iter_mut().flat_map(|l| l.images.iter_mut()) {
        image.source_state = states.get(&image.source).cloned();
    }
    Ok(Json(PreviewView {
        target: expanded.registry,
        namespace: expanded.namespace,
        replace_level: expanded.replace_level.to_string(),
        platform: expanded.platform.as_ref().map(ToString::to_string),
        platform_note: expanded.platform.as_ref().map(platform_note),
        total: lines.iter().map(|l| l.images.len()).sum(),
        errors: lines.iter().filter(|l| l.error.is_some()).count(),
        lines,
    }))
}

/// What copying one platform means for the digests, for people deciding whether they want it.
pub fn platform_note(platform: &Platform) -> String {
    format!(
        "Only the {platform} image of each multi-arch image is copied: at the target its digest \
         will differ from the source's multi-arch index digest, because only {platform}'s manifest \
         is copied (unchanged, so the target digest is that manifest's digest). Single-platform \
         images are copied as they are; a multi-arch image without {platform} fails."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_note_names_the_platform_and_the_digest_change() {
        let note = platform_note(&"linux/arm64".parse().unwrap());
        assert!(note.starts_with("Only the linux/arm64 image"), "{note}");
        assert!(note.contains("differ from the source's multi-arch index digest"));
        assert!(note.contains("only linux/arm64's manifest is copied"));
    }
}
