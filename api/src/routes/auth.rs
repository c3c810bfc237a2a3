//! Logging in and out, who am I, changing one's own password.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{AppendHeaders, IntoResponse, Response};
use axum::{Extension, Json};
use docker_sync_common::now_ms;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;

use crate::auth::principal::{Caller, Via};
use crate::auth::users::{self, LoginRecord, ManagedBy};
use crate::auth::{audit, devices, lockout, password, sessions};
use crate::error::{AppError, ErrorBody};
use crate::routes::jobs::ApiJson;
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    username: String,
    #[schema(value_type = String)]
    password: SecretString,
    #[serde(default)]
    remember_me: bool,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct LoggedIn {
    user: users::UserView,
}

const BAD_LOGIN: &str = "invalid username or password";

/// Longer passwords are refused before bcrypt (which reads 72 bytes) or anything else sees them.
pub const PASSWORD_MAX_BYTES: usize = 1024;
const USERNAME_MAX: usize = 64;

/// Refuses what no account can have before the name reaches Redis keys, the audit or the log:
/// an unauthenticated caller could otherwise store megabytes per request, or reach keys of
/// other types with a `:`. The value itself is never echoed.
fn check_login_fields(name: &str, password: &SecretString) -> Result<(), AppError> {
    let bad = |m: String| Err(AppError::BadRequest(m));
    if name.is_empty() {
        return bad("username: required".into());
    }
    if name.chars().count() > USERNAME_MAX {
        return bad(format!("username: at most {USERNAME_MAX} characters"));
    }
    if password::check_username(name).is_err() {
        return bad("username: only letters, digits, '.', '_', '-' and '@'".into());
    }
    if password.expose_secret().len() > PASSWORD_MAX_BYTES {
        return bad(format!("password: at most {PASSWORD_MAX_BYTES} bytes"));
    }
    Ok(())
}

#[utoipa::path(post, path = "/api/auth/login", tag = "auth",
    request_body = Login,
    responses(
        (status = 200, description = "Logged in; `Set-Cookie` carries the session (`dsync_session`) and the device cookie", body = LoggedIn),
        (status = 400, description = "A malformed body or a field no account can have", body = ErrorBody),
        (status = 401, description = "Wrong username or password", body = ErrorBody),
        (status = 429, description = "Too many failures for this name or client; see `Retry-After`", body = ErrorBody),
    ))]
pub async fn login(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    ApiJson(form): ApiJson<Login>,
) -> Result<Response, AppError> {
    let name = form.username.trim().to_owned();
    check_login_fields(&name, &form.password)?;
    let device = devices::known(&state, &name, &headers).await?;
    let device = device.as_deref();
    lockout::check(&state, &name, &caller.client, device).await?;
    let user = users::find(&state, &name).await?;
    // A missing user is checked against a dummy hash: the answer takes as long either way.
    let hash = user.as_ref().map_or_else(
        || state.auth.dummy_hash.clone(),
        |u| u.password_hash.clone(),
    );
    let matches = password::verify(form.password, hash).await;
    let record = |success| LoginRecord {
        at_ms: now_ms(),
        client: caller.client.clone(),
        user_agent: caller.user_agent.clone(),
        success,
    };
    let user = match user {
        Some(u) if matches && u.active => u,
        found => {
            lockout::failed(&state, &name, &caller.client, device).await?;
            if found.is_some() {
                users::record_login(&state, &name, &record(false)).await?;
            }
            state.metrics.login_failed();
            tracing::warn!(username = %name, client = %caller.client, "login failed");
            audit::record(
                &state,
                &name,
                "login.failure",
                &name,
                &caller.client,
                json!({}),
            )
            .await;
            return Err(AppError::Unauthorized(BAD_LOGIN.into()));
        }
    };
    lockout::succeeded(&state, &name, device).await?;
    let device_cookie = devices::remember(&state, &name, device).await?;
    // A new session id at every login: a cookie planted before login is worth nothing after.
    if let Some(p) = &caller.principal {
        if let Via::Session(old) = &p.via {
            sessions::destroy(&state, old).await?;
        }
    }
    let (cookie, ttl) = sessions::create(&state, &user.username, form.remember_me).await?;
    users::record_login(&state, &name, &record(true)).await?;
    audit::record(
        &state,
        &name,
        "login.success",
        &name,
        &caller.client,
        json!({ "remember_me": form.remember_me }),
    )
    .await;
    tracing::info!(username = %name, client = %caller.client, "login");
    let secure = cookie_secure(&state, &caller);
    let max_age = form.remember_me.then_some(ttl);
    Ok((
        // The session cookie first: clients reading one Set-Cookie want that one.
        AppendHeaders([
            (
                header::SET_COOKIE,
                sessions::set_cookie(&cookie, max_age, secure),
            ),
            (
                header::SET_COOKIE,
                devices::set_cookie(&device_cookie, secure),
            ),
        ]),
        Json(LoggedIn {
            user: user.view(Some(now_ms())),
        }),
    )
        .into_response())
}

#[utoipa::path(post, path = "/api/auth/logout", tag = "auth",
    responses((status = 204, description = "The session is ended and its cookie cleared")))]
pub async fn logout(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Response, AppError> {
    let p = caller.principal()?;
    if let Via::Session(cookie) = &p.via {
        sessions::destroy(&state, cookie).await?;
    }
    audit::record(
        &state,
        &p.username,
        "logout",
        &p.username,
        &caller.client,
        json!({}),
    )
    .await;
    let secure = cookie_secure(&state, &caller);
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, sessions::clear_cookie(secure))],
    )
        .into_response())
}

#[utoipa::path(get, path = "/api/auth/me", tag = "auth",
    responses((status = 200, description = "The caller; `role` is what this request may do (a token's role, not its owner's)", body = users::UserView)))]
pub async fn me(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Response, AppError> {
    let p = caller.principal()?;
    let user = users::find(&state, &p.username)
        .await?
        .ok_or_else(|| AppError::Unauthorized("login required".into()))?;
    let mut view = serde_json::to_value(user.view(None)).expect("serialisable");
    // A token may act with less than its owner's role: report what this request may do.
    view["role"] = json!(p.role);
    Ok(Json(view).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    #[schema(value_type = String)]
    old_password: SecretString,
    #[schema(value_type = String)]
    new_password: SecretString,
}

#[utoipa::path(post, path = "/api/auth/password", tag = "auth",
    request_body = ChangePassword,
    responses(
        (status = 204, description = "Changed; every other session of the user ends"),
        (status = 400, description = "The new password breaks the policy or equals the old one", body = ErrorBody),
        (status = 403, description = "The current password is wrong", body = ErrorBody),
        (status = 409, description = "The user is managed by users.yaml", body = ErrorBody),
    ))]
pub async fn change_password(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(form): ApiJson<ChangePassword>,
) -> Result<StatusCode, AppError> {
    let p = caller.principal()?;
    let user = users::find(&state, &p.username)
        .await?
        .ok_or_else(|| AppError::Unauthorized("login required".into()))?;
    if user.managed_by == ManagedBy::File {
        return Err(AppError::Conflict(
            "this user is managed by users.yaml".into(),
        ));
    }
    password::check_policy(
        form.new_password.expose_secret(),
        state.auth.file.security.password_min_length,
    )
    .map_err(AppError::BadRequest)?;
    if form.new_password.expose_secret() == form.old_password.expose_secret() {
        return Err(AppError::BadRequest(
            "the new password must differ from the current one".into(),
        ));
    }
    if !password::verify(form.old_password, user.password_hash.clone()).await {
        return Err(AppError::forbidden("the current password is wrong"));
    }
    let hashed = password::hash(form.new_password, state.auth.bcrypt_cost).await;
    users::set_password(&state, &p.username, hashed, false).await?;
    // Every other session of this user ends; this one goes on.
    let current = match &p.via {
        Via::Session(cookie) => Some(cookie.as_str()),
        Via::Token { .. } => None,
    };
    sessions::end_all(&state, &p.username, current).await?;
    audit::record(
        &state,
        &p.username,
        "password.change",
        &p.username,
        &caller.client,
        json!({}),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// `Secure` when configured, or when the proxy says the browser used HTTPS.
fn cookie_secure(state: &AppState, caller: &Caller) -> bool {
    state
        .auth
        .file
        .session
        .cookie_secure
        .unwrap_or(caller.https)
}
