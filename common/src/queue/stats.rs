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

/// Upper bounds (ms) of `docker_sync_task_duration_seconds`; job_end.lua holds the same list
/// (the records test keeps them in step). From 10 ms: a skip is one manifest HEAD.
pub const TASK_SECONDS_LE_MS: [u64; 17] = [
    10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 120000, 300000, 600000,
    1800000, 3600000,
];

/// One cluster-wide field of the stats hash, as job_end.lua's `count_cluster` writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterField<'a> {
    /// `tasks:<result>:<registry>`: tasks that ended so.
    Tasks { result: &'a str, registry: &'a str },
    /// `task_seconds:<result>:<part>:<registry>`, part `count`, `sum_ms`, `le_<ms>` or `le_inf`
    /// (a duration counts into its smallest bucket only).
    Seconds {
        result: &'a str,
        part: SecondsPart,
        registry: &'a str,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondsPart {
    Count,
    SumMs,
    /// The bucket's upper bound in ms; None for +Inf.
    Le(Option<u64>),
}

impl<'a> ClusterField<'a> {
    /// A field's meaning, or None for the hash's other fields. Registry names come last, so one
    /// holding a `:` still reads back whole.
    pub fn parse(field: &'a str) -> Option<ClusterField<'a>> {
        if let Some(rest) = field.strip_prefix("tasks:") {
            let (result, registry) = rest.split_once(':')?;
            return Some(ClusterField::Tasks { result, registry });
        }
        let rest = field.strip_prefix("task_seconds:")?;
        let (result, rest) = rest.split_once(':')?;
        let (part, registry) = rest.split_once(':')?;
        let part = match part {
            "count" => SecondsPart::Count,
            "sum_ms" => SecondsPart::SumMs,
            "le_inf" => SecondsPart::Le(None),
            le => SecondsPart::Le(Some(le.strip_prefix("le_")?.parse().ok()?)),
        };
        Some(ClusterField::Seconds {
            result,
            part,
            registry,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_fields_read_back_with_a_colon_in_the_registry() {
        assert_eq!(
            ClusterField::parse("tasks:skipped:harbor:8443"),
            Some(ClusterField::Tasks {
                result: "skipped",
                registry: "harbor:8443"
            })
        );
        assert_eq!(
            ClusterField::parse("task_seconds:succeeded:le_250:acr"),
            Some(ClusterField::Seconds {
                result: "succeeded",
                part: SecondsPart::Le(Some(250)),
                registry: "acr"
            })
        );
        assert_eq!(
            ClusterField::parse("task_seconds:failed:le_inf:"),
            Some(ClusterField::Seconds {
                result: "failed",
                part: SecondsPart::Le(None),
                registry: ""
            })
        );
        assert_eq!(ClusterField::parse("sync_total"), None);
        assert_eq!(ClusterField::parse("task_seconds:failed:le_x:acr"), None);
    }
}
