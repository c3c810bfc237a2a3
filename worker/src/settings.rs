//! Worker flags (each also an environment variable; the flag wins) merged with `sync_config`
//! from registries.yaml.

use std::path::PathBuf;
use std::time::Duration;

use docker_sync_common::cli::SharedArgs;
use docker_sync_common::config::Config;
use docker_sync_common::redis::Keys;

#[derive(Debug, clap::Parser)]
#[command(
    name = "docker-sync-worker",
    version,
    about = "Runs image copy tasks from the Redis queue with skopeo"
)]
pub struct Args {
    #[command(flatten)]
    pub shared: SharedArgs,
    /// Consumer name in the group. Keep it stable across restarts (the pod name) so a restarted
    /// worker resumes its own tasks. Default: <hostname>-<pid>.
    #[arg(long, env = "DOCKER_SYNC_WORKER_NAME")]
    pub name: Option<String>,
    /// Copies run at once; default `sync_config.parallel_downloads`.
    #[arg(long, env = "DOCKER_SYNC_CONCURRENCY")]
    pub concurrency: Option<usize>,
    /// A task whose owner has not renewed its lease for this long is taken by another worker.
    #[arg(long, env = "DOCKER_SYNC_LEASE", default_value = "60s", value_parser = humantime::parse_duration)]
    pub lease: Duration,
    /// Deliveries after which a task goes to the dead-letter stream.
    #[arg(long, env = "DOCKER_SYNC_MAX_DELIVERIES", default_value_t = 5)]
    pub max_deliveries: u32,
    /// On SIGTERM, how long running copies may go on before they are stopped and handed back.
    #[arg(long, env = "DOCKER_SYNC_SHUTDOWN_GRACE", default_value = "25s", value_parser = humantime::parse_duration)]
    pub shutdown_grace: Duration,
    /// First wait before retrying a failed copy; doubles each retry, at most a minute.
    #[arg(long, env = "DOCKER_SYNC_RETRY_BACKOFF", default_value = "2s", value_parser = humantime::parse_duration)]
    pub retry_backoff: Duration,
    /// Below this many pulls left on a source registry's limit (Docker Hub's
    /// `ratelimit-remaining`), copies from it are held until the limit refills. 0 turns it off.
    #[arg(long, env = "DOCKER_SYNC_RATE_LIMIT_FLOOR", default_value_t = 10)]
    pub rate_limit_floor: u64,
    /// While holding a task for the pull limit, how often to look again (a free manifest HEAD).
    #[arg(long, env = "DOCKER_SYNC_RATE_LIMIT_RECHECK", default_value = "60s", value_parser = humantime::parse_duration)]
    pub rate_limit_recheck: Duration,
    /// The skopeo binary.
    #[arg(long, env = "DOCKER_SYNC_SKOPEO", default_value = "skopeo")]
    pub skopeo: PathBuf,
    /// Private scratch folder (authfiles). Default: <tmp>/docker-sync-worker-<name>.
    #[arg(long, env = "DOCKER_SYNC_WORK_DIR")]
    pub work_dir: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub redis_url: String,
    pub keys: Keys,
    pub consumer: String,
    pub concurrency: usize,
    pub batch_size: usize,
    pub lease: Duration,
    pub max_deliveries: u32,
    pub shutdown_grace: Duration,
    pub retry_backoff: Duration,
    pub rate_limit_floor: u64,
    pub rate_limit_recheck: Duration,
    pub skopeo: PathBuf,
    pub work_dir: PathBuf,
    /// Where export jobs write their bundles (`DOCKER_SYNC_DOWNLOADS`, the api's folder too).
    pub downloads: PathBuf,
    /// What that folder may hold: an export whose next archive would not fit fails.
    pub quota: docker_sync_common::bundle::Quota,
}

impl Settings {
    pub fn new(args: Args, config: &Config) -> Settings {
        let consumer = args.name.unwrap_or_else(default_name);
        let work_dir = args
            .work_dir
            .unwrap_or_else(|| std::env::temp_dir().join(format!("docker-sync-worker-{consumer}")));
        let concurrency = args
            .concurrency
            .unwrap_or(config.sync.parallel_downloads as usize)
            .max(1);
        Settings {
            redis_url: args.shared.redis_url.clone(),
            keys: args.shared.keys(),
            consumer,
            concurrency,
            batch_size: (config.sync.batch_size as usize).max(1),
            lease: args.lease.max(Duration::from_millis(300)),
            max_deliveries: args.max_deliveries.max(1),
            shutdown_grace: args.shutdown_grace,
            retry_backoff: args.retry_backoff,
            rate_limit_floor: args.rate_limit_floor,
            rate_limit_recheck: args.rate_limit_recheck.max(Duration::from_millis(100)),
            skopeo: args.skopeo,
            work_dir,
            downloads: args.shared.downloads.clone(),
            quota: args.shared.quota(),
        }
    }
}

fn default_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "worker".into());
    format!("{host}-{}", std::process::id())
}
