//! API tokens for automation: `Authorization: Bearer dsync_…`. Shown once at creation; Redis
//! keeps only a digest. A token acts with its own role, never above its owner's current one.

use std::collections::HashMap;

use docker_sync_common::now_ms;
use redis::AsyncCommands;
use serde::Serialize;
use uuid::Uuid;

use crate::auth::password::{digest, random_secret};
use crate::auth::role::Role;
use crate::error::AppError;
use crate::state::AppState;

pub const PREFIX: &str = "dsync_";

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenView {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub created_at_ms: u64,
    pub last_used_ms: Option<u64>,
    pub expires_at_ms: Option<u64>,
}

/// The owner, role and id of a valid token.
#[derive(Debug, Clone)]
pub struct TokenGrant {
    pub id: String,
    pub name: String,
    pub user: String,
    pub role: Role,
}

pub async fn create(
    state: &AppState,
    user: &str,
    name: &str,
    role: Role,
    expires_in_days: Option<u64>,
) -> Result<(String, TokenView), AppError> {
    let token = format!("{PREFIX}{}", random_secret(32));
    let d = digest(&token, state.auth.secret_key());
    let id = Uuid::new_v4().to_string();
    let created = now_ms();
    // The route bounds the days (at most ten years), so neither sum can overflow.
    let ttl_ms = expires_in_days.map(|days| days * 86_400_000);
    let expires = ttl_ms.map(|ttl| created + ttl);
    let k = &state.keys;
    let mut pipe = redis::pipe();
    pipe.atomic()
        .hset_multiple(
            k.token(&d),
            &[
                ("id", id.clone()),
                ("user", user.to_owned()),
                ("name", name.to_owned()),
                ("role", role.as_str().to_owned()),
                ("created_at_ms", created.to_string()),
                (
                    "expires_at_ms",
                    expires.map(|e| e.to_string()).unwrap_or_default(),
                ),
            ],
        )
        .hset(k.user_tokens(user), &id, &d);
    // In the same MULTI as the record: a token never exists without its expiry.
    if let Some(ttl) = ttl_ms {
        pipe.pexpire(k.token(&d), ttl as i64);
    }
    let mut conn = state.pool.get().await?;
    pipe.query_async::<()>(&mut *conn).await?;
    let view = TokenView {
        id,
        name: name.to_owned(),
        role,
        created_at_ms: created,
        last_used_ms: None,
        expires_at_ms: expires,
    };
    Ok((token, view))
}

pub async fn list(state: &AppState, user: &str) -> Result<Vec<TokenView>, AppError> {
    let k = &state.keys;
    let mut conn = state.pool.get().await?;
    let ids: HashMap<String, String> = conn.hgetall(k.user_tokens(user)).await?;
    let mut views = Vec::new();
    for (id, d) in ids {
        let h: HashMap<String, String> = conn.hgetall(k.token(&d)).await?;
        if h.is_empty() {
            // Expired: forget it.
            let _: () = conn.hdel(k.user_tokens(user), &id).await?;
            continue;
        }
        let num = |f: &str| h.get(f).and_then(|v| v.parse().ok());
        views.push(TokenView {
            id,
            name: h.get("name").cloned().unwrap_or_default(),
            role: h
                .get("role")
                .and_then(|r| Role::parse(r))
                .unwrap_or(Role::Viewer),
            created_at_ms: num("created_at_ms").unwrap_or(0),
            last_used_ms: num("last_used_ms"),
            expires_at_ms: num("expires_at_ms"),
        });
    }
    views.sort_by_key(|v| std::cmp::Reverse(v.created_at_ms));
    Ok(views)
}

/// False when the user has no such token.
pub async fn revoke(state: &AppState, user: &str, id: &str) -> Result<bool, AppError> {
    let k = &state.keys;
    let mut conn = state.pool.get().await?;
    let d: Option<String> = conn.hget(k.user_tokens(user), id).await?;
    let Some(d) = d else { return Ok(false) };
    redis::pipe()
        .atomic()
        .del(k.token(&d))
        .hdel(k.user_tokens(user), id)
        .query_async::<()>(&mut *conn)
        .await?;
    Ok(true)
}

/// The grant of a token presented as a Bearer credential, or None when unknown or expired.
pub async fn lookup(state: &AppState, token: &str) -> Result<Option<TokenGrant>, AppError> {
    if !token.starts_with(PREFIX) {
        return Ok(None);
    }
    let key = state.keys.token(&digest(token, state.auth.secret_key()));
    let mut conn = state.pool.get().await?;
    let h: HashMap<String, String> = conn.hgetall(&key).await?;
    let (Some(id), Some(user), Some(role)) = (
        h.get("id"),
        h.get("user"),
        h.get("role").and_then(|r| Role::parse(r)),
    ) else {
        return Ok(None);
    };
    let _: () = conn.hset(&key, "last_used_ms", now_ms()).await?;
    Ok(Some(TokenGrant {
        id: id.clone(),
        name: h.get("name").cloned().unwrap_or_default(),
        user: user.clone(),
        role,
    }))
}
