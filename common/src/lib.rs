//! Types shared by the api and the worker: image references, name mapping, filters,
//! configuration, task and event types, and the Redis key names.
pub mod cli;
pub mod config;
pub mod event;
pub mod filter;
pub mod image_ref;
pub mod keys;
pub mod logging;
pub mod mapping;
pub mod redis;
pub mod task;
