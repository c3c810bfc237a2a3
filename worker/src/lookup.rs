//! What the registries say before a copy: the source's digest (and pull limit) by HEAD, the
//! target's digest, and with a platform, which manifest of the source's index is meant. A
//! failed lookup is never fatal: skopeo then copies and reports the real error.

use std::time::Duration;

use docker_sync_common::image_ref::ImageRef;
use docker_sync_common::platform::Platform;
use docker_sync_common::registry::{IndexEntry, ManifestKind};

use crate::registry::Access;
use crate::Worker;

/// What the source's manifest HEAD told (all None when it failed or was not needed).
#[derive(Debug, Default)]
pub(crate) struct SourceHead {
    pub digest: Option<String>,
    pub media_type: Option<String>,
    /// The source answered 429: wait this long before pulling.
    pub retry_after: Option<Duration>,
}

impl Worker {
    /// The source's digest by HEAD, recording the pull limit it reports (in Redis, for every
    /// worker) and returning `Retry-After` when it answered 429.
    pub(crate) async fn source_head(&self, access: &Access, image: &ImageRef) -> SourceHead {
        let reference = image.tag().or(image.digest()).unwrap_or("latest");
        match self
            .registry
            .manifest_head(access, image.repository(), reference)
            .await
        {
            Ok(head) => {
                if let Some(limit) = &head.rate_limit {
                    tracing::debug!(
                        host = image.registry(),
                        remaining = limit.remaining,
                        "pull limit"
                    );
                    if let Err(e) = self.queue.save_rate_limit(image.registry(), limit).await {
                        tracing::warn!(error = %e, "cannot record the pull limit");
                    }
                }
                SourceHead {
                    digest: head.digest,
                    media_type: head.media_type,
                    retry_after: None,
                }
            }
            Err(e) => {
                tracing::info!(image = %image, error = %e, "digest lookup failed; copying anyway");
                let limited =
                    e.problem() == Some(docker_sync_common::explain::Problem::RateLimited);
                SourceHead {
                    retry_after: limited
                        .then(|| e.retry_after().unwrap_or(self.settings.rate_limit_recheck)),
                    ..SourceHead::default()
                }
            }
        }
    }

    /// The digest the target gets when only `platform` is copied from `source`: the matching
    /// entry's of an index, the manifest's own for a single image (skopeo copies it as it is).
    /// None when it cannot be known (the lookup failed: skopeo then copies and reports); an error,
    /// failing the task, when the index has no image for the platform.
    pub(crate) async fn platform_digest(
        &self,
        access: &Access,
        source: &ImageRef,
        head: &SourceHead,
        platform: &Platform,
    ) -> Result<Option<String>, String> {
        let Some(digest) = &head.digest else {
            return Ok(None);
        };
        // The HEAD's Content-Type spares a GET (a pull on Docker Hub) for a single image.
        if let Some(media_type) = &head.media_type {
            if !docker_sync_common::registry::is_index_media_type(media_type) {
                return Ok(Some(digest.clone()));
            }
        }
        match self
            .registry
            .manifest_kind(access, source.repository(), digest)
            .await
        {
            Ok(ManifestKind::Image) => Ok(Some(digest.clone())),
            Ok(ManifestKind::Index(entries)) => {
                match platform.choose(&entries, |e| e.platform.as_ref()) {
                    Some(entry) => Ok(Some(entry.digest.clone())),
                    None => Err(missing_platform(source, platform, &entries)),
                }
            }
            Ok(ManifestKind::Missing) => Ok(None),
            Err(e) => {
                tracing::info!(image = %source, error = %e, "cannot read the index; copying anyway");
                Ok(None)
            }
        }
    }

    /// A digest lookup failure is not fatal: skopeo will then copy and report the real error.
    ///
    /// A tag is asked for before a digest: on the target, what matters is where the tag points.
    pub(crate) async fn digest(&self, access: &Access, image: &ImageRef) -> Option<String> {
        let reference = image.tag().or(image.digest()).unwrap_or("latest");
        match self
            .registry
            .manifest_digest(access, image.repository(), reference)
            .await
        {
            Ok(d) => d,
            Err(e) => {
                tracing::info!(image = %image, error = %e, "digest lookup failed; copying anyway");
                None
            }
        }
    }
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
