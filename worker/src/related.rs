//! With signatures: after the image is at the target (copied or skipped), its cosign tags
//! (`sha256-<hex>.sig`, `.att`, `.sbom`) and OCI 1.1 referrers go there too, each skipped when
//! the target has it with the same digest, so a re-sync fills in only what is missing.
//!
//! What is found and how each item is copied is [`related`]'s (common's `registry::referrers`):
//! skopeo with `--preserve-digests` by tag or by digest, the referrers tag's index as the
//! source's bytes. A target without the referrers API (distribution 2.8) finds referrers only
//! through that tag, so when the source listed them through its API the worker writes the tag
//! at the target itself, merged with whatever index is there already.

use std::time::Duration;

use docker_sync_common::image::ImageRef;
use docker_sync_common::queue::task::{TaskField, TaskMessage};
use docker_sync_common::queue::Entry;
use docker_sync_common::registry::referrers::digest_tag;
use docker_sync_common::registry::{
    has_referrers_api, merge_referrers_index, related, CopyBy, CosignSuffix, Reach, Related,
    RelatedKind,
};
use tokio::sync::mpsc;

use crate::failure::{backoff, is_permanent};
use crate::parts::Parts;
use crate::skopeo::{CopyError, CopyRequest, Endpoint};
use crate::step::Interrupt;

const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// The image on both sides, reached as the image copy reached them.
pub(crate) struct Sides<'a> {
    pub source: &'a ImageRef,
    pub target: &'a ImageRef,
    pub source_reach: &'a Reach,
    pub target_reach: &'a Reach,
}

/// How the signatures step ended when it did not finish.
#[derive(Debug)]
pub(crate) enum Stopped {
    /// The error names the item and says the image itself is at the target.
    Failed(String),
    Cancelled,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Counts {
    copied: u32,
    skipped: u32,
}

/// Copies what belongs to the image of `digest` (the manifest the target now holds: the index,
/// or the one platform's manifest) and records the counts on the task, also when it fails part
/// way (what was copied stays copied).
pub(crate) async fn copy_related(
    parts: &Parts,
    entry: &Entry,
    msg: &TaskMessage,
    sides: &Sides<'_>,
    digest: &str,
    interrupt: &Interrupt<'_>,
) -> Result<(), Stopped> {
    let mut counts = Counts::default();
    let result = copy_all(parts, msg, sides, digest, interrupt, &mut counts).await;
    let fields = [
        (TaskField::RelatedCopied, counts.copied.to_string()),
        (TaskField::RelatedSkipped, counts.skipped.to_string()),
    ];
    if let Err(e) = parts
        .consumer
        .update(entry, &msg.job, &msg.task, None, &fields)
        .await
    {
        tracing::warn!(task = %msg.task, error = %e, "cannot record the signature counts");
    }
    if result.is_ok() {
        crate::task_log::note(
            parts,
            msg,
            format!(
                "signatures and referrers: {} copied, {} at the target already",
                counts.copied, counts.skipped
            ),
        )
        .await;
    }
    result
}

async fn copy_all(
    parts: &Parts,
    msg: &TaskMessage,
    sides: &Sides<'_>,
    digest: &str,
    interrupt: &Interrupt<'_>,
    counts: &mut Counts,
) -> Result<(), Stopped> {
    let (source_repo, target_repo) = (sides.source.repository(), sides.target.repository());
    let found = related(&parts.registry, sides.source_reach, source_repo, digest)
        .await
        .map_err(|e| {
            Stopped::Failed(format!(
                "the image is at the target, but its signatures and referrers could not be \
                 listed at the source ({}@{digest}): {e}",
                sides.source.name()
            ))
        })?;
    // In related()'s order: an index is written after the manifests it lists.
    for item in &found {
        if interrupt.cancel.is_cancelled() {
            return Err(Stopped::Cancelled);
        }
        let copied = copy_one(parts, sides, item, &found, interrupt)
            .await
            .map_err(|e| match e {
                Stopped::Failed(why) => Stopped::Failed(item_failed(sides, item, &why)),
                cancelled => cancelled,
            })?;
        let what = describe(item);
        let line = if copied {
            counts.copied += 1;
            format!("{what} {}: copied", item.digest)
        } else {
            counts.skipped += 1;
            format!("{what} {}: at the target already", item.digest)
        };
        crate::task_log::note(parts, msg, line).await;
    }
    // Listed by the source's referrers API: a target without one needs the referrers tag.
    let listed_by_api = !found.iter().any(|r| r.kind == RelatedKind::ReferrersTag);
    let descriptors: Vec<String> = found.iter().filter_map(|r| r.descriptor.clone()).collect();
    if listed_by_api && !descriptors.is_empty() {
        let built = referrers_tag(parts, sides, target_repo, digest, &descriptors)
            .await
            .map_err(|why| {
                Stopped::Failed(format!(
                    "the image and its referrers are at the target, but the referrers tag \
                     {}:{} listing them could not be written: {why}",
                    sides.target.name(),
                    digest_tag(digest).unwrap_or_default()
                ))
            })?;
        match built {
            Some(written) => {
                counts.copied += 1;
                crate::task_log::note(
                    parts,
                    msg,
                    format!("referrers tag {written}: written (the target has no referrers API)"),
                )
                .await;
            }
            None => counts.skipped += 1,
        }
    }
    Ok(())
}

/// Whether `item` had to be copied (false: the target has it with the same digest).
async fn copy_one(
    parts: &Parts,
    sides: &Sides<'_>,
    item: &Related,
    found: &[Related],
    interrupt: &Interrupt<'_>,
) -> Result<bool, Stopped> {
    let target_repo = sides.target.repository();
    let at_target = parts
        .registry
        .manifest_head(sides.target_reach, target_repo, item.reference())
        .await
        .map_err(|e| Stopped::Failed(format!("cannot look it up at the target: {e}")))?
        .digest;
    match (&item.copy, at_target) {
        (CopyBy::Digest, Some(_)) => return Ok(false),
        (CopyBy::Tag(_) | CopyBy::ManifestBytes(_), Some(d)) if d == item.digest => {
            return Ok(false)
        }
        (CopyBy::ManifestBytes(tag), _) => {
            return put_referrers_tag(parts, sides, tag, item, found)
                .await
                .map_err(Stopped::Failed)
        }
        _ => {}
    }
    let (source, target) = match &item.copy {
        CopyBy::Tag(tag) => (with_tag(sides.source, tag), with_tag(sides.target, tag)),
        _ => (
            by_digest(sides.source, &item.digest),
            by_digest(sides.target, &item.digest),
        ),
    };
    let (source, target) = match (source, target) {
        (Ok(s), Ok(t)) => (s, t),
        (Err(e), _) | (_, Err(e)) => return Err(Stopped::Failed(e)),
    };
    let request = CopyRequest {
        source: Endpoint::new(source, sides.source_reach),
        target: Endpoint::new(target, sides.target_reach),
        platform: None,
        preserve_digests: true,
        timeout: Duration::from_secs(parts.config.sync.timeout),
        archive: None,
    };
    skopeo_copy(parts, &request, interrupt).await?;
    let written = parts
        .registry
        .manifest_head(sides.target_reach, target_repo, item.reference())
        .await
        .map_err(|e| Stopped::Failed(format!("copied, but cannot be read back: {e}")))?
        .digest;
    match written {
        Some(d) if d == item.digest => Ok(true),
        other => Err(Stopped::Failed(format!(
            "copied, but the target has {} instead",
            other.as_deref().unwrap_or("nothing")
        ))),
    }
}

/// One skopeo copy with the image copy's retries; a copy slot only while skopeo runs.
async fn skopeo_copy(
    parts: &Parts,
    request: &CopyRequest,
    interrupt: &Interrupt<'_>,
) -> Result<(), Stopped> {
    let retries = parts.config.sync.retry_count;
    for n in 0..=retries {
        let result = {
            let _slot = tokio::select! {
                biased;
                _ = interrupt.cancel.cancelled() => return Err(Stopped::Cancelled),
                slot = parts.copies.acquire() => slot.expect("the copy semaphore is never closed"),
            };
            // The lines of a small manifest copy are not worth the task log; errors carry them.
            let (tx, _rx) = mpsc::unbounded_channel();
            parts.skopeo.copy(request, tx, interrupt.cancel).await
        };
        match result {
            Ok(()) => return Ok(()),
            Err(CopyError::Cancelled) => return Err(Stopped::Cancelled),
            Err(e) if n < retries && !is_permanent(&e) => {
                tokio::select! {
                    _ = interrupt.cancel.cancelled() => return Err(Stopped::Cancelled),
                    _ = tokio::time::sleep(backoff(parts.settings.retry_backoff, n)) => {}
                }
            }
            Err(e) => return Err(Stopped::Failed(e.to_string())),
        }
    }
    unreachable!("the last attempt returns")
}

/// The referrers tag of a source without the API, at a target whose tag differs: the source's
/// bytes when the target has none (the digest stays equal), else the target's index with the
/// source's entries added. Whether anything was written.
async fn put_referrers_tag(
    parts: &Parts,
    sides: &Sides<'_>,
    tag: &str,
    item: &Related,
    found: &[Related],
) -> Result<bool, String> {
    let source = parts
        .registry
        .manifest(sides.source_reach, sides.source.repository(), tag)
        .await
        .map_err(|e| format!("cannot read it at the source: {e}"))?
        .ok_or("gone from the source")?;
    let existing = parts
        .registry
        .manifest(sides.target_reach, sides.target.repository(), tag)
        .await
        .map_err(|e| format!("cannot read the target's: {e}"))?;
    // The source's own bytes keep its digest; a merged index cannot.
    let exact = existing.is_none();
    let (body, media_type) = match existing {
        None => (
            source.body,
            source.media_type.unwrap_or_else(|| OCI_INDEX.to_owned()),
        ),
        Some(there) => {
            let descriptors: Vec<String> =
                found.iter().filter_map(|r| r.descriptor.clone()).collect();
            match merge_referrers_index(Some(&there.body), &descriptors)
                .map_err(|why| format!("the target's tag: {why}"))?
            {
                None => return Ok(false),
                Some(merged) => (merged, OCI_INDEX.to_owned()),
            }
        }
    };
    let written = parts
        .registry
        .put_manifest(
            sides.target_reach,
            sides.target.repository(),
            tag,
            &media_type,
            &body,
        )
        .await
        .map_err(|e| e.to_string())?;
    if exact && written != item.digest {
        return Err(format!("written, but the target gives it digest {written}"));
    }
    Ok(true)
}

/// The referrers tag written at a target without the referrers API, for referrers the source
/// listed through its API. The tag, when it was written; None when it listed them already.
async fn referrers_tag(
    parts: &Parts,
    sides: &Sides<'_>,
    repo: &str,
    digest: &str,
    descriptors: &[String],
) -> Result<Option<String>, String> {
    let reach = sides.target_reach;
    if has_referrers_api(&parts.registry, reach, repo, digest)
        .await
        .map_err(|e| e.to_string())?
    {
        return Ok(None);
    }
    let tag = digest_tag(digest).map_err(|e| e.to_string())?;
    let existing = parts
        .registry
        .manifest(reach, repo, &tag)
        .await
        .map_err(|e| e.to_string())?;
    let Some(body) = merge_referrers_index(existing.as_ref().map(|m| &m.body[..]), descriptors)?
    else {
        return Ok(None);
    };
    parts
        .registry
        .put_manifest(reach, repo, &tag, OCI_INDEX, &body)
        .await
        .map_err(|e| e.to_string())?;
    Ok(Some(tag))
}

fn with_tag(image: &ImageRef, tag: &str) -> Result<ImageRef, String> {
    image.with_tag(tag).map_err(|e| e.to_string())
}

fn by_digest(image: &ImageRef, digest: &str) -> Result<ImageRef, String> {
    ImageRef::from_parts(image.registry(), image.repository(), None, Some(digest))
        .map_err(|e| e.to_string())
}

/// What the item is, for the task log and errors.
fn describe(item: &Related) -> String {
    match &item.kind {
        RelatedKind::Cosign(CosignSuffix::Sig) => format!("signature {}", item.reference()),
        RelatedKind::Cosign(CosignSuffix::Att) => format!("attestation {}", item.reference()),
        RelatedKind::Cosign(CosignSuffix::Sbom) => format!("SBOM {}", item.reference()),
        RelatedKind::Referrer {
            artifact_type: Some(t),
        } => format!("referrer ({t})"),
        RelatedKind::Referrer {
            artifact_type: None,
        } => "referrer".to_owned(),
        RelatedKind::ReferrersTag => format!("referrers tag {}", item.reference()),
    }
}

fn item_failed(sides: &Sides<'_>, item: &Related, why: &str) -> String {
    format!(
        "the image is at the target, but its {} ({}) could not be copied to {}: {why}",
        describe(item),
        item.digest,
        sides.target.name()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_names_the_item_and_says_the_image_is_there() {
        let (s, t) = (
            ImageRef::parse("src.example/a/b:1").unwrap(),
            ImageRef::parse("dst.example/m/b:1").unwrap(),
        );
        let reach = Reach::for_host("dst.example", None, false);
        let sides = Sides {
            source: &s,
            target: &t,
            source_reach: &reach,
            target_reach: &reach,
        };
        let item = Related {
            kind: RelatedKind::Cosign(CosignSuffix::Att),
            digest: "sha256:ab".into(),
            media_type: None,
            copy: CopyBy::Tag("sha256-cd.att".into()),
            descriptor: None,
        };
        assert_eq!(
            item_failed(&sides, &item, "denied"),
            "the image is at the target, but its attestation sha256-cd.att (sha256:ab) could \
             not be copied to dst.example/m/b: denied"
        );
    }
}
