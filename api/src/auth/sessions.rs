//! Server-side sessions in Redis, named by a random cookie value. Redis keeps only a digest of
//! that value. Plain sessions end after `session_timeout` without a request; "remember me"
//! sessions last `remember_me_duration`.

use std::collections::HashMap;

use axum::http::HeaderValue;
use docker_sync_common::now_ms;
use redis::AsyncCommands;

use crate::auth::password::{digest, random_secret};
use crate::error::AppError;
use crate::state::AppState;

pub const COOKIE: &str = "dsync_session";

#[derive(Debug, Clone)]
pub struct Session {
    pub username: String,
    pub remember: bool,
}

/// Starts a session; returns the cookie value and its lifetime in seconds.
pub async fn create(
    state: &AppState,
    username: &str,
    remember: bool,
) -> Result<(String, u64), AppError> {
    let cfg = &state.auth.file.session;
    let ttl = if remember {
        cfg.remember_me_duration
    } else {
        cfg.session_timeout
    };
    let value = random_secret(32);
    let d = digest(&value, state.auth.secret_key());
    let k = &state.keys;
    let mut conn = state.pool.get().await?;
    redis::pipe()
        .atomic()
        .hset_multiple(
            k.session(&d),
            &[
                ("user", username.to_owned()),
                ("remember", if remember { "1" } else { "0" }.to_owned()),
                ("created_at_ms", now_ms().to_string()),
            ],
        )
        .expire(k.session(&d), ttl as i64)
        .sadd(k.user_sessions(username), &d)
        .expire(
            k.user_sessions(username),
            cfg.remember_me_duration.max(cfg.session_timeout) as i64,
        )
        .query_async::<()>(&mut *conn)
        .await?;
    Ok((value, ttl))
}

/// The live session named by a cookie value; a plain session's idle clock restarts.
pub async fn lookup(state: &AppState, value: &str) -> Result<Option<Session>, AppError> {
    let d = digest(value, state.auth.secret_key());
    let key = state.keys.session(&d);
    let mut conn = state.pool.get().await?;
    let h: HashMap<String, String> = conn.hgetall(&key).await?;
    let Some(username) = h.get("user").cloned() else {
        return Ok(None);
    };
    let remember = h.get("remember").map(String::as_str) == Some("1");
    if !remember {
        let _: () = conn
            .expire(&key, state.auth.file.session.session_timeout as i64)
            .await?;
    }
    Ok(Some(Session { username, remember }))
}

pub async fn destroy(state: &AppState, value: &str) -> Result<(), AppError> {
    let d = digest(value, state.auth.secret_key());
    let mut conn = state.pool.get().await?;
    let user: Option<String> = conn.hget(state.keys.session(&d), "user").await?;
    let _: () = conn.del(state.keys.session(&d)).await?;
    if let Some(user) = user {
        let _: () = conn.srem(state.keys.user_sessions(&user), &d).await?;
    }
    Ok(())
}

/// Ends every session of a user (password changed, user deactivated or deleted), except the
/// one whose cookie is `keep`.
pub async fn end_all(state: &AppState, username: &str, keep: Option<&str>) -> Result<(), AppError> {
    let k = &state.keys;
    let kept = keep.map(|c| digest(c, state.auth.secret_key()));
    let mut conn = state.pool.get().await?;
    let digests: Vec<String> = conn.smembers(k.user_sessions(username)).await?;
    let ending: Vec<&String> = digests
        .iter()
        .filter(|d| Some(*d) != kept.as_ref())
        .collect();
    if ending.is_empty() {
        // Redis refuses an empty pipeline.
        return Ok(());
    }
    let mut pipe = redis::pipe();
    for d in ending {
        pipe.del(k.session(d)).srem(k.user_sessions(username), d);
    }
    pipe.query_async::<()>(&mut *conn).await?;
    Ok(())
}

/// `Set-Cookie` for a new session. `SameSite=Lax` keeps links from other sites working; the
/// Origin check stops cross-site writes.
pub fn set_cookie(value: &str, max_age: Option<u64>, secure: bool) -> HeaderValue {
    let mut c = format!("{COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).expect("cookie values are URL-safe base64")
}

pub fn clear_cookie(secure: bool) -> HeaderValue {
    set_cookie("", Some(0), secure)
}

/// The session cookie's value in a `Cookie` header.
pub fn from_header(cookie_header: &str) -> Option<&str> {
    cookie_header
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}
