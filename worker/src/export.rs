//! An export task: the source image written by skopeo into an archive of the job's bundle,
//! `<downloads>/<job>/<file>`, with its size and SHA-256 recorded on the task for the bundle's
//! manifest. The file appears under its name only once complete (written under a hidden
//! name, then renamed), so a listing or a download never sees half an archive, and a
//! redelivered task starts over cleanly.

use std::path::Path;
use std::time::Duration;

use docker_sync_common::bundle::manifest::size_and_sha256;
use docker_sync_common::bundle::ArchiveFormat;
use docker_sync_common::image::ImageRef;
use docker_sync_common::queue::task::{ArchiveLeg, Direction, TaskField, TaskMessage};
use docker_sync_common::queue::Entry;
use docker_sync_common::registry::explain::Side;
use docker_sync_common::registry::Reach;

use crate::digest_check::{platform_digest, source_head, Asked, SourceHead};
use crate::parts::Parts;
use crate::pull_limit::{hold, Hold};
use crate::run::{bundle_file, copy_with_retries, failed, Outcome};
use crate::skopeo::{ArchiveEnd, CopyRequest, Endpoint};
use crate::step::Interrupt;

pub(crate) async fn run(
    parts: &Parts,
    entry: &Entry,
    msg: &TaskMessage,
    leg: &ArchiveLeg,
    first_attempt: u32,
    interrupt: &Interrupt<'_>,
) -> Outcome {
    let source = match ImageRef::parse(&msg.source) {
        Ok(s) => s,
        Err(e) => return failed(format!("invalid image reference in the task: {e}")),
    };
    let config = match parts.catalog.current().await {
        Ok(config) => config,
        Err(e) => {
            tracing::warn!(task = %msg.task, error = %e, "cannot read the stored registries; handing the task back");
            return Outcome::HandBack;
        }
    };
    let source_entry = config.registry_for_host(source.registry());
    let source_reach = Reach::for_host(
        source.registry(),
        source_entry.map(|(_, r)| r),
        config.tls_verify_disabled,
    );
    let asked = Asked {
        side: Side::Source,
        image: &source,
        registry: source_entry.map_or(source.registry(), |(name, _)| name),
        configured: source_entry.is_some(),
        reach: &source_reach,
    };
    let head = match source.digest() {
        Some(d) => SourceHead {
            digest: Some(d.to_owned()),
            ..SourceHead::default()
        },
        None => source_head(parts, &asked).await,
    };
    // The digest the archive holds: the index's for every platform, else the one platform's.
    let digest = match (&head.unchecked, &msg.platform) {
        (Some(_), _) => None,
        (None, None) => head.digest.clone(),
        (None, Some(platform)) => match platform_digest(parts, &asked, &head, platform).await {
            Ok(lookup) => lookup.ok().flatten(),
            Err(error) => return failed(error),
        },
    };

    let path = bundle_file(parts, leg);
    let folder = path.parent().expect("a bundle folder").to_owned();
    if let Err(e) = tokio::fs::create_dir_all(&folder).await {
        return failed(format!(
            "cannot make the bundle folder {}: {e} (is DOCKER_SYNC_DOWNLOADS writable by the worker?)",
            folder.display()
        ));
    }
    let (quota, root) = (parts.settings.quota, parts.settings.downloads.clone());
    match tokio::task::spawn_blocking(move || quota.check_export(&root)).await {
        Ok(Ok(_)) => {}
        Ok(Err(refused)) => return failed(refused.to_string()),
        Err(e) => return failed(format!("checking the downloads quota: {e}")),
    }
    if hold(parts, entry, msg, &asked, head.retry_after, interrupt).await == Hold::Stopping {
        return interrupt.outcome();
    }
    let _slot = tokio::select! {
        biased;
        stopped = interrupt.fired() => return stopped,
        slot = parts.copies.acquire() => slot.expect("the copy semaphore is never closed"),
    };

    let partial = folder.join(format!(".{}.partial", leg.file));
    let _ = tokio::fs::remove_file(&partial).await;
    // The target endpoint is never dialled: the archive takes its place in skopeo's argv. It
    // carries no credentials and no proxy, so neither reaches the authfile or the environment.
    let nowhere = Reach::for_host(source.registry(), None, false);
    let name = docker_name(leg.format, &msg.target);
    let request = CopyRequest {
        source: Endpoint::new(source.clone(), &source_reach),
        target: Endpoint::new(source.clone(), &nowhere),
        platform: msg.platform.clone(),
        // An archive's copy keeps digests by itself (`Skopeo::copy_args`).
        preserve_digests: ArchiveEnd::keeps_digests(leg.format),
        timeout: Duration::from_secs(parts.config.sync.timeout),
        archive: Some(ArchiveEnd::new(
            Direction::Export,
            leg.format,
            &partial,
            name.as_deref(),
        )),
    };
    let copied = copy_with_retries(
        parts,
        entry,
        msg,
        &request,
        &config,
        first_attempt,
        interrupt,
    )
    .await;
    if let Err(ended) = copied {
        let _ = tokio::fs::remove_file(&partial).await;
        return ended;
    }
    match finish_file(&partial, &path).await {
        Ok((size, sha256)) => {
            let fields = [
                (TaskField::File, leg.file.clone()),
                (TaskField::Size, size.to_string()),
                (TaskField::Sha256, sha256),
            ];
            if let Err(e) = parts
                .consumer
                .update(entry, &msg.job, &msg.task, None, &fields)
                .await
            {
                tracing::warn!(task = %msg.task, error = %e, "cannot record the archive's size and checksum");
            }
            Outcome::Succeeded {
                digest,
                unchecked: head.unchecked,
            }
        }
        Err(e) => failed(format!("writing {}: {e}", path.display())),
    }
}

/// What a docker-archive tags its image as, for `docker load`: the target name when it has
/// a tag (a digest alone cannot name an image in a docker-archive).
fn docker_name(format: ArchiveFormat, target: &str) -> Option<String> {
    match format {
        ArchiveFormat::DockerArchive if !target.contains('@') => Some(target.to_owned()),
        _ => None,
    }
}

/// Checksums the complete archive, then gives it its name.
async fn finish_file(partial: &Path, path: &Path) -> std::io::Result<(u64, String)> {
    let sum_of = partial.to_owned();
    let (size, sha256) = tokio::task::spawn_blocking(move || size_and_sha256(&sum_of))
        .await
        .map_err(std::io::Error::other)??;
    tokio::fs::rename(partial, path).await?;
    Ok((size, sha256))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_docker_archive_is_tagged_with_the_target_unless_pinned_by_digest() {
        let docker = ArchiveFormat::DockerArchive;
        assert_eq!(
            docker_name(docker, "mirror/nginx:1.25").as_deref(),
            Some("mirror/nginx:1.25")
        );
        assert_eq!(docker_name(docker, "mirror/nginx@sha256:ab"), None);
        assert_eq!(
            docker_name(ArchiveFormat::OciArchive, "mirror/nginx:1.25"),
            None
        );
    }
}
