//! The api: checks sync requests, turns a job into one queued task per image, relays progress to
//! browsers over WebSocket, and serves the web UI, `/health` and `/metrics`.
#![forbid(unsafe_code)]

pub mod assets;
pub mod auth;
pub mod bundles;
pub mod error;
pub mod events;
pub mod hash_password;
pub mod jobs;
pub mod lang;
pub mod limits;
pub mod metrics;
pub mod openapi;
pub mod registries;
pub mod routes;
pub mod rules;
pub mod scripts;
pub mod settings;
pub mod startup;
pub mod state;
pub mod webhooks;
