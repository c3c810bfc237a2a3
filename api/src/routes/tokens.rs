//! One's own API tokens.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::json;

use crate::auth::audit;
use crate::auth::principal::{Caller, Via};
use crate::auth::role::Role;
use crate::auth::tokens::{self, TokenView};
use crate::error::{AppError, ErrorBody};
use crate::limits;
use crate::routes::jobs::ApiJson;
use crate::state::AppState;

#[utoipa::path(get, path = "/api/tokens", tag = "tokens",
    responses((status = 200, description = "The caller's own tokens, never their secrets", body = Vec<TokenView>)))]
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Vec<TokenView>>, AppError> {
    let p = caller.principal()?;
    Ok(Json(tokens::list(&state, &p.username).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = CreateToken)]
#[serde(deny_unknown_fields)]
pub struct Create {
    name: String,
    role: Role,
    expires_in_days: Option<u64>,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    view: TokenView,
    /// `dsync_…`: the secret itself, answered this once.
    token: String,
}

/// The token is in this response and nowhere else, ever.
#[utoipa::path(post, path = "/api/tokens", tag = "tokens",
    request_body = Create,
    responses(
        (status = 201, description = "Created; `token` is shown this once", body = CreatedToken),
        (status = 400, description = "No name, a name too long or a bad `expires_in_days`", body = ErrorBody),
        (status = 403, description = "Asked with a token, or for a role above the caller's", body = ErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(form): ApiJson<Create>,
) -> Result<(StatusCode, Json<CreatedToken>), AppError> {
    let p = caller.principal()?;
    if matches!(p.via, Via::Token { .. }) {
        return Err(AppError::forbidden("a token cannot create tokens; log in"));
    }
    if form.role > p.role {
        return Err(AppError::forbidden(format!(
            "a token's role cannot be above yours ({})",
            p.role
        )));
    }
    let name = form.name.trim();
    if name.is_empty() {
        return Err(AppError::BadRequest("a token needs a name".into()));
    }
    limits::check_len("name", name, limits::TOKEN_NAME)?;
    if let Some(days) = form.expires_in_days {
        if !(1..=limits::TOKEN_EXPIRY_DAYS).contains(&days) {
            return Err(AppError::BadRequest(format!(
                "expires_in_days must be 1 to {} (or null for never), not {days}",
                limits::TOKEN_EXPIRY_DAYS
            )));
        }
    }
    let (token, view) =
        tokens::create(&state, &p.username, name, form.role, form.expires_in_days).await?;
    audit::record(
        &state,
        &p.username,
        "token.create",
        &view.id,
        &caller.client,
        json!({ "name": name, "role": form.role }),
    )
    .await;
    Ok((StatusCode::CREATED, Json(CreatedToken { view, token })))
}

#[utoipa::path(delete, path = "/api/tokens/{id}", tag = "tokens",
    params(("id" = String, Path, description = "The token's id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "The caller has no such token", body = ErrorBody),
    ))]
pub async fn revoke(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    let p = caller.principal()?;
    if !tokens::revoke(&state, &p.username, &id).await? {
        return Err(AppError::NotFound(format!("you have no token `{id}`")));
    }
    audit::record(
        &state,
        &p.username,
        "token.revoke",
        &id,
        &caller.client,
        json!({}),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
