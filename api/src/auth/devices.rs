//! Known devices: a browser that signed in as a user gets a random cookie whose digest the
//! user's record keeps. Its failed logins are counted on their own (see [`super::lockout`]), so
//! failures sprayed from elsewhere cannot lock that browser out.

use axum::http::{header, HeaderMap, HeaderValue};
use docker_sync_common::now_ms;
use redis::AsyncCommands;

use crate::auth::password;
use crate::error::AppError;
use crate::state::AppState;

pub const COOKIE: &str = "dsync_device";

/// How long a device stays known after its last successful login.
pub const TTL_SECS: u64 = 90 * 24 * 3600;

/// Devices kept per user; the least recently used are forgotten first.
const KEPT: isize = 20;

/// The digest of the request's device cookie, if it is a known device of `username`.
pub async fn known(
    state: &AppState,
    username: &str,
    headers: &HeaderMap,
) -> Result<Option<String>, AppError> {
    let Some(value) = from_headers(headers) else {
        return Ok(None);
    };
    let digest = password::digest(value, state.auth.secret_key());
    let mut conn = state.pool.get().await?;
    let until: Option<u64> = conn
        .zscore(state.keys.user_devices(username), &digest)
        .await?;
    Ok(until.filter(|t| *t > now_ms()).map(|_| digest))
}

/// After a successful login: a fresh device cookie for this browser (the previous one, if
/// known, is replaced, so a cookie value planted before login is worth nothing after).
pub async fn remember(
    state: &AppState,
    username: &str,
    previous: Option<&str>,
) -> Result<String, AppError> {
    let value = password::random_secret(32);
    let digest = password::digest(&value, state.auth.secret_key());
    let key = state.keys.user_devices(username);
    let now = now_ms();
    let mut pipe = redis::pipe();
    pipe.atomic();
    if let Some(old) = previous {
        pipe.zrem(&key, old).ignore();
    }
    pipe.zadd(&key, &digest, now + TTL_SECS * 1000)
        .ignore()
        .zrembyscore(&key, 0, now)
        .ignore()
        .zremrangebyrank(&key, 0, -(KEPT + 1))
        .ignore()
        .expire(&key, TTL_SECS as i64)
        .ignore();
    let mut conn = state.pool.get().await?;
    pipe.query_async::<()>(&mut *conn).await?;
    Ok(value)
}

/// `Set-Cookie` for a device: sent only to the login route, never readable by scripts, never
/// sent from another site.
pub fn set_cookie(value: &str, secure: bool) -> HeaderValue {
    let mut c = format!(
        "{COOKIE}={value}; Path=/api/auth/login; Max-Age={TTL_SECS}; HttpOnly; SameSite=Strict"
    );
    if secure {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).expect("cookie values are URL-safe base64")
}

fn from_headers(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, v)| v)
        // Our values are 43 characters of URL-safe base64; anything else is not ours.
        .filter(|v| v.len() == 43)
}
