//! The preview's look at each source image: does the source have it (a manifest `HEAD`, which
//! Docker Hub does not count as a pull), and, when the job copies one platform, is that platform
//! in its index. A job would find out only when its task fails; the preview says so first.

use std::collections::HashMap;

use docker_sync_common::config::Config;
use docker_sync_common::image::{ImageRef, Platform};
use docker_sync_common::registry::{ManifestKind, Reach, RegistryClient};
use futures::StreamExt;
use serde::Serialize;

/// Images looked at per preview at most: a preview of 10,000 images checks the first ones.
pub const CHECKED: usize = 200;
const AT_ONCE: usize = 8;

/// What the source said of one image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum SourceState {
    /// The source has it (and the platform asked for, when one was).
    Present,
    /// The source has no such tag or digest.
    Missing,
    /// The image is a multi-arch index without the platform asked for.
    NoPlatform,
    /// The check could not run (the registry did not answer, refused us, ...): says why.
    Unknown { reason: String },
}

/// The state of each source (by its reference) of `images`, the first [`CHECKED`] of them.
pub async fn check(
    client: &RegistryClient,
    config: &Config,
    images: &[&ImageRef],
    platform: Option<&Platform>,
) -> HashMap<String, SourceState> {
    // Owned images: a closure over borrowed ones makes the handler's future not `Send` for
    // every lifetime (rust-lang/rust#102211).
    let mut distinct: Vec<ImageRef> = Vec::new();
    for image in images {
        if distinct.len() >= CHECKED {
            break;
        }
        if !distinct.iter().any(|d| d == *image) {
            distinct.push((*image).clone());
        }
    }
    futures::stream::iter(distinct)
        .map(|image| async move {
            let state = one(client, config, &image, platform).await;
            (image.to_string(), state)
        })
        .buffer_unordered(AT_ONCE)
        .collect()
        .await
}

async fn one(
    client: &RegistryClient,
    config: &Config,
    image: &ImageRef,
    platform: Option<&Platform>,
) -> SourceState {
    let host = image.registry();
    let entry = config.registry_for_host(host);
    let reach = Reach::for_host(host, entry.map(|(_, r)| r), config.tls_verify_disabled);
    let reference = image
        .digest()
        .or(image.tag())
        .unwrap_or("latest")
        .to_owned();
    let head = match client
        .manifest_head(&reach, image.repository(), &reference)
        .await
    {
        Ok(head) => head,
        Err(e) => {
            return SourceState::Unknown {
                reason: e.to_string(),
            }
        }
    };
    let Some(digest) = head.digest.or_else(|| image.digest().map(str::to_owned)) else {
        return SourceState::Missing;
    };
    let Some(platform) = platform else {
        return SourceState::Present;
    };
    match client
        .manifest_kind(&reach, image.repository(), &digest)
        .await
    {
        Ok(ManifestKind::Index(entries)) => {
            match platform.choose(&entries, |e| e.platform.as_ref()) {
                Some(_) => SourceState::Present,
                None => SourceState::NoPlatform,
            }
        }
        Ok(ManifestKind::Image) => SourceState::Present,
        Ok(ManifestKind::Missing) => SourceState::Missing,
        Err(e) => SourceState::Unknown {
            reason: e.to_string(),
        },
    }
}
