//! One registry entry: its type, url, credentials, default target namespace and proxy, as
//! written ([`RegistryFields`]) and once checked ([`RegistryConfig`]), with the rules each
//! registry type sets for its namespace.

use std::fmt;
use std::path::PathBuf;

use secrecy::SecretString;
use serde::Deserialize;

use crate::registry::reach::Transport;

use super::ProxyConfig;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum RegistryType {
    Harbor,
    Acr,
    Nexus,
    Swr,
    Tcr,
    Dockerhub,
    #[default]
    Generic,
}

/// One registry entry, validated. Build it through [`RegistriesFile`] or [`RegistryConfig::parse`].
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RegistryFields")]
pub struct RegistryConfig {
    pub display_name: Option<String>,
    pub kind: RegistryType,
    /// `host[:port]`, lowercase, Docker Hub aliases folded to `docker.io`.
    pub host: String,
    /// `http` when the url said so; plain HTTP implies no TLS at all.
    pub plain_http: bool,
    pub username: Option<String>,
    pub password: Option<SecretString>,
    /// Where images go when the job names no namespace: the type's own key (`project` for
    /// Harbor, `repository` for Nexus, `namespace` for the others; see [`namespace_key`]).
    pub namespace: Option<String>,
    pub description: Option<String>,
    /// Skip TLS verification (self-signed certificates) or talk plain HTTP.
    pub insecure: bool,
    /// Harbor only: create a missing project through Harbor's project API before the first push
    /// into it (`create_project: true`; off by default).
    pub create_project: bool,
    /// The registry's own HTTP proxy; None uses the process's `HTTPS_PROXY`/`NO_PROXY`.
    pub proxy: Option<ProxyConfig>,
}

/// A registry entry as written: in registries.yaml, or (without `password_file`) through the api.
/// [`RegistryConfig`] is what it becomes once checked.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryFields {
    pub name: Option<String>,
    #[serde(rename = "type", default)]
    pub kind: RegistryType,
    pub url: String,
    pub username: Option<String>,
    pub password: Option<SecretString>,
    /// A file holding the password, e.g. a mounted Kubernetes Secret.
    pub password_file: Option<PathBuf>,
    pub namespace: Option<String>,
    pub project: Option<String>,
    pub repository: Option<String>,
    pub description: Option<String>,
    #[serde(default)]
    pub insecure: bool,
    #[serde(default)]
    pub create_project: bool,
    /// `http://[user:password@]proxy:port`: a secret, as it may hold a password.
    pub proxy: Option<SecretString>,
    pub no_proxy: Option<String>,
}

impl TryFrom<RegistryFields> for RegistryConfig {
    type Error = String;

    fn try_from(raw: RegistryFields) -> Result<Self, String> {
        use secrecy::ExposeSecret;
        if raw.kind == RegistryType::Nexus {
            check_nexus_url(&raw.url)?;
        }
        let (host, plain_http) = parse_url(&raw.url)?;
        let password = match (raw.password, raw.password_file) {
            (Some(_), Some(_)) => return Err("give `password` or `password_file`, not both".into()),
            (Some(p), None) => Some(p),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("password_file {}: cannot read: {e}", path.display()))?;
                Some(SecretString::from(
                    text.trim_end_matches(['\r', '\n']).to_owned(),
                ))
            }
            (None, None) => None,
        }
        .filter(|p| !p.expose_secret().is_empty());
        let namespace = target_namespace(raw.kind, raw.namespace, raw.project, raw.repository)?;
        if raw.create_project && raw.kind != RegistryType::Harbor {
            return Err(format!(
                "`create_project` is for Harbor registries only (this one is type {}): no other \
                 type has a project API this service uses",
                raw.kind
            ));
        }
        let proxy = match (raw.proxy, raw.no_proxy) {
            (Some(url), no_proxy) if !url.expose_secret().trim().is_empty() => {
                Some(ProxyConfig::parse(url.expose_secret(), no_proxy)?)
            }
            (_, Some(n)) if !n.trim().is_empty() => {
                return Err(
                    "`no_proxy` lists hosts this registry's `proxy` is not used for, and no \
                     `proxy` is set; for the process-wide proxy use the NO_PROXY variable"
                        .into(),
                )
            }
            _ => None,
        };
        Ok(RegistryConfig {
            display_name: raw.name.filter(|n| !n.trim().is_empty()),
            kind: raw.kind,
            host,
            plain_http,
            username: raw.username.filter(|u| !u.is_empty()),
            password,
            namespace,
            description: raw.description.filter(|d| !d.trim().is_empty()),
            insecure: raw.insecure || plain_http,
            create_project: raw.create_project,
            proxy,
        })
    }
}

/// The key a registry type uses for its default target namespace: `project` for Harbor,
/// `repository` for Nexus (the docker-hosted repository), `namespace` for everything else.
pub fn namespace_key(kind: RegistryType) -> &'static str {
    match kind {
        RegistryType::Harbor => "project",
        RegistryType::Nexus => "repository",
        _ => "namespace",
    }
}

/// The default target namespace, checked against the registry type.
///
/// The rule: each type has its own key ([`namespace_key`]); `namespace` is accepted for every
/// type as the generic word (a Harbor `namespace: team/mirror` puts images in project `team`
/// under `mirror/`), and a generic or Docker Hub entry takes any of the three. Only one may be
/// given. Harbor, ACR, SWR, TCR and Nexus need one; another type's key is refused.
fn target_namespace(
    kind: RegistryType,
    namespace: Option<String>,
    project: Option<String>,
    repository: Option<String>,
) -> Result<Option<String>, String> {
    let clean = |v: Option<String>| {
        v.map(|n| n.trim().trim_matches('/').to_owned())
            .filter(|n| !n.is_empty())
    };
    let given: Vec<(&str, String)> = [
        ("namespace", clean(namespace)),
        ("project", clean(project)),
        ("repository", clean(repository)),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (k, v)))
    .collect();
    let own = namespace_key(kind);
    let lenient = matches!(kind, RegistryType::Generic | RegistryType::Dockerhub);
    if let Some((key, _)) = given
        .iter()
        .find(|(k, _)| !lenient && *k != own && *k != "namespace")
    {
        return Err(format!(
            "`{key}` is not a key of type {kind}: {} names its target with `{own}`",
            type_name(kind)
        ));
    }
    if given.len() > 1 {
        let keys: Vec<String> = given.iter().map(|(k, _)| format!("`{k}`")).collect();
        return Err(format!(
            "give one of {}: they all name the default target namespace",
            keys.join(" and ")
        ));
    }
    let Some((key, value)) = given.into_iter().next() else {
        return match kind {
            RegistryType::Harbor => Err(
                "a Harbor registry needs `project`: the Harbor project images are pushed into \
                 (e.g. `project: library`)"
                    .into(),
            ),
            RegistryType::Acr | RegistryType::Swr | RegistryType::Tcr => Err(format!(
                "a registry of type {kind} needs `namespace`: {} takes images as \
                 namespace/repository (e.g. `namespace: mirror`)",
                type_name(kind)
            )),
            RegistryType::Nexus => Err(
                "a Nexus registry needs `repository`: the docker-hosted repository behind the \
                 connector in `url` (e.g. `repository: docker-hosted`)"
                    .into(),
            ),
            RegistryType::Dockerhub | RegistryType::Generic => Ok(None),
        };
    };
    let first = value.split('/').next().unwrap_or("");
    match kind {
        RegistryType::Harbor if key == "project" && value.contains('/') => {
            return Err(format!(
                "`project` is one Harbor project name, without `/` (got `{value}`); to push \
                 under a path inside the project, write `namespace: {value}` instead"
            ));
        }
        RegistryType::Harbor if !is_harbor_project_name(first) => {
            return Err(format!(
                "`{first}` is not a valid Harbor project name: lowercase letters, digits and \
                 `.`, `_`, `-` between them, at most 255 characters"
            ));
        }
        RegistryType::Acr | RegistryType::Swr | RegistryType::Tcr | RegistryType::Dockerhub
            if value.contains('/') =>
        {
            return Err(format!(
                "`{key}` of a {} registry is one name without `/` (got `{value}`): it takes \
                 images as namespace/repository",
                type_name(kind)
            ));
        }
        _ => {}
    }
    Ok(Some(value))
}

/// Harbor's rule for project names: `[a-z0-9]+([._-][a-z0-9]+)*`, 1 to 255 characters.
pub fn is_harbor_project_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    !bytes.is_empty()
        && bytes.len() <= 255
        && bytes.first().is_some_and(alnum)
        && bytes.last().is_some_and(alnum)
        && bytes.windows(2).all(|w| alnum(&w[0]) || alnum(&w[1]))
        && bytes
            .iter()
            .all(|b| alnum(b) || matches!(b, b'.' | b'_' | b'-'))
}

/// A Nexus `url` must be the docker connector (a port, or a host of its own): Docker clients
/// talk to `/v2/` at the root of a host and cannot reach `/repository/<name>/`.
fn check_nexus_url(url: &str) -> Result<(), String> {
    let url = url.trim();
    let (scheme, rest) = match url.split_once("://") {
        Some(("http", rest)) => ("http://", rest),
        Some((_, rest)) => ("", rest),
        None => ("", url),
    };
    let Some((host, path)) = rest.split_once('/') else {
        return Ok(());
    };
    let path = path.trim_matches('/');
    if path.is_empty() {
        return Ok(());
    }
    let repository = path
        .strip_prefix("repository/")
        .map(|r| r.split('/').next().unwrap_or(r))
        .filter(|r| !r.is_empty());
    let host = host.split(':').next().unwrap_or(host);
    let hint = match repository {
        Some(name) => format!(" and `repository: {name}`"),
        None => String::new(),
    };
    Err(format!(
        "a Nexus `url` is the docker connector of the repository, without a path (got `{url}`): \
         Docker clients only speak to `/v2/` at the root of a host, so Nexus's \
         `/repository/<name>/` address does not work for them. Give the docker-hosted \
         repository an HTTP(S) connector port in Nexus (e.g. 8082) and write \
         `url: {scheme}{host}:8082`{hint}, or use a subdomain connector or a reverse proxy with its \
         own host name"
    ))
}

/// How people call a registry type in messages.
pub fn type_name(kind: RegistryType) -> &'static str {
    match kind {
        RegistryType::Harbor => "Harbor",
        RegistryType::Acr => "Alibaba Cloud ACR",
        RegistryType::Nexus => "Nexus",
        RegistryType::Swr => "Huawei Cloud SWR",
        RegistryType::Tcr => "Tencent Cloud TCR",
        RegistryType::Dockerhub => "Docker Hub",
        RegistryType::Generic => "a generic registry",
    }
}

/// Split `[scheme://]host[:port][/]` into a normalised host and whether the scheme was `http`.
fn parse_url(url: &str) -> Result<(String, bool), String> {
    let url = url.trim();
    let (plain_http, rest) = match url.split_once("://") {
        Some(("http", rest)) => (true, rest),
        Some(("https", rest)) => (false, rest),
        Some((scheme, _)) => {
            return Err(format!("url scheme must be http or https, not `{scheme}`"))
        }
        None => (false, url),
    };
    let host = rest.trim_end_matches('/').to_ascii_lowercase();
    if host.is_empty() {
        return Err("url is empty".into());
    }
    if host.contains('/') {
        return Err(format!(
            "url must be a registry host[:port] without a path, got `{url}` (put the path in `namespace`)"
        ));
    }
    Ok((normalize_host(&host).to_owned(), plain_http))
}

/// Docker Hub answers to several names; images and config use `docker.io`.
pub fn normalize_host(host: &str) -> &str {
    match host {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => "docker.io",
        other => other,
    }
}

impl RegistryConfig {
    /// The url as it would be written in registries.yaml: `host[:port]`, or `http://host[:port]`.
    pub fn url(&self) -> String {
        if self.plain_http {
            format!("http://{}", self.host)
        } else {
            self.host.clone()
        }
    }

    /// How the registry is spoken to: see [`crate::registry::reach`].
    pub fn transport(&self) -> Transport {
        if self.plain_http {
            Transport::PlainHttp
        } else if self.insecure {
            Transport::Insecure
        } else {
            Transport::Https
        }
    }

    /// The Harbor project images go into by default: the first part of the namespace. None for
    /// other types.
    pub fn harbor_project(&self) -> Option<&str> {
        if self.kind != RegistryType::Harbor {
            return None;
        }
        self.namespace.as_deref().and_then(|n| n.split('/').next())
    }
}

impl fmt::Display for RegistryType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            RegistryType::Harbor => "harbor",
            RegistryType::Acr => "acr",
            RegistryType::Nexus => "nexus",
            RegistryType::Swr => "swr",
            RegistryType::Tcr => "tcr",
            RegistryType::Dockerhub => "dockerhub",
            RegistryType::Generic => "generic",
        };
        f.write_str(s)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use secrecy::ExposeSecret;

    use super::*;
    use crate::config::{Config, ConfigError};

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("registries.yaml"), false)
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
        let r =
            registry("    type: harbor\n    url: h.example.com\n    project: library\n").unwrap();
        assert_eq!(r.namespace.as_deref(), Some("library"));
        assert_eq!(r.harbor_project(), Some("library"));
        assert!(!r.create_project);
    }

    #[test]
    fn harbor_takes_namespace_as_an_alias_with_a_path_inside_the_project() {
        let r = registry("    type: harbor\n    url: h.example.com\n    namespace: team/mirror\n")
            .unwrap();
        assert_eq!(r.namespace.as_deref(), Some("team/mirror"));
        assert_eq!(r.harbor_project(), Some("team"));
        let e = registry(
            "    type: harbor\n    url: h.example.com\n    project: a\n    namespace: b\n",
        )
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
        let e =
            registry("    type: harbor\n    url: h.example.com\n    project: Team\n").unwrap_err();
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
        let r = registry(
            "    type: nexus\n    url: n.example.com:8082\n    repository: docker-hosted\n",
        )
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
        let e =
            registry("    type: dockerhub\n    url: docker.io\n    namespace: a/b\n").unwrap_err();
        assert!(e.contains("one name without `/`"), "{e}");
        assert!(registry("    type: dockerhub\n    url: docker.io\n    namespace: me\n").is_ok());
    }
}
