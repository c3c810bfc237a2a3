//! Registry and skopeo failures in words people act on.
//!
//! skopeo ends a failed copy with one fatal line such as
//! `initializing source docker://h/x:nope: reading manifest nope in h/x: manifest unknown: manifest unknown`.
//! [`Problem::classify`] recognises what went wrong (unauthorized, denied, manifest unknown, TLS,
//! plain HTTP, timeout, 429, connection refused, unknown host), [`side_of`] tells whether the
//! source or the target said it, and [`describe`] turns both into a sentence that names the image,
//! the registry and what to change, e.g.
//! ``the target registry refused the credentials of registry `harbor` (unauthorized): check its
//! username and password in registries.yaml``. The raw lines are kept elsewhere (a task's
//! `output_tail`); these messages replace only the one-line summary.
//!
//! The same words serve the registry HTTP client ([`crate::registry`]), so listing a source's
//! tags fails with the same sentences as copying from it.

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

/// One end of a copy (or the registry a listing asks), as the user configured it.
#[derive(Debug, Clone)]
pub struct Party<'a> {
    pub side: Side,
    /// Registry host as in the image reference (`docker.io`, `127.0.0.1:5000`).
    pub host: &'a str,
    /// The image or repository concerned, as people write it (`nginx:1.25`, `gcr.io/a/b`).
    pub subject: String,
    /// The first path part at the target (the namespace / project) for "denied" hints.
    pub namespace: Option<String>,
    /// Name of the host's entry in registries.yaml, if it has one.
    pub registry: Option<&'a str>,
    /// Whether that entry has a username and password.
    pub has_credentials: bool,
}

impl Party<'_> {
    /// "registry `harbor`" or "a registry entry with `url: host`".
    fn entry(&self) -> String {
        match self.registry {
            Some(name) => format!("registry `{name}`"),
            None => format!("a registry entry with `url: {}`", self.host),
        }
    }

    /// Where credentials go: the existing entry, or a new one.
    fn credentials_hint(&self) -> String {
        match self.registry {
            Some(name) => {
                format!("set `username` and `password` of registry `{name}` in registries.yaml")
            }
            None => format!(
                "add a registry entry with `url: {}`, `username` and `password` to registries.yaml",
                self.host
            ),
        }
    }
}

/// The sentence for `problem` at `party`.
pub fn describe(problem: &Problem, p: &Party<'_>) -> String {
    let host = p.host;
    let subject = &p.subject;
    let side = p.side;
    match (problem, side) {
        (Problem::Unauthorized, Side::Target) if p.has_credentials => format!(
            "the target registry refused the credentials of {} (unauthorized): check its username \
             and password in registries.yaml",
            p.entry()
        ),
        (Problem::Unauthorized, Side::Target) => format!(
            "the target registry `{host}` requires credentials (unauthorized): {}",
            p.credentials_hint()
        ),
        (Problem::Unauthorized, Side::Source) if p.has_credentials => format!(
            "the source registry `{host}` refused the credentials of {} for `{subject}` \
             (unauthorized): check its username and password, and that the account may pull it",
            p.entry()
        ),
        (Problem::Unauthorized, Side::Source) => format!(
            "`{subject}` needs credentials at `{host}` (unauthorized): the repository is private \
             or does not exist; check the name, or {}",
            p.credentials_hint()
        ),
        (Problem::Denied(detail), Side::Target) => {
            let ns = p
                .namespace
                .as_deref()
                .map(|n| format!("namespace `{n}`"))
                .unwrap_or_else(|| "namespace".to_owned());
            format!(
                "the target registry `{host}` denied the push of `{subject}` (denied{}): the {ns} \
                 may not exist or the account may not push to it; create it in the registry or \
                 grant the account push rights",
                detail_suffix(detail)
            )
        }
        (Problem::Denied(detail), Side::Source) => format!(
            "`{host}` denied access to `{subject}` (denied{}): the repository may not exist or \
             may be private; check the name, or {}",
            detail_suffix(detail),
            p.credentials_hint()
        ),
        (Problem::ManifestUnknown, Side::Source) => format!(
            "`{subject}` does not exist at the source (manifest unknown): check the tag or digest"
        ),
        (Problem::ManifestUnknown, Side::Target) => format!(
            "the target registry `{host}` lost a manifest while `{subject}` was written to it \
             (manifest unknown): retry the copy"
        ),
        (Problem::NameUnknown, Side::Source) => format!(
            "the repository of `{subject}` does not exist at `{host}` (name unknown): check the \
             name"
        ),
        (Problem::NameUnknown, Side::Target) => format!(
            "the target registry `{host}` has no repository for `{subject}` (name unknown): \
             create it, or let the account create repositories on push"
        ),
        (Problem::Tls(tls), _) => {
            let what = match tls {
                TlsProblem::UnknownAuthority => {
                    "certificate signed by an unknown authority".to_owned()
                }
                TlsProblem::WrongName => "certificate issued for another host name".to_owned(),
                TlsProblem::Expired => "certificate expired or not yet valid".to_owned(),
                TlsProblem::Other(m) => format!("handshake failed ({m})"),
            };
            format!(
                "TLS: {what} for `{host}` ({side} registry): set `insecure: true` for {} or \
                 install the CA on this machine",
                p.entry()
            )
        }
        (Problem::PlainHttp, _) => {
            let fix = match p.registry {
                Some(name) => format!("set `url: \"http://{host}\"` for registry `{name}`"),
                None => format!("add a registry entry with `url: \"http://{host}\"`"),
            };
            format!(
                "`{host}` ({side} registry) speaks plain HTTP, not HTTPS: {fix} in registries.yaml"
            )
        }
        (Problem::Timeout, _) => format!(
            "timed out talking to the {side} registry `{host}` (timeout): check the network and \
             any proxy between; a retry may get through"
        ),
        (Problem::RateLimited, Side::Source) => format!(
            "`{host}` is rate-limiting pulls (429 toomanyrequests): retry later, or {} (Docker \
             Hub allows authenticated accounts more pulls)",
            p.credentials_hint()
        ),
        (Problem::RateLimited, Side::Target) => format!(
            "the target registry `{host}` is rate-limiting pushes (429 toomanyrequests): retry \
             later, or lower `parallel_downloads` and the number of workers"
        ),
        (Problem::ConnectionRefused, _) => format!(
            "cannot connect to the {side} registry `{host}` (connection refused): check that it \
             runs and that its url and port are right"
        ),
        (Problem::NoSuchHost, _) => format!(
            "the {side} registry host `{host}` does not resolve (no such host): check the name \
             and this machine's DNS"
        ),
    }
}

fn detail_suffix(detail: &Option<String>) -> String {
    detail
        .as_deref()
        .map(|d| format!(": {d}"))
        .unwrap_or_default()
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

/// The friendly sentence for skopeo's fatal message of a copy between `source` and `target`,
/// or None when the message is not recognised (the caller keeps skopeo's words then).
pub fn explain_copy_failure(
    message: &str,
    source: &Party<'_>,
    target: &Party<'_>,
) -> Option<String> {
    let problem = Problem::classify(message)?;
    let side = side_of(message, source.host, target.host).unwrap_or(match problem {
        // A push that is refused is the usual reason for these two.
        Problem::Denied(_) => Side::Target,
        _ => Side::Source,
    });
    let party = match side {
        Side::Source => source,
        Side::Target => target,
    };
    Some(describe(&problem, party))
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
    use super::*;

    // Fatal messages as skopeo 1.9.3 printed them against docker-registry 2.8 on loopback (the
    // first ten), and as users reported them from Docker Hub, quay.io and Azure.
    const MANIFEST_UNKNOWN: &str = "initializing source docker://127.0.0.1:39161/x:nope: reading manifest nope in 127.0.0.1:39161/x: manifest unknown: manifest unknown";
    const TARGET_UNAUTHORIZED: &str = "trying to reuse blob sha256:bd126ade3e87303b23f3d193725ebef69671d527f10d5aa949b926e97eb20a62 at destination: checking whether a blob sha256:bd126ade3e87303b23f3d193725ebef69671d527f10d5aa949b926e97eb20a62 exists in 127.0.0.1:39162/y: unauthorized: authentication required";
    const SOURCE_UNAUTHORIZED: &str = "initializing source docker://127.0.0.1:39162/x:1: reading manifest 1 in 127.0.0.1:39162/x: unauthorized: authentication required";
    const SOURCE_PLAIN_HTTP: &str = "initializing source docker://127.0.0.1:39161/x:1: pinging container registry 127.0.0.1:39161: Get \"https://127.0.0.1:39161/v2/\": http: server gave HTTP response to HTTPS client";
    const TARGET_PLAIN_HTTP: &str = "trying to reuse blob sha256:bd126ade3e87303b23f3d193725ebef69671d527f10d5aa949b926e97eb20a62 at destination: pinging container registry 127.0.0.1:39161: Get \"https://127.0.0.1:39161/v2/\": http: server gave HTTP response to HTTPS client";
    const SOURCE_REFUSED: &str = "initializing source docker://127.0.0.1:1/x:1: pinging container registry 127.0.0.1:1: Get \"http://127.0.0.1:1/v2/\": dial tcp 127.0.0.1:1: connect: connection refused";
    const TARGET_REFUSED: &str = "trying to reuse blob sha256:bd126ade3e87303b23f3d193725ebef69671d527f10d5aa949b926e97eb20a62 at destination: pinging container registry 127.0.0.1:1: Get \"http://127.0.0.1:1/v2/\": dial tcp 127.0.0.1:1: connect: connection refused";
    const SOURCE_X509: &str = "initializing source docker://127.0.0.1:39163/x:1: pinging container registry 127.0.0.1:39163: Get \"https://127.0.0.1:39163/v2/\": x509: certificate signed by unknown authority (possibly because of \"x509: invalid signature: parent certificate cannot sign this kind of certificate\" while trying to verify candidate authority certificate \"localhost\")";
    const TARGET_X509: &str = "trying to reuse blob sha256:bd126ade3e87303b23f3d193725ebef69671d527f10d5aa949b926e97eb20a62 at destination: pinging container registry 127.0.0.1:39163: Get \"https://127.0.0.1:39163/v2/\": x509: certificate signed by unknown authority (possibly because of \"x509: invalid signature: parent certificate cannot sign this kind of certificate\" while trying to verify candidate authority certificate \"localhost\")";
    const SOURCE_TLS_TIMEOUT: &str = "initializing source docker://127.0.0.1:39164/x:1: pinging container registry 127.0.0.1:39164: Get \"https://127.0.0.1:39164/v2/\": net/http: TLS handshake timeout";
    const HUB_RATE_LIMIT: &str = "initializing source docker://datawiseio/fio:latest: reading manifest latest in docker.io/datawiseio/fio: toomanyrequests: You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit";
    const ACR_RATE_LIMIT: &str = "Uploading manifest list failed, attempted the following formats: application/vnd.docker.distribution.manifest.list.v2+json(uploading manifest 3.10.18-r0 to myregistry.azurecr.io/python: toomanyrequests: Rate exceeded)";
    const HUB_DENIED: &str = "initializing source docker://tagless:test: reading manifest test in docker.io/library/tagless: requested access to the resource is denied";
    const QUAY_UNAUTHORIZED: &str = "initializing source docker://quay.io/image reading manifest v1.7.0 in quay.io/image: unauthorized: access to the requested resource is not authorized";
    const TARGET_DENIED_NAMESPACE: &str = "trying to reuse blob sha256:bd126ade3e87303b23f3d193725ebef69671d527f10d5aa949b926e97eb20a62 at destination: checking whether a blob sha256:bd126ade3e87303b23f3d193725ebef69671d527f10d5aa949b926e97eb20a62 exists in registry.cn-hangzhou.aliyuncs.com/mirror/nginx: denied: namespace `mirror` does not exist in this ACR instance";
    const TARGET_DENIED_GENERIC: &str = "writing manifest: uploading manifest 1.25 to harbor.example.com/mirror/nginx: denied: requested access to the resource is denied";
    const SOURCE_WRONG_NAME: &str = "initializing source docker://reg.example.com/a:1: pinging container registry reg.example.com: Get \"https://reg.example.com/v2/\": x509: certificate is valid for other.example.com, not reg.example.com";
    const SOURCE_EXPIRED: &str = "initializing source docker://reg.example.com/a:1: pinging container registry reg.example.com: Get \"https://reg.example.com/v2/\": x509: certificate has expired or is not yet valid: current time 2026-01-01T00:00:00Z is after 2025-01-01T00:00:00Z";
    const SOURCE_NO_HOST: &str = "initializing source docker://nope.invalid/a:1: pinging container registry nope.invalid: Get \"https://nope.invalid/v2/\": dial tcp: lookup nope.invalid: no such host";
    const SOURCE_IO_TIMEOUT: &str = "initializing source docker://gcr.io/a/b:1: pinging container registry gcr.io: Get \"https://gcr.io/v2/\": dial tcp 142.250.0.1:443: i/o timeout";
    const NAME_UNKNOWN: &str = "initializing source docker://ghcr.io/a/nope:1: reading manifest 1 in ghcr.io/a/nope: name unknown: repository name not known to registry";

    fn source() -> Party<'static> {
        Party {
            side: Side::Source,
            host: "127.0.0.1:39161",
            subject: "127.0.0.1:39161/x:nope".into(),
            namespace: None,
            registry: Some("source"),
            has_credentials: false,
        }
    }

    fn target() -> Party<'static> {
        Party {
            side: Side::Target,
            host: "127.0.0.1:39162",
            subject: "127.0.0.1:39162/mirror/x:nope".into(),
            namespace: Some("mirror".into()),
            registry: Some("target"),
            has_credentials: true,
        }
    }

    fn explain(message: &str) -> String {
        explain_copy_failure(message, &source(), &target()).expect("recognised")
    }

    fn explain_hosts(
        message: &str,
        source_host: &'static str,
        target_host: &'static str,
    ) -> String {
        let s = Party {
            host: source_host,
            registry: None,
            ..source()
        };
        let t = Party {
            host: target_host,
            ..target()
        };
        explain_copy_failure(message, &s, &t).expect("recognised")
    }

    #[test]
    fn manifest_unknown_names_the_source_image() {
        assert_eq!(
            explain(MANIFEST_UNKNOWN),
            "`127.0.0.1:39161/x:nope` does not exist at the source (manifest unknown): check the \
             tag or digest"
        );
    }

    #[test]
    fn wrong_target_password() {
        assert_eq!(
            explain(TARGET_UNAUTHORIZED),
            "the target registry refused the credentials of registry `target` (unauthorized): \
             check its username and password in registries.yaml"
        );
    }

    #[test]
    fn target_without_credentials() {
        let t = Party {
            has_credentials: false,
            ..target()
        };
        let m = explain_copy_failure(TARGET_UNAUTHORIZED, &source(), &t).unwrap();
        assert_eq!(
            m,
            "the target registry `127.0.0.1:39162` requires credentials (unauthorized): set \
             `username` and `password` of registry `target` in registries.yaml"
        );
    }

    #[test]
    fn private_or_missing_source() {
        let m = explain_hosts(SOURCE_UNAUTHORIZED, "127.0.0.1:39162", "h.io");
        assert!(
            m.starts_with(
                "`127.0.0.1:39161/x:nope` needs credentials at `127.0.0.1:39162` (unauthorized)"
            ),
            "{m}"
        );
        assert!(
            m.contains("add a registry entry with `url: 127.0.0.1:39162`"),
            "{m}"
        );
        let m = explain_hosts(QUAY_UNAUTHORIZED, "quay.io", "h.io");
        assert!(
            m.contains("needs credentials at `quay.io` (unauthorized)"),
            "{m}"
        );
    }

    #[test]
    fn source_credentials_refused() {
        let s = Party {
            has_credentials: true,
            registry: Some("hub"),
            ..source()
        };
        let m = explain_copy_failure(SOURCE_UNAUTHORIZED, &s, &target()).unwrap();
        assert!(
            m.starts_with(
                "the source registry `127.0.0.1:39161` refused the credentials of registry `hub`"
            ),
            "{m}"
        );
    }

    #[test]
    fn plain_http_on_either_side() {
        assert_eq!(
            explain(SOURCE_PLAIN_HTTP),
            "`127.0.0.1:39161` (source registry) speaks plain HTTP, not HTTPS: set `url: \
             \"http://127.0.0.1:39161\"` for registry `source` in registries.yaml"
        );
        let m = explain_hosts(TARGET_PLAIN_HTTP, "docker.io", "127.0.0.1:39161");
        assert!(
            m.starts_with("`127.0.0.1:39161` (target registry) speaks plain HTTP"),
            "{m}"
        );
        assert!(m.contains("for registry `target`"), "{m}");
    }

    #[test]
    fn connection_refused_on_either_side() {
        let m = explain_hosts(SOURCE_REFUSED, "127.0.0.1:1", "h.io");
        assert_eq!(
            m,
            "cannot connect to the source registry `127.0.0.1:1` (connection refused): check that \
             it runs and that its url and port are right"
        );
        let m = explain_hosts(TARGET_REFUSED, "docker.io", "127.0.0.1:1");
        assert!(
            m.starts_with("cannot connect to the target registry `127.0.0.1:1`"),
            "{m}"
        );
    }

    #[test]
    fn unknown_certificate_authority() {
        let m = explain_hosts(SOURCE_X509, "127.0.0.1:39163", "h.io");
        assert_eq!(
            m,
            "TLS: certificate signed by an unknown authority for `127.0.0.1:39163` (source \
             registry): set `insecure: true` for a registry entry with `url: 127.0.0.1:39163` or \
             install the CA on this machine"
        );
        let m = explain_hosts(TARGET_X509, "docker.io", "127.0.0.1:39163");
        assert!(
            m.starts_with("TLS: certificate signed by an unknown authority for `127.0.0.1:39163` (target registry): set `insecure: true` for registry `target`"),
            "{m}"
        );
    }

    #[test]
    fn other_certificate_problems() {
        let m = explain_hosts(SOURCE_WRONG_NAME, "reg.example.com", "h.io");
        assert!(
            m.starts_with("TLS: certificate issued for another host name for `reg.example.com`"),
            "{m}"
        );
        let m = explain_hosts(SOURCE_EXPIRED, "reg.example.com", "h.io");
        assert!(
            m.starts_with("TLS: certificate expired or not yet valid"),
            "{m}"
        );
    }

    #[test]
    fn timeouts() {
        let m = explain_hosts(SOURCE_TLS_TIMEOUT, "127.0.0.1:39164", "h.io");
        assert!(
            m.starts_with("timed out talking to the source registry `127.0.0.1:39164` (timeout)"),
            "{m}"
        );
        let m = explain_hosts(SOURCE_IO_TIMEOUT, "gcr.io", "h.io");
        assert!(
            m.starts_with("timed out talking to the source registry `gcr.io`"),
            "{m}"
        );
    }

    #[test]
    fn rate_limits() {
        let m = explain_hosts(HUB_RATE_LIMIT, "docker.io", "h.io");
        assert!(
            m.starts_with("`docker.io` is rate-limiting pulls (429 toomanyrequests): retry later"),
            "{m}"
        );
        let m = explain_hosts(ACR_RATE_LIMIT, "docker.io", "myregistry.azurecr.io");
        assert!(
            m.starts_with("the target registry `myregistry.azurecr.io` is rate-limiting pushes (429 toomanyrequests)"),
            "{m}"
        );
    }

    #[test]
    fn denied_keeps_the_registry_words() {
        let m = explain_hosts(
            TARGET_DENIED_NAMESPACE,
            "docker.io",
            "registry.cn-hangzhou.aliyuncs.com",
        );
        assert_eq!(
            m,
            "the target registry `registry.cn-hangzhou.aliyuncs.com` denied the push of \
             `127.0.0.1:39162/mirror/x:nope` (denied: namespace `mirror` does not exist in this \
             ACR instance): the namespace `mirror` may not exist or the account may not push to \
             it; create it in the registry or grant the account push rights"
        );
        let m = explain_hosts(TARGET_DENIED_GENERIC, "docker.io", "harbor.example.com");
        assert!(
            m.contains(
                "(denied): the namespace `mirror` may not exist or the account may not push to it"
            ),
            "{m}"
        );
    }

    #[test]
    fn denied_pull_from_docker_hub() {
        let m = explain_hosts(HUB_DENIED, "docker.io", "h.io");
        assert!(
            m.starts_with("`docker.io` denied access to `127.0.0.1:39161/x:nope` (denied): the repository may not exist or may be private"),
            "{m}"
        );
    }

    #[test]
    fn unknown_repository_and_host() {
        let m = explain_hosts(NAME_UNKNOWN, "ghcr.io", "h.io");
        assert!(
            m.contains("does not exist at `ghcr.io` (name unknown)"),
            "{m}"
        );
        let m = explain_hosts(SOURCE_NO_HOST, "nope.invalid", "h.io");
        assert!(
            m.starts_with(
                "the source registry host `nope.invalid` does not resolve (no such host)"
            ),
            "{m}"
        );
    }

    #[test]
    fn unrecognised_messages_are_left_alone() {
        assert_eq!(
            explain_copy_failure("copying config: exit status 3", &source(), &target()),
            None
        );
        // Hex digests contain "429" often; that alone is no rate limit.
        assert_eq!(Problem::classify("blob sha256:429abc: something odd"), None);
    }

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
