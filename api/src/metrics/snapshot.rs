//! One read of everything the cluster-wide series come from: the stats hash the workers' scripts
//! count into, the task stream and its consumer group, the dead letters and the pull limits.

use std::collections::{BTreeMap, HashMap};

use docker_sync_common::queue::stats::DIGEST_CHECK_FAILURES;
use docker_sync_common::queue::WORKER_GROUP;
use docker_sync_common::registry::Reported;
use redis::streams::{StreamInfoConsumersReply, StreamInfoGroupsReply};
use redis::AsyncCommands;

use crate::error::AppError;
use crate::state::AppState;

pub struct Snapshot {
    /// `<prefix>:stats`, field to count.
    pub stats: HashMap<String, u64>,
    pub stream_length: u64,
    pub dead_letters: u64,
    /// The `workers` group: delivered and unacknowledged, not yet delivered, consumers known.
    pub pending: u64,
    pub lag: u64,
    pub consumers: Vec<Consumer>,
    pub limits: Vec<Reported>,
    /// Every registry configured now (file and stored): their task and digest-check series
    /// start at 0, so `increase()` sees a registry's first failure.
    pub registries: Vec<String>,
}

pub struct Consumer {
    pub name: String,
    pub pending: u64,
    pub idle_ms: u64,
}

impl Snapshot {
    pub async fn read(state: &AppState) -> Result<Snapshot, AppError> {
        let keys = &state.keys;
        let mut conn = state.pool.get().await?;
        let stats: HashMap<String, u64> = conn.hgetall(keys.stats()).await?;
        let (stream_length, dead_letters): (u64, u64) = redis::pipe()
            .xlen(keys.tasks())
            .xlen(keys.dead_letter())
            .query_async(&mut *conn)
            .await?;
        // Before the first worker made the group, both commands fail: nothing is delivered yet.
        let groups: StreamInfoGroupsReply =
            conn.xinfo_groups(keys.tasks()).await.unwrap_or_default();
        let group = groups.groups.iter().find(|g| g.name == WORKER_GROUP);
        let consumers: StreamInfoConsumersReply = if group.is_some() {
            conn.xinfo_consumers(keys.tasks(), WORKER_GROUP)
                .await
                .unwrap_or_default()
        } else {
            StreamInfoConsumersReply::default()
        };
        drop(conn);
        let registries = match state.catalog.current().await {
            Ok(config) => config.registries.keys().cloned().collect(),
            // The stored registries are unreadable (Redis went away mid-read): the file's.
            Err(_) => state.catalog.file().registries.keys().cloned().collect(),
        };
        Ok(Snapshot {
            registries,
            stats,
            stream_length,
            dead_letters,
            pending: group.map_or(0, |g| g.pending as u64),
            lag: group.and_then(|g| g.lag).unwrap_or(0) as u64,
            consumers: consumers
                .consumers
                .into_iter()
                .map(|c| Consumer {
                    name: c.name,
                    pending: c.pending as u64,
                    idle_ms: c.idle as u64,
                })
                .collect(),
            limits: docker_sync_common::registry::reported(&state.pool, &state.keys).await?,
        })
    }

    /// `digest_check_failures:<registry>` fields: registry to count, in name order.
    pub fn digest_check_failures(&self) -> BTreeMap<&str, u64> {
        self.stats
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix(DIGEST_CHECK_FAILURES)?, *v)))
            .collect()
    }

    pub fn stat(&self, field: &str) -> f64 {
        self.stats.get(field).copied().unwrap_or(0) as f64
    }
}
