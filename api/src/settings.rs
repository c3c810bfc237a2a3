//! Api flags; each is also an environment variable, and the flag wins.

use docker_sync_common::cli::SharedArgs;

#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "docker-sync-api",
    version,
    about = "docker-image-sync api and web UI"
)]
pub struct Args {
    #[command(flatten)]
    pub shared: SharedArgs,
    /// Address to listen on.
    #[arg(long, env = "DOCKER_SYNC_LISTEN", default_value = "0.0.0.0:5000")]
    pub listen: String,
}
