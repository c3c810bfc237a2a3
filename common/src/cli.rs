//! Flags both binaries take. Each flag can also come from its environment variable; the flag
//! wins when both are given.

use std::path::PathBuf;

use crate::keys::Keys;

#[derive(Debug, Clone, clap::Args)]
pub struct SharedArgs {
    /// Redis holding the queue, jobs and events.
    #[arg(long, env = "REDIS_URL", default_value = "redis://127.0.0.1:6379")]
    pub redis_url: String,
    /// Folder with registries.yaml (and users.yaml).
    #[arg(long, env = "DOCKER_SYNC_CONFIG", default_value = "./config")]
    pub config: PathBuf,
    /// Prefix of every Redis key this installation uses.
    #[arg(long, env = "DOCKER_SYNC_KEY_PREFIX", default_value = "dsync")]
    pub key_prefix: String,
    /// Emit logs as JSON lines instead of text.
    #[arg(long, env = "DOCKER_SYNC_LOG_JSON")]
    pub log_json: bool,
}

impl SharedArgs {
    pub fn keys(&self) -> Keys {
        Keys::new(self.key_prefix.clone())
    }
}
