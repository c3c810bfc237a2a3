//! The delivery queue in Redis. A delivery is a hash (`<prefix>:delivery:<id>`: the payload and
//! how sending it went), listed under its endpoint and, until it is delivered or given up,
//! scored in `<prefix>:deliveries:due` by when to try next. Claiming moves the score a lease
//! ahead in one script, so of several replicas exactly one sends it; a replica that dies while
//! sending leaves it to be claimed again when the lease ends.

use std::collections::HashMap;
use std::time::Duration;

use docker_sync_common::now_ms;
use redis::AsyncCommands;
use serde::Serialize;

use super::format::Payload;
use super::Event;
use crate::error::AppError;
use crate::state::AppState;

/// Waits after each failed attempt; after the last, the delivery is given up (about two hours
/// after the event in all).
pub const BACKOFF: [Duration; 6] = [
    Duration::from_secs(5),
    Duration::from_secs(30),
    Duration::from_secs(120),
    Duration::from_secs(600),
    Duration::from_secs(1800),
    Duration::from_secs(3600),
];

/// How long a claimed delivery is the claimer's: well beyond the request timeout.
pub const LEASE: Duration = Duration::from_secs(60);

/// Deliveries listed per endpoint, and how long a delivery's record is kept.
const LISTED: isize = 100;
const KEPT: Duration = Duration::from_secs(7 * 24 * 3600);

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryView {
    pub id: String,
    pub event: String,
    pub created_at_ms: u64,
    /// `pending` (waiting to be sent or sent again), `delivered` or `failed` (given up).
    pub status: String,
    pub attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_code: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_attempt_at_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivered_at_ms: Option<u64>,
}

/// A delivery taken for sending.
pub struct Claimed {
    pub id: String,
    pub webhook: String,
    pub attempts: u32,
    pub payload: Payload,
}

/// Queues `payload` (its `delivery` is the new id) for `webhook`; returns the id.
pub async fn enqueue(
    state: &AppState,
    webhook: &str,
    mut payload: Payload,
) -> Result<String, AppError> {
    let id = uuid::Uuid::new_v4().to_string();
    payload.delivery = id.clone();
    let now = now_ms();
    let k = &state.keys;
    let key = k.delivery(&id);
    let json = serde_json::to_string(&payload).expect("serialisable");
    let mut conn = state.pool.get().await?;
    redis::pipe()
        .atomic()
        .hset_multiple(
            &key,
            &[
                ("id", id.as_str()),
                ("webhook", webhook),
                ("event", payload.event.as_str()),
                ("payload", json.as_str()),
                ("status", "pending"),
                ("attempts", "0"),
                ("created_at_ms", &now.to_string()),
                ("next_attempt_at_ms", &now.to_string()),
            ],
        )
        .expire(&key, KEPT.as_secs() as i64)
        .zadd(k.deliveries_due(), &id, now)
        .lpush(k.webhook_deliveries(webhook), &id)
        .ltrim(k.webhook_deliveries(webhook), 0, LISTED - 1)
        .query_async::<()>(&mut *conn)
        .await?;
    tracing::info!(webhook, delivery = %id, event = payload.event.as_str(), "webhook delivery queued");
    Ok(id)
}

/// Takes up to `max` due deliveries for this replica.
pub async fn claim(state: &AppState, max: usize) -> Result<Vec<Claimed>, AppError> {
    let script = redis::Script::new(
        "local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3]) \
         for _, id in ipairs(ids) do redis.call('ZADD', KEYS[1], ARGV[2], id) end \
         return ids",
    );
    let now = now_ms();
    let mut conn = state.pool.get().await?;
    let ids: Vec<String> = script
        .key(state.keys.deliveries_due())
        .arg(now)
        .arg(now + LEASE.as_millis() as u64)
        .arg(max)
        .invoke_async(&mut *conn)
        .await?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let h: HashMap<String, String> = conn.hgetall(state.keys.delivery(&id)).await?;
        let payload = h.get("payload").and_then(|p| serde_json::from_str(p).ok());
        match (h.get("webhook"), payload) {
            (Some(webhook), Some(payload)) => out.push(Claimed {
                id,
                webhook: webhook.clone(),
                attempts: h.get("attempts").and_then(|a| a.parse().ok()).unwrap_or(0),
                payload,
            }),
            // Expired or written by hand: nothing to send.
            _ => {
                let _: () = conn.zrem(state.keys.deliveries_due(), &id).await?;
            }
        }
    }
    Ok(out)
}

/// How an attempt went.
pub enum Outcome {
    Delivered {
        code: u16,
    },
    Failed {
        code: Option<u16>,
        error: String,
    },
    /// Nothing to send it to any more (the endpoint was deleted or cannot be opened).
    GiveUp {
        error: String,
    },
}

/// Records the attempt: delivered, due again after its backoff, or given up.
pub async fn finish(state: &AppState, claimed: &Claimed, outcome: Outcome) -> Result<(), AppError> {
    let key = state.keys.delivery(&claimed.id);
    let due = state.keys.deliveries_due();
    let attempts = claimed.attempts + 1;
    let now = now_ms();
    let mut pipe = redis::pipe();
    pipe.atomic().hset(&key, "attempts", attempts);
    match outcome {
        Outcome::Delivered { code } => {
            pipe.hset(&key, "status", "delivered")
                .hset(&key, "last_code", code)
                .hset(&key, "delivered_at_ms", now)
                .hdel(&key, &["last_error", "next_attempt_at_ms"])
                .zrem(&due, &claimed.id);
        }
        Outcome::Failed { code, error } => {
            match code {
                Some(c) => pipe.hset(&key, "last_code", c),
                None => pipe.hdel(&key, "last_code"),
            };
            pipe.hset(&key, "last_error", &error);
            match BACKOFF.get(claimed.attempts as usize) {
                Some(wait) => {
                    let next = now + wait.as_millis() as u64;
                    pipe.hset(&key, "next_attempt_at_ms", next)
                        .zadd(&due, &claimed.id, next);
                }
                None => {
                    pipe.hset(&key, "status", "failed")
                        .hdel(&key, "next_attempt_at_ms")
                        .zrem(&due, &claimed.id);
                }
            }
        }
        Outcome::GiveUp { error } => {
            pipe.hset(&key, "status", "failed")
                .hset(&key, "last_error", &error)
                .hdel(&key, "next_attempt_at_ms")
                .zrem(&due, &claimed.id);
        }
    }
    let mut conn = state.pool.get().await?;
    pipe.query_async::<()>(&mut *conn).await?;
    Ok(())
}

/// The endpoint's deliveries, newest first.
pub async fn list(state: &AppState, webhook: &str) -> Result<Vec<DeliveryView>, AppError> {
    let mut conn = state.pool.get().await?;
    let ids: Vec<String> = conn
        .lrange(state.keys.webhook_deliveries(webhook), 0, LISTED - 1)
        .await?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut pipe = redis::pipe();
    for id in &ids {
        pipe.hgetall(state.keys.delivery(id));
    }
    let hashes: Vec<HashMap<String, String>> = pipe.query_async(&mut *conn).await?;
    fn num<T: std::str::FromStr>(h: &HashMap<String, String>, f: &str) -> Option<T> {
        h.get(f).and_then(|v| v.parse().ok())
    }
    Ok(hashes
        .iter()
        .filter(|h| h.contains_key("id"))
        .map(|h| DeliveryView {
            id: h["id"].clone(),
            event: h.get("event").cloned().unwrap_or_default(),
            created_at_ms: num(h, "created_at_ms").unwrap_or(0),
            status: h.get("status").cloned().unwrap_or_default(),
            attempts: num(h, "attempts").unwrap_or(0),
            last_code: num(h, "last_code"),
            last_error: h.get("last_error").cloned(),
            next_attempt_at_ms: num(h, "next_attempt_at_ms"),
            delivered_at_ms: num(h, "delivered_at_ms"),
        })
        .collect())
}

/// Queues `payload` for every enabled endpoint that wants `wanted` (any of them).
pub async fn fan_out(
    state: &AppState,
    wanted: &[Event],
    payload: Payload,
) -> Result<u32, AppError> {
    let mut queued = 0;
    for (name, hook) in super::store::list(state).await? {
        if hook.enabled && hook.events.iter().any(|e| wanted.contains(e)) {
            enqueue(state, &name, payload.clone()).await?;
            queued += 1;
        }
    }
    Ok(queued)
}
