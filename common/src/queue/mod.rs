//! The queue's records: the contract between the api, which queues jobs, and the workers, which
//! run them. Everything both sides write or read lives here, so a new task field or state is
//! added in one place:
//!
//! - [`submit`] queues a job (job hash, task hashes, `queued` events, task-stream entries), and
//!   [`read`] reads jobs back;
//! - [`task`] and [`job`]: the stream entry, the hash fields, the statuses and the rule that
//!   derives a job's status from its tasks; [`event`]: the progress events;
//! - [`lease`]: how a worker takes, keeps, loses and hands back a task;
//! - [`transitions`]: how it records a task's start, progress and end, all through one script,
//!   `transitions.lua`, which checks the caller still holds the entry;
//! - [`cancel`]: an operator cancels a job (`cancel.lua`; `job_end.lua` is shared by both
//!   scripts: it ends a job on its last task);
//! - [`limits`] (TTL, caps) and [`stats`] (the counters behind `/metrics`).
//!
//! Key names are in [`crate::redis::keys`], with every other key.

pub mod aggregates;
pub mod cancel;
mod consumer;
pub mod event;
mod fields;
pub mod index;
pub mod job;
pub mod lease;
pub mod limits;
pub mod log;
pub mod read;
pub mod stats;
pub mod submit;
pub mod task;
pub mod transitions;

pub use consumer::{Consumer, Entry, QueueError, Transition};
pub use transitions::Ending;

/// The consumer group every worker reads the task stream through.
pub const WORKER_GROUP: &str = "workers";

/// The api replicas' consumer group on the job-ends stream ([`crate::redis::Keys::job_ends`]): each end is
/// handed to one replica, which queues its webhook deliveries.
pub const NOTIFIER_GROUP: &str = "notifier";

/// The field holding the JSON of an event-stream entry.
pub const EVENT_FIELD: &str = "event";
