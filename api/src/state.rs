//! What every handler shares.

use std::collections::BTreeMap;
use std::sync::Arc;

use docker_sync_common::config::stored::Catalog;
use docker_sync_common::config::Config;
use docker_sync_common::redis::deadpool_redis::Pool;
use docker_sync_common::redis::Keys;
use docker_sync_common::rules::RuleSpec;

use crate::auth::AuthConfig;
use crate::events::Hub;
use crate::metrics::Metrics;

#[derive(Clone)]
pub struct AppState {
    pub pool: Pool,
    pub redis_url: String,
    pub keys: Keys,
    /// registries.yaml as loaded at start; [`Self::catalog`] adds the stored registries.
    pub config: Arc<Config>,
    pub catalog: Catalog,
    pub auth: Arc<AuthConfig>,
    pub hub: Hub,
    /// Asks registries for tags (job submission, preview); one per process for its token cache.
    pub registry: Arc<docker_sync_common::registry::RegistryClient>,
    pub metrics: Metrics,
    /// rules.yaml's rules, as loaded at start (read-only through the api).
    pub file_rules: Arc<BTreeMap<String, RuleSpec>>,
    /// `--public-url` without a trailing `/`, for links in webhook messages.
    pub public_url: Option<String>,
    /// How long jobs and statistics are kept (`--job-retention-days`, `--stats-retention-days`).
    pub retention: docker_sync_common::queue::limits::Retention,
    /// The bundles export jobs wrote (`DOCKER_SYNC_DOWNLOADS`).
    pub downloads: crate::bundles::store::Downloads,
    /// How long a bundle is kept (`--downloads-retention-days`).
    pub downloads_retention: std::time::Duration,
    /// What the downloads folder may hold (`--downloads-quota`, `--downloads-min-free`).
    pub quota: docker_sync_common::bundle::Quota,
}
