//! `manifest.json`: what a bundle holds, written when its job ends and read by the Downloads
//! page, `GET /api/downloads` and an import. `push.sh` checks each file against its `sha256`
//! before it pushes it.

use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::ArchiveFormat;

pub const MANIFEST_FILE: &str = "manifest.json";

/// The manifest's own format: a reader refuses a version it does not know.
pub const MANIFEST_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleManifest {
    pub version: u32,
    /// The export job that wrote it (also the bundle folder's name).
    pub job: String,
    pub created_at_ms: u64,
    pub format: ArchiveFormat,
    pub images: Vec<BundleImage>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleImage {
    /// The image as the job named it (`docker.io/library/nginx:1.25`).
    pub source: String,
    /// Where `push.sh` puts it below the registry it is given: the job's naming rules applied
    /// (`mirror/library/nginx:1.25`).
    pub target: String,
    /// The manifest digest the archive holds (of the index, for a multi-arch OCI archive).
    pub digest: String,
    /// The platform a docker-archive holds; None for every platform (OCI) or a single-platform
    /// image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// The file's name in the bundle folder.
    pub file: String,
    pub size: u64,
    /// Hex SHA-256 of the file, as `sha256sum` prints it.
    pub sha256: String,
}

impl BundleManifest {
    pub fn parse(json: &[u8]) -> Result<BundleManifest, String> {
        let manifest: BundleManifest =
            serde_json::from_slice(json).map_err(|e| format!("{MANIFEST_FILE}: {e}"))?;
        if manifest.version != MANIFEST_VERSION {
            return Err(format!(
                "{MANIFEST_FILE}: version {} is not one this program reads ({MANIFEST_VERSION})",
                manifest.version
            ));
        }
        Ok(manifest)
    }

    pub fn total_size(&self) -> u64 {
        self.images.iter().map(|i| i.size).sum()
    }
}

/// A file's size and hex SHA-256, read in 64 KiB pieces: archives are gigabytes.
pub fn size_and_sha256(path: &Path) -> std::io::Result<(u64, String)> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    let hex: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok((size, hex))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_reads_back_and_an_unknown_version_is_refused() {
        let manifest = BundleManifest {
            version: MANIFEST_VERSION,
            job: "j1".into(),
            created_at_ms: 1,
            format: ArchiveFormat::OciArchive,
            images: vec![BundleImage {
                source: "docker.io/library/nginx:1.25".into(),
                target: "mirror/library/nginx:1.25".into(),
                digest: "sha256:ab".into(),
                platform: None,
                file: "library_nginx_1.25.oci.tar".into(),
                size: 3,
                sha256: "x".into(),
            }],
        };
        let json = serde_json::to_vec(&manifest).unwrap();
        assert!(String::from_utf8_lossy(&json).contains("\"format\":\"oci-archive\""));
        assert_eq!(BundleManifest::parse(&json).unwrap(), manifest);
        let newer = String::from_utf8(json)
            .unwrap()
            .replace("\"version\":1", "\"version\":2");
        assert!(BundleManifest::parse(newer.as_bytes())
            .unwrap_err()
            .contains("version 2"));
    }

    #[test]
    fn size_and_sha256_match_sha256sum() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"abc").unwrap();
        assert_eq!(
            size_and_sha256(&path).unwrap(),
            (
                3,
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad".into()
            )
        );
    }
}
