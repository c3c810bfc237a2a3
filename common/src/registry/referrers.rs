//! An image's signatures and referrers: what [`related`] finds for one manifest digest, and how
//! each of them is copied so that its digest stays the same.
//!
//! Two conventions exist side by side:
//!
//! - **cosign tags**: `sha256-<hex>.sig`, `.att`, `.sbom` in the image's repository. Found with
//!   one `HEAD` each (listing every tag of a repository with thousands of them would cost more);
//! - **OCI 1.1 referrers**: manifests whose `subject` is the image, listed by
//!   `GET /v2/<name>/referrers/<digest>`. A registry without that API (distribution 2.8 answers
//!   404) keeps them in the *referrers tag schema*: an index at tag `sha256-<hex>` whose
//!   `manifests` are the referrers. That tag is itself something to copy, since a target without
//!   the API finds referrers only through it.
//!
//! # Copying with skopeo 1.9 (Debian's 1.9.3), found by experiment against distribution 2.8
//!
//! - A cosign tag: `skopeo copy --preserve-digests docker://src/repo:sha256-<hex>.sig
//!   docker://dst/repo:sha256-<hex>.sig` (no `--format`, no `--all`). The manifest arrives byte
//!   for byte, digest equal; `--preserve-digests` makes skopeo fail rather than re-encode.
//! - A referrer, by digest: `skopeo copy --preserve-digests docker://src/repo@sha256:<d>
//!   docker://dst/repo@sha256:<d>`. skopeo 1.9 does push a manifest by digest, blobs (including
//!   the `application/vnd.oci.empty.v1+json` config) and all; `subject` and `artifactType` are
//!   kept, the digest is equal.
//! - The referrers tag's index: **no skopeo invocation copies it faithfully.** skopeo 1.9 (its
//!   c/image 5.23 OCI index type has no `artifactType`) re-serializes the index without the
//!   entries' `artifactType`:
//!   - `copy --all` writes an index with a different digest;
//!   - `copy --all --preserve-digests` (and `--multi-arch index-only`) fails with "Manifest list
//!     must be converted to type application/vnd.oci.image.index.v1+json ... Instructed to
//!     preserve digests";
//!   - without `--all` it quietly copies one referrer manifest *to the tag*, replacing the index.
//!
//!   So it is copied as bytes: `GET` the index from the source, `PUT` the same bytes with its
//!   `Content-Type` at the same tag on the target, after its referrers (distribution refuses an
//!   index whose manifests it does not hold). An index has no blobs, so nothing else is needed.
//!   ([`CopyBy::ManifestBytes`]; `RegistryClient` has no PUT yet, see the open point there.)

use reqwest::{Method, StatusCode};

use super::error::status_error;
use super::{is_index_media_type, Reach, RegistryClient, RegistryError};

/// The cosign tag suffixes, in the order they are looked up.
pub const COSIGN_SUFFIXES: [CosignSuffix; 3] =
    [CosignSuffix::Sig, CosignSuffix::Att, CosignSuffix::Sbom];

const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// Which cosign tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CosignSuffix {
    /// `.sig`: signatures.
    Sig,
    /// `.att`: attestations (DSSE envelopes).
    Att,
    /// `.sbom`: an attached SBOM.
    Sbom,
}

impl CosignSuffix {
    pub fn as_str(self) -> &'static str {
        match self {
            CosignSuffix::Sig => "sig",
            CosignSuffix::Att => "att",
            CosignSuffix::Sbom => "sbom",
        }
    }
}

/// What a related manifest is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RelatedKind {
    /// A cosign tag.
    Cosign(CosignSuffix),
    /// An OCI 1.1 referrer (its `subject` is the image); `artifactType` as the listing gave it.
    Referrer { artifact_type: Option<String> },
    /// The referrers tag schema's index (`sha256-<hex>`) on a registry without the API.
    ReferrersTag,
}

/// How a related manifest is copied so that its digest is the same at the target.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CopyBy {
    /// `skopeo copy --preserve-digests docker://src/repo:<tag> docker://dst/repo:<tag>`.
    Tag(String),
    /// `skopeo copy --preserve-digests docker://src/repo@<digest> docker://dst/repo@<digest>`.
    Digest,
    /// The source's bytes `PUT` at this tag on the target: skopeo 1.9 cannot copy it unchanged.
    ManifestBytes(String),
}

/// One manifest that belongs to an image.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Related {
    pub kind: RelatedKind,
    /// `sha256:<hex>`: what the skip-by-digest check compares at the target.
    pub digest: String,
    pub media_type: Option<String>,
    pub copy: CopyBy,
    /// A referrer's entry as its listing gave it (JSON): what a target without the referrers
    /// API lists in its referrers tag. None for the other kinds.
    pub descriptor: Option<String>,
}

impl Related {
    /// What follows `docker://host/repo` in skopeo's reference: `:tag` or `@digest`.
    pub fn skopeo_suffix(&self) -> String {
        match &self.copy {
            CopyBy::Tag(tag) | CopyBy::ManifestBytes(tag) => format!(":{tag}"),
            CopyBy::Digest => format!("@{}", self.digest),
        }
    }

    /// An index (a referrer may be one): skopeo copies it only with `--all`, and, as with the
    /// referrers tag (the same re-encoding), fails with `--preserve-digests` if its entries carry
    /// `artifactType`.
    pub fn is_index(&self) -> bool {
        self.media_type.as_deref().is_some_and(is_index_media_type)
    }

    /// The reference a manifest HEAD at the target asks for, to skip it when its digest is there.
    pub fn reference(&self) -> &str {
        match &self.copy {
            CopyBy::Tag(tag) | CopyBy::ManifestBytes(tag) => tag,
            CopyBy::Digest => &self.digest,
        }
    }
}

/// `sha256-<hex>`: the tag both conventions derive from a digest (the referrers tag schema also
/// cuts it to 128 characters, which no sha256 or sha512 digest reaches).
pub fn digest_tag(digest: &str) -> Result<String, RegistryError> {
    match digest.split_once(':') {
        Some((alg, hex))
            if !alg.is_empty()
                && !hex.is_empty()
                && alg.bytes().all(|b| b.is_ascii_alphanumeric())
                && hex.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            let tag = format!("{alg}-{hex}");
            Ok(tag[..tag.len().min(128)].to_owned())
        }
        _ => Err(RegistryError::Invalid {
            url: digest.to_owned(),
            reason: "not a manifest digest `<algorithm>:<hex>`".into(),
        }),
    }
}

/// Every signature, attestation, SBOM and referrer of `repo@digest`: the cosign tags first, then
/// the referrers, then the referrers tag (which must be written after the manifests it lists).
pub async fn related(
    client: &RegistryClient,
    reach: &Reach,
    repo: &str,
    digest: &str,
) -> Result<Vec<Related>, RegistryError> {
    let tag = digest_tag(digest)?;
    let mut found = Vec::new();
    for suffix in COSIGN_SUFFIXES {
        let cosign_tag = format!("{tag}.{}", suffix.as_str());
        let head = client.manifest_head(reach, repo, &cosign_tag).await?;
        if let Some(d) = head.digest {
            found.push(Related {
                kind: RelatedKind::Cosign(suffix),
                digest: d,
                media_type: head.media_type,
                copy: CopyBy::Tag(cosign_tag),
                descriptor: None,
            });
        }
    }
    if let Some(listed) = referrers_api(client, reach, repo, digest).await? {
        found.extend(listed.into_iter().map(Referrer::related));
        return Ok(found);
    }
    let Some(index) = client.manifest(reach, repo, &tag).await? else {
        return Ok(found);
    };
    let url = format!("{}/v2/{repo}/manifests/{tag}", reach.host);
    let listed = parse_referrers(&index.body)
        .ok_or_else(|| RegistryError::Invalid {
            url: url.clone(),
            reason: "the referrers tag is not an image index".into(),
        })?
        .map_err(|reason| RegistryError::Invalid { url, reason })?;
    found.extend(listed.into_iter().map(Referrer::related));
    found.push(Related {
        kind: RelatedKind::ReferrersTag,
        digest: index.digest.unwrap_or_else(|| sha256_of(&index.body)),
        media_type: index.media_type,
        copy: CopyBy::ManifestBytes(tag),
        descriptor: None,
    });
    Ok(found)
}

/// `sha256:<hex>` of a manifest whose registry sent no `Docker-Content-Digest`.
fn sha256_of(body: &[u8]) -> String {
    use sha2::Digest as _;
    let hash = sha2::Sha256::digest(body);
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// The referrers API's answer, or None when the registry has no such API: a 404 (distribution
/// 2.8), a 400/405/501 of a registry that does not route it, or a 200 that is not an index.
async fn referrers_api(
    client: &RegistryClient,
    reach: &Reach,
    repo: &str,
    digest: &str,
) -> Result<Option<Vec<Referrer>>, RegistryError> {
    let path = format!("/v2/{repo}/referrers/{digest}");
    let sent = client
        .send(reach, repo, Method::GET, &path, Some(OCI_INDEX))
        .await?;
    let resp = sent.response;
    match resp.status() {
        s if s.is_success() => {}
        StatusCode::NOT_FOUND
        | StatusCode::BAD_REQUEST
        | StatusCode::METHOD_NOT_ALLOWED
        | StatusCode::NOT_IMPLEMENTED => return Ok(None),
        _ => return Err(status_error(resp, &format!("{}{path}", sent.base)).await),
    }
    let body = resp.bytes().await?;
    match parse_referrers(&body) {
        None => Ok(None),
        Some(parsed) => parsed.map(Some).map_err(|reason| RegistryError::Invalid {
            url: format!("{}{path}", sent.base),
            reason,
        }),
    }
}

/// One entry of a referrers index.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Referrer {
    #[serde(rename = "mediaType")]
    pub media_type: Option<String>,
    pub digest: String,
    #[serde(rename = "artifactType")]
    pub artifact_type: Option<String>,
    /// The whole entry, annotations and all.
    #[serde(skip)]
    pub descriptor: String,
}

impl Referrer {
    fn related(self) -> Related {
        Related {
            kind: RelatedKind::Referrer {
                artifact_type: self.artifact_type,
            },
            digest: self.digest,
            media_type: self.media_type,
            copy: CopyBy::Digest,
            descriptor: Some(self.descriptor),
        }
    }
}

/// The entries of a referrers index (the API's answer or the referrers tag). None when `body` is
/// not an image index at all; an error when it is one with entries we cannot read.
pub fn parse_referrers(body: &[u8]) -> Option<Result<Vec<Referrer>, String>> {
    #[derive(serde::Deserialize)]
    struct Index {
        #[serde(rename = "mediaType")]
        media_type: Option<String>,
        manifests: Option<Vec<serde_json::Value>>,
    }
    let index: Index = serde_json::from_slice(body).ok()?;
    let typed_as_index = index.media_type.as_deref().is_some_and(is_index_media_type);
    if index.media_type.is_some() && !typed_as_index {
        return None;
    }
    let manifests = index.manifests?;
    Some(
        manifests
            .into_iter()
            .map(|m| {
                let descriptor = m.to_string();
                serde_json::from_value::<Referrer>(m)
                    .map(|r| Referrer { descriptor, ..r })
                    .map_err(|e| format!("a referrers entry without a digest: {e}"))
            })
            .collect(),
    )
}

/// Whether `repo` on this registry answers the referrers API for `digest`: a target without it
/// (distribution 2.8) finds referrers only through the referrers tag.
pub async fn has_referrers_api(
    client: &RegistryClient,
    reach: &Reach,
    repo: &str,
    digest: &str,
) -> Result<bool, RegistryError> {
    Ok(referrers_api(client, reach, repo, digest).await?.is_some())
}

/// The referrers tag's index with `entries` (descriptors as JSON) added to what `existing` lists:
/// an entry of the same digest is not added twice and no existing entry is dropped (another
/// tool may have put it there). None when `existing` lists every entry already. An `existing`
/// that is not an index is an error: overwriting it would lose whatever it is.
pub fn merge_referrers_index(
    existing: Option<&[u8]>,
    entries: &[String],
) -> Result<Option<Vec<u8>>, String> {
    let mut index: serde_json::Value = match existing {
        Some(body) => {
            parse_referrers(body).ok_or("the tag holds something that is not an image index")??;
            serde_json::from_slice(body).map_err(|e| e.to_string())?
        }
        None => serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}),
    };
    let manifests = index
        .get_mut("manifests")
        .and_then(serde_json::Value::as_array_mut)
        .ok_or("the index has no `manifests` list")?;
    let mut added = false;
    for entry in entries {
        let entry: serde_json::Value =
            serde_json::from_str(entry).map_err(|e| format!("a referrer's descriptor: {e}"))?;
        let digest = entry.get("digest");
        if digest.is_some() && manifests.iter().any(|m| m.get("digest") == digest) {
            continue;
        }
        manifests.push(entry);
        added = true;
    }
    Ok(added.then(|| serde_json::to_vec(&index).expect("JSON values serialise")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_referrers_index_is_merged_without_dropping_or_doubling_entries() {
        let a = r#"{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:aa","size":1,"artifactType":"x/a"}"#;
        let b = r#"{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:bb","size":2,"annotations":{"k":"v"}}"#;
        let fresh = merge_referrers_index(None, &[a.to_owned()])
            .unwrap()
            .unwrap();
        let listed = parse_referrers(&fresh).unwrap().unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].artifact_type.as_deref(), Some("x/a"));
        assert_eq!(
            merge_referrers_index(Some(&fresh), &[a.to_owned()]),
            Ok(None),
            "listed already: nothing to write"
        );
        let both = merge_referrers_index(Some(&fresh), &[b.to_owned(), a.to_owned()])
            .unwrap()
            .unwrap();
        let digests: Vec<String> = parse_referrers(&both)
            .unwrap()
            .unwrap()
            .into_iter()
            .map(|r| r.digest)
            .collect();
        assert_eq!(digests, ["sha256:aa", "sha256:bb"]);
        let value: serde_json::Value = serde_json::from_slice(&both).unwrap();
        assert_eq!(value["manifests"][1]["annotations"]["k"], "v");
        let image = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[]}"#;
        assert!(merge_referrers_index(Some(image), &[a.to_owned()]).is_err());
    }

    /// The example answer of `GET /v2/<name>/referrers/<digest>` in the OCI distribution spec
    /// 1.1 ("Listing Referrers"), digests filled out to full length.
    const SPEC_EXAMPLE: &str = r#"{
      "schemaVersion": 2,
      "mediaType": "application/vnd.oci.image.index.v1+json",
      "manifests": [
        {
          "mediaType": "application/vnd.oci.image.manifest.v1+json",
          "size": 1234,
          "digest": "sha256:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1",
          "artifactType": "application/vnd.example.sbom.v1",
          "annotations": {
            "org.opencontainers.image.created": "2022-01-01T14:42:55Z",
            "org.example.sbom.format": "json"
          }
        },
        {
          "mediaType": "application/vnd.oci.image.manifest.v1+json",
          "size": 1234,
          "digest": "sha256:a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2",
          "artifactType": "application/vnd.example.signature.v1",
          "annotations": {
            "org.opencontainers.image.created": "2022-01-01T07:21:33Z",
            "org.example.signature.fingerprint": "abcd"
          }
        },
        {
          "mediaType": "application/vnd.oci.image.index.v1+json",
          "size": 1234,
          "digest": "sha256:a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3",
          "annotations": {
            "org.opencontainers.image.created": "2023-01-01T07:21:33Z"
          }
        }
      ]
    }"#;

    #[test]
    fn the_spec_example_lists_three_referrers_copied_by_digest() {
        let listed = parse_referrers(SPEC_EXAMPLE.as_bytes()).unwrap().unwrap();
        let related: Vec<Related> = listed.into_iter().map(Referrer::related).collect();
        assert_eq!(related.len(), 3);
        assert_eq!(
            related[0],
            Related {
                kind: RelatedKind::Referrer {
                    artifact_type: Some("application/vnd.example.sbom.v1".into())
                },
                digest: format!("sha256:{}", "a1".repeat(32)),
                media_type: Some("application/vnd.oci.image.manifest.v1+json".into()),
                copy: CopyBy::Digest,
                descriptor: related[0].descriptor.clone(),
            }
        );
        let entry: serde_json::Value =
            serde_json::from_str(related[0].descriptor.as_deref().unwrap()).unwrap();
        assert_eq!(entry["annotations"]["org.example.sbom.format"], "json");
        assert_eq!(
            related[1].kind,
            RelatedKind::Referrer {
                artifact_type: Some("application/vnd.example.signature.v1".into())
            }
        );
        assert_eq!(
            related[1].skopeo_suffix(),
            format!("@sha256:{}", "a2".repeat(32))
        );
        // An index may refer to an image too; without an artifactType of its own it has none.
        assert_eq!(
            related[2].kind,
            RelatedKind::Referrer {
                artifact_type: None
            }
        );
        assert!(related[2].is_index() && !related[0].is_index());
    }

    #[test]
    fn an_empty_index_is_no_referrers_and_other_answers_are_no_api() {
        let empty = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#;
        assert_eq!(parse_referrers(empty), Some(Ok(vec![])));
        // An OCI index may leave its mediaType out.
        assert_eq!(
            parse_referrers(br#"{"schemaVersion":2,"manifests":[]}"#),
            Some(Ok(vec![]))
        );
        assert_eq!(parse_referrers(b"404 page not found\n"), None);
        let image =
            br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
            "config":{"digest":"sha256:e"},"layers":[]}"#;
        assert_eq!(parse_referrers(image), None);
        assert!(parse_referrers(br#"{"manifests":[{"size":1}]}"#)
            .unwrap()
            .is_err());
    }

    #[test]
    fn tags_come_from_the_digest() {
        let hex = "ab".repeat(32);
        assert_eq!(
            digest_tag(&format!("sha256:{hex}")).unwrap(),
            format!("sha256-{hex}")
        );
        for bad in ["latest", "sha256:", ":abc", "sha256:xyz", "sha256:ab/../c"] {
            assert!(digest_tag(bad).is_err(), "{bad}");
        }
        let cosign = Related {
            kind: RelatedKind::Cosign(CosignSuffix::Att),
            digest: "sha256:00".into(),
            media_type: None,
            copy: CopyBy::Tag(format!("sha256-{hex}.att")),
            descriptor: None,
        };
        assert_eq!(cosign.skopeo_suffix(), format!(":sha256-{hex}.att"));
        assert_eq!(cosign.reference(), format!("sha256-{hex}.att"));
    }
}
