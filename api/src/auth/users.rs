//! Users: those of users.yaml (read-only) and those created through the api (Redis hashes).

use std::collections::HashMap;

use docker_sync_common::now_ms;
use redis::AsyncCommands;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::auth::role::Role;
use crate::error::AppError;
use crate::state::AppState;

/// How many logins are kept per user.
const LOGINS_KEPT: isize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ManagedBy {
    File,
    Api,
}

#[derive(Debug, Clone)]
pub struct User {
    pub username: String,
    pub display_name: Option<String>,
    pub role: Role,
    pub email: Option<String>,
    pub active: bool,
    pub managed_by: ManagedBy,
    pub must_change_password: bool,
    pub created_at_ms: Option<u64>,
    pub password_hash: SecretString,
}

/// A user as the api shows it: never the hash.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserView {
    pub username: String,
    pub display_name: Option<String>,
    pub role: Role,
    pub email: Option<String>,
    pub active: bool,
    pub managed_by: ManagedBy,
    pub must_change_password: bool,
    pub created_at_ms: Option<u64>,
    pub last_login_ms: Option<u64>,
}

impl User {
    pub fn view(&self, last_login_ms: Option<u64>) -> UserView {
        UserView {
            username: self.username.clone(),
            display_name: self.display_name.clone(),
            role: self.role,
            email: self.email.clone(),
            active: self.active,
            managed_by: self.managed_by,
            must_change_password: self.must_change_password,
            created_at_ms: self.created_at_ms,
            last_login_ms,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LoginRecord {
    pub at_ms: u64,
    pub client: String,
    pub user_agent: String,
    pub success: bool,
}

pub async fn find(state: &AppState, name: &str) -> Result<Option<User>, AppError> {
    if let Some(f) = state.auth.file.users.get(name) {
        return Ok(Some(User {
            username: f.username.clone(),
            display_name: f.display_name.clone(),
            role: f.role,
            email: f.email.clone(),
            active: f.active,
            managed_by: ManagedBy::File,
            must_change_password: false,
            created_at_ms: None,
            password_hash: f.password_hash.clone(),
        }));
    }
    // Every user, in the file or in Redis, has a name of this grammar; anything else (`a:logins`)
    // would name another key of another type, so it is no user, without asking Redis.
    if crate::auth::password::check_username(name).is_err() {
        return Ok(None);
    }
    let mut conn = state.pool.get().await?;
    let h: HashMap<String, String> = conn.hgetall(state.keys.user(name)).await?;
    Ok(from_hash(name, &h))
}

fn from_hash(name: &str, h: &HashMap<String, String>) -> Option<User> {
    let role = Role::parse(h.get("role")?)?;
    Some(User {
        username: name.to_owned(),
        display_name: h.get("display_name").filter(|v| !v.is_empty()).cloned(),
        role,
        email: h.get("email").filter(|v| !v.is_empty()).cloned(),
        active: h.get("active").map(String::as_str) == Some("1"),
        managed_by: ManagedBy::Api,
        must_change_password: h.get("must_change_password").map(String::as_str) == Some("1"),
        created_at_ms: h.get("created_at_ms").and_then(|v| v.parse().ok()),
        password_hash: SecretString::from(h.get("password_hash")?.clone()),
    })
}

/// Every user, file users first, with their last login.
pub async fn list(state: &AppState) -> Result<Vec<UserView>, AppError> {
    let mut conn = state.pool.get().await?;
    let mut names: Vec<String> = conn.smembers(state.keys.users()).await?;
    names.sort();
    let mut users = Vec::new();
    for name in state.auth.file.users.keys().chain(names.iter()) {
        if let Some(u) = find(state, name).await? {
            let last = last_login(state, name).await?;
            users.push(u.view(last));
        }
    }
    Ok(users)
}

pub struct NewUser {
    pub username: String,
    pub display_name: Option<String>,
    pub role: Role,
    pub email: Option<String>,
    pub active: bool,
    pub must_change_password: bool,
}

pub async fn create(state: &AppState, new: NewUser, hash: String) -> Result<User, AppError> {
    if state.auth.file.users.contains_key(&new.username) {
        return Err(AppError::Conflict(format!(
            "user `{}` exists in users.yaml",
            new.username
        )));
    }
    let mut conn = state.pool.get().await?;
    let added: i64 = conn.sadd(state.keys.users(), &new.username).await?;
    if added == 0 {
        return Err(AppError::Conflict(format!(
            "user `{}` exists",
            new.username
        )));
    }
    let flag = |b: bool| if b { "1" } else { "0" }.to_owned();
    let fields = [
        ("username", new.username.clone()),
        ("display_name", new.display_name.clone().unwrap_or_default()),
        ("role", new.role.as_str().to_owned()),
        ("email", new.email.clone().unwrap_or_default()),
        ("active", flag(new.active)),
        ("must_change_password", flag(new.must_change_password)),
        ("created_at_ms", now_ms().to_string()),
        ("password_hash", hash),
    ];
    let _: () = conn
        .hset_multiple(state.keys.user(&new.username), &fields)
        .await?;
    find(state, &new.username)
        .await?
        .ok_or_else(|| AppError::Internal("a user vanished right after its creation".into()))
}

/// Sets fields of an api-managed user (`display_name`, `email`, `role`, `active`).
pub async fn update(
    state: &AppState,
    name: &str,
    fields: &[(&str, String)],
) -> Result<(), AppError> {
    let mut conn = state.pool.get().await?;
    let _: () = conn.hset_multiple(state.keys.user(name), fields).await?;
    Ok(())
}

pub async fn delete(state: &AppState, name: &str) -> Result<(), AppError> {
    let k = &state.keys;
    let mut conn = state.pool.get().await?;
    let tokens: HashMap<String, String> = conn.hgetall(k.user_tokens(name)).await?;
    let mut pipe = redis::pipe();
    pipe.atomic()
        .srem(k.users(), name)
        .del(k.user(name))
        .del(k.user_tokens(name))
        .del(k.user_logins(name))
        .del(k.user_devices(name));
    for digest in tokens.values() {
        pipe.del(k.token(digest));
    }
    pipe.query_async::<()>(&mut *conn).await?;
    crate::auth::sessions::end_all(state, name, None).await
}

pub async fn set_password(
    state: &AppState,
    name: &str,
    hash: String,
    must_change: bool,
) -> Result<(), AppError> {
    let flag = if must_change { "1" } else { "0" };
    update(
        state,
        name,
        &[
            ("password_hash", hash),
            ("must_change_password", flag.to_owned()),
        ],
    )
    .await
}

pub async fn record_login(
    state: &AppState,
    name: &str,
    record: &LoginRecord,
) -> Result<(), AppError> {
    let key = state.keys.user_logins(name);
    let mut conn = state.pool.get().await?;
    redis::pipe()
        .lpush(&key, serde_json::to_string(record).expect("serialisable"))
        .ltrim(&key, 0, LOGINS_KEPT - 1)
        .query_async::<()>(&mut *conn)
        .await?;
    Ok(())
}

pub async fn logins(state: &AppState, name: &str) -> Result<Vec<LoginRecord>, AppError> {
    let mut conn = state.pool.get().await?;
    let raw: Vec<String> = conn
        .lrange(state.keys.user_logins(name), 0, LOGINS_KEPT - 1)
        .await?;
    Ok(raw
        .iter()
        .filter_map(|r| serde_json::from_str(r).ok())
        .collect())
}

async fn last_login(state: &AppState, name: &str) -> Result<Option<u64>, AppError> {
    Ok(logins(state, name)
        .await?
        .into_iter()
        .find(|l| l.success)
        .map(|l| l.at_ms))
}

/// Active admins, file and api users together: the last one may not be removed or demoted.
pub async fn active_admins(state: &AppState) -> Result<Vec<String>, AppError> {
    Ok(list(state)
        .await?
        .into_iter()
        .filter(|u| u.active && u.role == Role::Admin)
        .map(|u| u.username)
        .collect())
}

/// Whether any user exists at all (file or api).
pub async fn any(state: &AppState) -> Result<bool, AppError> {
    if !state.auth.file.users.is_empty() {
        return Ok(true);
    }
    let mut conn = state.pool.get().await?;
    let n: u64 = conn.scard(state.keys.users()).await?;
    Ok(n > 0)
}
