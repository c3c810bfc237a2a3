//! One's own API tokens.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::audit;
use crate::auth::principal::{Caller, Via};
use crate::auth::role::Role;
use crate::auth::tokens::{self, TokenView};
use crate::error::AppError;
use crate::limits;
use crate::routes::jobs::ApiJson;
use crate::state::AppState;

pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Vec<TokenView>>, AppError> {
    let p = caller.principal()?;
    Ok(Json(tokens::list(&state, &p.username).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Create {
    name: String,
    role: Role,
    expires_in_days: Option<u64>,
}

/// The token is in this response and nowhere else, ever.
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(form): ApiJson<Create>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let p = caller.principal()?;
    if matches!(p.via, Via::Token(_)) {
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
    let mut body = serde_json::to_value(&view).expect("serialisable");
    body["token"] = json!(token);
    Ok((StatusCode::CREATED, Json(body)))
}

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
