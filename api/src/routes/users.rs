//! User management (admins): list, create, edit, delete, reset a password, login history.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;

use crate::auth::principal::Caller;
use crate::auth::role::Role;
use crate::auth::users::{self, LoginRecord, ManagedBy, NewUser, User, UserView};
use crate::auth::{audit, password, sessions};
use crate::error::{AppError, ErrorBody};
use crate::limits;
use crate::routes::jobs::ApiJson;
use crate::state::AppState;

#[utoipa::path(get, path = "/api/users", tag = "users",
    responses((status = 200, description = "Every user", body = Vec<UserView>)))]
pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<UserView>>, AppError> {
    Ok(Json(users::list(&state).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = CreateUser)]
#[serde(deny_unknown_fields)]
pub struct Create {
    username: String,
    #[schema(value_type = String)]
    password: SecretString,
    display_name: Option<String>,
    role: Role,
    email: Option<String>,
    #[serde(default = "yes")]
    #[schema(default = true)]
    active: bool,
}

fn yes() -> bool {
    true
}

#[utoipa::path(post, path = "/api/users", tag = "users",
    request_body = Create,
    responses(
        (status = 201, description = "Created", body = UserView),
        (status = 400, description = "A bad username, field or password", body = ErrorBody),
        (status = 409, description = "The username is taken", body = ErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(form): ApiJson<Create>,
) -> Result<(StatusCode, Json<UserView>), AppError> {
    password::check_username(&form.username).map_err(AppError::BadRequest)?;
    check_profile(form.display_name.as_deref(), form.email.as_deref())?;
    password::check_policy(
        form.password.expose_secret(),
        state.auth.file.security.password_min_length,
    )
    .map_err(AppError::BadRequest)?;
    let hashed = password::hash(form.password, state.auth.bcrypt_cost).await;
    let user = users::create(
        &state,
        NewUser {
            username: form.username.clone(),
            display_name: form.display_name,
            role: form.role,
            email: form.email,
            active: form.active,
            must_change_password: false,
        },
        hashed,
    )
    .await?;
    audit::record(
        &state,
        caller.actor(),
        "user.create",
        &form.username,
        &caller.client,
        json!({ "role": form.role }),
    )
    .await;
    Ok((StatusCode::CREATED, Json(user.view(None))))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = UpdateUser)]
#[serde(deny_unknown_fields)]
pub struct Update {
    display_name: Option<String>,
    email: Option<String>,
    role: Option<Role>,
    active: Option<bool>,
}

#[utoipa::path(patch, path = "/api/users/{name}", tag = "users", params(("name" = String, Path, description = "The username")),
    request_body = Update,
    responses(
        (status = 200, description = "Changed; a deactivated user's sessions end", body = UserView),
        (status = 400, description = "A field too long", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 409, description = "Managed by users.yaml, or the last active admin", body = ErrorBody),
    ))]
pub async fn update(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
    ApiJson(form): ApiJson<Update>,
) -> Result<Json<UserView>, AppError> {
    check_profile(form.display_name.as_deref(), form.email.as_deref())?;
    let user = api_user(&state, &name).await?;
    let demoted = form.role.is_some_and(|r| r != Role::Admin) || form.active == Some(false);
    if demoted && user.role == Role::Admin && user.active {
        keep_an_admin(&state, &name).await?;
    }
    let mut fields = Vec::new();
    if let Some(v) = &form.display_name {
        fields.push(("display_name", v.clone()));
    }
    if let Some(v) = &form.email {
        fields.push(("email", v.clone()));
    }
    if let Some(r) = form.role {
        fields.push(("role", r.as_str().to_owned()));
    }
    if let Some(a) = form.active {
        fields.push(("active", if a { "1" } else { "0" }.to_owned()));
    }
    if !fields.is_empty() {
        users::update(&state, &name, &fields).await?;
    }
    if form.active == Some(false) {
        sessions::end_all(&state, &name, None).await?;
    }
    let changed: Vec<&str> = fields.iter().map(|(k, _)| *k).collect();
    audit::record(
        &state,
        caller.actor(),
        "user.update",
        &name,
        &caller.client,
        json!({ "fields": changed, "role": form.role, "active": form.active }),
    )
    .await;
    let user = api_user(&state, &name).await?;
    Ok(Json(user.view(None)))
}

#[utoipa::path(delete, path = "/api/users/{name}", tag = "users", params(("name" = String, Path, description = "The username")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 409, description = "Managed by users.yaml, or the last active admin", body = ErrorBody),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
) -> Result<StatusCode, AppError> {
    let user = api_user(&state, &name).await?;
    if user.role == Role::Admin && user.active {
        keep_an_admin(&state, &name).await?;
    }
    users::delete(&state, &name).await?;
    audit::record(
        &state,
        caller.actor(),
        "user.delete",
        &name,
        &caller.client,
        json!({}),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = ResetPassword)]
#[serde(deny_unknown_fields)]
pub struct Reset {
    #[schema(value_type = String)]
    password: SecretString,
}

/// Sets a new password that the user must change at the next login; their sessions end.
#[utoipa::path(post, path = "/api/users/{name}/password", tag = "users", params(("name" = String, Path, description = "The username")),
    request_body = Reset,
    responses(
        (status = 204, description = "Set; the user must change it at the next login"),
        (status = 400, description = "The password breaks the policy", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 409, description = "Managed by users.yaml", body = ErrorBody),
    ))]
pub async fn reset_password(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
    ApiJson(form): ApiJson<Reset>,
) -> Result<StatusCode, AppError> {
    api_user(&state, &name).await?;
    password::check_policy(
        form.password.expose_secret(),
        state.auth.file.security.password_min_length,
    )
    .map_err(AppError::BadRequest)?;
    let hashed = password::hash(form.password, state.auth.bcrypt_cost).await;
    users::set_password(&state, &name, hashed, true).await?;
    sessions::end_all(&state, &name, None).await?;
    audit::record(
        &state,
        caller.actor(),
        "user.password_reset",
        &name,
        &caller.client,
        json!({}),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/users/{name}/logins", tag = "users", params(("name" = String, Path, description = "The username")),
    responses(
        (status = 200, description = "The user's recent logins, newest first", body = Vec<LoginRecord>),
        (status = 404, description = "No such user", body = ErrorBody),
    ))]
pub async fn logins(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Vec<LoginRecord>>, AppError> {
    users::find(&state, &name)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no user `{name}`")))?;
    Ok(Json(users::logins(&state, &name).await?))
}

/// The user, if the api may change it (users.yaml users are changed in the file).
async fn api_user(state: &AppState, name: &str) -> Result<User, AppError> {
    let user = users::find(state, name)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no user `{name}`")))?;
    if user.managed_by == ManagedBy::File {
        return Err(AppError::Conflict(format!(
            "user `{name}` is managed by users.yaml; change it there"
        )));
    }
    Ok(user)
}

async fn keep_an_admin(state: &AppState, leaving: &str) -> Result<(), AppError> {
    let admins = users::active_admins(state).await?;
    if admins.iter().all(|a| a == leaving) {
        return Err(AppError::Conflict(
            "this is the last active admin; make another admin first".into(),
        ));
    }
    Ok(())
}

fn check_profile(display_name: Option<&str>, email: Option<&str>) -> Result<(), AppError> {
    limits::check_opt("display_name", display_name, limits::DISPLAY_NAME)?;
    limits::check_opt("email", email, limits::EMAIL)
}
