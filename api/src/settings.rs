//! Api flags; each is also an environment variable, and the flag wins.

use std::path::PathBuf;

use docker_sync_common::cli::SharedArgs;

use crate::hash_password::HashPasswordArgs;

#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Print the bcrypt hash of a password read from stdin, for users.yaml's `password_hash`.
    HashPassword(HashPasswordArgs),
}

#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "docker-sync-api",
    version,
    about = "docker-image-sync api and web UI"
)]
pub struct Args {
    /// Without one, the server starts.
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub shared: SharedArgs,
    /// Address to listen on.
    #[arg(long, env = "DOCKER_SYNC_LISTEN", default_value = "0.0.0.0:5000")]
    pub listen: String,
    /// Folder for files the api writes (the first admin's one-time password).
    #[arg(long, env = "DOCKER_SYNC_DATA", default_value = "./data")]
    pub data_dir: PathBuf,
    /// bcrypt cost of new password hashes (4 to 31; each step doubles the work).
    #[arg(long, env = "DOCKER_SYNC_BCRYPT_COST", default_value_t = 12, value_parser = clap::value_parser!(u32).range(4..=31))]
    pub bcrypt_cost: u32,
    /// Behind a reverse proxy: take the client address from X-Forwarded-For.
    #[arg(long, env = "DOCKER_SYNC_TRUST_PROXY")]
    pub trust_proxy: bool,
    /// With `--trust-proxy`: how many proxies in front of the api append to X-Forwarded-For. The
    /// client is the entry this many places from the right (what the outermost trusted proxy
    /// saw); entries further left are the client's own claims.
    #[arg(long, env = "DOCKER_SYNC_TRUSTED_PROXY_HOPS", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=32))]
    pub trusted_proxy_hops: u16,
    /// The address users open the UI at (`https://sync.example.com`), for links in webhook
    /// messages; without it messages carry no link.
    #[arg(long, env = "DOCKER_SYNC_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// How many days a job's records (job, tasks, events, task logs) are kept.
    #[arg(long, env = "DOCKER_SYNC_JOB_RETENTION_DAYS", default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub job_retention_days: u32,
    /// How many days the statistics' hourly and daily figures are kept (they outlive the jobs).
    #[arg(long, env = "DOCKER_SYNC_STATS_RETENTION_DAYS", default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub stats_retention_days: u32,
    /// How many days a bundle in the downloads folder is kept after it was last written.
    #[arg(long, env = "DOCKER_SYNC_DOWNLOADS_RETENTION_DAYS", default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub downloads_retention_days: u32,
    /// Further origins (`https://host[:port]`, comma-separated) allowed to send state-changing
    /// requests with the session cookie; the api's own host always is.
    #[arg(long, env = "DOCKER_SYNC_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,
}
