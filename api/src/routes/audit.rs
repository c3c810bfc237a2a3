use axum::extract::{Query, State};
use axum::Json;

use crate::auth::audit::{self, Page};
use crate::error::{AppError, ErrorBody};
use crate::state::AppState;

#[utoipa::path(get, path = "/api/audit", tag = "audit",
    params(audit::Query),
    responses(
        (status = 200, description = "One page of the audit log, newest first; `next` asks for the page after", body = Page),
        (status = 400, description = "`before` is not an entry id", body = ErrorBody),
    ))]
pub async fn page(
    State(state): State<AppState>,
    Query(q): Query<audit::Query>,
) -> Result<Json<Page>, AppError> {
    Ok(Json(audit::page(&state, &q).await?))
}
