//! Sync jobs: planning (from a request to checked tasks) and their storage in Redis.
pub mod plan;
pub mod store;
