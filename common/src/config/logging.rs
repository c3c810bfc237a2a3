//! registries.yaml's `logging` section, in the spec's keys: `level`, `format`, `file`,
//! `max_size`, `backup_count`. Values are checked here, while the file's line is still known;
//! [`crate::logging`] turns them into the process's log output.

use std::path::PathBuf;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// Size of the log file before it is rotated, when `max_size` is not given.
pub const DEFAULT_MAX_SIZE: u64 = 100 * 1024 * 1024;
/// Rotated files kept, when `backup_count` is not given (the spec's example value).
pub const DEFAULT_BACKUP_COUNT: u32 = 5;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoggingConfig {
    pub level: String,
    /// `text`, `json`, or the spec's Python layout (`%(asctime)s - ...`), read as text.
    pub format: Option<String>,
    /// Logs also go to this file (stdout always gets them).
    pub file: Option<PathBuf>,
    pub max_size: Option<ByteSize>,
    #[serde(deserialize_with = "at_least_one")]
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

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
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

    /// The format `format` asks for, and a warning to log when it names a layout this program
    /// cannot follow. A Python `logging` layout (it contains `%(`, like the spec's example)
    /// is text without a warning: our text lines already hold its time, logger, level and
    /// message. Anything else unknown is text too, so a layout copied from another program
    /// never stops the service, but the operator is told.
    pub fn format(&self) -> (LogFormat, Option<String>) {
        let Some(format) = self.format.as_deref().map(str::trim) else {
            return (LogFormat::Text, None);
        };
        if format.eq_ignore_ascii_case("json") {
            (LogFormat::Json, None)
        } else if format.eq_ignore_ascii_case("text") || format.contains("%(") {
            (LogFormat::Text, None)
        } else {
            let warning = format!(
                "logging.format {format:?} is not supported; writing text (give `text` or `json`)"
            );
            (LogFormat::Text, Some(warning))
        }
    }

    pub fn max_bytes(&self) -> u64 {
        self.max_size.map_or(DEFAULT_MAX_SIZE, |s| s.0)
    }

    pub fn backups(&self) -> u32 {
        self.backup_count.unwrap_or(DEFAULT_BACKUP_COUNT)
    }
}

/// A size in bytes written as `100MB`, `10MiB`, `512KB`, `1GB`, `50G`, `2T` or a plain number.
/// K, M, G and T count in 1024s whether or not an `i` is written, as logrotate does: no one sizing a log file
/// means the difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteSize(pub u64);

impl ByteSize {
    pub fn parse(text: &str) -> Result<ByteSize, String> {
        let text = text.trim();
        let digits = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(digits);
        let number: u64 = number
            .parse()
            .map_err(|_| format!("{text:?} is not a size (e.g. 100MB, 10MiB, 512KB, 1GB)"))?;
        let factor: u64 = match unit.trim().to_ascii_uppercase().as_str() {
            "" | "B" => 1,
            "K" | "KB" | "KIB" => 1 << 10,
            "M" | "MB" | "MIB" => 1 << 20,
            "G" | "GB" | "GIB" => 1 << 30,
            "T" | "TB" | "TIB" => 1 << 40,
            _ => {
                return Err(format!(
                    "{text:?} has an unknown unit (use B, KB, MB, GB, TB or KiB, MiB, GiB, TiB)"
                ))
            }
        };
        match number.checked_mul(factor) {
            Some(0) => Err("the size must be more than 0".into()),
            Some(bytes) => Ok(ByteSize(bytes)),
            None => Err(format!("{text:?} is too large")),
        }
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SizeVisitor;
        impl Visitor<'_> for SizeVisitor {
            type Value = ByteSize;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a size such as 100MB, 10MiB, 512KB or a number of bytes")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ByteSize, E> {
                ByteSize::parse(&v.to_string()).map_err(E::custom)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ByteSize, E> {
                ByteSize::parse(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(SizeVisitor)
    }
}

/// Zero old files would make the file's rotation a truncation: everything logged so far lost
/// at each turn. Refused rather than guessed at. Checked inside the visitor so the error carries
/// the value's line (the key is present whenever this runs; absent, `default` applies).
fn at_least_one<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    struct CountVisitor;
    impl Visitor<'_> for CountVisitor {
        type Value = u32;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a number of old log files, at least 1")
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<u32, E> {
            match u32::try_from(v) {
                Ok(0) => Err(E::custom("must be at least 1 (old log files kept)")),
                Ok(n) => Ok(n),
                Err(_) => Err(E::custom("is too large")),
            }
        }
    }
    deserializer.deserialize_u32(CountVisitor).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_in_the_usual_spellings() {
        for (text, bytes) in [
            ("100MB", 100 << 20),
            ("10MiB", 10 << 20),
            ("512KB", 512 << 10),
            ("1GB", 1 << 30),
            ("4096", 4096),
            ("2 mb", 2 << 20),
            ("50G", 50 << 30),
            ("2T", 2 << 40),
        ] {
            assert_eq!(ByteSize::parse(text), Ok(ByteSize(bytes)), "{text}");
        }
        for bad in ["", "MB", "10 parsecs", "0", "-5MB", "99999999999999GB"] {
            assert!(ByteSize::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn formats() {
        let with = |f: &str| LoggingConfig {
            format: Some(f.into()),
            ..LoggingConfig::default()
        };
        assert_eq!(LoggingConfig::default().format(), (LogFormat::Text, None));
        assert_eq!(with("JSON").format(), (LogFormat::Json, None));
        assert_eq!(with("text").format(), (LogFormat::Text, None));
        let python = "%(asctime)s - %(name)s - %(levelname)s - %(message)s";
        assert_eq!(with(python).format(), (LogFormat::Text, None));
        let (format, warning) = with("{time} {msg}").format();
        assert_eq!(format, LogFormat::Text);
        assert!(warning.unwrap().contains("{time} {msg}"));
    }
}
