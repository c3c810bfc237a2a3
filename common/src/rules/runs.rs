//! What happened at each of a rule's runs and fires: a capped list per rule
//! (`<prefix>:rule:<name>:runs`, JSON, newest first), so a rule's page lists its jobs and the
//! fires it skipped, and the scheduler can ask whether the last run is still going.

use deadpool_redis::Pool;
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};

use crate::queue::QueueError;
use crate::redis::Keys;

/// Records kept per rule.
pub const RUNS_KEPT: isize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum RunTrigger {
    Schedule,
    RunNow,
}

/// Why a fire started no job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Skipped {
    /// The rule's previous job had not finished.
    StillRunning,
    /// Missed while no api replica was up, and the rule says `missed: skip`.
    Missed,
    /// The rule no longer plans (its target is gone, a line is bad, a tag listing failed).
    Invalid,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunRecord {
    pub at_ms: u64,
    pub trigger: RunTrigger,
    /// The schedule's fire time this record is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fire_ms: Option<u64>,
    /// Who pressed "run now".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The job it started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<Skipped>,
    /// Fires missed while no replica was up that this record stands for (more than one when
    /// several passed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missed: Option<u32>,
    /// Why it was skipped, in words (the job still going, the planner's error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

pub async fn record(
    pool: &Pool,
    keys: &Keys,
    rule: &str,
    run: &RunRecord,
) -> Result<(), QueueError> {
    let mut conn = pool.get().await?;
    let key = keys.rule_runs(rule);
    let json = serde_json::to_string(run).expect("serialisable");
    redis::pipe()
        .atomic()
        .lpush(&key, json)
        .ltrim(&key, 0, RUNS_KEPT - 1)
        .query_async::<()>(&mut *conn)
        .await?;
    Ok(())
}

/// Newest first.
pub async fn list(pool: &Pool, keys: &Keys, rule: &str) -> Result<Vec<RunRecord>, QueueError> {
    let mut conn = pool.get().await?;
    let all: Vec<String> = conn.lrange(keys.rule_runs(rule), 0, RUNS_KEPT - 1).await?;
    Ok(all
        .iter()
        .filter_map(|j| serde_json::from_str(j).ok())
        .collect())
}

/// The job of the newest record that started one.
pub async fn last_job(pool: &Pool, keys: &Keys, rule: &str) -> Result<Option<String>, QueueError> {
    Ok(list(pool, keys, rule)
        .await?
        .into_iter()
        .find_map(|r| r.job))
}
