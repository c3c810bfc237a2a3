//! Sync rules made through the api, in one Redis hash (`<prefix>:rules`, name -> JSON) so every
//! api replica sees the same rules. Creating a taken name and changing a missing rule are told
//! apart atomically (HSETNX, and a script for the update), so two admins cannot overwrite each
//! other's rule by accident.

use std::collections::BTreeMap;

use deadpool_redis::Pool;
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};

use super::spec::RuleSpec;
use crate::queue::QueueError;
use crate::redis::Keys;

/// A rule as stored: the spec and who changed it last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRule {
    #[serde(flatten)]
    pub spec: RuleSpec,
    pub updated_by: String,
    pub updated_at_ms: u64,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Write {
    Done,
    /// Create: the name is taken. Update or delete: there is no such rule.
    Refused,
}

pub async fn list(pool: &Pool, keys: &Keys) -> Result<BTreeMap<String, StoredRule>, QueueError> {
    let mut conn = pool.get().await?;
    let all: BTreeMap<String, String> = conn.hgetall(keys.rules()).await?;
    Ok(all
        .into_iter()
        .filter_map(|(name, json)| match serde_json::from_str(&json) {
            Ok(rule) => Some((name, rule)),
            Err(e) => {
                // Written by a newer version, or by hand: shown as missing, never a 500.
                tracing::warn!(rule = %name, error = %e, "unreadable stored rule skipped");
                None
            }
        })
        .collect())
}

pub async fn get(pool: &Pool, keys: &Keys, name: &str) -> Result<Option<StoredRule>, QueueError> {
    let mut conn = pool.get().await?;
    let json: Option<String> = conn.hget(keys.rules(), name).await?;
    Ok(json.and_then(|j| serde_json::from_str(&j).ok()))
}

pub async fn create(
    pool: &Pool,
    keys: &Keys,
    name: &str,
    rule: &StoredRule,
) -> Result<Write, QueueError> {
    let mut conn = pool.get().await?;
    let json = serde_json::to_string(rule).expect("serialisable");
    let made: bool = conn.hset_nx(keys.rules(), name, json).await?;
    Ok(if made { Write::Done } else { Write::Refused })
}

pub async fn update(
    pool: &Pool,
    keys: &Keys,
    name: &str,
    rule: &StoredRule,
) -> Result<Write, QueueError> {
    let script = redis::Script::new(
        "if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end \
         redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) return 1",
    );
    let mut conn = pool.get().await?;
    let json = serde_json::to_string(rule).expect("serialisable");
    let done: i32 = script
        .key(keys.rules())
        .arg(name)
        .arg(json)
        .invoke_async(&mut *conn)
        .await?;
    Ok(if done == 1 {
        Write::Done
    } else {
        Write::Refused
    })
}

pub async fn delete(pool: &Pool, keys: &Keys, name: &str) -> Result<Write, QueueError> {
    let mut conn = pool.get().await?;
    let gone: u32 = conn.hdel(keys.rules(), name).await?;
    Ok(if gone == 1 {
        Write::Done
    } else {
        Write::Refused
    })
}
