//! Refuses logins after too many failures, counted per user name (existing or not, so the answer
//! never tells whether a user exists) and per client address.

use redis::AsyncCommands;

use crate::error::AppError;
use crate::state::AppState;

/// Refused while either the name or the address is locked.
pub async fn check(state: &AppState, username: &str, client: &str) -> Result<(), AppError> {
    let k = &state.keys;
    let mut conn = state.pool.get().await?;
    let (user_ttl, client_ttl): (i64, i64) = redis::pipe()
        .ttl(k.login_locked("user", username))
        .ttl(k.login_locked("client", client))
        .query_async(&mut *conn)
        .await?;
    let wait = user_ttl.max(client_ttl);
    if wait > 0 {
        return Err(AppError::TooManyRequests {
            message: "too many failed attempts; try again later".into(),
            retry_after: wait as u64,
        });
    }
    Ok(())
}

/// Counts a failure; the name or address that reaches `max_login_attempts` is locked for
/// `lockout_duration`.
pub async fn failed(state: &AppState, username: &str, client: &str) -> Result<(), AppError> {
    let sec = &state.auth.file.security;
    let window = sec.lockout_duration.max(1) as i64;
    let k = &state.keys;
    let mut conn = state.pool.get().await?;
    for (kind, who) in [("user", username), ("client", client)] {
        let key = k.login_failures(kind, who);
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
                .set_ex(k.login_locked(kind, who), "1", window as u64)
                .await?;
            let _: () = conn.del(&key).await?;
        }
    }
    Ok(())
}

/// A success clears the name's failures (not the address's: one good account must not reset a
/// scan from that address).
pub async fn succeeded(state: &AppState, username: &str) -> Result<(), AppError> {
    let mut conn = state.pool.get().await?;
    let _: () = conn
        .del(state.keys.login_failures("user", username))
        .await?;
    Ok(())
}
