use clap::Parser;
use docker_sync_common::config::Config;
use docker_sync_worker::settings::Args;
use docker_sync_worker::{Settings, Worker};
use tokio_util::sync::CancellationToken;

fn fail(e: impl std::fmt::Display) -> ! {
    eprintln!("docker-sync-worker: {e}");
    std::process::exit(2);
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config = Config::load(&args.shared.config).unwrap_or_else(|e| fail(e));
    let sealing = args.shared.sealing_keys().unwrap_or_else(|e| fail(e));
    let _log = docker_sync_common::logging::init(&config.logging, args.shared.log_json)
        .unwrap_or_else(|e| fail(e));
    let settings = Settings::new(args, &config);
    let worker = Worker::new(config, sealing, settings)?;
    let shutdown = CancellationToken::new();
    tokio::spawn(docker_sync_common::logging::cancel_on_signal(
        shutdown.clone(),
    ));
    worker.run(shutdown).await
}
