//! Reading the statistics the workers' script keeps per hour and per day (`job_end.lua`,
//! `count_stats`): images by outcome, copy durations as a histogram, jobs by final status, in
//! total and per target registry, and each day's failure reasons and failing images. They outlive
//! the jobs (their own retention), and reading a range is one `HGETALL` per bucket.

use std::collections::{BTreeMap, HashMap};

use deadpool_redis::Pool;
use serde::Serialize;

use super::stats::DURATION_BUCKETS_S;
use super::QueueError;
use crate::redis::Keys;

pub const HOUR_MS: u64 = 3_600_000;
pub const DAY_MS: u64 = 86_400_000;

/// The span of one bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    Hour,
    Day,
}

impl Span {
    pub fn as_str(self) -> &'static str {
        match self {
            Span::Hour => "hour",
            Span::Day => "day",
        }
    }

    pub fn ms(self) -> u64 {
        match self {
            Span::Hour => HOUR_MS,
            Span::Day => DAY_MS,
        }
    }
}

/// What one bucket (or a sum of them) came to.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Figures {
    /// Images copied, skipped (the target had them) and failed.
    pub copied: u64,
    pub skipped: u64,
    pub failed: u64,
    /// Jobs that ended, by final status.
    pub jobs: JobEnds,
    /// (copied + skipped) / all images; None without any.
    pub success_rate: Option<f64>,
    /// Copy durations (copied images only), from the histogram; None without copies.
    pub duration_p50_ms: Option<u64>,
    pub duration_p95_ms: Option<u64>,
    #[serde(skip)]
    histogram: Histogram,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobEnds {
    pub succeeded: u64,
    pub partial: u64,
    pub failed: u64,
    pub cancelled: u64,
}

/// Cumulative counts of copies that took at most each bucket's bound, and the total.
#[derive(Debug, Clone, Default, PartialEq)]
struct Histogram {
    le: [u64; DURATION_BUCKETS_S.len()],
    count: u64,
}

impl Figures {
    /// From a bucket hash's fields with `prefix` (`""` for the totals, `r:<registry>:`).
    fn read(fields: &HashMap<String, u64>, prefix: &str) -> Figures {
        let get = |name: &str| fields.get(&format!("{prefix}{name}")).copied().unwrap_or(0);
        let mut histogram = Histogram {
            count: get("dur_count"),
            ..Histogram::default()
        };
        for (i, le) in DURATION_BUCKETS_S.iter().enumerate() {
            histogram.le[i] = get(&format!("dur_le_{le}"));
        }
        let mut f = Figures {
            copied: get("copied"),
            skipped: get("skipped"),
            failed: get("failed"),
            jobs: JobEnds {
                succeeded: get("jobs_succeeded"),
                partial: get("jobs_partial"),
                failed: get("jobs_failed"),
                cancelled: get("jobs_cancelled"),
            },
            histogram,
            ..Figures::default()
        };
        f.derive();
        f
    }

    pub fn add(&mut self, other: &Figures) {
        self.copied += other.copied;
        self.skipped += other.skipped;
        self.failed += other.failed;
        self.jobs.succeeded += other.jobs.succeeded;
        self.jobs.partial += other.jobs.partial;
        self.jobs.failed += other.jobs.failed;
        self.jobs.cancelled += other.jobs.cancelled;
        self.histogram.count += other.histogram.count;
        for (a, b) in self.histogram.le.iter_mut().zip(other.histogram.le) {
            *a += b;
        }
        self.derive();
    }

    fn derive(&mut self) {
        let all = self.copied + self.skipped + self.failed;
        self.success_rate = (all > 0).then(|| (self.copied + self.skipped) as f64 / all as f64);
        self.duration_p50_ms = self.histogram.quantile(0.5);
        self.duration_p95_ms = self.histogram.quantile(0.95);
    }

    pub fn is_empty(&self) -> bool {
        self.copied + self.skipped + self.failed == 0
            && self.jobs.succeeded + self.jobs.partial + self.jobs.failed + self.jobs.cancelled == 0
    }
}

impl Histogram {
    /// The q-quantile, interpolated inside its bucket as Prometheus' `histogram_quantile` does;
    /// beyond the last bound it is that bound.
    fn quantile(&self, q: f64) -> Option<u64> {
        if self.count == 0 {
            return None;
        }
        let rank = q * self.count as f64;
        let mut lower_bound = 0.0;
        let mut lower_count = 0.0;
        for (i, le) in DURATION_BUCKETS_S.iter().enumerate() {
            let upper = (*le * 1000) as f64;
            let cum = self.le[i] as f64;
            if cum >= rank {
                let inside = cum - lower_count;
                let part = if inside > 0.0 {
                    (rank - lower_count) / inside
                } else {
                    1.0
                };
                return Some((lower_bound + (upper - lower_bound) * part).round() as u64);
            }
            lower_bound = upper;
            lower_count = cum;
        }
        Some(lower_bound as u64)
    }
}

/// A range of buckets as read: per bucket start, the totals (or one registry's) and per registry.
pub struct Range {
    pub buckets: Vec<(u64, Figures)>,
    pub registries: BTreeMap<String, Figures>,
}

/// The buckets of `span` that start in `[from_ms, to_ms)`, for one registry or all.
pub async fn read_range(
    pool: &Pool,
    keys: &Keys,
    span: Span,
    from_ms: u64,
    to_ms: u64,
    registry: Option<&str>,
) -> Result<Range, QueueError> {
    let starts: Vec<u64> = (from_ms - from_ms % span.ms()..to_ms)
        .step_by(span.ms() as usize)
        .collect();
    let mut conn = pool.get().await?;
    let mut pipe = redis::pipe();
    for start in &starts {
        pipe.hgetall(keys.stats_bucket(span.as_str(), *start));
    }
    let hashes: Vec<HashMap<String, u64>> = if starts.is_empty() {
        Vec::new()
    } else {
        pipe.query_async(&mut *conn).await?
    };
    let prefix = registry.map_or(String::new(), |r| format!("r:{r}:"));
    let mut registries: BTreeMap<String, Figures> = BTreeMap::new();
    let mut buckets = Vec::with_capacity(starts.len());
    for (start, fields) in starts.iter().zip(&hashes) {
        buckets.push((*start, Figures::read(fields, &prefix)));
        for name in registry_names(fields) {
            if registry.is_some_and(|r| r != name) {
                continue;
            }
            let figures = Figures::read(fields, &format!("r:{name}:"));
            registries.entry(name.to_owned()).or_default().add(&figures);
        }
    }
    Ok(Range {
        buckets,
        registries,
    })
}

/// The registries a bucket has figures for (`r:<name>:copied`, ...).
fn registry_names(fields: &HashMap<String, u64>) -> Vec<&str> {
    let mut names: Vec<&str> = fields
        .keys()
        .filter_map(|k| k.strip_prefix("r:"))
        .filter_map(|k| k.rsplit_once(':').map(|(name, _)| name))
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// The most frequent failure reasons (`reasons`) or failing images (`failing`) over the days
/// that overlap `[from_ms, to_ms)`, most first.
pub async fn top(
    pool: &Pool,
    keys: &Keys,
    kind: &str,
    from_ms: u64,
    to_ms: u64,
    n: usize,
) -> Result<Vec<(String, u64)>, QueueError> {
    let days: Vec<u64> = (from_ms - from_ms % DAY_MS..to_ms)
        .step_by(DAY_MS as usize)
        .collect();
    if days.is_empty() {
        return Ok(Vec::new());
    }
    let mut conn = pool.get().await?;
    let mut pipe = redis::pipe();
    for day in &days {
        pipe.cmd("ZRANGE")
            .arg(keys.stats_top(kind, *day))
            .arg(0)
            .arg(-1)
            .arg("WITHSCORES");
    }
    let lists: Vec<Vec<(String, f64)>> = pipe.query_async(&mut *conn).await?;
    let mut sum: HashMap<String, u64> = HashMap::new();
    for (member, score) in lists.into_iter().flatten() {
        *sum.entry(member).or_default() += score as u64;
    }
    let mut out: Vec<(String, u64)> = sum.into_iter().collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out.truncate(n);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_inside_the_bucket() {
        // 10 copies: 4 took <= 1 s, 8 <= 5 s, all <= 10 s.
        let mut h = Histogram {
            count: 10,
            ..Histogram::default()
        };
        h.le[0] = 4;
        h.le[1] = 8;
        for le in &mut h.le[2..] {
            *le = 10;
        }
        // Rank 5 is the first of the four in (1 s, 5 s]: a quarter in.
        assert_eq!(h.quantile(0.5), Some(2000));
        // Rank 9.5 is three quarters into (5 s, 10 s].
        assert_eq!(h.quantile(0.95), Some(8750));
        assert_eq!(Histogram::default().quantile(0.5), None);
    }
}
