//! Progress events: written by the api (queued) and the workers, kept in a capped per-job stream
//! and relayed to browsers. The stream entry id becomes the event's `id`, so a client can order
//! events and drop ones it has already seen.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Event {
    pub job: String,
    /// None for events about the whole job.
    pub task: Option<String>,
    /// Position of the task in the submitted list.
    pub index: Option<u32>,
    pub at_ms: u64,
    #[serde(flatten)]
    pub kind: EventKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    Queued,
    Started {
        attempt: u32,
        worker: String,
    },
    Progress {
        blobs_done: u32,
        images_done: u32,
        images_total: Option<u32>,
        step: String,
    },
    Retrying {
        attempt: u32,
        error: String,
        delay_ms: u64,
    },
    /// The worker holds the task (keeping its lease) until `until_ms` at the latest, e.g. because
    /// the source's pull limit is nearly used up.
    Waiting {
        reason: String,
        until_ms: u64,
    },
    Skipped {
        digest: String,
    },
    Succeeded {
        digest: Option<String>,
        duration_ms: u64,
        /// Why the target's digest was not compared before copying (the check could not run).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        unchecked: Option<String>,
    },
    Failed {
        error: String,
    },
    /// A worker stopped (shutdown, lost lease) and left the task for another worker.
    Requeued {
        reason: String,
    },
    /// Job event: an operator asked to cancel; queued tasks are cancelled at once, running
    /// ones as soon as their worker has stopped skopeo.
    CancelRequested {
        by: String,
    },
    /// The task will not run, or was stopped while it ran.
    Cancelled {
        by: String,
    },
    JobFinished {
        status: super::job::JobStatus,
    },
}

impl Event {
    /// An event about the task of `msg`, now (the task's index is known only to the api).
    pub fn for_task(msg: &super::task::TaskMessage, kind: EventKind) -> Event {
        Event {
            job: msg.job.clone(),
            task: Some(msg.task.clone()),
            index: None,
            at_ms: crate::now_ms(),
            kind,
        }
    }
}

impl EventKind {
    pub fn is_job_finished(&self) -> bool {
        matches!(self, EventKind::JobFinished { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_flat_with_a_kind_tag() {
        let e = Event {
            job: "j".into(),
            task: Some("t".into()),
            index: Some(2),
            at_ms: 5,
            kind: EventKind::Skipped {
                digest: "sha256:ab".into(),
            },
        };
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["kind"], "skipped");
        assert_eq!(v["digest"], "sha256:ab");
        assert_eq!(v["index"], 2);
        let back: Event = serde_json::from_value(v).unwrap();
        assert_eq!(back, e);
    }
}
