//! Manifests as the registry API serves them: the media types we accept, what a HEAD and a GET
//! tell, and the entries of a multi-arch index.

use std::sync::Arc;

use crate::image::platform::Platform;

use super::rate_limit::RateLimit;

/// Every manifest type we copy: without the OCI types distribution 2.8 answers 404 for OCI
/// images, and without the list types it converts an index into one platform's manifest.
pub(super) const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.docker.distribution.manifest.v2+json";

/// Media types of a multi-arch image (OCI index, Docker manifest list).
const INDEX_MEDIA_TYPES: [&str; 2] = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];

/// Whether a manifest media type (a `Content-Type`, parameters allowed) is a multi-arch index.
pub fn is_index_media_type(media_type: &str) -> bool {
    let bare = media_type.split(';').next().unwrap_or("").trim();
    INDEX_MEDIA_TYPES
        .iter()
        .any(|t| bare.eq_ignore_ascii_case(t))
}

/// What a manifest HEAD told: the digest (None when there is no such manifest) and the pull
/// limit, when the registry sends one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestHead {
    pub digest: Option<String>,
    /// The manifest's `Content-Type`, when the registry sent one.
    pub media_type: Option<String>,
    pub rate_limit: Option<RateLimit>,
}

/// A manifest as a GET returned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub media_type: Option<String>,
    /// `Docker-Content-Digest`, when sent.
    pub digest: Option<String>,
    pub body: Vec<u8>,
}

/// One entry of an index: a platform's manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    pub digest: String,
    /// None when the entry names no platform.
    pub platform: Option<Platform>,
}

/// What a manifest is, for choosing a platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestKind {
    /// A single image: copied as it is.
    Image,
    /// A multi-arch index (OCI) or manifest list (Docker), its entries in order.
    Index(Arc<Vec<IndexEntry>>),
    /// The registry has no such manifest.
    Missing,
}

/// The entries of `body` when it is an index or manifest list (by `media_type`, its own
/// `mediaType`, or its `manifests` array), None for a single image.
pub fn parse_index(
    media_type: Option<&str>,
    body: &[u8],
) -> Result<Option<Vec<IndexEntry>>, String> {
    #[derive(serde::Deserialize)]
    struct Body {
        #[serde(rename = "mediaType")]
        media_type: Option<String>,
        manifests: Option<Vec<Descriptor>>,
    }
    #[derive(serde::Deserialize)]
    struct Descriptor {
        digest: String,
        platform: Option<PlatformJson>,
    }
    #[derive(serde::Deserialize)]
    struct PlatformJson {
        #[serde(default)]
        os: String,
        #[serde(default)]
        architecture: String,
        variant: Option<String>,
    }
    let parsed: Body = serde_json::from_slice(body).map_err(|e| format!("not a manifest: {e}"))?;
    // An image manifest never has `manifests`; an OCI index may leave its mediaType out.
    let is_index = [media_type, parsed.media_type.as_deref()]
        .into_iter()
        .flatten()
        .any(is_index_media_type)
        || parsed.manifests.is_some();
    if !is_index {
        return Ok(None);
    }
    let entries = parsed
        .manifests
        .ok_or("an index without `manifests`")?
        .into_iter()
        .map(|d| IndexEntry {
            digest: d.digest,
            platform: d.platform.map(|p| {
                let variant = p.variant.filter(|v| !v.is_empty());
                Platform::new(&p.os, &p.architecture, variant.as_deref())
            }),
        })
        .collect();
    Ok(Some(entries))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_and_manifest_lists_are_told_from_single_images() {
        let oci = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",
            "manifests":[
              {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:a","size":1,
               "platform":{"architecture":"amd64","os":"linux"}},
              {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:b","size":1,
               "platform":{"architecture":"arm64","os":"linux","variant":"v8"}},
              {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:c","size":1}]}"#;
        let entries = parse_index(Some("application/vnd.oci.image.index.v1+json"), oci)
            .unwrap()
            .unwrap();
        assert_eq!(
            entries,
            [
                IndexEntry {
                    digest: "sha256:a".into(),
                    platform: Some(Platform::new("linux", "amd64", None))
                },
                IndexEntry {
                    digest: "sha256:b".into(),
                    platform: Some(Platform::new("linux", "arm64", Some("v8")))
                },
                IndexEntry {
                    digest: "sha256:c".into(),
                    platform: None
                },
            ]
        );
        // By its own mediaType when the Content-Type says nothing useful.
        assert!(parse_index(Some("application/json"), oci)
            .unwrap()
            .is_some());
        let list = br#"{"schemaVersion":2,
            "mediaType":"application/vnd.docker.distribution.manifest.list.v2+json",
            "manifests":[{"digest":"sha256:d","platform":{"architecture":"arm","os":"linux","variant":""}}]}"#;
        let entries = parse_index(None, list).unwrap().unwrap();
        assert_eq!(
            entries[0].platform,
            Some(Platform::new("linux", "arm", None))
        );
        // An OCI index may leave mediaType out.
        assert!(parse_index(None, br#"{"schemaVersion":2,"manifests":[]}"#)
            .unwrap()
            .is_some());
        let image =
            br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
            "config":{"digest":"sha256:e"},"layers":[]}"#;
        assert_eq!(
            parse_index(Some("application/vnd.oci.image.manifest.v1+json"), image).unwrap(),
            None
        );
        assert_eq!(parse_index(None, image).unwrap(), None);
        assert!(parse_index(None, b"<html>").is_err());
        assert!(is_index_media_type(
            "application/vnd.docker.distribution.manifest.list.v2+json; charset=utf-8"
        ));
        assert!(!is_index_media_type(
            "application/vnd.docker.distribution.manifest.v2+json"
        ));
    }
}
