//! What processing one task needs, built once per process and passed to every step explicitly:
//! the queue, the registry clients, skopeo and the settings.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use docker_sync_common::config::sealing::SealingKeys;
use docker_sync_common::config::stored::{Catalog, RegistryStore};
use docker_sync_common::config::Config;
use docker_sync_common::queue::Consumer;
use docker_sync_common::redis::deadpool_redis::Pool;
use docker_sync_common::redis::Keys;
use docker_sync_common::registry::harbor::HarborClient;
use docker_sync_common::registry::RegistryClient;
use tokio::sync::Semaphore;

use crate::cancel::Cancels;
use crate::settings::Settings;
use crate::skopeo::Skopeo;

pub struct Parts {
    /// This worker in the consumer group: its leases and the task transitions.
    pub consumer: Consumer,
    /// For the records shared by all workers beyond the task's own (pull limits, counters).
    pub pool: Pool,
    pub keys: Keys,
    /// Manifest digests, tags and platform indexes.
    pub registry: RegistryClient,
    /// Harbor's project API, for `create_project: true`.
    pub harbor: HarborClient,
    pub skopeo: Skopeo,
    pub settings: Settings,
    /// registries.yaml as loaded at start (sync settings, filters).
    pub config: Arc<Config>,
    /// The registries in force: the file's plus those stored through the api.
    pub catalog: Catalog,
    /// skopeo copies running at once (`concurrency`); tasks beyond it may be checked meanwhile.
    pub copies: Semaphore,
    /// Registries whose digest check failed already in this process (logged once at WARN).
    pub warned: Mutex<HashSet<String>>,
    /// The jobs of the tasks in hand, to stop them when an operator cancels one.
    pub cancels: Arc<Cancels>,
}

impl Parts {
    /// Who cancelled `job`, for the task's record.
    pub async fn cancelled_by(&self, job: &str) -> String {
        use docker_sync_common::queue::job::JobField;
        use redis::AsyncCommands;
        let who: Option<String> = match self.pool.get().await {
            Ok(mut conn) => conn
                .hget(self.keys.job(job), JobField::CancelledBy.as_str())
                .await
                .unwrap_or_default(),
            Err(_) => None,
        };
        who.unwrap_or_else(|| "an operator".to_owned())
    }

    pub fn new(
        config: Config,
        sealing: Option<SealingKeys>,
        settings: Settings,
    ) -> anyhow::Result<Parts> {
        let pool =
            docker_sync_common::redis::pool(&settings.redis_url, 4 + 3 * settings.concurrency)?;
        let config = Arc::new(config);
        let store = RegistryStore::new(pool.clone(), settings.keys.clone(), sealing.map(Arc::new));
        let skopeo = Skopeo::new(settings.skopeo.clone(), &settings.work_dir)?;
        Ok(Parts {
            consumer: Consumer::new(pool.clone(), settings.keys.clone(), &settings.consumer),
            keys: settings.keys.clone(),
            pool,
            copies: Semaphore::new(settings.concurrency),
            registry: RegistryClient::new(Duration::from_secs(30)),
            harbor: HarborClient::new(Duration::from_secs(30)),
            catalog: Catalog::new(config.clone(), store),
            config,
            settings,
            skopeo,
            warned: Default::default(),
            cancels: Default::default(),
        })
    }
}
