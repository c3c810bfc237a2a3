//! What travels on the task stream, and the states a task and a job go through.
//!
//! A stream entry names registries, never credentials: a worker looks the credentials up in its
//! own configuration, so `XRANGE` shows nothing secret.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::platform::Platform;

/// One image to copy, as written to the task stream (fields `task`, `job`, `source`, `target`,
/// `registry`, and `platform` when the job copies one platform).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskMessage {
    pub task: String,
    pub job: String,
    /// Full source reference, e.g. `docker.io/library/nginx:1.25`.
    pub source: String,
    /// Full target reference, e.g. `harbor.example.com/library/nginx:1.25`.
    pub target: String,
    /// Name of the target registry in the configuration.
    pub registry: String,
    /// Copy only this platform's image out of a multi-arch index (field `platform`, written only
    /// when set); None copies every platform.
    pub platform: Option<Platform>,
}

/// A stream entry that cannot be a task.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FieldError {
    #[error("task stream entry has no field `{0}`")]
    Missing(&'static str),
    #[error("task stream entry field `{field}`: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
}

impl TaskMessage {
    pub fn to_fields(&self) -> Vec<(&'static str, String)> {
        let mut fields = vec![
            ("task", self.task.clone()),
            ("job", self.job.clone()),
            ("source", self.source.clone()),
            ("target", self.target.clone()),
            ("registry", self.registry.clone()),
        ];
        if let Some(platform) = &self.platform {
            fields.push(("platform", platform.to_string()));
        }
        fields
    }

    pub fn from_fields(fields: &HashMap<String, String>) -> Result<Self, FieldError> {
        let get = |name: &'static str| fields.get(name).cloned().ok_or(FieldError::Missing(name));
        let platform =
            Platform::parse_option(fields.get("platform").map(String::as_str)).map_err(|e| {
                FieldError::Invalid {
                    field: "platform",
                    message: e.to_string(),
                }
            })?;
        Ok(Self {
            task: get("task")?,
            job: get("job")?,
            source: get("source")?,
            target: get("target")?,
            registry: get("registry")?,
            platform,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Queued,
    Running,
    Succeeded,
    Skipped,
    Failed,
}

impl TaskStatus {
    pub const ALL: [TaskStatus; 5] = [
        TaskStatus::Queued,
        TaskStatus::Running,
        TaskStatus::Succeeded,
        TaskStatus::Skipped,
        TaskStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Queued => "queued",
            TaskStatus::Running => "running",
            TaskStatus::Succeeded => "succeeded",
            TaskStatus::Skipped => "skipped",
            TaskStatus::Failed => "failed",
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            TaskStatus::Succeeded | TaskStatus::Skipped | TaskStatus::Failed
        )
    }
}

impl fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown task status `{0}`")]
pub struct UnknownStatus(String);

impl FromStr for TaskStatus {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TaskStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_owned()))
    }
}

/// How many of a job's tasks are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub queued: u32,
    pub running: u32,
    pub succeeded: u32,
    pub skipped: u32,
    pub failed: u32,
}

impl Counts {
    pub fn add(&mut self, status: TaskStatus) {
        match status {
            TaskStatus::Queued => self.queued += 1,
            TaskStatus::Running => self.running += 1,
            TaskStatus::Succeeded => self.succeeded += 1,
            TaskStatus::Skipped => self.skipped += 1,
            TaskStatus::Failed => self.failed += 1,
        }
    }

    pub fn total(&self) -> u32 {
        self.queued + self.running + self.finished()
    }

    pub fn finished(&self) -> u32 {
        self.succeeded + self.skipped + self.failed
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
    Partial,
}

impl JobStatus {
    /// A job is finished when every task is; it failed only if nothing got through, and is
    /// partial when some images failed and some did not. `started` tells a job whose tasks went
    /// back to the queue (a worker stopped) from one no worker has touched yet.
    pub fn derive(counts: &Counts, started: bool) -> JobStatus {
        let total = counts.total();
        if total > 0 && counts.finished() == total {
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
        }
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
    }

    #[test]
    fn message_round_trips_through_stream_fields() {
        let m = TaskMessage {
            task: "t".into(),
            job: "j".into(),
            source: "docker.io/library/nginx:1".into(),
            target: "h/ns/nginx:1".into(),
            registry: "harbor".into(),
            platform: None,
        };
        let fields = |m: &TaskMessage| -> HashMap<String, String> {
            m.to_fields()
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect()
        };
        let map = fields(&m);
        assert!(!map.contains_key("platform"), "absent means every platform");
        assert_eq!(map.len(), 5);
        assert_eq!(TaskMessage::from_fields(&map).unwrap(), m);
        let mut partial = map.clone();
        partial.remove("registry");
        assert_eq!(
            TaskMessage::from_fields(&partial),
            Err(FieldError::Missing("registry"))
        );

        let one = TaskMessage {
            platform: Some("linux/arm64/v8".parse().unwrap()),
            ..m.clone()
        };
        let map = fields(&one);
        assert_eq!(map["platform"], "linux/arm64/v8");
        assert_eq!(TaskMessage::from_fields(&map).unwrap(), one);
        let mut bad = map.clone();
        bad.insert("platform".into(), "arm64".into());
        assert!(matches!(
            TaskMessage::from_fields(&bad),
            Err(FieldError::Invalid {
                field: "platform",
                ..
            })
        ));
        let mut all = map;
        all.insert("platform".into(), "all".into());
        assert_eq!(TaskMessage::from_fields(&all).unwrap(), m);
    }
}
