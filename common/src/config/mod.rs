//! `registries.yaml`: the registries we pull from and push to, sync settings, image filters and
//! logging, in the format of the user's spec (see `config/registries.yaml.example`).
//!
//! Unknown keys are errors, and every error names the file, the line and the key, because a
//! typo'd key silently ignored is how a password ends up unused ([`parse_yaml`]). One registry
//! entry and its rules are [`RegistryConfig`]; its own proxy is [`ProxyConfig`].
//!
//! Beside the file: the registries added through the api, stored in Redis ([`stored`]), and the
//! key that seals their passwords ([`sealing`]).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::image::filter::ImageFilter;

mod entry;
mod logging;
mod proxy;
pub mod sealing;
pub mod stored;
mod yaml;

pub use entry::{
    is_harbor_project_name, namespace_key, normalize_host, type_name, RegistryConfig,
    RegistryFields, RegistryType,
};
pub use logging::{ByteSize, LogFormat, LoggingConfig};
pub use proxy::ProxyConfig;
pub(crate) use yaml::line_of;
pub use yaml::{parse_yaml, ConfigError};

pub const REGISTRIES_FILE: &str = "registries.yaml";

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
