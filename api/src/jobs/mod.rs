//! Sync jobs: planning (from a request to checked tasks, listing source tags for patterns) and
//! their storage in Redis.
pub mod plan;
pub mod store;
pub mod tags;
