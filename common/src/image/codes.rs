//! Stable codes for what can be wrong with an image line, with the parts that vary as
//! parameters, so the UI can say it in the user's language. The English text stays the
//! `message`; a code's parameters are the values its sentence names.

use serde::Serialize;
use serde_json::{json, Value};

use super::mapping::MappingError;
use super::naming::NamingError;
use super::reference::ImageRefError;
use super::selection::{ExpandError, SelectorError, MAX_TAGS_PER_LINE};

/// An error with a code: `repo_uppercase` with `{"repository": "Nginx"}`.
pub trait Coded: std::fmt::Display {
    fn code(&self) -> &'static str;
    fn params(&self) -> Value;
}

/// What an api answer carries of a coded error.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Issue {
    pub code: String,
    pub params: Value,
    pub message: String,
}

impl Issue {
    pub fn of(e: &impl Coded) -> Issue {
        Issue {
            code: e.code().to_owned(),
            params: e.params(),
            message: e.to_string(),
        }
    }

    /// A code with no error type behind it (a listing failure, a platform rule).
    pub fn new(code: &str, params: Value, message: impl Into<String>) -> Issue {
        Issue {
            code: code.to_owned(),
            params,
            message: message.into(),
        }
    }
}

impl Coded for ImageRefError {
    fn code(&self) -> &'static str {
        match self {
            ImageRefError::Empty => "ref_empty",
            ImageRefError::InvalidCharacter { .. } => "ref_bad_char",
            ImageRefError::ImageId(_) => "ref_image_id",
            ImageRefError::InvalidRegistry { .. } => "ref_bad_registry",
            ImageRefError::Uppercase(_) => "repo_uppercase",
            ImageRefError::InvalidRepository { .. } => "repo_invalid",
            ImageRefError::InvalidTag { .. } => "tag_invalid",
            ImageRefError::InvalidDigest(_) => "digest_invalid",
            ImageRefError::NameTooLong { .. } => "name_too_long",
        }
    }

    fn params(&self) -> Value {
        match self {
            ImageRefError::Empty => json!({}),
            ImageRefError::InvalidCharacter { ch, part } => {
                json!({ "char": ch.to_string(), "input": part })
            }
            ImageRefError::ImageId(s) => json!({ "input": s }),
            ImageRefError::InvalidRegistry { host, reason } => {
                json!({ "host": host, "reason": reason })
            }
            ImageRefError::Uppercase(r) => json!({ "repository": r }),
            ImageRefError::InvalidRepository { repository, reason } => {
                json!({ "repository": repository, "reason": reason })
            }
            ImageRefError::InvalidTag { tag, reason } => json!({ "tag": tag, "reason": reason }),
            ImageRefError::InvalidDigest(d) => json!({ "digest": d }),
            ImageRefError::NameTooLong { name, len } => json!({ "name": name, "len": len }),
        }
    }
}

impl Coded for SelectorError {
    fn code(&self) -> &'static str {
        match self {
            SelectorError::Image(e) => e.code(),
            SelectorError::PatternWithDigest => "pattern_with_digest",
            SelectorError::LatestWithDigest => "latest_with_digest",
            SelectorError::PatternInName(_) => "pattern_in_name",
            SelectorError::BadPattern { .. } => "pattern_invalid",
            SelectorError::LatestWithoutCount => "latest_without_count",
            SelectorError::LatestCount(_) => "latest_count",
            SelectorError::UnknownSelector(_) => "selector_unknown",
            SelectorError::LatestWithTag { .. } => "latest_with_tag",
            SelectorError::LatestNeedsColon(_) => "latest_needs_colon",
        }
    }

    fn params(&self) -> Value {
        match self {
            SelectorError::Image(e) => e.params(),
            SelectorError::PatternWithDigest
            | SelectorError::LatestWithDigest
            | SelectorError::LatestWithoutCount => json!({}),
            SelectorError::PatternInName(name) => json!({ "name": name }),
            SelectorError::BadPattern { pattern, reason } => {
                json!({ "pattern": pattern, "reason": reason })
            }
            SelectorError::LatestCount(n) => json!({ "count": n, "max": MAX_TAGS_PER_LINE }),
            SelectorError::UnknownSelector(s) => json!({ "selector": s }),
            SelectorError::LatestWithTag { name, n } => json!({ "name": name, "n": n }),
            SelectorError::LatestNeedsColon(name) => json!({ "name": name }),
        }
    }
}

impl Coded for ExpandError {
    fn code(&self) -> &'static str {
        match self {
            ExpandError::NoMatch { .. } => "tags_no_match",
            ExpandError::NoVersions { .. } => "tags_no_versions",
            ExpandError::TooMany { .. } => "tags_too_many",
        }
    }

    fn params(&self) -> Value {
        match self {
            ExpandError::NoMatch {
                repository,
                pattern,
                listed,
            } => {
                json!({ "repository": repository, "pattern": pattern, "listed": listed })
            }
            ExpandError::NoVersions { repository, listed } => {
                json!({ "repository": repository, "listed": listed })
            }
            ExpandError::TooMany { selector, count } => {
                json!({ "selector": selector, "count": count, "max": MAX_TAGS_PER_LINE })
            }
        }
    }
}

impl Coded for MappingError {
    fn code(&self) -> &'static str {
        match self {
            MappingError::InvalidLevel(_) => "level_invalid",
            MappingError::InvalidHost { .. } => "target_host_invalid",
            MappingError::InvalidNamespace { .. } => "namespace_invalid",
            MappingError::InvalidTarget { .. } => "target_invalid",
        }
    }

    fn params(&self) -> Value {
        match self {
            MappingError::InvalidLevel(level) => json!({ "level": level }),
            MappingError::InvalidHost { host, source } => {
                json!({ "host": host, "reason": source.to_string() })
            }
            MappingError::InvalidNamespace { namespace, source } => {
                json!({ "namespace": namespace, "reason": source.to_string(), "reason_code": source.code() })
            }
            MappingError::InvalidTarget { image, source } => {
                json!({ "image": image, "reason": source.to_string(), "reason_code": source.code() })
            }
        }
    }
}

impl Coded for NamingError {
    fn code(&self) -> &'static str {
        "target_path_rule"
    }

    fn params(&self) -> Value {
        json!({
            "path": self.path,
            "parts": self.parts,
            "fits_level": self.fits.as_ref().map(|(level, _)| level.to_string()),
            "fits_path": self.fits.as_ref().map(|(_, path)| path.clone()),
        })
    }
}
