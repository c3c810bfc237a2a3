use clap::Parser;
use docker_sync_api::auth::users_file::UsersFile;
use docker_sync_api::settings::{Args, Command};
use docker_sync_common::config::Config;
use tokio_util::sync::CancellationToken;

fn fail(e: impl std::fmt::Display) -> ! {
    eprintln!("docker-sync-api: {e}");
    std::process::exit(2);
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(Command::HashPassword(hash)) = &args.command {
        docker_sync_api::hash_password::run(hash).unwrap_or_else(|e| fail(e));
        return Ok(());
    }
    let (config, users) = Config::load(&args.shared.config)
        .and_then(|c| Ok((c, UsersFile::load(&args.shared.config)?)))
        .unwrap_or_else(|e| fail(e));
    docker_sync_api::startup::load_rules(&args.shared.config, &config).unwrap_or_else(|e| fail(e));
    let sealing = args.shared.sealing_keys().unwrap_or_else(|e| fail(e));
    let _log = docker_sync_common::logging::init(&config.logging, args.shared.log_json)
        .unwrap_or_else(|e| fail(e));
    match &sealing {
        Some(keys) => tracing::info!(key_ids = ?keys.ids(), "registry passwords stored through the api are sealed"),
        None => tracing::warn!("no DOCKER_SYNC_SECRET_KEY_FILE: registries added through the api cannot have a password"),
    }
    let listener = tokio::net::TcpListener::bind(&args.listen).await?;
    tracing::info!(address = %listener.local_addr()?, "listening");
    let shutdown = CancellationToken::new();
    tokio::spawn(docker_sync_common::logging::cancel_on_signal(
        shutdown.clone(),
    ));
    let state = docker_sync_api::startup::state(&args, config, users, sealing).await?;
    docker_sync_api::startup::run(state, listener, shutdown).await
}
