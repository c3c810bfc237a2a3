//! `POST /api/jobs/preview`: what a job would copy, line by line, without queuing anything.
//!
//! Same body as `POST /api/jobs`. Every non-blank line of the list is answered: its copies
//! (`source` -> `target`, tag patterns and `@latest=N` expanded against the source's tags), what
//! it selected but drops (filter pattern or duplicate), or its error (bad reference, bad pattern,
//! tags that cannot be listed, a target name that cannot be made). A bad line is a line's
//! `error`, not a 400: a preview shows everything at once. Only an unknown target registry or a
//! malformed body is a 400. Nothing is written to Redis.

use axum::extract::State;
use axum::Json;
use serde::Serialize;

use crate::error::AppError;
use crate::jobs::plan::{expand, JobRequest, LinePlan};
use crate::jobs::tags;
use crate::routes::jobs::ApiJson;
use crate::state::AppState;

#[derive(Debug, Serialize)]
pub struct PreviewView {
    pub target: String,
    pub namespace: String,
    pub replace_level: String,
    pub lines: Vec<PreviewLine>,
    /// Images the job would copy.
    pub total: usize,
    /// Lines with an error: a job of this list would be refused while this is not 0.
    pub errors: usize,
}

#[derive(Debug, Serialize)]
pub struct PreviewLine {
    pub line: usize,
    pub input: String,
    pub images: Vec<PreviewImage>,
    pub dropped: Vec<PreviewDropped>,
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct PreviewImage {
    pub source: String,
    pub target: String,
}

#[derive(Debug, Serialize)]
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
            error: l.error,
        }
    }
}

pub async fn preview(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<JobRequest>,
) -> Result<Json<PreviewView>, AppError> {
    let expanded = expand(&req, &state.config, &tags::lister(&state)).await?;
    let lines: Vec<PreviewLine> = expanded.lines.into_iter().map(PreviewLine::from).collect();
    Ok(Json(PreviewView {
        target: expanded.registry,
        namespace: expanded.namespace,
        replace_level: expanded.replace_level.to_string(),
        total: lines.iter().map(|l| l.images.len()).sum(),
        errors: lines.iter().filter(|l| l.error.is_some()).count(),
        lines,
    }))
}
