//! The cluster-wide series under the names the user's spec and earlier releases used
//! (`sync_total`, `sync_success`, `sync_failed`, `sync_duration`, `queue_*`, ...), kept unchanged
//! on `/metrics` for anyone who already scrapes them. Every replica reports the same cluster-wide
//! figures, so these must be read with `max` across pods, never `sum`; the `docker_sync_*` series
//! on `/metrics/cluster` are the ones to build on.

use docker_sync_common::queue::stats::{self, DURATION_BUCKETS_S};
use prometheus::proto::{Bucket, Histogram, Metric, MetricFamily, MetricType};

use super::proto::{counter, counter_metric, family, gauge, gauge_metric, labels, non_empty};
use super::snapshot::Snapshot;

pub fn families(s: &Snapshot) -> Vec<MetricFamily> {
    let mut families = vec![
        counter(
            "sync_total",
            "Image copies finished, all outcomes (cluster-wide)",
            s.stat(stats::SYNC_TOTAL),
        ),
        counter(
            "sync_success",
            "Image copies that succeeded or were already in sync",
            s.stat(stats::SYNC_SUCCESS),
        ),
        counter(
            "sync_skipped",
            "Image copies skipped because the target had the same digest",
            s.stat(stats::SYNC_SKIPPED),
        ),
        counter(
            "sync_failed",
            "Image copies that failed after every retry",
            s.stat(stats::SYNC_FAILED),
        ),
        family(
            "sync_duration",
            "Seconds from a task's start to its end",
            MetricType::HISTOGRAM,
            vec![duration(s)],
        ),
        gauge(
            "queue_length",
            "Entries in the task stream (waiting or running)",
            s.stream_length as f64,
        ),
        gauge(
            "queue_pending",
            "Tasks delivered to a worker and not yet finished",
            s.pending as f64,
        ),
        gauge(
            "queue_lag",
            "Tasks not yet delivered to any worker",
            s.lag as f64,
        ),
        gauge(
            "queue_consumers",
            "Worker consumers known to the group",
            s.consumers.len() as f64,
        ),
        gauge(
            "dead_letters",
            "Entries in the dead-letter stream",
            s.dead_letters as f64,
        ),
    ];
    families.extend(non_empty(
        "ratelimit_remaining",
        "Pulls left on a source registry's limit as last reported (Docker Hub)",
        MetricType::GAUGE,
        s.limits
            .iter()
            .map(|l| gauge_metric(labels(&[("host", &l.host)]), l.remaining as f64))
            .collect(),
    ));
    families.extend(non_empty(
        "digest_check_failures_total",
        "Digest checks that could not run, so the image was copied without checking the target",
        MetricType::COUNTER,
        s.digest_check_failures()
            .into_iter()
            .map(|(registry, n)| counter_metric(labels(&[("registry", registry)]), n as f64))
            .collect(),
    ));
    families
}

fn duration(s: &Snapshot) -> Metric {
    let buckets = DURATION_BUCKETS_S
        .iter()
        .map(|&le| {
            let mut b = Bucket::default();
            b.set_upper_bound(le as f64);
            b.set_cumulative_count(s.stat(&stats::duration_bucket(le)) as u64);
            b
        })
        .collect();
    let mut h = Histogram::default();
    h.set_sample_count(s.stat(stats::DURATION_COUNT) as u64);
    h.set_sample_sum(s.stat(stats::DURATION_SUM_MS) / 1000.0);
    h.set_bucket(buckets);
    let mut m = Metric::default();
    m.set_histogram(h);
    m
}
