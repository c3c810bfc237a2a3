//! Flags both binaries take. Each flag can also come from its environment variable; the flag
//! wins when both are given.

use std::path::PathBuf;

use crate::bundle::Quota;
use crate::config::sealing::{KeyError, SealingKeys};
use crate::config::ByteSize;
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
    /// Most bytes the downloads folder may hold (`50G`; B, K, M, G, T count in 1024s). An
    /// export or upload that would pass it is refused with the numbers. None: no quota.
    #[arg(long, env = "DOCKER_SYNC_DOWNLOADS_QUOTA", value_parser = ByteSize::parse)]
    pub downloads_quota: Option<ByteSize>,
    /// Free space the downloads filesystem keeps: exports and uploads stop short of it (`0`
    /// turns the floor off).
    #[arg(long, env = "DOCKER_SYNC_DOWNLOADS_MIN_FREE", default_value = "1G",
          value_parser = min_free)]
    pub downloads_min_free: u64,
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

    /// What `--downloads-quota` and `--downloads-min-free` allow.
    pub fn quota(&self) -> Quota {
        Quota::new(self.downloads_quota.map(|q| q.0), self.downloads_min_free)
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

/// A size as [`ByteSize`] reads it, or `0`: no floor is a choice an operator may make.
fn min_free(text: &str) -> Result<u64, String> {
    if text.trim() == "0" {
        return Ok(0);
    }
    ByteSize::parse(text).map(|s| s.0)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    #[derive(Debug, clap::Parser)]
    struct Cli {
        #[command(flatten)]
        shared: super::SharedArgs,
    }

    #[test]
    fn the_downloads_quota_is_off_and_one_gib_stays_free_unless_told() {
        let quota = Cli::parse_from(["x"]).shared.quota();
        assert_eq!((quota.limit, quota.min_free), (None, 1 << 30));
        let told = Cli::parse_from(["x", "--downloads-quota", "50G", "--downloads-min-free", "0"]);
        assert_eq!(
            (told.shared.quota().limit, told.shared.quota().min_free),
            (Some(50 << 30), 0)
        );
        let bad = Cli::try_parse_from(["x", "--downloads-quota", "50 parsecs"]).unwrap_err();
        assert!(bad.to_string().contains("unknown unit"), "{bad}");
    }
}
