//! Fires scheduled rules. Every api replica runs this loop; the claim in
//! [`docker_sync_common::rules::fires`] lets exactly one of them act on each fire. A fire whose
//! rule's previous job is still going, or that was missed under `missed: skip`, starts nothing
//! and is recorded on the rule (and sent to webhooks) as skipped.

use std::time::Duration;

use docker_sync_common::now_ms;
use docker_sync_common::queue::job::TriggerKind;
use docker_sync_common::rules::fires::{self, Due};
use docker_sync_common::rules::runs::{self, RunRecord, RunTrigger, Skipped};
use tokio_util::sync::CancellationToken;

use super::{run_record, Rule};
use crate::error::AppError;
use crate::state::AppState;
use crate::webhooks::deliveries::fan_out;
use crate::webhooks::format::{Payload, RuleSkip};
use crate::webhooks::Event;

/// How often a replica looks: fires run within about this much of their time.
const TICK: Duration = Duration::from_secs(1);

pub fn spawn(state: AppState, shutdown: CancellationToken) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            if let Err(e) = tick_once(&state, now_ms()).await {
                // Redis away: the next tick tries again, and missed fires are caught up then.
                tracing::debug!(error = %e, "scheduler tick failed");
            }
        }
    });
}

/// One look at every enabled rule with a schedule, as of `now_ms`.
pub async fn tick_once(state: &AppState, now_ms: u64) -> Result<(), AppError> {
    let cursors = fires::cursors(&state.pool, &state.keys).await?;
    for rule in super::all(state).await?.into_values() {
        if !rule.spec.enabled {
            continue;
        }
        let Some(schedule) = rule.spec.schedule.as_ref().and_then(|s| s.parse().ok()) else {
            continue;
        };
        let cursor = match cursors.get(&rule.name) {
            Some(at) => *at,
            None => fires::start_cursor(&state.pool, &state.keys, &rule.name, now_ms).await?,
        };
        let due = fires::due(&schedule, cursor, now_ms);
        let (fire_ms, missed) = match due {
            Due::Nothing => continue,
            Due::Fire { fire_ms } => (fire_ms, None),
            Due::Missed { fire_ms, count } => (fire_ms, Some(count)),
        };
        if !fires::claim(&state.pool, &state.keys, &rule.name, cursor, fire_ms).await? {
            continue; // another replica has it
        }
        let mut record = run_record(RunTrigger::Schedule);
        record.fire_ms = Some(fire_ms);
        record.missed = missed;
        if !fires::should_run(&due, schedule.missed) {
            let n = missed.unwrap_or(1);
            let reason = format!(
                "{n} fire(s) passed while no api replica was up, and the rule says `missed: skip`"
            );
            skip(state, &rule, record, Skipped::Missed, reason).await?;
            continue;
        }
        fire(state, &rule, record).await?;
    }
    Ok(())
}

async fn fire(state: &AppState, rule: &Rule, record: RunRecord) -> Result<(), AppError> {
    if let Some(job) = super::start::running_job(state, &rule.name).await? {
        let reason = format!("its previous job {job} is still going");
        return skip(state, rule, record, Skipped::StillRunning, reason).await;
    }
    match super::start::start(
        state,
        rule,
        TriggerKind::Schedule,
        None,
        None,
        record.clone(),
    )
    .await
    {
        Ok(_) => Ok(()),
        Err(e @ (AppError::BadRequest(_) | AppError::InvalidLines(_))) => {
            let reason = match &e {
                AppError::InvalidLines(lines) => lines
                    .iter()
                    .map(|l| format!("line {}: {}", l.line, l.message))
                    .collect::<Vec<_>>()
                    .join("; "),
                other => other.to_string(),
            };
            skip(state, rule, record, Skipped::Invalid, reason).await
        }
        Err(e) => Err(e),
    }
}

async fn skip(
    state: &AppState,
    rule: &Rule,
    mut record: RunRecord,
    why: Skipped,
    reason: String,
) -> Result<(), AppError> {
    tracing::warn!(rule = %rule.name, fire_ms = record.fire_ms, reason = %reason, "scheduled fire skipped");
    record.skipped = Some(why);
    record.reason = Some(reason.clone());
    runs::record(&state.pool, &state.keys, &rule.name, &record).await?;
    let payload = Payload {
        event: Event::RuleSkipped,
        delivery: String::new(),
        at_ms: record.at_ms,
        job: None,
        rule: Some(RuleSkip {
            name: rule.name.clone(),
            fire_ms: record.fire_ms,
            skipped: why,
            reason,
        }),
        link: state
            .public_url
            .as_ref()
            .map(|u| format!("{u}/rules/{}", rule.name)),
    };
    fan_out(state, &[Event::RuleSkipped], payload).await?;
    Ok(())
}
