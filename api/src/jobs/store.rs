//! Jobs and tasks in Redis. A job is written, with all its tasks and their stream entries, in one
//! MULTI/EXEC: a submission is queued whole or not at all. The field names here are the ones
//! `worker/src/queue.lua` updates, and the README documents them.

use std::collections::HashMap;

use docker_sync_common::event::{now_ms, Event, EventKind};
use docker_sync_common::task::{Counts, JobStatus, TaskMessage, TaskStatus};
use redis::AsyncCommands;
use serde::Serialize;
use uuid::Uuid;

use crate::error::AppError;
use crate::jobs::plan::{Dropped, Plan};
use crate::state::AppState;

/// How long a job's keys live after its last change (matches the worker).
pub const JOB_TTL_SECS: i64 = 7 * 24 * 3600;
/// Events kept per job; a job of thousands of images keeps its latest ones.
pub const EVENTS_PER_JOB: usize = 10_000;

#[derive(Debug, Serialize)]
pub struct JobView {
    pub id: String,
    pub status: JobStatus,
    pub created_at_ms: u64,
    pub started_at_ms: Option<u64>,
    pub finished_at_ms: Option<u64>,
    pub target: String,
    pub replace_level: String,
    pub namespace: String,
    /// The one platform the job copies out of multi-arch images; absent: every platform.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    pub total: u32,
    pub counts: Counts,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tasks: Option<Vec<TaskView>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filtered: Option<Vec<serde_json::Value>>,
}

#[derive(Debug, Serialize)]
pub struct TaskView {
    pub id: String,
    pub index: u32,
    pub line: u32,
    pub source: String,
    pub target: String,
    pub status: TaskStatus,
    pub attempts: u32,
    pub error: Option<String>,
    pub output: Option<String>,
    pub digest: Option<String>,
    pub started_at_ms: Option<u64>,
    pub finished_at_ms: Option<u64>,
    pub blobs_done: u32,
    pub images_done: u32,
    pub images_total: Option<u32>,
    /// Why a worker holds this running task (the source's pull limit), and until when at most.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting_until_ms: Option<u64>,
    /// Why the target's digest was not compared before copying (the check could not run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unchecked: Option<String>,
}

/// Queues the plan; returns the new job as `GET /api/jobs/{id}` would show it.
pub async fn create(state: &AppState, plan: &Plan) -> Result<JobView, AppError> {
    let keys = &state.keys;
    let job = Uuid::new_v4().to_string();
    let now = now_ms();
    let dropped = serde_json::to_string(&plan.dropped).expect("serialisable");
    let mut pipe = redis::pipe();
    pipe.atomic();
    let mut job_fields = vec![
        ("id", job.clone()),
        ("created_at_ms", now.to_string()),
        ("registry", plan.registry.clone()),
        ("replace_level", plan.replace_level.to_string()),
        ("namespace", plan.namespace.clone()),
        ("total", plan.tasks.len().to_string()),
        ("dropped", dropped),
    ];
    if let Some(platform) = &plan.platform {
        job_fields.push(("platform", platform.to_string()));
    }
    pipe.hset_multiple(keys.job(&job), &job_fields);
    let mut views = Vec::with_capacity(plan.tasks.len());
    for (index, planned) in plan.tasks.iter().enumerate() {
        let task = Uuid::new_v4().to_string();
        let message = TaskMessage {
            task: task.clone(),
            job: job.clone(),
            source: planned.source.to_string(),
            target: planned.target.to_string(),
            registry: plan.registry.clone(),
            platform: plan.platform.clone(),
        };
        pipe.hset_multiple(
            keys.task(&task),
            &[
                ("id", task.clone()),
                ("job", job.clone()),
                ("index", index.to_string()),
                ("line", planned.line.to_string()),
                ("source", message.source.clone()),
                ("target", message.target.clone()),
                ("status", TaskStatus::Queued.as_str().to_owned()),
                ("attempts", "0".into()),
                ("created_at_ms", now.to_string()),
            ],
        )
        .expire(keys.task(&task), JOB_TTL_SECS)
        .rpush(keys.job_tasks(&job), &task);
        let event = Event {
            job: job.clone(),
            task: Some(task.clone()),
            index: Some(index as u32),
            at_ms: now,
            kind: EventKind::Queued,
        };
        pipe.cmd("XADD")
            .arg(keys.job_events(&job))
            .arg("MAXLEN")
            .arg("~")
            .arg(EVENTS_PER_JOB)
            .arg("*")
            .arg(docker_sync_common::keys::EVENT_FIELD)
            .arg(serde_json::to_string(&event).expect("serialisable"));
        pipe.xadd(keys.tasks(), "*", &message.to_fields());
        views.push(queued_view(task, index, planned.line, &message));
    }
    pipe.expire(keys.job(&job), JOB_TTL_SECS)
        .expire(keys.job_tasks(&job), JOB_TTL_SECS)
        .expire(keys.job_events(&job), JOB_TTL_SECS)
        .zadd(keys.jobs(), &job, now)
        .publish(keys.events_channel(&job), "queued");
    let mut conn = state.pool.get().await?;
    pipe.query_async::<()>(&mut *conn).await?;

    Ok(JobView {
        id: job,
        status: JobStatus::Queued,
        created_at_ms: now,
        started_at_ms: None,
        finished_at_ms: None,
        target: plan.registry.clone(),
        replace_level: plan.replace_level.to_string(),
        namespace: plan.namespace.clone(),
        platform: plan.platform.as_ref().map(ToString::to_string),
        total: views.len() as u32,
        counts: Counts {
            queued: views.len() as u32,
            ..Counts::default()
        },
        tasks: Some(views),
        filtered: Some(plan.dropped.iter().map(dropped_json).collect()),
    })
}

fn dropped_json(d: &Dropped) -> serde_json::Value {
    serde_json::to_value(d).expect("serialisable")
}

fn queued_view(id: String, index: usize, line: usize, m: &TaskMessage) -> TaskView {
    TaskView {
        id,
        index: index as u32,
        line: line as u32,
        source: m.source.clone(),
        target: m.target.clone(),
        status: TaskStatus::Queued,
        attempts: 0,
        error: None,
        output: None,
        digest: None,
        started_at_ms: None,
        finished_at_ms: None,
        blobs_done: 0,
        images_done: 0,
        images_total: None,
        waiting: None,
        waiting_until_ms: None,
        unchecked: None,
    }
}

/// The job with every task, or None when there is no such job.
pub async fn get(state: &AppState, job: &str) -> Result<Option<JobView>, AppError> {
    let keys = &state.keys;
    let mut conn = state.pool.get().await?;
    let task_ids: Vec<String> = conn.lrange(keys.job_tasks(job), 0, -1).await?;
    // The job hash is read after the tasks, in the same pipeline: the script that finishes the
    // last task also stamps the job, so a view whose tasks are all done has the stamp too.
    let mut pipe = redis::pipe();
    for id in &task_ids {
        pipe.hgetall(keys.task(id));
    }
    pipe.hgetall(keys.job(job));
    let mut hashes: Vec<HashMap<String, String>> = pipe.query_async(&mut *conn).await?;
    let fields = hashes.pop().unwrap_or_default();
    if fields.is_empty() {
        return Ok(None);
    }
    let tasks: Vec<TaskView> = hashes
        .iter()
        .filter(|t| !t.is_empty())
        .map(task_view)
        .collect();
    let mut counts = Counts::default();
    tasks.iter().for_each(|t| counts.add(t.status));
    let mut view = job_view(&fields, counts);
    view.status = JobStatus::derive(&counts, fields.contains_key("started_at_ms"));
    view.filtered = fields
        .get("dropped")
        .and_then(|d| serde_json::from_str(d).ok());
    view.tasks = Some(tasks);
    Ok(Some(view))
}

/// The newest jobs, without their tasks.
pub async fn list(state: &AppState, limit: usize) -> Result<Vec<JobView>, AppError> {
    let keys = &state.keys;
    let mut conn = state.pool.get().await?;
    let ids: Vec<String> = conn
        .zrevrange(keys.jobs(), 0, limit.max(1) as isize - 1)
        .await?;
    if ids.is_empty() {
        // Redis refuses the empty pipeline below.
        return Ok(Vec::new());
    }
    let mut pipe = redis::pipe();
    for id in &ids {
        pipe.hgetall(keys.job(id));
    }
    let jobs: Vec<HashMap<String, String>> = pipe.query_async(&mut *conn).await?;
    let mut views = Vec::with_capacity(jobs.len());
    let mut expired = Vec::new();
    for (id, fields) in ids.iter().zip(&jobs) {
        if fields.is_empty() {
            expired.push(id.clone());
            continue;
        }
        // Without reading every task, running and queued are told apart only as "not finished".
        let total: u32 = num(fields, "total");
        let counts = Counts {
            succeeded: num(fields, "succeeded"),
            skipped: num(fields, "skipped"),
            failed: num(fields, "failed"),
            ..Counts::default()
        };
        let pending = total.saturating_sub(counts.finished());
        let counts = Counts {
            queued: pending,
            ..counts
        };
        let mut view = job_view(fields, counts);
        view.status = JobStatus::derive(&counts, fields.contains_key("started_at_ms"));
        views.push(view);
    }
    if !expired.is_empty() {
        let _: () = conn.zrem(keys.jobs(), &expired).await?;
    }
    Ok(views)
}

fn job_view(f: &HashMap<String, String>, counts: Counts) -> JobView {
    JobView {
        id: text(f, "id"),
        status: JobStatus::Queued,
        created_at_ms: num(f, "created_at_ms"),
        started_at_ms: opt_num(f, "started_at_ms"),
        finished_at_ms: opt_num(f, "finished_at_ms"),
        target: text(f, "registry"),
        replace_level: text(f, "replace_level"),
        namespace: text(f, "namespace"),
        platform: opt_text(f, "platform"),
        total: num(f, "total"),
        counts,
        tasks: None,
        filtered: None,
    }
}

fn task_view(f: &HashMap<String, String>) -> TaskView {
    let status = f
        .get("status")
        .and_then(|s| s.parse().ok())
        .unwrap_or(TaskStatus::Queued);
    TaskView {
        id: text(f, "id"),
        index: num(f, "index"),
        line: num(f, "line"),
        source: text(f, "source"),
        target: text(f, "target"),
        status,
        attempts: num(f, "attempts"),
        error: opt_text(f, "error"),
        output: opt_text(f, "output_tail"),
        digest: opt_text(f, "digest"),
        started_at_ms: opt_num(f, "started_at_ms"),
        finished_at_ms: opt_num(f, "finished_at_ms"),
        blobs_done: num(f, "blobs_done"),
        images_done: num(f, "images_done"),
        images_total: opt_num(f, "images_total"),
        waiting: opt_text(f, "waiting").filter(|_| status == TaskStatus::Running),
        waiting_until_ms: opt_num(f, "waiting_until_ms").filter(|_| status == TaskStatus::Running),
        unchecked: opt_text(f, "unchecked"),
    }
}

fn text(f: &HashMap<String, String>, k: &str) -> String {
    f.get(k).cloned().unwrap_or_default()
}

fn opt_text(f: &HashMap<String, String>, k: &str) -> Option<String> {
    f.get(k).filter(|v| !v.is_empty()).cloned()
}

fn num<T: std::str::FromStr + Default>(f: &HashMap<String, String>, k: &str) -> T {
    opt_num(f, k).unwrap_or_default()
}

fn opt_num<T: std::str::FromStr>(f: &HashMap<String, String>, k: &str) -> Option<T> {
    f.get(k).and_then(|v| v.parse().ok())
}

/// Whether a job exists (for the WebSocket route, before upgrading).
pub async fn exists(state: &AppState, job: &str) -> Result<bool, AppError> {
    let mut conn = state.pool.get().await?;
    Ok(conn.exists(state.keys.job(job)).await?)
}
