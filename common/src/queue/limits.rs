//! How long the queue's records live and how much of them is kept. The api decides how long
//! jobs and statistics are kept (its flags) and writes it into each job; the workers' script
//! follows the job (its keys expire with the job hash), so the two cannot disagree.

use std::time::Duration;

/// How long a job's keys (job, task list, tasks, events, logs) live by default.
pub const DEFAULT_JOB_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

/// How long the statistics' hourly and daily aggregates live by default: beyond the jobs.
pub const DEFAULT_STATS_RETENTION: Duration = Duration::from_secs(90 * 24 * 3600);

/// Events kept per job (`MAXLEN ~`); a job of thousands of images keeps its latest ones (a late
/// WebSocket gets a snapshot first, so nothing depends on the trimmed ones).
pub const EVENTS_PER_JOB: usize = 10_000;

/// Entries kept in the dead-letter stream (`MAXLEN ~`).
pub const DEAD_LETTERS_KEPT: usize = 100_000;

/// Log lines kept per task (the newest).
pub const TASK_LOG_LINES: usize = 200;

/// How long records are kept, as the api was told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub jobs: Duration,
    pub stats: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            jobs: DEFAULT_JOB_RETENTION,
            stats: DEFAULT_STATS_RETENTION,
        }
    }
}

impl Retention {
    pub fn job_secs(&self) -> u64 {
        self.jobs.as_secs().max(1)
    }

    pub fn stats_secs(&self) -> u64 {
        self.stats.as_secs().max(1)
    }
}
