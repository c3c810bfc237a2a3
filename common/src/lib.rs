//! Types shared by the api and the worker, grouped by what they are about:
//!
//! - [`image`]: image references, tag selection, name mapping, naming rules, filters, platforms;
//! - [`registry`]: registry access: the HTTP client, how a registry is reached, Harbor's project
//!   API and the wording of registry failures;
//! - [`config`]: `registries.yaml`, the registries added through the api (stored in Redis) and
//!   the key that seals their passwords;
//! - [`queue`]: the queue's records, the contract between the api and the workers (stream
//!   entries, job and task fields, statuses, events, the lease and the task transitions);
//! - [`redis`]: connections and every key name;
//! - the command line shared by both binaries ([`cli`]) and logging ([`logging`]).
pub mod bundle;
pub mod cli;
pub mod config;
pub mod image;
pub mod logging;
pub mod queue;
pub mod redis;
pub mod registry;
pub mod rules;

/// Milliseconds since the Unix epoch: the unit of every `*_ms` field the records keep.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
