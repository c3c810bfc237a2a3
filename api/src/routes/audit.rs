use axum::extract::{Query, State};
use axum::Json;

use crate::auth::audit::{self, Page};
use crate::error::AppError;
use crate::state::AppState;

pub async fn page(
    State(state): State<AppState>,
    Query(q): Query<audit::Query>,
) -> Result<Json<Page>, AppError> {
    Ok(Json(audit::page(&state, &q).await?))
}
