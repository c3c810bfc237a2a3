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

mod problem;
#[cfg(test)]
mod samples;

pub use problem::{side_of, Problem, Side, TlsProblem};

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

#[cfg(test)]
mod tests {
    use super::samples::*;
    use super::*;

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
}
