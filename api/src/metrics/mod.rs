//! Prometheus metrics, on two endpoints because they mean different things when summed:
//! - `/metrics`: this process's own series (HTTP, WebSockets, logins), one set per pod, plus the
//!   spec's cluster-wide names (`sync_total`, ...) kept for old scrapers ([`legacy`]);
//! - `/metrics/cluster`: the cluster-wide `docker_sync_*` series from Redis ([`cluster`]), the
//!   same on every replica, so scraped once through the Service.

mod cluster;
mod legacy;
mod proto;
mod snapshot;

use prometheus::proto::MetricFamily;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

use crate::error::AppError;
use crate::state::AppState;
use snapshot::Snapshot;

/// One figure under its `docker_sync_*` name and its old unprefixed one: both move together.
#[derive(Clone)]
struct Twin<M> {
    new: M,
    old: M,
}

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    websockets: Twin<IntGauge>,
    jobs_submitted: Twin<IntCounter>,
    login_failures: Twin<IntCounter>,
    http_requests: Twin<IntCounterVec>,
    http_duration: Twin<HistogramVec>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let websockets = gauge_twin(
            "websocket_connections",
            "active_connections",
            "WebSocket connections open on this api process",
        );
        let jobs_submitted =
            counter_twin("jobs_submitted_total", "Jobs accepted by this api process");
        let login_failures =
            counter_twin("login_failures_total", "Failed logins on this api process");
        // Labelled by route template, never the raw path: a scanner's probes must not create series.
        let http_requests = Twin {
            new: counter_vec("docker_sync_http_requests_total"),
            old: counter_vec("http_requests_total"),
        };
        let http_duration = Twin {
            new: duration_vec("docker_sync_http_request_duration_seconds"),
            old: duration_vec("http_request_duration_seconds"),
        };
        for c in [
            Box::new(websockets.new.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(websockets.old.clone()),
            Box::new(jobs_submitted.new.clone()),
            Box::new(jobs_submitted.old.clone()),
            Box::new(login_failures.new.clone()),
            Box::new(login_failures.old.clone()),
            Box::new(http_requests.new.clone()),
            Box::new(http_requests.old.clone()),
            Box::new(http_duration.new.clone()),
            Box::new(http_duration.old.clone()),
        ] {
            registry.register(c).expect("unique metric names");
        }
        Self {
            registry,
            websockets,
            jobs_submitted,
            login_failures,
            http_requests,
            http_duration,
        }
    }

    pub fn websocket_opened(&self) {
        self.websockets.new.inc();
        self.websockets.old.inc();
    }

    pub fn websocket_closed(&self) {
        self.websockets.new.dec();
        self.websockets.old.dec();
    }

    pub fn job_submitted(&self) {
        self.jobs_submitted.new.inc();
        self.jobs_submitted.old.inc();
    }

    pub fn login_failed(&self) {
        self.login_failures.new.inc();
        self.login_failures.old.inc();
    }

    /// Failed logins this process counted (what `docker_sync_login_failures_total` reports).
    pub fn login_failures(&self) -> u64 {
        self.login_failures.new.get()
    }

    pub fn http_request(&self, method: &str, route: &str, status: &str, seconds: f64) {
        for requests in [&self.http_requests.new, &self.http_requests.old] {
            requests.with_label_values(&[method, route, status]).inc();
        }
        for duration in [&self.http_duration.new, &self.http_duration.old] {
            duration
                .with_label_values(&[method, route])
                .observe(seconds);
        }
    }

    /// `/metrics`: this process's series and the legacy cluster-wide names.
    pub async fn render_process(&self, state: &AppState) -> Result<String, AppError> {
        let mut families = self.registry.gather();
        families.extend(legacy::families(&Snapshot::read(state).await?));
        encode(&families)
    }

    /// `/metrics/cluster`: the cluster-wide `docker_sync_*` series.
    pub async fn render_cluster(&self, state: &AppState) -> Result<String, AppError> {
        encode(&cluster::families(&Snapshot::read(state).await?))
    }
}

fn encode(families: &[MetricFamily]) -> Result<String, AppError> {
    let mut out = Vec::new();
    TextEncoder::new()
        .encode(families, &mut out)
        .map_err(|e| AppError::Internal(e.to_string()))?;
    String::from_utf8(out).map_err(|e| AppError::Internal(e.to_string()))
}

fn gauge_twin(new: &str, old: &str, help: &str) -> Twin<IntGauge> {
    let gauge = |name: String| IntGauge::new(name, help).expect("valid");
    Twin {
        new: gauge(format!("docker_sync_{new}")),
        old: gauge(old.to_owned()),
    }
}

fn counter_twin(name: &str, help: &str) -> Twin<IntCounter> {
    let counter = |name: String| IntCounter::new(name, help).expect("valid");
    Twin {
        new: counter(format!("docker_sync_{name}")),
        old: counter(name.to_owned()),
    }
}

fn counter_vec(name: &str) -> IntCounterVec {
    IntCounterVec::new(
        Opts::new(name, "HTTP requests by route template and status"),
        &["method", "route", "status"],
    )
    .expect("valid")
}

fn duration_vec(name: &str) -> HistogramVec {
    HistogramVec::new(
        HistogramOpts::new(name, "HTTP request latency by route template"),
        &["method", "route"],
    )
    .expect("valid")
}
