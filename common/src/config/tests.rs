use std::path::Path;

use secrecy::ExposeSecret;

use super::*;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new("registries.yaml"), false)
}

fn invalid(text: &str) -> (usize, String, String) {
    match parse(text) {
        Err(ConfigError::Invalid {
            line, key, message, ..
        }) => (line, key, message),
        other => panic!("expected an Invalid error, got {other:?}"),
    }
}

#[test]
fn the_example_file_parses() {
    let config = parse(include_str!("../../../config/registries.yaml.example")).unwrap();
    assert_eq!(config.registries.len(), 8);
    let harbor = &config.registries["harbor_example"];
    assert_eq!(harbor.kind, RegistryType::Harbor);
    assert_eq!(harbor.namespace.as_deref(), Some("library"));
    assert_eq!(
        harbor.password.as_ref().unwrap().expose_secret(),
        "change-me"
    );
    let source = &config.registries["source"];
    assert_eq!(source.kind, RegistryType::Generic);
    assert!(source.username.is_none() && source.password.is_none());
    assert_eq!(
        crate::registry::Reach::for_host("docker.io", Some(source), false)
            .base(crate::registry::Scheme::Https),
        "https://registry-1.docker.io"
    );
    let local = &config.registries["local_example"];
    assert!(local.plain_http && local.insecure);
    assert_eq!(local.host, "127.0.0.1:5001");
    assert_eq!(config.sync.retry_count, 3);
    assert!(!config
        .filter
        .check(&crate::image::reference::ImageRef::parse("nginx:debug").unwrap())
        .is_allowed());
}

#[test]
fn an_unknown_key_names_line_and_path() {
    let (line, key, message) =
        invalid("registries:\n  harbor:\n    url: h.example.com\n    pasword: x\n");
    assert_eq!(line, 4);
    assert!(key.contains("harbor"), "{key}");
    assert!(message.contains("pasword"), "{message}");
}

#[test]
fn a_bad_value_names_its_line() {
    let (line, key, message) = invalid("sync_config:\n  retry_count: many\n");
    assert_eq!(line, 2);
    assert_eq!(key, "sync_config.retry_count");
    assert!(message.contains("invalid type"), "{message}");
}

#[test]
fn a_missing_url_is_named() {
    let (_, key, message) = invalid("registries:\n  harbor:\n    type: harbor\n");
    assert!(key.contains("harbor"), "{key}");
    assert!(message.contains("url"), "{message}");
}

#[test]
fn a_url_with_a_path_is_refused() {
    let (line, _, message) = invalid("registries:\n  r:\n    url: https://h.example.com/ns\n");
    assert!(line >= 2, "{line}");
    assert!(message.contains("without a path"), "{message}");
}

#[test]
fn a_yaml_syntax_error_names_its_line() {
    let (line, _, _) = invalid("registries:\n  r:\n    url: [oops\n");
    assert!(line >= 3, "{line}");
}

#[test]
fn a_bad_filter_pattern_is_refused() {
    let (_, key, message) = invalid("image_filters:\n  exclude_patterns: [\"[\"]\n");
    assert_eq!(key, "image_filters");
    assert!(message.contains('['), "{message}");
}

#[test]
fn hosts_match_registries_including_docker_hub_aliases() {
    let config =
        parse("registries:\n  hub:\n    url: index.docker.io\n  q:\n    url: https://Quay.io/\n")
            .unwrap();
    assert_eq!(config.registry_for_host("docker.io").unwrap().0, "hub");
    assert_eq!(
        config.registry_for_host("registry-1.docker.io").unwrap().0,
        "hub"
    );
    assert_eq!(config.registry_for_host("quay.io").unwrap().0, "q");
    assert!(config.registry_for_host("gcr.io").is_none());
}

#[test]
fn the_file_entry_wins_a_host_a_stored_registry_also_serves() {
    let mut config = parse("registries:\n  zz-file:\n    url: docker.io\n").unwrap();
    let mut stored = config.registries["zz-file"].clone();
    stored.username = Some("someone-else".into());
    // Sorts before the file's entry: order must not decide.
    config.registries.insert("aa-ui".into(), stored);
    config.stored.insert("aa-ui".into());
    assert_eq!(config.registry_for_host("docker.io").unwrap().0, "zz-file");
    config.registries.remove("zz-file");
    assert_eq!(config.registry_for_host("docker.io").unwrap().0, "aa-ui");
}

#[test]
fn ssl_verify_can_be_disabled_globally() {
    let config = Config::parse(
        "registries:\n  r:\n    url: r.example.com\n",
        Path::new("x"),
        true,
    )
    .unwrap();
    assert!(config.registries["r"].insecure);
}

/// The `logging` section exactly as the user's spec writes it.
const SPEC_LOGGING: &str = r#"logging:
  level: "INFO"              # DEBUG, INFO, WARNING, ERROR
  format: "%(asctime)s - %(name)s - %(levelname)s - %(message)s"
  file: "/app/logs/sync.log"
  max_size: "100MB"
  backup_count: 5
"#;

#[test]
fn the_spec_logging_section_parses() {
    let logging = parse(SPEC_LOGGING).unwrap().logging;
    assert_eq!(logging.format(), (LogFormat::Text, None));
    assert_eq!(
        logging.file.as_deref(),
        Some(Path::new("/app/logs/sync.log"))
    );
    assert_eq!(logging.max_bytes(), 100 << 20);
    assert_eq!(logging.backups(), 5);
}

#[test]
fn a_bad_log_size_or_count_names_key_and_line() {
    let (line, key, message) = invalid("logging:\n  level: INFO\n  max_size: \"lots\"\n");
    assert_eq!((line, key.as_str()), (3, "logging.max_size"));
    assert!(message.contains("lots"), "{message}");
    let (line, key, _) = invalid("logging:\n  max_size: 1MB\n  backup_count: 0\n");
    assert_eq!((line, key.as_str()), (3, "logging.backup_count"));
}
