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

use crate::filter::ImageFilter;

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
#[serde(try_from = "RawRegistry")]
pub struct RegistryConfig {
    pub display_name: Option<String>,
    pub kind: RegistryType,
    /// `host[:port]`, lowercase, Docker Hub aliases folded to `docker.io`.
    pub host: String,
    /// `http` when the url said so; plain HTTP implies no TLS at all.
    pub plain_http: bool,
    pub username: Option<String>,
    pub password: Option<SecretString>,
    /// Where images go when the job names no namespace: `namespace`, `project` or `repository`.
    pub namespace: Option<String>,
    pub description: Option<String>,
    /// Skip TLS verification (self-signed certificates) or talk plain HTTP.
    pub insecure: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRegistry {
    name: Option<String>,
    #[serde(rename = "type", default)]
    kind: RegistryType,
    url: String,
    username: Option<String>,
    password: Option<SecretString>,
    /// A file holding the password, e.g. a mounted Kubernetes Secret.
    password_file: Option<PathBuf>,
    namespace: Option<String>,
    project: Option<String>,
    repository: Option<String>,
    description: Option<String>,
    #[serde(default)]
    insecure: bool,
}

impl TryFrom<RawRegistry> for RegistryConfig {
    type Error = String;

    fn try_from(raw: RawRegistry) -> Result<Self, String> {
        use secrecy::ExposeSecret;
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
        let namespace = [raw.namespace, raw.project, raw.repository]
            .into_iter()
            .flatten()
            .map(|n| n.trim_matches('/').to_owned())
            .find(|n| !n.is_empty());
        Ok(RegistryConfig {
            display_name: raw.name,
            kind: raw.kind,
            host,
            plain_http,
            username: raw.username.filter(|u| !u.is_empty()),
            password,
            namespace,
            description: raw.description,
            insecure: raw.insecure || plain_http,
        })
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
    /// Base URL of the registry's HTTP API (`https://registry-1.docker.io` for Docker Hub).
    pub fn api_base(&self) -> String {
        let scheme = if self.plain_http { "http" } else { "https" };
        let host = if self.host == "docker.io" {
            "registry-1.docker.io"
        } else {
            &self.host
        };
        format!("{scheme}://{host}")
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

/// Everything the api and the workers need from `registries.yaml`, checked.
#[derive(Debug, Clone)]
pub struct Config {
    pub registries: BTreeMap<String, RegistryConfig>,
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
            sync: raw.sync_config,
            filter,
            logging: raw.logging,
        })
    }

    /// The configured registry serving `host`, for credentials and TLS settings.
    pub fn registry_for_host(&self, host: &str) -> Option<(&str, &RegistryConfig)> {
        let host = normalize_host(host);
        self.registries
            .iter()
            .find(|(_, r)| r.host == host)
            .map(|(name, r)| (name.as_str(), r))
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

#[cfg(test)]
mod tests;
