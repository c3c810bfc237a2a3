//! `/metrics`. The sync figures are cluster-wide: every worker counts into one Redis hash, so
//! any api replica reports the same totals. Names follow the user's spec (`sync_total`,
//! `sync_success`, `sync_failed`, `sync_duration`, `active_connections`).

use std::collections::HashMap;

use docker_sync_common::queue::stats::{self, DIGEST_CHECK_FAILURES, DURATION_BUCKETS_S};
use docker_sync_common::queue::WORKER_GROUP;
use prometheus::proto::{
    Bucket, Counter, Gauge, Histogram, LabelPair, Metric, MetricFamily, MetricType,
};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};
use redis::AsyncCommands;

use crate::error::AppError;
use crate::state::AppState;

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    pub active_connections: IntGauge,
    pub jobs_submitted: IntCounter,
    pub login_failures: IntCounter,
    pub http_requests: IntCounterVec,
    pub http_duration: HistogramVec,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let active_connections = IntGauge::new(
            "active_connections",
            "WebSocket connections open on this api process",
        )
        .expect("valid");
        let jobs_submitted =
            IntCounter::new("jobs_submitted_total", "Jobs accepted by this api process")
                .expect("valid");
        let login_failures =
            IntCounter::new("login_failures_total", "Failed logins on this api process")
                .expect("valid");
        // Labelled by route template, never the raw path: a scanner's probes must not create series.
        let http_requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests by route template and status",
            ),
            &["method", "route", "status"],
        )
        .expect("valid");
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "HTTP request latency by route template",
            ),
            &["method", "route"],
        )
        .expect("valid");
        for c in [
            Box::new(active_connections.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(jobs_submitted.clone()),
            Box::new(login_failures.clone()),
            Box::new(http_requests.clone()),
            Box::new(http_duration.clone()),
        ] {
            registry.register(c).expect("unique metric names");
        }
        Self {
            registry,
            active_connections,
            jobs_submitted,
            login_failures,
            http_requests,
            http_duration,
        }
    }

    pub async fn render(&self, state: &AppState) -> Result<String, AppError> {
        let mut families = self.registry.gather();
        families.extend(cluster_families(state).await?);
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&families, &mut out)
            .map_err(|e| AppError::Internal(e.to_string()))?;
        String::from_utf8(out).map_err(|e| AppError::Internal(e.to_string()))
    }
}

async fn cluster_families(state: &AppState) -> Result<Vec<MetricFamily>, AppError> {
    let keys = &state.keys;
    let mut conn = state.pool.get().await?;
    let stats: HashMap<String, u64> = conn.hgetall(keys.stats()).await?;
    let stat = |k: &str| stats.get(k).copied().unwrap_or(0) as f64;
    let (length, dead): (u64, u64) = redis::pipe()
        .xlen(keys.tasks())
        .xlen(keys.dead_letter())
        .query_async(&mut *conn)
        .await?;
    let groups: redis::streams::StreamInfoGroupsReply =
        conn.xinfo_groups(keys.tasks()).await.unwrap_or_default();
    let group = groups.groups.iter().find(|g| g.name == WORKER_GROUP);
    let pending = group.map_or(0, |g| g.pending) as f64;
    let lag = group.and_then(|g| g.lag).unwrap_or(0) as f64;
    let consumers = group.map_or(0, |g| g.consumers) as f64;

    let mut buckets = Vec::new();
    for le in DURATION_BUCKETS_S {
        let mut b = Bucket::default();
        b.set_upper_bound(le as f64);
        b.set_cumulative_count(stat(&stats::duration_bucket(le)) as u64);
        buckets.push(b);
    }
    let mut h = Histogram::default();
    h.set_sample_count(stat(stats::DURATION_COUNT) as u64);
    h.set_sample_sum(stat(stats::DURATION_SUM_MS) / 1000.0);
    h.set_bucket(buckets);
    let mut duration = Metric::default();
    duration.set_histogram(h);

    let rate_limits = rate_limit_family(state).await?;

    let mut families = vec![
        counter(
            "sync_total",
            "Image copies finished, all outcomes (cluster-wide)",
            stat(stats::SYNC_TOTAL),
        ),
        counter(
            "sync_success",
            "Image copies that succeeded or were already in sync",
            stat(stats::SYNC_SUCCESS),
        ),
        counter(
            "sync_skipped",
            "Image copies skipped because the target had the same digest",
            stat(stats::SYNC_SKIPPED),
        ),
        counter(
            "sync_failed",
            "Image copies that failed after every retry",
            stat(stats::SYNC_FAILED),
        ),
        family(
            "sync_duration",
            "Seconds from a task's start to its end",
            MetricType::HISTOGRAM,
            duration,
        ),
        gauge(
            "queue_length",
            "Entries in the task stream (waiting or running)",
            length as f64,
        ),
        gauge(
            "queue_pending",
            "Tasks delivered to a worker and not yet finished",
            pending,
        ),
        gauge("queue_lag", "Tasks not yet delivered to any worker", lag),
        gauge(
            "queue_consumers",
            "Worker consumers known to the group",
            consumers,
        ),
        gauge(
            "dead_letters",
            "Entries in the dead-letter stream",
            dead as f64,
        ),
    ];
    // An empty family cannot be encoded: only when some registry reported a limit.
    families.extend(rate_limits);
    families.extend(digest_check_family(&stats));
    Ok(families)
}

/// `ratelimit_remaining{host}`: the pull limit left as the workers last saw it on a manifest
/// HEAD (Docker Hub's `ratelimit-remaining`), from the `<prefix>:ratelimit:<host>` hashes.
async fn rate_limit_family(state: &AppState) -> Result<Option<MetricFamily>, AppError> {
    let mut metrics = Vec::new();
    for limit in docker_sync_common::registry::reported(&state.pool, &state.keys).await? {
        let mut label = LabelPair::default();
        label.set_name("host".to_owned());
        label.set_value(limit.host);
        let mut g = Gauge::default();
        g.set_value(limit.remaining as f64);
        let mut m = Metric::default();
        m.set_label(vec![label]);
        m.set_gauge(g);
        metrics.push(m);
    }
    if metrics.is_empty() {
        return Ok(None);
    }
    let mut f = family(
        "ratelimit_remaining",
        "Pulls left on a source registry's limit as last reported (Docker Hub)",
        MetricType::GAUGE,
        Metric::default(),
    );
    f.set_metric(metrics);
    Ok(Some(f))
}

/// `digest_check_failures_total{registry}`: digest checks that could not run, so the image was
/// copied without comparing the target (the skip-unchanged fast path lost), by registry.
fn digest_check_family(stats: &HashMap<String, u64>) -> Option<MetricFamily> {
    let mut counts: Vec<(&str, u64)> = stats
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix(DIGEST_CHECK_FAILURES)?, *v)))
        .collect();
    if counts.is_empty() {
        return None;
    }
    counts.sort();
    let metrics = counts
        .into_iter()
        .map(|(registry, n)| {
            let mut label = LabelPair::default();
            label.set_name("registry".to_owned());
            label.set_value(registry.to_owned());
            let mut c = Counter::default();
            c.set_value(n as f64);
            let mut m = Metric::default();
            m.set_label(vec![label]);
            m.set_counter(c);
            m
        })
        .collect();
    let mut f = family(
        "digest_check_failures_total",
        "Digest checks that could not run, so the image was copied without checking the target",
        MetricType::COUNTER,
        Metric::default(),
    );
    f.set_metric(metrics);
    Some(f)
}

fn counter(name: &str, help: &str, value: f64) -> MetricFamily {
    let mut c = Counter::default();
    c.set_value(value);
    let mut m = Metric::default();
    m.set_counter(c);
    family(name, help, MetricType::COUNTER, m)
}

fn gauge(name: &str, help: &str, value: f64) -> MetricFamily {
    let mut g = Gauge::default();
    g.set_value(value);
    let mut m = Metric::default();
    m.set_gauge(g);
    family(name, help, MetricType::GAUGE, m)
}

fn family(name: &str, help: &str, kind: MetricType, metric: Metric) -> MetricFamily {
    let mut f = MetricFamily::default();
    f.set_name(name.to_owned());
    f.set_help(help.to_owned());
    f.set_field_type(kind);
    f.set_metric(vec![metric]);
    f
}
