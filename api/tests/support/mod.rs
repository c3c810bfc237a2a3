//! What the api's integration tests share: a real Redis and an app state built the way
//! `main` builds it, with cheap bcrypt and throwaway folders.
#![allow(dead_code)]

use std::path::Path;

use clap::Parser;
use docker_sync_api::auth::users_file::UsersFile;
use docker_sync_api::settings::Args;
use docker_sync_api::startup;
use docker_sync_api::state::AppState;
use docker_sync_common::config::Config;
use docker_sync_tests::RedisServer;

/// The password of every user in [`file_users`].
pub const PASSWORD: &str = "Passw0rd-for-tests";

/// users.yaml's `users:` section: `boss` (admin), `op` (operator), `view` (viewer).
pub fn file_users() -> String {
    let hash = bcrypt::hash(PASSWORD, 4).unwrap();
    let mut yaml = String::from("users:\n");
    for (name, role) in [("boss", "admin"), ("op", "operator"), ("view", "viewer")] {
        yaml.push_str(&format!(
            "  {name}:\n    username: {name}\n    password_hash: \"{hash}\"\n    role: {role}\n"
        ));
    }
    yaml
}

/// Keeps the Redis process and the data folder alive as long as the state is used.
pub struct Started {
    pub state: AppState,
    pub redis: RedisServer,
    pub data: tempfile::TempDir,
}

/// A state over a fresh Redis, with the consumer group in place.
pub async fn start(registries_yaml: &str, users_yaml: &str) -> Started {
    let redis = tokio::task::spawn_blocking(RedisServer::start)
        .await
        .unwrap();
    let data = tempfile::tempdir().unwrap();
    let config = Config::parse(registries_yaml, Path::new("registries.yaml"), false).unwrap();
    let users = UsersFile::parse(users_yaml, Path::new("users.yaml")).unwrap();
    let args = Args::parse_from([
        "docker-sync-api",
        "--redis-url",
        &redis.url(),
        "--key-prefix",
        "t",
        "--bcrypt-cost",
        "4",
        "--data-dir",
        data.path().to_str().unwrap(),
    ]);
    let state = startup::state(&args, config, users).await.unwrap();
    let shutdown = tokio_util::sync::CancellationToken::new();
    assert!(docker_sync_common::redis::wait_for_group(&state.pool, &state.keys, &shutdown).await);
    Started { state, redis, data }
}
