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
fn password_file_is_read_and_secret_is_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("pw");
    std::fs::write(&secret, "s3cret\n").unwrap();
    let text = format!(
        "registries:\n  r:\n    url: r.example.com\n    username: u\n    password_file: {}\n",
        secret.display()
    );
    let config = parse(&text).unwrap();
    let r = &config.registries["r"];
    assert_eq!(r.password.as_ref().unwrap().expose_secret(), "s3cret");
    assert!(!format!("{r:?}").contains("s3cret"));
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

fn registry(entry: &str) -> Result<RegistryConfig, String> {
    let text = format!("registries:\n  r:\n{entry}");
    match parse(&text) {
        Ok(mut c) => Ok(c.registries.remove("r").unwrap()),
        Err(ConfigError::Invalid {
            line, key, message, ..
        }) => {
            assert_eq!(key, "registries.r", "{message}");
            assert!(line >= 2, "{line}: {message}");
            Err(message)
        }
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn harbor_needs_a_project() {
    let e = registry("    type: harbor\n    url: h.example.com\n").unwrap_err();
    assert!(e.contains("needs `project`"), "{e}");
    let r = registry("    type: harbor\n    url: h.example.com\n    project: library\n").unwrap();
    assert_eq!(r.namespace.as_deref(), Some("library"));
    assert_eq!(r.harbor_project(), Some("library"));
    assert!(!r.create_project);
}

#[test]
fn harbor_takes_namespace_as_an_alias_with_a_path_inside_the_project() {
    let r =
        registry("    type: harbor\n    url: h.example.com\n    namespace: team/mirror\n").unwrap();
    assert_eq!(r.namespace.as_deref(), Some("team/mirror"));
    assert_eq!(r.harbor_project(), Some("team"));
    let e =
        registry("    type: harbor\n    url: h.example.com\n    project: a\n    namespace: b\n")
            .unwrap_err();
    assert!(e.contains("give one of `namespace` and `project`"), "{e}");
}

#[test]
fn harbor_project_is_one_valid_name() {
    let e = registry("    type: harbor\n    url: h.example.com\n    project: team/mirror\n")
        .unwrap_err();
    assert!(
        e.contains("without `/`") && e.contains("namespace: team/mirror"),
        "{e}"
    );
    let e = registry("    type: harbor\n    url: h.example.com\n    project: Team\n").unwrap_err();
    assert!(e.contains("not a valid Harbor project name"), "{e}");
    assert!(is_harbor_project_name("my-team.images_1"));
    for bad in ["", "-a", "a-", "a..b", "A", &"a".repeat(256)] {
        assert!(!is_harbor_project_name(bad), "{bad}");
    }
}

#[test]
fn acr_swr_tcr_need_a_one_part_namespace() {
    for kind in ["acr", "swr", "tcr"] {
        let e = registry(&format!("    type: {kind}\n    url: r.example.com\n")).unwrap_err();
        assert!(e.contains("needs `namespace`"), "{kind}: {e}");
        let e = registry(&format!(
            "    type: {kind}\n    url: r.example.com\n    namespace: a/b\n"
        ))
        .unwrap_err();
        assert!(e.contains("one name without `/`"), "{kind}: {e}");
        let e = registry(&format!(
            "    type: {kind}\n    url: r.example.com\n    project: a\n"
        ))
        .unwrap_err();
        assert!(
            e.contains("`project` is not a key of type") && e.contains("`namespace`"),
            "{kind}: {e}"
        );
        let r = registry(&format!(
            "    type: {kind}\n    url: r.example.com\n    namespace: /mirror/\n"
        ))
        .unwrap();
        assert_eq!(r.namespace.as_deref(), Some("mirror"));
    }
}

#[test]
fn nexus_needs_its_repository_and_a_connector_url() {
    let e = registry("    type: nexus\n    url: n.example.com:8082\n").unwrap_err();
    assert!(e.contains("needs `repository`"), "{e}");
    let r =
        registry("    type: nexus\n    url: n.example.com:8082\n    repository: docker-hosted\n")
            .unwrap();
    assert_eq!(r.namespace.as_deref(), Some("docker-hosted"));
    let e = registry(
        "    type: nexus\n    url: https://n.example.com:8081/repository/docker-hosted/\n    \
         repository: docker-hosted\n",
    )
    .unwrap_err();
    assert!(e.contains("`/repository/<name>/`"), "{e}");
    assert!(
        e.contains("`url: n.example.com:8082` and `repository: docker-hosted`"),
        "{e}"
    );
    let e = registry("    type: nexus\n    url: n.example.com\n    project: x\n").unwrap_err();
    assert!(e.contains("`repository`"), "{e}");
}

#[test]
fn create_project_is_for_harbor_only() {
    let r = registry(
        "    type: harbor\n    url: h.example.com\n    project: p\n    create_project: true\n",
    )
    .unwrap();
    assert!(r.create_project);
    let e = registry(
        "    type: acr\n    url: a.example.com\n    namespace: n\n    create_project: true\n",
    )
    .unwrap_err();
    assert!(e.contains("`create_project` is for Harbor"), "{e}");
}

#[test]
fn generic_and_docker_hub_take_any_one_key_or_none() {
    assert!(registry("    url: r.example.com\n")
        .unwrap()
        .namespace
        .is_none());
    let r = registry("    url: r.example.com\n    project: a/b\n").unwrap();
    assert_eq!(r.namespace.as_deref(), Some("a/b"));
    let e = registry("    type: dockerhub\n    url: docker.io\n    namespace: a/b\n").unwrap_err();
    assert!(e.contains("one name without `/`"), "{e}");
    assert!(registry("    type: dockerhub\n    url: docker.io\n    namespace: me\n").is_ok());
}
