//! A job: one submission, its tasks' counts, and the status derived from them.
//!
//! The job hash (`<prefix>:job:<id>`) is written whole by [`super::submit`]; the workers' script
//! (`transitions.lua`) adds `started_at_ms`, the per-status counters, `finished`, and on the last
//! task `status` and `finished_at_ms`.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::fields::{num, opt_num, opt_text, text};
use super::task::TaskStatus;

/// How many of a job's tasks are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Counts {
    pub queued: u32,
    pub running: u32,
    pub succeeded: u32,
    pub skipped: u32,
    pub failed: u32,
    pub cancelled: u32,
}

impl Counts {
    pub fn add(&mut self, status: TaskStatus) {
        self.add_n(status, 1);
    }

    pub fn add_n(&mut self, status: TaskStatus, n: u32) {
        let slot = match status {
            TaskStatus::Queued => &mut self.queued,
            TaskStatus::Running => &mut self.running,
            TaskStatus::Succeeded => &mut self.succeeded,
            TaskStatus::Skipped => &mut self.skipped,
            TaskStatus::Failed => &mut self.failed,
            TaskStatus::Cancelled => &mut self.cancelled,
        };
        *slot += n;
    }

    pub fn total(&self) -> u32 {
        self.queued + self.running + self.finished()
    }

    pub fn finished(&self) -> u32 {
        self.succeeded + self.skipped + self.failed + self.cancelled
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
    Partial,
    Cancelled,
}

impl JobStatus {
    pub const ALL: [JobStatus; 6] = [
        JobStatus::Queued,
        JobStatus::Running,
        JobStatus::Succeeded,
        JobStatus::Failed,
        JobStatus::Partial,
        JobStatus::Cancelled,
    ];

    /// A job is finished when every task is. It is cancelled when a cancel stopped any of its
    /// tasks (a cancel that came after the last task ended changes nothing); otherwise it failed
    /// only if nothing got through, and is partial when some images failed and some did not. `started` tells a job whose tasks went
    /// back to the queue (a worker stopped) from one no worker has touched yet.
    pub fn derive(counts: &Counts, started: bool) -> JobStatus {
        let total = counts.total();
        if total > 0 && counts.finished() == total {
            if counts.cancelled > 0 {
                return JobStatus::Cancelled;
            }
            let ok = counts.succeeded + counts.skipped;
            return match (ok, counts.failed) {
                (_, 0) => JobStatus::Succeeded,
                (0, _) => JobStatus::Failed,
                _ => JobStatus::Partial,
            };
        }
        if started || counts.running > 0 || counts.finished() > 0 {
            JobStatus::Running
        } else {
            JobStatus::Queued
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
            JobStatus::Partial => "partial",
            JobStatus::Cancelled => "cancelled",
        }
    }

    pub fn is_final(self) -> bool {
        !matches!(self, JobStatus::Queued | JobStatus::Running)
    }
}

/// What started a job (field `trigger`, JSON): a user through a session or an API token, or a
/// sync rule, by its schedule or "run now".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Trigger {
    pub kind: TriggerKind,
    /// The user who submitted it (absent for a schedule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The API token's name, when it came with one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The sync rule it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TriggerKind {
    Session,
    Token,
    Schedule,
    RunNow,
}

impl TriggerKind {
    pub const ALL: [TriggerKind; 4] = [
        TriggerKind::Session,
        TriggerKind::Token,
        TriggerKind::Schedule,
        TriggerKind::RunNow,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TriggerKind::Session => "session",
            TriggerKind::Token => "token",
            TriggerKind::Schedule => "schedule",
            TriggerKind::RunNow => "run_now",
        }
    }
}

/// The job hash's fields. The per-status counters are named by [`TaskStatus::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobField {
    Id,
    CreatedAtMs,
    /// The target registry's name.
    Registry,
    ReplaceLevel,
    Namespace,
    /// The one platform copied out of multi-arch images; absent: every platform.
    Platform,
    /// `1`: the job also copies signatures and referrers; absent: it does not.
    WithSignatures,
    /// How many tasks the job has.
    Total,
    /// JSON list of the lines the filters dropped.
    Dropped,
    /// Set by the first task that starts.
    StartedAtMs,
    /// How many tasks have finished (any final status).
    Finished,
    /// Set with the final `status` by the last task that finishes.
    FinishedAtMs,
    Status,
    /// When an operator asked to cancel the job, and who (user or token name).
    CancelRequestedAtMs,
    CancelledBy,
    /// JSON [`Trigger`]: who or what started the job.
    Trigger,
    /// The image list as submitted, for "sync again".
    Lines,
    /// The job whose failed tasks this one runs again.
    RetryOf,
    /// How long the statistics this job's tasks count into are kept (s): the api's setting,
    /// carried to the workers' script.
    StatsKeepS,
    /// An export job's archive format (`docker-archive`, `oci-archive`); its bundle is the
    /// folder named after the job.
    Export,
    /// An import job's bundle: the folder its archives are read from.
    Bundle,
}

impl AsRef<str> for JobField {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl JobField {
    pub const fn as_str(self) -> &'static str {
        match self {
            JobField::Id => "id",
            JobField::CreatedAtMs => "created_at_ms",
            JobField::Registry => "registry",
            JobField::ReplaceLevel => "replace_level",
            JobField::Namespace => "namespace",
            JobField::Platform => "platform",
            JobField::WithSignatures => "with_signatures",
            JobField::Total => "total",
            JobField::Dropped => "dropped",
            JobField::StartedAtMs => "started_at_ms",
            JobField::Finished => "finished",
            JobField::FinishedAtMs => "finished_at_ms",
            JobField::Status => "status",
            JobField::CancelRequestedAtMs => "cancel_requested_at_ms",
            JobField::CancelledBy => "cancelled_by",
            JobField::Trigger => "trigger",
            JobField::Lines => "lines",
            JobField::RetryOf => "retry_of",
            JobField::StatsKeepS => "stats_keep_s",
            JobField::Export => "export",
            JobField::Bundle => "bundle",
        }
    }

    pub const ALL: [JobField; 21] = [
        JobField::Id,
        JobField::CreatedAtMs,
        JobField::Registry,
        JobField::ReplaceLevel,
        JobField::Namespace,
        JobField::Platform,
        JobField::WithSignatures,
        JobField::Total,
        JobField::Dropped,
        JobField::StartedAtMs,
        JobField::Finished,
        JobField::FinishedAtMs,
        JobField::Status,
        JobField::CancelRequestedAtMs,
        JobField::CancelledBy,
        JobField::Trigger,
        JobField::Lines,
        JobField::RetryOf,
        JobField::StatsKeepS,
        JobField::Export,
        JobField::Bundle,
    ];

    /// Whether `name` is a field of the job hash (a named field or a per-status counter).
    pub fn is_known(name: &str) -> bool {
        JobField::ALL.iter().any(|f| f.as_str() == name)
            || TaskStatus::ALL
                .iter()
                .any(|s| s.is_terminal() && s.as_str() == name)
    }
}

/// A job hash as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRecord {
    pub id: String,
    pub created_at_ms: u64,
    pub started_at_ms: Option<u64>,
    pub finished_at_ms: Option<u64>,
    pub registry: String,
    pub replace_level: String,
    pub namespace: String,
    pub platform: Option<String>,
    /// Whether its tasks also copy signatures and referrers.
    pub with_signatures: bool,
    pub total: u32,
    /// The finished tasks by final status (the counters the workers keep in the hash).
    pub finished: Counts,
    /// The lines the filters dropped, as the api recorded them.
    pub dropped: Option<Vec<serde_json::Value>>,
    /// Set when an operator cancelled the job: when, and who.
    pub cancel_requested_at_ms: Option<u64>,
    pub cancelled_by: Option<String>,
    /// None for jobs queued before triggers were recorded.
    pub trigger: Option<Trigger>,
    pub lines: Option<String>,
    pub retry_of: Option<String>,
    /// The jobs that ran this one's failed tasks again (key `job:<id>:retries`; filled by
    /// [`super::read::job`], empty in listings).
    pub retries: Vec<String>,
    /// An export job's archive format.
    pub export: Option<String>,
    /// An import job's source bundle.
    pub bundle: Option<String>,
}

impl JobRecord {
    /// None for an empty hash (the job expired or never existed).
    pub fn from_hash(f: &HashMap<String, String>) -> Option<JobRecord> {
        if f.is_empty() {
            return None;
        }
        let counter = |s: TaskStatus| num(f, s.as_str());
        Some(JobRecord {
            id: text(f, JobField::Id),
            created_at_ms: num(f, JobField::CreatedAtMs),
            started_at_ms: opt_num(f, JobField::StartedAtMs),
            finished_at_ms: opt_num(f, JobField::FinishedAtMs),
            registry: text(f, JobField::Registry),
            replace_level: text(f, JobField::ReplaceLevel),
            namespace: text(f, JobField::Namespace),
            platform: opt_text(f, JobField::Platform),
            with_signatures: f
                .get(JobField::WithSignatures.as_str())
                .is_some_and(|v| v == "1"),
            total: num(f, JobField::Total),
            finished: Counts {
                succeeded: counter(TaskStatus::Succeeded),
                skipped: counter(TaskStatus::Skipped),
                failed: counter(TaskStatus::Failed),
                cancelled: counter(TaskStatus::Cancelled),
                ..Counts::default()
            },
            dropped: f
                .get(JobField::Dropped.as_str())
                .and_then(|d| serde_json::from_str(d).ok()),
            cancel_requested_at_ms: opt_num(f, JobField::CancelRequestedAtMs),
            cancelled_by: opt_text(f, JobField::CancelledBy),
            trigger: f
                .get(JobField::Trigger.as_str())
                .and_then(|t| serde_json::from_str(t).ok()),
            lines: opt_text(f, JobField::Lines),
            retry_of: opt_text(f, JobField::RetryOf),
            retries: Vec::new(),
            export: opt_text(f, JobField::Export),
            bundle: opt_text(f, JobField::Bundle),
        })
    }

    /// Counts from the hash alone: without reading every task, running and queued are told
    /// apart only as "not finished" (reported as queued).
    pub fn counts(&self) -> Counts {
        Counts {
            queued: self.total.saturating_sub(self.finished.finished()),
            ..self.finished
        }
    }

    /// Whether any task of the job has started.
    pub fn started(&self) -> bool {
        self.started_at_ms.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(q: u32, r: u32, ok: u32, sk: u32, f: u32) -> Counts {
        Counts {
            queued: q,
            running: r,
            succeeded: ok,
            skipped: sk,
            failed: f,
            cancelled: 0,
        }
    }

    #[test]
    fn job_status_follows_its_tasks() {
        assert_eq!(
            JobStatus::derive(&counts(3, 0, 0, 0, 0), false),
            JobStatus::Queued
        );
        assert_eq!(
            JobStatus::derive(&counts(3, 0, 0, 0, 0), true),
            JobStatus::Running
        );
        assert_eq!(
            JobStatus::derive(&counts(2, 1, 0, 0, 0), false),
            JobStatus::Running
        );
        assert_eq!(
            JobStatus::derive(&counts(1, 0, 1, 0, 0), false),
            JobStatus::Running
        );
        assert_eq!(
            JobStatus::derive(&counts(0, 0, 2, 1, 0), true),
            JobStatus::Succeeded
        );
        assert_eq!(
            JobStatus::derive(&counts(0, 0, 0, 0, 3), true),
            JobStatus::Failed
        );
        assert_eq!(
            JobStatus::derive(&counts(0, 0, 0, 1, 1), true),
            JobStatus::Partial
        );
        let cancelled = |c| Counts {
            cancelled: c,
            ..counts(0, 0, 1, 0, 1)
        };
        assert_eq!(JobStatus::derive(&cancelled(1), true), JobStatus::Cancelled);
        assert_eq!(JobStatus::derive(&cancelled(0), true), JobStatus::Partial);
        assert_eq!(
            JobStatus::derive(
                &Counts {
                    queued: 1,
                    ..cancelled(1)
                },
                true
            ),
            JobStatus::Running,
            "cancelling: a task is still to end"
        );
    }
}
