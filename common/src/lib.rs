//! Types shared by the api and the worker: image references and tag selection, name mapping,
//! filters, configuration, task and event types, the Redis key names, the registry HTTP client
//! and the wording of registry failures.
pub mod cli;
pub mod config;
pub mod event;
pub mod explain;
pub mod filter;
pub mod harbor;
pub mod image_ref;
pub mod keys;
pub mod logging;
pub mod mapping;
pub mod naming;
pub mod platform;
pub mod redis;
pub mod registry;
pub mod registry_store;
pub mod sealing;
pub mod selection;
pub mod task;
