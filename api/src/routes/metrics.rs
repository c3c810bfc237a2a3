use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;

use crate::error::AppError;
use crate::state::AppState;

/// Prometheus text format: this process's own series (scrape every pod), plus the legacy names
/// of the cluster-wide figures.
pub async fn metrics(State(state): State<AppState>) -> Result<impl IntoResponse, AppError> {
    let body = state.metrics.render_process(&state).await?;
    Ok(([(CONTENT_TYPE, prometheus::TEXT_FORMAT)], body))
}

/// The cluster-wide `docker_sync_*` series, the same on every replica: scrape one target (the
/// Service), not every pod.
pub async fn cluster(State(state): State<AppState>) -> Result<impl IntoResponse, AppError> {
    let body = state.metrics.render_cluster(&state).await?;
    Ok(([(CONTENT_TYPE, prometheus::TEXT_FORMAT)], body))
}
