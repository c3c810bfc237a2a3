//! Sync jobs: planning (from a request to checked tasks, listing source tags for patterns),
//! their storage in Redis, and what happens when one ends.
pub mod ends;
pub mod plan;
pub mod source_check;
pub mod store;
pub mod tags;

use crate::error::AppError;

/// A job id as a client sends it, parsed once at the edge: only a UUID ever becomes part of a
/// key, so `<id>:tasks` cannot reach the job's task list (another key type) through `job:<id>`.
#[derive(Debug, Clone)]
pub struct JobId(String);

impl JobId {
    /// 404 for anything that is not a UUID: no job can have that id.
    pub fn parse(raw: &str) -> Result<JobId, AppError> {
        uuid::Uuid::try_parse(raw)
            .map(|u| JobId(u.hyphenated().to_string()))
            .map_err(|_| AppError::NotFound(format!("no job `{raw}`: a job id is a UUID")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}
