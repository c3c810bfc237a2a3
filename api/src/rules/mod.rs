//! Sync rules as the api serves them: those declared in rules.yaml (read-only) beside those
//! made through the api (in Redis), each with its next fire and last run; starting a job from
//! one; and the scheduler that fires them.

pub mod scheduler;
pub mod start;

use std::collections::BTreeMap;

use docker_sync_common::now_ms;
use docker_sync_common::queue::job::JobStatus;
use docker_sync_common::queue::read;
use docker_sync_common::rules::runs::{self, RunRecord};
use docker_sync_common::rules::{store, RuleSpec};
use serde::Serialize;

use crate::error::AppError;
use crate::state::AppState;

/// Where a rule is defined, which decides whether the api may change it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// rules.yaml: edited in the file, read-only here.
    File,
    /// Made through the api or the UI.
    Api,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RuleView {
    pub name: String,
    #[serde(flatten)]
    pub spec: RuleSpec,
    pub source: Source,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at_ms: Option<u64>,
    /// The schedule's next fire; absent without a schedule, when disabled, or when the
    /// schedule no longer parses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_fire_ms: Option<u64>,
    /// The last fire the scheduler handled (run or skipped).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_fire_ms: Option<u64>,
    /// What the newest run or fire did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_run: Option<RunView>,
}

/// A run or fire, with its job's status while the job is still stored.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RunView {
    #[serde(flatten)]
    pub record: RunRecord,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_status: Option<JobStatus>,
}

impl RunView {
    pub async fn of(state: &AppState, record: RunRecord) -> Result<RunView, AppError> {
        let job_status = match &record.job {
            // The job hash alone: a rule's page lists up to 100 runs, each with its status.
            Some(job) => read::job_record(&state.pool, &state.keys, job)
                .await?
                .map(|j| JobStatus::derive(&j.counts(), j.started())),
            None => None,
        };
        Ok(RunView { record, job_status })
    }
}

/// A rule with where it lives, before its runs are looked up.
#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    pub spec: RuleSpec,
    pub source: Source,
    pub updated_by: Option<String>,
    pub updated_at_ms: Option<u64>,
}

/// Every rule, file first on a name clash (the api refuses to make one, but a file edited
/// later may declare a name the api already has).
pub async fn all(state: &AppState) -> Result<BTreeMap<String, Rule>, AppError> {
    let mut out: BTreeMap<String, Rule> = store::list(&state.pool, &state.keys)
        .await?
        .into_iter()
        .map(|(name, r)| {
            let rule = Rule {
                name: name.clone(),
                spec: r.spec,
                source: Source::Api,
                updated_by: Some(r.updated_by),
                updated_at_ms: Some(r.updated_at_ms),
            };
            (name, rule)
        })
        .collect();
    for (name, spec) in state.file_rules.iter() {
        out.insert(name.clone(), file_rule(name, spec));
    }
    Ok(out)
}

fn file_rule(name: &str, spec: &RuleSpec) -> Rule {
    Rule {
        name: name.to_owned(),
        spec: spec.clone(),
        source: Source::File,
        updated_by: None,
        updated_at_ms: None,
    }
}

pub async fn find(state: &AppState, name: &str) -> Result<Option<Rule>, AppError> {
    if let Some(spec) = state.file_rules.get(name) {
        return Ok(Some(file_rule(name, spec)));
    }
    Ok(store::get(&state.pool, &state.keys, name)
        .await?
        .map(|r| Rule {
            name: name.to_owned(),
            spec: r.spec,
            source: Source::Api,
            updated_by: Some(r.updated_by),
            updated_at_ms: Some(r.updated_at_ms),
        }))
}

/// The rule as the api shows it, given its runs (newest first) and the newest one's view.
pub fn view(rule: Rule, runs: &[RunRecord], last_run: Option<RunView>) -> RuleView {
    let next_fire_ms = rule
        .spec
        .schedule
        .as_ref()
        .filter(|_| rule.spec.enabled)
        .and_then(|s| s.parse().ok())
        .and_then(|s| s.next_after(chrono::Utc::now()))
        .map(|t| t.timestamp_millis() as u64);
    RuleView {
        last_fire_ms: runs.iter().find_map(|r| r.fire_ms),
        last_run,
        next_fire_ms,
        name: rule.name,
        spec: rule.spec,
        source: rule.source,
        updated_by: rule.updated_by,
        updated_at_ms: rule.updated_at_ms,
    }
}

pub async fn view_of(state: &AppState, rule: Rule) -> Result<(RuleView, Vec<RunRecord>), AppError> {
    let runs = runs::list(&state.pool, &state.keys, &rule.name).await?;
    let last = match runs.first() {
        Some(r) => Some(RunView::of(state, r.clone()).await?),
        None => None,
    };
    Ok((view(rule, &runs, last), runs))
}

/// A record of a run or fire at this moment.
pub fn run_record(trigger: runs::RunTrigger) -> RunRecord {
    RunRecord {
        at_ms: now_ms(),
        trigger,
        fire_ms: None,
        user: None,
        job: None,
        skipped: None,
        missed: None,
        reason: None,
    }
}
