//! `/metrics/cluster`: the cluster-wide `docker_sync_*` series. They come from Redis, so every api
//! replica answers the same; scraped once (through the Service), `sum(rate(...))` is the truth.
//! The per-process series stay on `/metrics`, scraped from every pod.

use std::collections::BTreeMap;

use docker_sync_common::queue::stats::{ClusterField, SecondsPart, TASK_SECONDS_LE_MS};
use prometheus::proto::{Bucket, Histogram, Metric, MetricFamily, MetricType};

use super::proto::{counter_metric, gauge, gauge_metric, labels, non_empty};
use super::snapshot::Snapshot;

/// The values of `docker_sync_tasks_total`'s `result` (a task's final statuses).
const RESULTS: [&str; 4] = ["succeeded", "skipped", "failed", "cancelled"];

/// A consumer that has not read from the stream for this long is not counted as active: workers
/// block on the stream for a few seconds at a time, so a live one is never this quiet.
const ACTIVE_WITHIN_MS: u64 = 60_000;

pub fn families(s: &Snapshot) -> Vec<MetricFamily> {
    let (tasks, durations) = task_series(s);
    let mut families = vec![
        gauge(
            "docker_sync_queue_entries",
            "Entries in the task stream, waiting or running",
            s.stream_length as f64,
        ),
        gauge(
            "docker_sync_queue_lag",
            "Tasks not yet delivered to any worker",
            s.lag as f64,
        ),
        gauge(
            "docker_sync_queue_consumers",
            "Worker consumers known to the consumer group, quiet ones included",
            s.consumers.len() as f64,
        ),
        gauge(
            "docker_sync_queue_active_consumers",
            "Worker consumers that read from the task stream in the last 60 seconds",
            s.consumers
                .iter()
                .filter(|c| c.idle_ms < ACTIVE_WITHIN_MS)
                .count() as f64,
        ),
        gauge(
            "docker_sync_dead_letters",
            "Entries in the dead-letter stream",
            s.dead_letters as f64,
        ),
    ];
    // Absent until a task has ended: the text encoder refuses a family without series.
    families.extend(non_empty(
        "docker_sync_tasks_total",
        "Tasks that ended, by target registry and result (succeeded, skipped, failed, cancelled)",
        MetricType::COUNTER,
        tasks,
    ));
    families.extend(non_empty(
        "docker_sync_task_duration_seconds",
        "Seconds from a task's start to its end, by target registry and result",
        MetricType::HISTOGRAM,
        durations,
    ));
    let by_consumer = |value: fn(&super::snapshot::Consumer) -> f64| {
        s.consumers
            .iter()
            .map(|c| gauge_metric(labels(&[("consumer", &c.name)]), value(c)))
            .collect::<Vec<_>>()
    };
    families.extend(non_empty(
        "docker_sync_queue_pending",
        "Tasks delivered to a worker consumer and not yet finished",
        MetricType::GAUGE,
        by_consumer(|c| c.pending as f64),
    ));
    families.extend(non_empty(
        "docker_sync_queue_consumer_idle_seconds",
        "Seconds since a worker consumer last read from the task stream",
        MetricType::GAUGE,
        by_consumer(|c| c.idle_ms as f64 / 1000.0),
    ));
    // Every configured registry from 0, so `increase()` sees its first failure.
    let mut failures: BTreeMap<&str, u64> = s.registries.iter().map(|r| (r.as_str(), 0)).collect();
    failures.extend(s.digest_check_failures());
    families.extend(non_empty(
        "docker_sync_digest_check_failures_total",
        "Digest checks that could not run, so the image was copied without comparing the target",
        MetricType::COUNTER,
        failures
            .into_iter()
            .map(|(registry, n)| counter_metric(labels(&[("registry", registry)]), n as f64))
            .collect(),
    ));
    families.extend(non_empty(
        "docker_sync_pull_budget_remaining",
        "Pulls left on a source registry's limit as it last reported (Docker Hub ratelimit-remaining)",
        MetricType::GAUGE,
        s.limits
            .iter()
            .map(|l| gauge_metric(labels(&[("host", &l.host)]), l.remaining as f64))
            .collect(),
    ));
    families.extend(non_empty(
        "docker_sync_pull_budget_limit",
        "Pulls a source registry allows per window as it last reported (ratelimit-limit)",
        MetricType::GAUGE,
        s.limits
            .iter()
            .filter_map(|l| Some(gauge_metric(labels(&[("host", &l.host)]), l.limit? as f64)))
            .collect(),
    ));
    families
}

#[derive(Default)]
struct Durations {
    count: u64,
    sum_ms: u64,
    /// Per bucket (ms; None = +Inf), the tasks whose smallest bucket it is.
    buckets: BTreeMap<Option<u64>, u64>,
}

/// `docker_sync_tasks_total` and `docker_sync_task_duration_seconds`, one series per (registry,
/// result), in a stable order.
fn task_series(s: &Snapshot) -> (Vec<Metric>, Vec<Metric>) {
    let mut tasks: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    for registry in &s.registries {
        for result in RESULTS {
            tasks.insert((registry.as_str(), result), 0);
        }
    }
    let mut durations: BTreeMap<(&str, &str), Durations> = BTreeMap::new();
    for (field, &n) in &s.stats {
        match ClusterField::parse(field) {
            Some(ClusterField::Tasks { result, registry }) => {
                *tasks.entry((registry, result)).or_default() += n;
            }
            Some(ClusterField::Seconds {
                result,
                part,
                registry,
            }) => {
                let d = durations.entry((registry, result)).or_default();
                match part {
                    SecondsPart::Count => d.count += n,
                    SecondsPart::SumMs => d.sum_ms += n,
                    SecondsPart::Le(le) => *d.buckets.entry(le).or_default() += n,
                }
            }
            None => {}
        }
    }
    let tasks = tasks
        .into_iter()
        .map(|((registry, result), n)| {
            counter_metric(
                labels(&[("registry", registry), ("result", result)]),
                n as f64,
            )
        })
        .collect();
    let durations = durations
        .into_iter()
        .map(|((registry, result), d)| histogram(registry, result, &d))
        .collect();
    (tasks, durations)
}

fn histogram(registry: &str, result: &str, d: &Durations) -> Metric {
    let mut below = 0;
    let buckets = TASK_SECONDS_LE_MS
        .iter()
        .map(|&le| {
            below += d.buckets.get(&Some(le)).copied().unwrap_or(0);
            let mut b = Bucket::default();
            b.set_upper_bound(le as f64 / 1000.0);
            b.set_cumulative_count(below);
            b
        })
        .collect();
    let mut h = Histogram::default();
    h.set_sample_count(d.count);
    h.set_sample_sum(d.sum_ms as f64 / 1000.0);
    h.set_bucket(buckets);
    let mut m = Metric::default();
    m.set_label(labels(&[("registry", registry), ("result", result)]));
    m.set_histogram(h);
    m
}
