//! Sync rules: everyone reads them and their runs; operators make, change, delete and run the
//! ones stored in Redis. Rules from rules.yaml are read-only here (they can still be run).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use docker_sync_common::image::selection::parse_selector_list;
use docker_sync_common::image::Platform;
use docker_sync_common::now_ms;
use docker_sync_common::queue::job::TriggerKind;
use docker_sync_common::rules::runs::RunTrigger;
use docker_sync_common::rules::store::{self, Write};
use docker_sync_common::rules::{check_name, fires, RuleSpec, StoredRule};
use serde::Serialize;
use serde_json::{json, Value};

use crate::auth::audit;
use crate::auth::principal::Caller;
use crate::error::{AppError, ErrorBody};
use crate::jobs::plan::check_bounds;
use crate::jobs::store::JobView;
use crate::limits;
use crate::routes::jobs::ApiJson;
use crate::rules::{self, run_record, start, RuleView, RunView, Source};
use crate::state::AppState;

/// A new rule: its name and the fields of [`RuleSpec`].
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[allow(dead_code)] // documents the body; the handler takes `name` out and reads the rest as a spec
pub struct NewRule {
    /// 1 to 63 letters, digits, `-`, `_` or `.`.
    name: String,
    #[serde(flatten)]
    spec: RuleSpec,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RuleDetail {
    #[serde(flatten)]
    pub rule: RuleView,
    /// Newest first, the last 100.
    pub runs: Vec<RunView>,
}

/// Everything wrong with a spec that can be told without listing tags: the same checks as
/// rules.yaml's and the sync form's, with the key named.
async fn check(state: &AppState, spec: &RuleSpec) -> Result<(), AppError> {
    let config = state.catalog.current().await?;
    spec.check(|name| config.registries.contains_key(name))
        .map_err(|p| AppError::BadRequest(format!("`{}`: {}", p.key, p.message)))?;
    check_bounds(&start::request(spec))?;
    limits::check_opt(
        "description",
        spec.description.as_deref(),
        limits::RULE_DESCRIPTION,
    )?;
    Platform::parse_option(spec.platform.as_deref())
        .map_err(|e| AppError::BadRequest(format!("`platform`: {e}")))?;
    let errors = parse_selector_list(&spec.images).errors;
    if !errors.is_empty() {
        return Err(AppError::InvalidLines(errors));
    }
    Ok(())
}

fn parse_spec(body: Value) -> Result<RuleSpec, AppError> {
    serde_json::from_value(body).map_err(|e| AppError::BadRequest(format!("body: {e}")))
}

/// The stored rule, or why the api may not change it.
async fn changeable(state: &AppState, name: &str) -> Result<(), AppError> {
    match rules::find(state, name).await? {
        None => Err(AppError::NotFound(format!("no rule `{name}`"))),
        Some(r) if r.source == Source::File => Err(AppError::Conflict(format!(
            "rule `{name}` is declared in rules.yaml: change it in the file"
        ))),
        Some(_) => Ok(()),
    }
}

#[utoipa::path(get, path = "/api/rules", tag = "rules",
    responses((status = 200, description = "Every rule, rules.yaml's and the api's, by name", body = [RuleView])))]
pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<RuleView>>, AppError> {
    let mut out = Vec::new();
    for rule in rules::all(&state).await?.into_values() {
        out.push(rules::view_of(&state, rule).await?.0);
    }
    Ok(Json(out))
}

#[utoipa::path(get, path = "/api/rules/{name}", tag = "rules",
    params(("name" = String, Path, description = "The rule's name")),
    responses(
        (status = 200, description = "The rule and its runs", body = RuleDetail),
        (status = 404, description = "No such rule", body = ErrorBody),
    ))]
pub async fn get(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<RuleDetail>, AppError> {
    let rule = rules::find(&state, &name)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no rule `{name}`")))?;
    let (rule, records) = rules::view_of(&state, rule).await?;
    let mut runs = Vec::with_capacity(records.len());
    for record in records {
        runs.push(RunView::of(&state, record).await?);
    }
    Ok(Json(RuleDetail { rule, runs }))
}

#[utoipa::path(post, path = "/api/rules", tag = "rules",
    request_body = NewRule,
    responses(
        (status = 201, description = "Made", body = RuleView),
        (status = 400, description = "A bad field (named) or bad image lines (each in `errors`)", body = ErrorBody),
        (status = 409, description = "The name is taken (by a stored rule or one in rules.yaml)", body = ErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(mut body): ApiJson<Value>,
) -> Result<(StatusCode, Json<RuleView>), AppError> {
    let name = match body.as_object_mut().and_then(|o| o.remove("name")) {
        Some(Value::String(name)) => name,
        _ => return Err(AppError::BadRequest("`name`: a rule needs a name".into())),
    };
    check_name(&name).map_err(|m| AppError::BadRequest(format!("`name`: {m}")))?;
    let spec = parse_spec(body)?;
    check(&state, &spec).await?;
    if state.file_rules.contains_key(&name) {
        return Err(AppError::Conflict(format!(
            "rule `{name}` is declared in rules.yaml: pick another name"
        )));
    }
    let stored = StoredRule {
        spec,
        updated_by: caller.actor().to_owned(),
        updated_at_ms: now_ms(),
    };
    if store::create(&state.pool, &state.keys, &name, &stored).await? == Write::Refused {
        return Err(AppError::Conflict(format!("rule `{name}` already exists")));
    }
    // A name used before (and deleted) starts with a fresh schedule and no runs of the old one.
    fires::reset(&state.pool, &state.keys, &name).await?;
    audit_rule(&state, &caller, "rule.create", &name, &stored.spec).await;
    let rule = rules::find(&state, &name)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no rule `{name}`")))?;
    Ok((
        StatusCode::CREATED,
        Json(rules::view_of(&state, rule).await?.0),
    ))
}

#[utoipa::path(put, path = "/api/rules/{name}", tag = "rules",
    params(("name" = String, Path, description = "The rule's name")),
    request_body = RuleSpec,
    responses(
        (status = 200, description = "Changed; a changed schedule starts afresh from now", body = RuleView),
        (status = 400, description = "A bad field (named) or bad image lines", body = ErrorBody),
        (status = 404, description = "No such rule", body = ErrorBody),
        (status = 409, description = "The rule is declared in rules.yaml", body = ErrorBody),
    ))]
pub async fn update(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<RuleView>, AppError> {
    changeable(&state, &name).await?;
    let spec = parse_spec(body)?;
    check(&state, &spec).await?;
    let stored = StoredRule {
        spec,
        updated_by: caller.actor().to_owned(),
        updated_at_ms: now_ms(),
    };
    if store::update(&state.pool, &state.keys, &name, &stored).await? == Write::Refused {
        return Err(AppError::NotFound(format!("no rule `{name}`")));
    }
    // Fires of the old schedule (or of the time it was disabled) are not "missed".
    fires::reset(&state.pool, &state.keys, &name).await?;
    audit_rule(&state, &caller, "rule.update", &name, &stored.spec).await;
    let rule = rules::find(&state, &name)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no rule `{name}`")))?;
    Ok(Json(rules::view_of(&state, rule).await?.0))
}

#[utoipa::path(delete, path = "/api/rules/{name}", tag = "rules",
    params(("name" = String, Path, description = "The rule's name")),
    responses(
        (status = 204, description = "Deleted (its jobs stay)"),
        (status = 404, description = "No such rule", body = ErrorBody),
        (status = 409, description = "The rule is declared in rules.yaml", body = ErrorBody),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
) -> Result<StatusCode, AppError> {
    changeable(&state, &name).await?;
    if store::delete(&state.pool, &state.keys, &name).await? == Write::Refused {
        return Err(AppError::NotFound(format!("no rule `{name}`")));
    }
    fires::reset(&state.pool, &state.keys, &name).await?;
    let mut conn = state.pool.get().await?;
    let _: () = redis::AsyncCommands::del(&mut *conn, state.keys.rule_runs(&name)).await?;
    audit::record(
        &state,
        caller.actor(),
        "rule.delete",
        &name,
        &caller.client,
        json!({}),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/rules/{name}/run", tag = "rules",
    params(("name" = String, Path, description = "The rule's name")),
    responses(
        (status = 202, description = "The job started, its trigger `run_now` with the rule and the user", body = JobView),
        (status = 400, description = "The rule no longer plans (a bad line, its target gone)", body = ErrorBody),
        (status = 404, description = "No such rule", body = ErrorBody),
        (status = 409, description = "The rule's previous job is still going", body = ErrorBody),
    ))]
pub async fn run(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
) -> Result<(StatusCode, Json<JobView>), AppError> {
    let rule = rules::find(&state, &name)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no rule `{name}`")))?;
    if let Some(job) = start::running_job(&state, &name).await? {
        return Err(AppError::Conflict(format!(
            "rule `{name}`'s job {job} is still going: wait for it or cancel it"
        )));
    }
    let trigger = caller.trigger();
    let mut record = run_record(RunTrigger::RunNow);
    record.user = trigger.user.clone();
    let job = start::start(
        &state,
        &rule,
        TriggerKind::RunNow,
        trigger.user,
        trigger.token,
        record,
    )
    .await?;
    audit::record(
        &state,
        caller.actor(),
        "rule.run",
        &name,
        &caller.client,
        json!({ "job": job.id, "tasks": job.total }),
    )
    .await;
    Ok((StatusCode::ACCEPTED, Json(job)))
}

async fn audit_rule(state: &AppState, caller: &Caller, action: &str, name: &str, spec: &RuleSpec) {
    let detail = json!({
        "target": spec.target,
        "enabled": spec.enabled,
        "schedule": spec.schedule.as_ref().map(|s| &s.cron),
        "lines": spec.images.lines().filter(|l| !l.trim().is_empty()).count(),
    });
    audit::record(state, caller.actor(), action, name, &caller.client, detail).await;
}
