//! How long the queue's records live and how much of them is kept. The api and the workers both
//! write job data and must agree, and the workers' script gets these as arguments.

use std::time::Duration;

/// How long a job's keys (job, task list, tasks, events) live after their last change.
pub const JOB_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// Events kept per job (`MAXLEN ~`); a job of thousands of images keeps its latest ones.
pub const EVENTS_PER_JOB: usize = 10_000;

/// Entries kept in the dead-letter stream (`MAXLEN ~`).
pub const DEAD_LETTERS_KEPT: usize = 100_000;

/// `JOB_TTL` in whole seconds, for EXPIRE.
pub fn job_ttl_secs() -> u64 {
    JOB_TTL.as_secs()
}
