//! YAML files read with serde, every error naming the file, the line and the key path: how
//! registries.yaml and users.yaml say what is wrong with them.

use std::path::{Path, PathBuf};

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
pub(crate) fn line_of(text: &str, key: &str) -> usize {
    let needle = format!("{key}:");
    text.lines()
        .position(|l| l.trim_start().starts_with(&needle))
        .map_or(1, |i| i + 1)
}
