//! What goes wrong talking to a registry: [`RegistryError`], the problem people can act on
//! ([`Problem`]), and the registry's own `{"errors": [{code, message}]}` read from a refusal.

use std::time::Duration;

use reqwest::{Response, StatusCode};

use super::explain::{describe, Party, Problem};
use super::rate_limit::retry_after;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The request did not get an answer: connection, TLS, DNS, timeout.
    #[error("{}", error_chain(.0))]
    Http(#[from] reqwest::Error),
    #[error("unauthorized: the registry refused the credentials (HTTP {0})")]
    Unauthorized(StatusCode),
    /// An HTTP error with the registry's error code and message when it sent them.
    #[error("HTTP {status}{} from {url}", code_and_message(.code, .message))]
    Status {
        status: StatusCode,
        url: String,
        code: Option<String>,
        message: Option<String>,
        /// `Retry-After` of a 429.
        retry_after: Option<Duration>,
    },
    #[error("token request failed: {reason}")]
    Token {
        status: Option<StatusCode>,
        reason: String,
    },
    #[error("invalid answer from {url}: {reason}")]
    Invalid { url: String, reason: String },
    #[error("the repository has more than {limit} tags")]
    TooManyTags { limit: usize },
}

impl RegistryError {
    /// What kind of failure this is, when it is one people can act on.
    pub fn problem(&self) -> Option<Problem> {
        match self {
            RegistryError::Http(e) if e.is_timeout() => Some(Problem::Timeout),
            RegistryError::Http(e) => Problem::classify(&error_chain(e)),
            RegistryError::Unauthorized(_) => Some(Problem::Unauthorized),
            RegistryError::Token {
                status: Some(StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN),
                ..
            } => Some(Problem::Unauthorized),
            RegistryError::Token { reason, .. } => Problem::classify(reason),
            RegistryError::Status {
                status,
                code,
                message,
                ..
            } => {
                let by_code =
                    match code.as_deref() {
                        Some("NAME_UNKNOWN") => Some(Problem::NameUnknown),
                        Some("MANIFEST_UNKNOWN") => Some(Problem::ManifestUnknown),
                        Some("DENIED") => Some(Problem::Denied(message.clone().filter(|m| {
                            !m.contains("requested access to the resource is denied")
                        }))),
                        Some("UNAUTHORIZED") => Some(Problem::Unauthorized),
                        Some("TOOMANYREQUESTS") => Some(Problem::RateLimited),
                        _ => None,
                    };
                by_code.or(match *status {
                    StatusCode::NOT_FOUND => Some(Problem::NameUnknown),
                    StatusCode::UNAUTHORIZED => Some(Problem::Unauthorized),
                    StatusCode::FORBIDDEN => Some(Problem::Denied(message.clone())),
                    StatusCode::TOO_MANY_REQUESTS => Some(Problem::RateLimited),
                    _ => None,
                })
            }
            RegistryError::Invalid { .. } | RegistryError::TooManyTags { .. } => None,
        }
    }

    /// How long the registry asked us to wait (`Retry-After` of a 429), if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            RegistryError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The sentence for this failure at `party`: [`describe`] when the problem is recognised,
    /// else the error itself.
    pub fn explain(&self, party: &Party<'_>) -> String {
        match self.problem() {
            Some(problem) => describe(&problem, party),
            None => self.to_string(),
        }
    }
}

fn code_and_message(code: &Option<String>, message: &Option<String>) -> String {
    match (code, message) {
        (Some(c), Some(m)) => format!(" {c}: {m}"),
        (Some(c), None) => format!(" {c}"),
        (None, Some(m)) => format!(": {m}"),
        (None, None) => String::new(),
    }
}

/// An error with its causes, `outer: inner: innermost`, without repeating a cause that the
/// outer text already contains.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// An unsuccessful answer as an error, with the registry's `{"errors": [{code, message}]}`.
pub(super) async fn status_error(resp: Response, url: &str) -> RegistryError {
    let status = resp.status();
    if status == StatusCode::UNAUTHORIZED {
        return RegistryError::Unauthorized(status);
    }
    let wait = retry_after(resp.headers());
    let body: Option<ErrorBody> = resp.json().await.ok();
    let first = body.and_then(|b| b.errors.into_iter().next());
    RegistryError::Status {
        status,
        url: url.to_owned(),
        code: first.as_ref().and_then(|e| e.code.clone()),
        message: first.and_then(|e| e.message),
        retry_after: wait,
    }
}

#[derive(serde::Deserialize)]
struct ErrorBody {
    #[serde(default)]
    errors: Vec<ErrorEntry>,
}

#[derive(serde::Deserialize)]
struct ErrorEntry {
    code: Option<String>,
    message: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_errors_map_to_problems() {
        let status =
            |status: StatusCode, code: Option<&str>, message: Option<&str>| RegistryError::Status {
                status,
                url: "https://h.io/v2/x/tags/list".into(),
                code: code.map(str::to_owned),
                message: message.map(str::to_owned),
                retry_after: None,
            };
        let e = status(
            StatusCode::NOT_FOUND,
            Some("NAME_UNKNOWN"),
            Some("repository name not known to registry"),
        );
        assert_eq!(e.problem(), Some(Problem::NameUnknown));
        assert_eq!(
            e.to_string(),
            "HTTP 404 Not Found NAME_UNKNOWN: repository name not known to registry from \
             https://h.io/v2/x/tags/list"
        );
        let e = status(
            StatusCode::FORBIDDEN,
            Some("DENIED"),
            Some("namespace x does not exist"),
        );
        assert_eq!(
            e.problem(),
            Some(Problem::Denied(Some("namespace x does not exist".into())))
        );
        assert_eq!(
            status(StatusCode::TOO_MANY_REQUESTS, None, None).problem(),
            Some(Problem::RateLimited)
        );
        assert_eq!(status(StatusCode::BAD_GATEWAY, None, None).problem(), None);
        assert_eq!(
            RegistryError::Token {
                status: Some(StatusCode::UNAUTHORIZED),
                reason: "HTTP 401 from realm".into()
            }
            .problem(),
            Some(Problem::Unauthorized)
        );
    }
}
