//! Types shared by the api and the worker: image references and tag selection, name mapping,
//! filters, configuration, task and event types, the Redis key names, the registry HTTP client
//! and the wording of registry failures.
pub mod cli;
pub mod config;
pub mod explain;
pub mod filter;
pub mod harbor;
pub mod image_ref;
pub mod logging;
pub mod mapping;
pub mod naming;
pub mod platform;
pub mod queue;
pub mod redis;
pub mod registry;
pub mod registry_store;
pub mod sealing;
pub mod selection;

/// Milliseconds since the Unix epoch: the unit of every `*_ms` field the records keep.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
