//! Refuses logins after too many failures. Failures are counted per user name (existing or
//! not, so the answer never tells whether a user exists) and per client address, except from a
//! known device of that user ([`super::devices`]): there they count for that device alone. So
//! anyone may lock a name for clients it has never seen, at most `max_login_attempts` tries per
//! `lockout_duration`, but not the browsers its owner signs in from.

use redis::AsyncCommands;

use crate::error::AppError;
use crate::state::AppState;

/// The counters an attempt is charged to: `(kind, who)` for the failure and lock keys.
fn counters(username: &str, client: &str, device: Option<&str>) -> Vec<(&'static str, String)> {
    match device {
        Some(digest) => vec![("device", format!("{username}:{digest}"))],
        None => vec![("user", username.to_owned()), ("client", client.to_owned())],
    }
}

/// Refused while any of the attempt's counters is locked. `device` is the digest of a known
/// device of `username`.
pub async fn check(
    state: &AppState,
    username: &str,
    client: &str,
    device: Option<&str>,
) -> Result<(), AppError> {
    let k = &state.keys;
    let mut pipe = redis::pipe();
    for (kind, who) in counters(username, client, device) {
        pipe.ttl(k.login_locked(kind, &who));
    }
    let mut conn = state.pool.get().await?;
    let ttls: Vec<i64> = pipe.query_async(&mut *conn).await?;
    let wait = ttls.into_iter().max().unwrap_or(0);
    if wait > 0 {
        return Err(AppError::TooManyRequests {
            message: "too many failed attempts; try again later".into(),
            retry_after: wait as u64,
        });
    }
    Ok(())
}

/// Counts a failure; a counter that reaches `max_login_attempts` is locked for
/// `lockout_duration`.
pub async fn failed(
    state: &AppState,
    username: &str,
    client: &str,
    device: Option<&str>,
) -> Result<(), AppError> {
    let sec = &state.auth.file.security;
    let window = sec.lockout_duration.max(1) as i64;
    let k = &state.keys;
    let mut conn = state.pool.get().await?;
    for (kind, who) in counters(username, client, device) {
        let key = k.login_failures(kind, &who);
        let (count,): (u32,) = redis::pipe()
            .incr(&key, 1)
            .ignore()
            .expire(&key, window)
            .ignore()
            .get(&key)
            .query_async(&mut *conn)
            .await?;
        if count >= sec.max_login_attempts.max(1) {
            let _: () = conn
                .set_ex(k.login_locked(kind, &who), "1", window as u64)
                .await?;
            let _: () = conn.del(&key).await?;
        }
    }
    Ok(())
}

/// A success clears the failures of the name or of the device (not the address's: one good
/// account must not reset a scan from that address).
pub async fn succeeded(
    state: &AppState,
    username: &str,
    device: Option<&str>,
) -> Result<(), AppError> {
    let (kind, who) = match device {
        Some(digest) => ("device", format!("{username}:{digest}")),
        None => ("user", username.to_owned()),
    };
    let mut conn = state.pool.get().await?;
    let _: () = conn.del(state.keys.login_failures(kind, &who)).await?;
    Ok(())
}
