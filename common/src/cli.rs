//! Flags both binaries take. Each flag can also come from its environment variable; the flag
//! wins when both are given.

use std::path::PathBuf;

use crate::config::sealing::{KeyError, SealingKeys};
use crate::redis::Keys;

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
    /// Where export jobs write their bundles; the api serves them from there. The workers and
    /// the api must see the same folder (a volume in compose, a ReadWriteMany volume in k8s).
    #[arg(
        long,
        env = "DOCKER_SYNC_DOWNLOADS",
        default_value = "./data/downloads"
    )]
    pub downloads: PathBuf,
    /// File with the key that seals the passwords of registries added through the api (at least
    /// 32 characters; several lines = rotation, the first seals). The key itself may come from
    /// the DOCKER_SYNC_SECRET_KEY variable instead; there is no flag for it, to keep it out of
    /// the process list.
    #[arg(long, env = "DOCKER_SYNC_SECRET_KEY_FILE")]
    pub secret_key_file: Option<PathBuf>,
    /// Logs as JSON lines (`--log-json`, `=true`) or text (`=false`); when given, wins over
    /// registries.yaml's `logging.format`.
    #[arg(long, env = "DOCKER_SYNC_LOG_JSON", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new())]
    pub log_json: Option<bool>,
}

impl SharedArgs {
    pub fn keys(&self) -> Keys {
        Keys::new(self.key_prefix.clone())
    }

    /// The sealing keys from `--secret-key-file` or `DOCKER_SYNC_SECRET_KEY`; None when neither
    /// is given (registries with a password can then only come from registries.yaml).
    pub fn sealing_keys(&self) -> Result<Option<SealingKeys>, KeyError> {
        let value = std::env::var("DOCKER_SYNC_SECRET_KEY")
            .ok()
            .filter(|v| !v.is_empty())
            .map(secrecy::SecretString::from);
        SealingKeys::load(self.secret_key_file.as_deref(), value)
    }
}
