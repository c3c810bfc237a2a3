//! What an operator does with the real api binary before and at its start: `hash-password`
//! for users.yaml, a log file from registries.yaml's `logging`, and the example Secret's
//! placeholder key refused.

mod binary;

use binary::{command, config_dir, hash_password, Api, REGISTRIES};
use docker_sync_tests::RedisServer;

const PASSWORD: &str = "Cli-made-Passw0rd";

#[tokio::test]
async fn hash_password_makes_a_users_yaml_hash_that_logs_in_and_the_log_file_is_written() {
    let out = hash_password(&format!("{PASSWORD}\n"));
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let hash = stdout.strip_suffix('\n').unwrap();
    assert!(!hash.contains('\n'), "only the hash on stdout: {stdout:?}");
    assert!(hash.starts_with("$2b$04$"), "{hash}");
    assert!(bcrypt::verify(PASSWORD, hash).unwrap());
    assert!(!stderr.contains(PASSWORD), "{stderr}");

    let logs = tempfile::tempdir().unwrap();
    let log_file = logs.path().join("api.log");
    let registries = format!(
        "{REGISTRIES}logging:\n  level: INFO\n  format: json\n  file: {:?}\n  max_size: 10MB\n",
        log_file.display()
    );
    let config = config_dir(&registries, hash);
    let redis = tokio::task::spawn_blocking(RedisServer::start)
        .await
        .unwrap();
    let mut api = Api::start(config.path(), &[("REDIS_URL", &redis.url())]);
    api.wait_health(200).await;
    api.login(PASSWORD).await.expect("the hash logs in");
    assert_eq!(api.login("not-the-password").await, Err(401));
    api.stop();

    let written = std::fs::read_to_string(&log_file).unwrap();
    assert!(written.contains("listening"), "{written}");
    for line in written.lines() {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        assert!(value["level"].is_string(), "{line}");
    }
    assert!(!written.contains(PASSWORD), "{written}");
}

#[test]
fn hash_password_refuses_an_empty_password() {
    let out = hash_password("\n");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("empty"));
}

/// Starts the api with registries.yaml `registries` and `env`, expecting it to refuse to
/// start; its stderr.
fn refused(registries: &str, env: &[(&str, &str)]) -> String {
    let config = config_dir(registries, &bcrypt::hash(PASSWORD, 4).unwrap());
    let out = command()
        .arg("--config")
        .arg(config.path())
        .args(["--listen", "127.0.0.1:0"])
        .env("REDIS_URL", "redis://127.0.0.1:1")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn the_example_secrets_placeholder_key_is_refused_at_start() {
    let placeholder = "REPLACE-ME-with-32-or-more-random-characters";
    let stderr = refused(REGISTRIES, &[("DOCKER_SYNC_SECRET_KEY", placeholder)]);
    assert!(stderr.contains("DOCKER_SYNC_SECRET_KEY"), "{stderr}");
    assert!(
        stderr.contains("head -c 32 /dev/urandom | base64"),
        "{stderr}"
    );
}

#[test]
fn a_log_file_in_a_missing_folder_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("absent/sync.log");
    let registries = format!("{REGISTRIES}logging:\n  file: {:?}\n", file.display());
    let stderr = refused(&registries, &[]);
    assert!(stderr.contains(&file.display().to_string()), "{stderr}");
    assert!(stderr.contains("does not exist"), "{stderr}");
}
