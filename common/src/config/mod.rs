//! `registries.yaml`: the registries we pull from and push to, sync settings, image filters and
//! logging, in the format of the user's spec (see `config/registries.yaml.example`).
//!
//! Unknown keys are errors, and every error names the file, the line and the key, because a
//! typo'd key silently ignored is how a password ends up unused.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use secrecy::SecretString;
use serde::Deserialize;

use crate::image::filter::ImageFilter;
use crate::registry::reach::Transport;

mod proxy;
pub mod sealing;
pub mod stored;

pub use proxy::ProxyConfig;

pub const REGISTRIES_FILE: &str = "registries.yaml";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{file}: cannot read: {source}")]
    Read {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("{file}:{line}: `{key}`: {message}")]
    Invalid {
        file: PathBuf,
        line: usize,
        key: String,
        message: String,
    },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistriesFile {
    #[serde(default)]
    pub registries: BTreeMap<String, RegistryConfig>,
    #[serde(default)]
    pub sync_config: SyncConfig,
    #[serde(default)]
    pub image_filters: FilterConfig,
    #[serde(default)]
    pub logging: LoggingConfig,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
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

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SyncConfig {
    /// Tasks a worker takes beyond its copy slots: their digest check (all an unchanged image
    /// needs) runs while copies go on. Also the most it reads from the stream at once.
    pub batch_size: u32,
    /// Retries of a failed copy before the task is recorded as failed.
    pub retry_count: u32,
    /// Seconds one `skopeo copy` may run before it is stopped.
    pub timeout: u64,
    /// Copies one worker process runs at the same time.
    pub parallel_downloads: u32,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            batch_size: 5,
            retry_count: 3,
            timeout: 300,
            parallel_downloads: 2,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FilterConfig {
    pub include_patterns: Vec<String>,
    pub exclude_patterns: Vec<String>,
}

/// The spec's `logging` section. `level` is honoured; logs go to stdout (collected by the
/// container runtime), so `format`, `file`, `max_size` and `backup_count` are accepted for
/// compatibility and otherwise unused.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoggingConfig {
    pub level: String,
    pub format: Option<String>,
    pub file: Option<String>,
    pub max_size: Option<String>,
    pub backup_count: Option<u32>,
}

impl Default for LoggingConfig {
    fn default() -> Self {
        Self {
            level: "INFO".into(),
            format: None,
            file: None,
            max_size: None,
            backup_count: None,
        }
    }
}

impl LoggingConfig {
    /// The level as a `tracing` filter directive (`WARNING` -> `warn`).
    pub fn filter_directive(&self) -> &'static str {
        match self.level.to_ascii_uppercase().as_str() {
            "DEBUG" => "debug",
            "WARNING" | "WARN" => "warn",
            "ERROR" | "CRITICAL" => "error",
            "TRACE" => "trace",
            _ => "info",
        }
    }
}

/// Everything the api and the workers need from `registries.yaml`, checked; see
/// [`crate::config::stored::Catalog`] for the view that adds the registries stored in Redis.
#[derive(Debug, Clone)]
pub struct Config {
    pub registries: BTreeMap<String, RegistryConfig>,
    /// Stored registries that cannot be used right now, with the reason (a password that does
    /// not open with this process's key): named in errors instead of "no such registry".
    pub unusable: BTreeMap<String, String>,
    /// `SKOPEO_DISABLE_SSL_VERIFY` was set: every registry is treated as `insecure`.
    pub tls_verify_disabled: bool,
    /// Names in `registries` that were added through the api (the others are the file's).
    pub stored: std::collections::BTreeSet<String>,
    pub sync: SyncConfig,
    pub filter: ImageFilter,
    pub logging: LoggingConfig,
}

impl Config {
    /// Reads `<dir>/registries.yaml`, then applies `SKOPEO_DISABLE_SSL_VERIFY` from the
    /// environment (env wins over the file).
    pub fn load(dir: &Path) -> Result<Config, ConfigError> {
        let file = dir.join(REGISTRIES_FILE);
        let text = std::fs::read_to_string(&file).map_err(|source| ConfigError::Read {
            file: file.clone(),
            source,
        })?;
        let disable_tls = std::env::var("SKOPEO_DISABLE_SSL_VERIFY")
            .map(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes"))
            .unwrap_or(false);
        Config::parse(&text, &file, disable_tls)
    }

    pub fn parse(text: &str, file: &Path, disable_tls: bool) -> Result<Config, ConfigError> {
        let raw: RegistriesFile = parse_yaml(text, file)?;
        let filter = ImageFilter::new(
            &raw.image_filters.include_patterns,
            &raw.image_filters.exclude_patterns,
        )
        .map_err(|e| ConfigError::Invalid {
            file: file.to_owned(),
            line: line_of(text, "image_filters"),
            key: "image_filters".into(),
            message: e.to_string(),
        })?;
        let mut registries = raw.registries;
        if disable_tls {
            registries.values_mut().for_each(|r| r.insecure = true);
        }
        Ok(Config {
            registries,
            unusable: BTreeMap::new(),
            tls_verify_disabled: disable_tls,
            stored: Default::default(),
            sync: raw.sync_config,
            filter,
            logging: raw.logging,
        })
    }

    /// The configured registry serving `host`, for credentials and TLS settings. registries.yaml
    /// entries come first: a registry added in the UI for the same host must not change the
    /// credentials the file gives for pulling from it.
    pub fn registry_for_host(&self, host: &str) -> Option<(&str, &RegistryConfig)> {
        let host = normalize_host(host);
        let serving = |from_store: bool| {
            self.registries
                .iter()
                .find(|(name, r)| r.host == host && self.stored.contains(*name) == from_store)
                .map(|(name, r)| (name.as_str(), r))
        };
        serving(false).or_else(|| serving(true))
    }
}

/// Deserialises YAML, turning any error into one that names file, line and key path.
pub fn parse_yaml<T: serde::de::DeserializeOwned>(
    text: &str,
    file: &Path,
) -> Result<T, ConfigError> {
    let de = serde_yaml::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let key = err.path().to_string();
        let inner = err.into_inner();
        let line = inner
            .location()
            .map(|l| l.line())
            .unwrap_or_else(|| line_of(text, key.rsplit('.').next().unwrap_or("")));
        // serde_yaml appends " at line X column Y"; we print the line ourselves.
        let message = inner.to_string();
        let message = message
            .split(" at line ")
            .next()
            .unwrap_or(&message)
            .to_owned();
        ConfigError::Invalid {
            file: file.to_owned(),
            line,
            key: if key == "." {
                "(top level)".into()
            } else {
                key
            },
            message,
        }
    })
}

/// 1-based line of the first `key:` in the text, or 1: a best effort for errors found after
/// parsing.
fn line_of(text: &str, key: &str) -> usize {
    let needle = format!("{key}:");
    text.lines()
        .position(|l| l.trim_start().starts_with(&needle))
        .map_or(1, |i| i + 1)
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

/// The registry `r` of a registries.yaml holding only `entry` (its lines, indented four spaces):
/// how the unit tests of the modules that take a registry make one.
#[cfg(test)]
pub(crate) fn test_registry(entry: &str) -> RegistryConfig {
    let text = format!("registries:\n  r:\n{entry}");
    Config::parse(&text, Path::new("registries.yaml"), false)
        .unwrap()
        .registries
        .remove("r")
        .unwrap()
}

#[cfg(test)]
mod tests;
