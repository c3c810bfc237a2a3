use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;

use crate::error::AppError;
use crate::state::AppState;

/// Prometheus text format: this process's own metrics plus the cluster-wide sync counters the
/// workers keep in Redis.
pub async fn metrics(State(state): State<AppState>) -> Result<impl IntoResponse, AppError> {
    let body = state.metrics.render(&state).await?;
    Ok(([(CONTENT_TYPE, prometheus::TEXT_FORMAT)], body))
}
