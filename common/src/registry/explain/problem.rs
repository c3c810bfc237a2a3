//! Recognising what went wrong in skopeo's, Go's or the HTTP client's words, and which side of a
//! copy said it.

use std::fmt;

/// Which end of a copy a failure happened on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Source,
    Target,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Source => "source",
            Side::Target => "target",
        })
    }
}

/// What went wrong with a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsProblem {
    UnknownAuthority,
    WrongName,
    Expired,
    /// Anything else, in the TLS library's words.
    Other(String),
}

/// A failure recognised in skopeo's, Go's or the HTTP client's wording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// 401: no credentials, or wrong ones.
    Unauthorized,
    /// 403 / `denied:`; carries the registry's own words when they say more than the generic
    /// "requested access to the resource is denied" (ACR, Harbor and SWR name the namespace).
    Denied(Option<String>),
    /// The tag or digest is not in the repository.
    ManifestUnknown,
    /// The repository itself does not exist.
    NameUnknown,
    Tls(TlsProblem),
    /// HTTPS was spoken to a plain-HTTP registry.
    PlainHttp,
    Timeout,
    /// 429 `toomanyrequests` (Docker Hub's pull limit, ACR's rate limits).
    RateLimited,
    ConnectionRefused,
    NoSuchHost,
}

impl Problem {
    /// Recognises the problem in a message (case-insensitive), or None for anything else.
    pub fn classify(message: &str) -> Option<Problem> {
        let t = message.to_ascii_lowercase();
        let has = |needles: &[&str]| needles.iter().any(|n| t.contains(n));
        // Most specific first: "TLS handshake timeout" is a timeout, not a certificate problem.
        if has(&[
            "toomanyrequests",
            "too many requests",
            "status code 429",
            "http 429",
        ]) {
            return Some(Problem::RateLimited);
        }
        if has(&[
            "i/o timeout",
            "tls handshake timeout",
            "context deadline exceeded",
            "timeout awaiting response headers",
            "client.timeout exceeded",
            "operation timed out",
            "timed out",
        ]) {
            return Some(Problem::Timeout);
        }
        if has(&[
            "server gave http response to https client",
            "invalidcontenttype",
            "received corrupt message",
        ]) {
            return Some(Problem::PlainHttp);
        }
        if has(&[
            "x509:",
            "tls:",
            "certificate",
            "unknownissuer",
            "notvalidforname",
        ]) {
            let kind = if has(&[
                "unknown authority",
                "unknownissuer",
                "self signed",
                "self-signed",
            ]) {
                TlsProblem::UnknownAuthority
            } else if has(&[
                "is valid for",
                "not valid for",
                "notvalidforname",
                "ip sans",
            ]) {
                TlsProblem::WrongName
            } else if has(&["expired", "not yet valid"]) {
                TlsProblem::Expired
            } else {
                TlsProblem::Other(last_clause(message).to_owned())
            };
            return Some(Problem::Tls(kind));
        }
        if has(&["connection refused"]) {
            return Some(Problem::ConnectionRefused);
        }
        if has(&[
            "no such host",
            "failed to lookup address",
            "name or service not known",
            "dns error",
        ]) {
            return Some(Problem::NoSuchHost);
        }
        if has(&[
            "unauthorized",
            "authentication required",
            "incorrect username or password",
            "not authorized",
        ]) {
            return Some(Problem::Unauthorized);
        }
        if has(&["denied"]) {
            return Some(Problem::Denied(denied_detail(message)));
        }
        if has(&["manifest unknown", "manifest_unknown"]) {
            return Some(Problem::ManifestUnknown);
        }
        if has(&["name unknown", "name_unknown", "repository name not known"]) {
            return Some(Problem::NameUnknown);
        }
        None
    }

    /// A stable name for the UI's languages, e.g. `manifest_unknown`.
    pub fn slug(&self) -> &'static str {
        match self {
            Problem::Unauthorized => "unauthorized",
            Problem::Denied(_) => "denied",
            Problem::ManifestUnknown => "manifest_unknown",
            Problem::NameUnknown => "name_unknown",
            Problem::Tls(_) => "tls",
            Problem::PlainHttp => "plain_http",
            Problem::Timeout => "timeout",
            Problem::RateLimited => "rate_limited",
            Problem::ConnectionRefused => "connection_refused",
            Problem::NoSuchHost => "no_such_host",
        }
    }

    /// The short code shown in parentheses, e.g. `manifest unknown`.
    pub fn code(&self) -> &'static str {
        match self {
            Problem::Unauthorized => "unauthorized",
            Problem::Denied(_) => "denied",
            Problem::ManifestUnknown => "manifest unknown",
            Problem::NameUnknown => "name unknown",
            Problem::Tls(_) => "TLS",
            Problem::PlainHttp => "plain HTTP",
            Problem::Timeout => "timeout",
            Problem::RateLimited => "429 toomanyrequests",
            Problem::ConnectionRefused => "connection refused",
            Problem::NoSuchHost => "no such host",
        }
    }
}

/// Which side a skopeo message is about: its wording first (`initializing source`, `at
/// destination`, `writing`, `reading`), then which of the two hosts it names.
pub fn side_of(message: &str, source_host: &str, target_host: &str) -> Option<Side> {
    let t = message.to_ascii_lowercase();
    if t.contains("initializing source") {
        return Some(Side::Source);
    }
    if ["destination", "writing", "uploading", "pushing"]
        .iter()
        .any(|w| t.contains(w))
    {
        return Some(Side::Target);
    }
    if t.contains("reading") || t.contains("fetching") {
        return Some(Side::Source);
    }
    let (s, d) = (message.contains(source_host), message.contains(target_host));
    match (s, d) {
        (true, false) => Some(Side::Source),
        (false, true) => Some(Side::Target),
        _ => None,
    }
}

/// What a registry adds after `denied:`, unless it is the generic sentence.
fn denied_detail(message: &str) -> Option<String> {
    let lower = message.to_ascii_lowercase();
    let at = lower.find("denied:")?;
    let detail = message[at + "denied:".len()..]
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .trim_end_matches(['"', ')'])
        .trim();
    let generic = detail.is_empty()
        || detail
            .to_ascii_lowercase()
            .contains("requested access to the resource is denied");
    (!generic).then(|| detail.to_owned())
}

/// The part after the last `: `, where Go puts the innermost cause.
fn last_clause(message: &str) -> &str {
    message
        .rsplit(": ")
        .next()
        .unwrap_or(message)
        .trim()
        .trim_matches('"')
}

#[cfg(test)]
mod tests {
    use super::super::samples::*;
    use super::*;

    #[test]
    fn side_from_wording_then_hosts() {
        assert_eq!(side_of(MANIFEST_UNKNOWN, "a", "b"), Some(Side::Source));
        assert_eq!(side_of(TARGET_UNAUTHORIZED, "a", "b"), Some(Side::Target));
        assert_eq!(side_of("writing blob: x", "a", "b"), Some(Side::Target));
        assert_eq!(
            side_of("reading blob sha256:1: x", "a", "b"),
            Some(Side::Source)
        );
        assert_eq!(
            side_of("pinging h.io: refused", "g.io", "h.io"),
            Some(Side::Target)
        );
        assert_eq!(
            side_of("pinging g.io: refused", "g.io", "h.io"),
            Some(Side::Source)
        );
        assert_eq!(side_of("something", "g.io", "h.io"), None);
    }

    #[test]
    fn every_problem_has_a_code() {
        assert_eq!(
            Problem::classify(MANIFEST_UNKNOWN).unwrap().code(),
            "manifest unknown"
        );
        assert_eq!(
            Problem::classify(HUB_RATE_LIMIT).unwrap().code(),
            "429 toomanyrequests"
        );
        assert_eq!(
            Problem::classify(SOURCE_X509),
            Some(Problem::Tls(TlsProblem::UnknownAuthority))
        );
        assert_eq!(
            Problem::classify("tls: handshake failure"),
            Some(Problem::Tls(TlsProblem::Other("handshake failure".into())))
        );
    }
}
