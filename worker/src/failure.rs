//! A failed copy: the message it leaves on its task (what went wrong in words people act on,
//! see [`docker_sync_common::explain`], naming the image, the registry and what to change;
//! skopeo's own last lines stay in the task's `output_tail`), whether another attempt can help,
//! and how long to wait before it.

use std::time::Duration;

use docker_sync_common::config::Config;
use docker_sync_common::registry::explain::{explain_copy_failure, Party, Side};

use crate::skopeo::{CopyError, CopyRequest};

/// How the statistics name a failure: the problem's code when it is one we recognise (`manifest
/// unknown`, `unauthorized`, ...), else the start of the error, so the same failure adds up
/// however many images it hits.
pub(crate) fn stats_reason(error: &str, tail: &str) -> String {
    use docker_sync_common::registry::explain::Problem;
    match Problem::classify(tail).or_else(|| Problem::classify(error)) {
        Some(problem) => problem.code().to_owned(),
        None => error.chars().take(80).collect(),
    }
}

/// The failure's kind as a stable code for the UI's languages, when recognised.
pub(crate) fn error_code(error: &str, tail: &str) -> Option<String> {
    use docker_sync_common::registry::explain::Problem;
    Problem::classify(tail)
        .or_else(|| Problem::classify(error))
        .map(|p| p.slug().to_owned())
}

/// Longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// The task's `error` for a failed copy of `req` to the registry named `target_registry`.
pub(crate) fn copy_error(
    error: &CopyError,
    req: &CopyRequest,
    config: &Config,
    target_registry: &str,
) -> String {
    let (source_image, target_image) = (&req.source.image, &req.target.image);
    match error {
        CopyError::Failed { summary, .. } => {
            let source = Party {
                side: Side::Source,
                host: source_image.registry(),
                subject: source_image.familiar(),
                namespace: None,
                registry: config
                    .registry_for_host(source_image.registry())
                    .map(|(name, _)| name),
                has_credentials: req.source.credentials.is_some(),
            };
            let target = Party {
                side: Side::Target,
                host: target_image.registry(),
                subject: target_image.familiar(),
                namespace: target_image
                    .repository()
                    .split_once('/')
                    .map(|(first, _)| first.to_owned()),
                registry: Some(target_registry),
                has_credentials: req.target.credentials.is_some(),
            };
            explain_copy_failure(summary, &source, &target).unwrap_or_else(|| error.to_string())
        }
        CopyError::Timeout(limit, _) => format!(
            "the copy of `{}` did not finish within {} (timeout): raise `sync_config.timeout` for \
             large images or slow links",
            source_image.familiar(),
            humantime::format_duration(*limit)
        ),
        CopyError::Spawn { .. }
        | CopyError::AuthFile { .. }
        | CopyError::TempDir { .. }
        | CopyError::TwoProxies { .. }
        | CopyError::Cancelled => error.to_string(),
    }
}

/// Whether another attempt cannot help: the image or repository does not exist at the source,
/// the registry refuses the credentials or denies access, the index has no such platform, or
/// the copy cannot be set up at all. Timeouts, 5xx, 429 and dropped connections are retried.
pub(crate) fn is_permanent(e: &CopyError) -> bool {
    use docker_sync_common::registry::explain::Problem;
    match e {
        CopyError::Failed { summary, tail, .. } => {
            let text = format!("{summary}\n{tail}");
            let lower = text.to_ascii_lowercase();
            if lower.contains("no image found in manifest list for architecture")
                || lower.contains("choosing an image from manifest list")
            {
                return true;
            }
            matches!(
                Problem::classify(summary),
                Some(
                    Problem::ManifestUnknown
                        | Problem::NameUnknown
                        | Problem::Unauthorized
                        | Problem::Denied(_)
                )
            )
        }
        CopyError::TwoProxies { .. } | CopyError::Spawn { .. } | CopyError::Cancelled => true,
        // A full disk may clear up.
        CopyError::Timeout(..) | CopyError::AuthFile { .. } | CopyError::TempDir { .. } => false,
    }
}

/// Whether skopeo failed on a 429 (pull or push limit).
pub(crate) fn is_rate_limited(e: &CopyError) -> bool {
    let text = match e {
        CopyError::Failed { summary, tail, .. } => format!("{summary}\n{tail}"),
        _ => return false,
    };
    docker_sync_common::registry::explain::Problem::classify(&text)
        == Some(docker_sync_common::registry::explain::Problem::RateLimited)
}

pub(crate) fn round_to_ms(d: Duration) -> Duration {
    Duration::from_millis(d.as_millis() as u64)
}

/// base, 2×base, 4×base, … capped at a minute.
pub(crate) fn backoff(base: Duration, retry: u32) -> Duration {
    base.saturating_mul(1 << retry.min(16)).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use docker_sync_common::image::ImageRef;
    use docker_sync_common::registry::Transport;
    use secrecy::SecretString;

    use super::*;
    use crate::skopeo::Endpoint;

    fn config() -> Config {
        Config::parse(
            "registries:\n  target:\n    url: http://127.0.0.1:39162\n    username: u\n    password: p\n    namespace: mirror\n",
            Path::new("r.yaml"),
            false,
        )
        .unwrap()
    }

    fn request() -> CopyRequest {
        CopyRequest {
            source: Endpoint {
                image: ImageRef::parse("127.0.0.1:39161/x:nope").unwrap(),
                transport: Transport::PlainHttp,
                credentials: None,
                proxy: None,
            },
            target: Endpoint {
                image: ImageRef::parse("127.0.0.1:39162/mirror/x:nope").unwrap(),
                transport: Transport::PlainHttp,
                credentials: Some(("u".into(), SecretString::from("p".to_owned()))),
                proxy: None,
            },
            platform: None,
            preserve_digests: false,
            timeout: Duration::from_secs(120),
            archive: None,
        }
    }

    fn failed(summary: &str) -> CopyError {
        CopyError::Failed {
            status: "exit status: 1".into(),
            summary: summary.into(),
            tail: format!("time=\"2026-01-01T00:00:00Z\" level=fatal msg=\"{summary}\""),
        }
    }

    #[test]
    fn a_missing_source_tag() {
        let e = failed("initializing source docker://127.0.0.1:39161/x:nope: reading manifest nope in 127.0.0.1:39161/x: manifest unknown: manifest unknown");
        assert_eq!(
            copy_error(&e, &request(), &config(), "target"),
            "`127.0.0.1:39161/x:nope` does not exist at the source (manifest unknown): check the \
             tag or digest"
        );
    }

    #[test]
    fn a_wrong_target_password() {
        let e = failed("trying to reuse blob sha256:bd126ade3e87303b23f3d193725ebef69671d527f10d5aa949b926e97eb20a62 at destination: checking whether a blob sha256:bd126ade3e87303b23f3d193725ebef69671d527f10d5aa949b926e97eb20a62 exists in 127.0.0.1:39162/mirror/x: unauthorized: authentication required");
        assert_eq!(
            copy_error(&e, &request(), &config(), "target"),
            "the target registry refused the credentials of registry `target` (unauthorized): \
             check its username and password in registries.yaml"
        );
    }

    #[test]
    fn a_denied_push_names_the_namespace() {
        let e = failed("writing manifest: uploading manifest nope to 127.0.0.1:39162/mirror/x: denied: requested access to the resource is denied");
        let m = copy_error(&e, &request(), &config(), "target");
        assert!(m.contains("the namespace `mirror` may not exist"), "{m}");
    }

    #[test]
    fn a_timeout_names_the_setting() {
        let e = CopyError::Timeout(Duration::from_secs(120), String::new());
        assert_eq!(
            copy_error(&e, &request(), &config(), "target"),
            "the copy of `127.0.0.1:39161/x:nope` did not finish within 2m (timeout): raise \
             `sync_config.timeout` for large images or slow links"
        );
    }

    #[test]
    fn unrecognised_failures_keep_skopeo_words() {
        let e = failed("copying config: something new");
        assert_eq!(
            copy_error(&e, &request(), &config(), "target"),
            "skopeo failed (exit status: 1): copying config: something new"
        );
    }

    #[test]
    fn backoff_doubles_up_to_a_cap() {
        let b = Duration::from_secs(2);
        assert_eq!(backoff(b, 0), Duration::from_secs(2));
        assert_eq!(backoff(b, 2), Duration::from_secs(8));
        assert_eq!(backoff(b, 10), MAX_BACKOFF);
    }
}
