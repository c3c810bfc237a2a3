//! The cluster-wide counters in the stats hash (`<prefix>:stats`): every worker's script counts
//! each finished task into it, and every api replica reads it for `/metrics`.

/// Upper bounds (seconds) of the task-duration histogram's buckets.
pub const DURATION_BUCKETS_S: [u64; 10] = [1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

/// Tasks finished, any status.
pub const SYNC_TOTAL: &str = "sync_total";
/// Tasks that succeeded or were skipped (the target had the image).
pub const SYNC_SUCCESS: &str = "sync_success";
pub const SYNC_FAILED: &str = "sync_failed";
pub const SYNC_SKIPPED: &str = "sync_skipped";
pub const DURATION_COUNT: &str = "duration_count";
pub const DURATION_SUM_MS: &str = "duration_sum_ms";

/// The field counting tasks that took at most `le` seconds.
pub fn duration_bucket(le: u64) -> String {
    format!("duration_le_{le}")
}

/// The prefix of the fields counting digest checks that could not run, one per registry.
pub const DIGEST_CHECK_FAILURES: &str = "digest_check_failures:";

pub fn digest_check_failures(registry: &str) -> String {
    format!("{DIGEST_CHECK_FAILURES}{registry}")
}

/// The buckets as the script takes them: `1,5,10,...`.
pub(crate) fn buckets_arg() -> String {
    DURATION_BUCKETS_S.map(|b| b.to_string()).join(",")
}
