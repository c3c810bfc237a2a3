use clap::Parser;
use docker_sync_common::config::Config;
use docker_sync_worker::settings::Args;
use docker_sync_worker::{Settings, Worker};
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config = match Config::load(&args.shared.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("docker-sync-worker: {e}");
            std::process::exit(2);
        }
    };
    let sealing = match args.shared.sealing_keys() {
        Ok(keys) => keys,
        Err(e) => {
            eprintln!("docker-sync-worker: {e}");
            std::process::exit(2);
        }
    };
    docker_sync_common::logging::init(&config.logging, args.shared.log_json);
    let settings = Settings::new(args, &config);
    let worker = Worker::new(config, sealing, settings)?;
    let shutdown = CancellationToken::new();
    tokio::spawn(docker_sync_common::logging::cancel_on_signal(
        shutdown.clone(),
    ));
    worker.run(shutdown).await
}
