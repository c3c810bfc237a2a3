//! Types shared by the api and the worker, grouped by what they are about:
//!
//! - [`image`]: image references, tag selection, name mapping, naming rules, filters, platforms;
//! - [`registry`]: registry access: the HTTP client, how a registry is reached, Harbor's project
//!   API and the wording of registry failures;
//! - [`config`]: `registries.yaml`, the registries added through the api (stored in Redis) and
//!   the key that seals their passwords;
//! - the queue's records: task and event types ([`task`], [`event`]), the Redis key names
//!   ([`keys`]) and connections ([`redis`]);
//! - the command line shared by both binaries ([`cli`]) and logging ([`logging`]).
pub mod cli;
pub mod config;
pub mod event;
pub mod image;
pub mod keys;
pub mod logging;
pub mod redis;
pub mod registry;
pub mod task;

// `task.rs` still names `crate::platform`: it is being moved into the queue's own module on
// another branch, whose import follows `image::platform`. Remove this alias then.
pub(crate) use image::platform;
