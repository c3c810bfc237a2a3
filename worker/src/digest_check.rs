//! What the registries say before a copy: the source's digest (and pull limit) by HEAD, the
//! target's digest, and with a platform, which manifest of the source's index is meant.
//!
//! A failed lookup is never fatal (skopeo then copies and reports the real error), but it is
//! never silent either: the task records why it was copied without checking the target
//! (`unchecked`), `digest_check_failures_total{registry}` counts it, and the first failure of
//! each registry in this process is a WARN naming it (a setting that can never work would
//! otherwise flood the log with one line per image).

use std::time::Duration;

use docker_sync_common::image::ImageRef;
use docker_sync_common::image::Platform;
use docker_sync_common::registry::explain::{Party, Problem, Side};
use docker_sync_common::registry::{IndexEntry, ManifestKind, RegistryError};

use docker_sync_common::redis::client::AsyncCommands;
use docker_sync_common::registry::Reach;

use crate::parts::Parts;
use crate::pull_limit;

/// What the source's manifest HEAD told (all None when it failed or was not needed).
#[derive(Debug, Default)]
pub(crate) struct SourceHead {
    pub digest: Option<String>,
    pub media_type: Option<String>,
    /// The source answered 429: wait this long before pulling.
    pub retry_after: Option<Duration>,
    /// Why the HEAD failed, in words people act on (a 429 is not a failure: it is waited for).
    pub unchecked: Option<String>,
}

/// A digest (None: there is no such manifest), or why it could not be read.
pub(crate) type Lookup = Result<Option<String>, String>;

/// Who a lookup asked, for its failure's words and the counter's label.
pub(crate) struct Asked<'a> {
    pub side: Side,
    pub image: &'a ImageRef,
    /// The configured registry's name, or the host of an unconfigured source.
    pub registry: &'a str,
    pub configured: bool,
    pub reach: &'a Reach,
}

impl Asked<'_> {
    fn explain(&self, e: &RegistryError) -> String {
        let party = Party {
            side: self.side,
            host: self.image.registry(),
            subject: self.image.familiar(),
            namespace: None,
            registry: self.configured.then_some(self.registry),
            has_credentials: self.reach.credentials.is_some(),
        };
        format!(
            "the {} digest could not be read: {}",
            self.side,
            e.explain(&party)
        )
    }
}

/// The source's digest by HEAD, recording the pull limit it reports (in Redis, for every
/// worker) and returning `Retry-After` when it answered 429.
pub(crate) async fn source_head(parts: &Parts, asked: &Asked<'_>) -> SourceHead {
    let image = asked.image;
    let reference = image.tag().or(image.digest()).unwrap_or("latest");
    match parts
        .registry
        .manifest_head(asked.reach, image.repository(), reference)
        .await
    {
        Ok(head) => {
            if let Some(limit) = &head.rate_limit {
                tracing::debug!(
                    host = image.registry(),
                    remaining = limit.remaining,
                    "pull limit"
                );
                if let Err(e) = pull_limit::record(parts, image.registry(), limit).await {
                    tracing::warn!(error = %e, "cannot record the pull limit");
                }
            }
            SourceHead {
                digest: head.digest,
                media_type: head.media_type,
                ..SourceHead::default()
            }
        }
        Err(e) if e.problem() == Some(Problem::RateLimited) => SourceHead {
            retry_after: Some(e.retry_after().unwrap_or(parts.settings.rate_limit_recheck)),
            ..SourceHead::default()
        },
        Err(e) => SourceHead {
            unchecked: Some(lookup_failed(parts, asked, &e).await),
            ..SourceHead::default()
        },
    }
}

/// The digest the target gets when only `platform` is copied from `source`: the matching
/// entry's of an index, the manifest's own for a single image (skopeo copies it as it is).
/// An error, failing the task, when the index has no image for the platform.
pub(crate) async fn platform_digest(
    parts: &Parts,
    asked: &Asked<'_>,
    head: &SourceHead,
    platform: &Platform,
) -> Result<Lookup, String> {
    let Some(digest) = &head.digest else {
        return Ok(Ok(None));
    };
    // The HEAD's Content-Type spares a GET (a pull on Docker Hub) for a single image.
    if let Some(media_type) = &head.media_type {
        if !docker_sync_common::registry::is_index_media_type(media_type) {
            return Ok(Ok(Some(digest.clone())));
        }
    }
    let source = asked.image;
    match parts
        .registry
        .manifest_kind(asked.reach, source.repository(), digest)
        .await
    {
        Ok(ManifestKind::Image) => Ok(Ok(Some(digest.clone()))),
        Ok(ManifestKind::Index(entries)) => {
            match platform.choose(&entries, |e| e.platform.as_ref()) {
                Some(entry) => Ok(Ok(Some(entry.digest.clone()))),
                None => Err(missing_platform(source, platform, &entries)),
            }
        }
        Ok(ManifestKind::Missing) => Ok(Ok(None)),
        Err(e) => Ok(Err(lookup_failed(parts, asked, &e).await)),
    }
}

/// The digest `image` has at a registry (a tag is asked for before a digest: on the
/// target, what matters is where the tag points), or why it could not be read.
pub(crate) async fn digest(parts: &Parts, asked: &Asked<'_>) -> Lookup {
    let image = asked.image;
    let reference = image.tag().or(image.digest()).unwrap_or("latest");
    match parts
        .registry
        .manifest_digest(asked.reach, image.repository(), reference)
        .await
    {
        Ok(d) => Ok(d),
        Err(e) => Err(lookup_failed(parts, asked, &e).await),
    }
}

/// Counts a failed lookup for its registry and says so: WARN the first time for that
/// registry in this process, debug after. Returns the reason the task records.
async fn lookup_failed(parts: &Parts, asked: &Asked<'_>, e: &RegistryError) -> String {
    let reason = asked.explain(e);
    let first = parts
        .warned
        .lock()
        .expect("warned registries lock")
        .insert(asked.registry.to_owned());
    if first {
        tracing::warn!(
            registry = %asked.registry,
            side = %asked.side,
            image = %asked.image,
            reason = %reason,
            "digest check failed: copying without checking the target; further failures \
             for this registry are logged at debug level and counted in \
             digest_check_failures_total"
        );
    } else {
        tracing::debug!(registry = %asked.registry, image = %asked.image, reason = %reason, "digest check failed");
    }
    if let Err(e) = count_failure(parts, asked.registry).await {
        tracing::warn!(error = %e, "cannot count the digest check failure");
    }
    reason
}

/// Counts a digest check that could not run against `registry` (cluster-wide, behind
/// `digest_check_failures_total`).
async fn count_failure(parts: &Parts, registry: &str) -> anyhow::Result<()> {
    let mut conn = parts.pool.get().await?;
    conn.hincr::<_, _, _, ()>(
        parts.keys.stats(),
        docker_sync_common::queue::stats::digest_check_failures(registry),
        1,
    )
    .await?;
    Ok(())
}

/// Why a task for one platform fails: the index has no image for it; names those it has.
fn missing_platform(source: &ImageRef, platform: &Platform, entries: &[IndexEntry]) -> String {
    let mut names: Vec<String> = Vec::new();
    let mut unlabelled = 0;
    for entry in entries {
        match &entry.platform {
            // BuildKit's attestation manifests, not images.
            Some(p) if p.os == "unknown" && p.arch == "unknown" => {}
            Some(p) => {
                let name = p.to_string();
                if !names.contains(&name) {
                    names.push(name);
                }
            }
            None => unlabelled += 1,
        }
    }
    let unlabelled = match unlabelled {
        0 => String::new(),
        1 => "1 entry without a platform".to_owned(),
        n => format!("{n} entries without a platform"),
    };
    let has = match (names.is_empty(), unlabelled.is_empty()) {
        (true, true) => "no images".to_owned(),
        (true, false) => unlabelled,
        (false, true) => names.join(", "),
        (false, false) => format!("{} and {unlabelled}", names.join(", ")),
    };
    format!(
        "`{}` has no {platform} image: its multi-arch index has {has}; choose one of those \
         platforms, or copy all platforms",
        source.familiar()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_platform_names_those_the_index_has() {
        let entry = |platform: Option<&str>| IndexEntry {
            digest: "sha256:x".into(),
            platform: platform.map(|p| {
                let parts: Vec<&str> = p.split('/').collect();
                Platform::new(parts[0], parts[1], parts.get(2).copied())
            }),
        };
        let source = ImageRef::parse("127.0.0.1:5000/multi/arch:1").unwrap();
        let entries = [
            entry(Some("linux/amd64")),
            entry(Some("linux/arm64/v8")),
            entry(Some("unknown/unknown")),
            entry(Some("linux/amd64")),
        ];
        assert_eq!(
            missing_platform(&source, &"linux/s390x".parse().unwrap(), &entries),
            "`127.0.0.1:5000/multi/arch:1` has no linux/s390x image: its multi-arch index has \
             linux/amd64, linux/arm64/v8; choose one of those platforms, or copy all platforms"
        );
        assert_eq!(
            missing_platform(&source, &"linux/s390x".parse().unwrap(), &[entry(None)]),
            "`127.0.0.1:5000/multi/arch:1` has no linux/s390x image: its multi-arch index has \
             1 entry without a platform; choose one of those platforms, or copy all platforms"
        );
    }
}
