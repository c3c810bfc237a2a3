//! Starting a job from a rule: its lines planned afresh (so new upstream tags are picked up),
//! queued with the rule as the trigger, and the run recorded on the rule.

use docker_sync_common::queue::job::{Trigger, TriggerKind};
use docker_sync_common::queue::read;
use docker_sync_common::rules::runs::{self, RunRecord};
use docker_sync_common::rules::RuleSpec;

use super::Rule;
use crate::error::AppError;
use crate::jobs::plan::{plan, ExportRequest, Images, JobRequest};
use crate::jobs::store::{self, JobView, Origin};
use crate::jobs::tags;
use crate::state::AppState;

/// The rule's newest job when it is still queued or running.
pub async fn running_job(state: &AppState, rule: &str) -> Result<Option<String>, AppError> {
    let Some(job) = runs::last_job(&state.pool, &state.keys, rule).await? else {
        return Ok(None);
    };
    Ok(read::is_going(&state.pool, &state.keys, &job)
        .await?
        .then_some(job))
}

/// The sync request a rule stands for.
pub fn request(spec: &RuleSpec) -> JobRequest {
    JobRequest {
        images: Images::Text(spec.images.clone()),
        target: spec.target.clone(),
        export: spec
            .export
            .as_ref()
            .map(|e| ExportRequest { format: e.format }),
        replace_level: spec.replace_level,
        namespace: spec.namespace.clone(),
        platform: spec.platform.clone(),
        with_signatures: spec.with_signatures,
    }
}

/// Queues the rule's job; `record` is completed with the job and stored on the rule.
pub async fn start(
    state: &AppState,
    rule: &Rule,
    kind: TriggerKind,
    user: Option<String>,
    token: Option<String>,
    mut record: RunRecord,
) -> Result<JobView, AppError> {
    let spec = &rule.spec;
    let req = request(spec);
    let config = state.catalog.current().await?;
    let plan = plan(&req, &config, &tags::lister(state, &config)).await?;
    let origin = Origin {
        trigger: Trigger {
            kind,
            user,
            token,
            rule: Some(rule.name.clone()),
        },
        lines: spec.images.clone(),
        retry_of: None,
    };
    let job = store::create(state, &plan, origin).await?;
    record.job = Some(job.id.clone());
    runs::record(&state.pool, &state.keys, &rule.name, &record).await?;
    tracing::info!(rule = %rule.name, job = %job.id, tasks = job.total, trigger = kind.as_str(), "rule run queued");
    Ok(job)
}
