//! Small deterministic OCI images: built as an OCI image layout in a temp dir, pushed with skopeo.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::Command;

use flate2::write::GzEncoder;
use flate2::Compression;
use serde_json::json;
use sha2::{Digest, Sha256};
use tempfile::TempDir;

use crate::registry::basic_auth;
use crate::{require_tool, Registry};

const MEDIA_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const MEDIA_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const MEDIA_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const MEDIA_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// One image layer: a gzip'd tar holding one file of `size` pseudo-random (incompressible) bytes
/// derived from `seed`. Equal specs give byte-identical blobs (same digest) in any process.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LayerSpec {
    pub seed: String,
    pub size: usize,
}

impl LayerSpec {
    pub fn new(seed: &str, size: usize) -> LayerSpec {
        LayerSpec {
            seed: seed.to_string(),
            size,
        }
    }
}

/// An image platform (`os/architecture` or `os/architecture/variant`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl Platform {
    pub fn new(os: &str, architecture: &str) -> Platform {
        Platform {
            os: os.to_string(),
            architecture: architecture.to_string(),
            variant: None,
        }
    }

    /// `os/architecture` or `os/architecture/variant`
    pub fn name(&self) -> String {
        match &self.variant {
            Some(v) => format!("{}/{}/{v}", self.os, self.architecture),
            None => format!("{}/{}", self.os, self.architecture),
        }
    }
}

/// What to build. With one platform the image is a single OCI manifest; with several it is an
/// OCI image index with one manifest per platform. All platforms share every layer except the
/// last (top) one, whose seed is suffixed with `@os/arch` per platform so that each platform's
/// image (and digest) differs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageSpec {
    pub layers: Vec<LayerSpec>,
    pub platforms: Vec<Platform>,
}

impl ImageSpec {
    /// A linux/amd64 image with two layers of `layer_bytes` each: a base layer from `base_seed`
    /// (shared by every image built with the same base seed and size) and a unique one.
    pub fn single(base_seed: &str, unique_seed: &str, layer_bytes: usize) -> ImageSpec {
        ImageSpec::multi_arch(base_seed, unique_seed, layer_bytes, &[("linux", "amd64")])
    }

    /// Like [`ImageSpec::single`], for each `(os, architecture)`; with more than one platform the
    /// result is an image index, and each platform's top layer is distinct.
    pub fn multi_arch(
        base_seed: &str,
        unique_seed: &str,
        layer_bytes: usize,
        platforms: &[(&str, &str)],
    ) -> ImageSpec {
        ImageSpec {
            layers: vec![
                LayerSpec::new(base_seed, layer_bytes),
                LayerSpec::new(unique_seed, layer_bytes),
            ],
            platforms: platforms
                .iter()
                .map(|(os, arch)| Platform::new(os, arch))
                .collect(),
        }
    }

    /// True when this spec builds an image index.
    pub fn is_index(&self) -> bool {
        self.platforms.len() > 1
    }

    /// The layers of `platform`'s image, bottom first.
    pub fn layers_for(&self, platform: &Platform) -> Vec<LayerSpec> {
        let mut layers = self.layers.clone();
        if self.is_index() {
            if let Some(top) = layers.last_mut() {
                top.seed = format!("{}@{}", top.seed, platform.name());
            }
        }
        layers
    }
}

/// One platform's image inside an [`OciImage`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformImage {
    pub platform: Platform,
    /// Digest of the OCI image manifest.
    pub manifest_digest: String,
    /// Digest of the image config blob.
    pub config_digest: String,
    /// Digests of the compressed layer blobs, bottom first.
    pub layer_digests: Vec<String>,
}

/// A built OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/...`) in a temp dir,
/// removed on drop. Can be pushed any number of times with [`push_layout`].
#[derive(Debug)]
pub struct OciImage {
    /// The `org.opencontainers.image.ref.name` of the image in `index.json`.
    pub tag: String,
    /// Top-level digest: the index for multi-platform images, else the manifest.
    pub digest: String,
    /// Top-level media type (OCI index or OCI manifest).
    pub media_type: String,
    pub platforms: Vec<PlatformImage>,
    dir: TempDir,
}

impl OciImage {
    /// The layout directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `oci:<dir>:<tag>`, the skopeo reference of this image.
    pub fn skopeo_ref(&self) -> String {
        format!("oci:{}:{}", self.dir.path().display(), self.tag)
    }

    /// Every blob digest (layers, configs, manifests and index).
    pub fn all_digests(&self) -> Vec<String> {
        let mut all = vec![self.digest.clone()];
        for p in &self.platforms {
            all.push(p.manifest_digest.clone());
            all.push(p.config_digest.clone());
            all.extend(p.layer_digests.iter().cloned());
        }
        all.sort();
        all.dedup();
        all
    }
}

/// Builds `spec` as an OCI image layout whose `index.json` names it `tag`. The digests depend
/// on `spec` only, not on `tag`.
pub fn build_image(spec: &ImageSpec, tag: &str) -> OciImage {
    assert!(
        !spec.platforms.is_empty(),
        "ImageSpec needs at least one platform"
    );
    assert!(
        !spec.layers.is_empty(),
        "ImageSpec needs at least one layer"
    );
    let dir = tempfile::Builder::new()
        .prefix("test-oci-")
        .tempdir()
        .expect("cannot create temp dir for OCI layout");
    let root = dir.path();
    fs::create_dir_all(root.join("blobs/sha256")).expect("cannot create blobs dir");
    fs::write(
        root.join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .expect("write oci-layout");

    let mut platforms = Vec::new();
    let mut descriptors = Vec::new();
    for platform in &spec.platforms {
        let mut layer_digests = Vec::new();
        let mut layer_descriptors = Vec::new();
        let mut diff_ids = Vec::new();
        let mut history = Vec::new();
        for layer in spec.layers_for(platform) {
            let tar = layer_tar(&layer);
            diff_ids.push(sha256_digest(&tar));
            let gz = gzip(&tar);
            let digest = write_blob(root, &gz);
            layer_descriptors
                .push(json!({"mediaType": MEDIA_LAYER, "digest": digest, "size": gz.len()}));
            layer_digests.push(digest);
            history.push(json!({"created": "1970-01-01T00:00:00Z", "created_by": format!("test layer {}", layer.seed)}));
        }
        let mut config = json!({
            "created": "1970-01-01T00:00:00Z",
            "architecture": platform.architecture,
            "os": platform.os,
            "config": {
                "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                "Cmd": ["/bin/sh"],
            },
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": history,
        });
        if let Some(variant) = &platform.variant {
            config["variant"] = json!(variant);
        }
        let config_bytes = serde_json::to_vec(&config).expect("serialize config");
        let config_digest = write_blob(root, &config_bytes);
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": MEDIA_MANIFEST,
            "config": {"mediaType": MEDIA_CONFIG, "digest": config_digest, "size": config_bytes.len()},
            "layers": layer_descriptors,
        });
        let manifest_bytes = serde_json::to_vec(&manifest).expect("serialize manifest");
        let manifest_digest = write_blob(root, &manifest_bytes);
        let mut platform_json = json!({"architecture": platform.architecture, "os": platform.os});
        if let Some(variant) = &platform.variant {
            platform_json["variant"] = json!(variant);
        }
        descriptors.push(json!({
            "mediaType": MEDIA_MANIFEST,
            "digest": manifest_digest,
            "size": manifest_bytes.len(),
            "platform": platform_json,
        }));
        platforms.push(PlatformImage {
            platform: platform.clone(),
            manifest_digest,
            config_digest,
            layer_digests,
        });
    }

    let (media_type, digest, size) = if spec.is_index() {
        let index = json!({"schemaVersion": 2, "mediaType": MEDIA_INDEX, "manifests": descriptors});
        let bytes = serde_json::to_vec(&index).expect("serialize index");
        (MEDIA_INDEX, write_blob(root, &bytes), bytes.len())
    } else {
        let d = &descriptors[0];
        (
            MEDIA_MANIFEST,
            d["digest"].as_str().expect("digest").to_string(),
            d["size"].as_u64().expect("size") as usize,
        )
    };
    let layout_index = json!({
        "schemaVersion": 2,
        "mediaType": MEDIA_INDEX,
        "manifests": [{
            "mediaType": media_type,
            "digest": digest,
            "size": size,
            "annotations": {"org.opencontainers.image.ref.name": tag},
        }],
    });
    fs::write(
        root.join("index.json"),
        serde_json::to_vec(&layout_index).expect("serialize index.json"),
    )
    .expect("write index.json");

    OciImage {
        tag: tag.to_string(),
        digest,
        media_type: media_type.to_string(),
        platforms,
        dir,
    }
}

/// Builds `spec` and pushes it (all platforms) to `registry` as `repo:tag` with skopeo. Returns
/// the top-level manifest digest as the registry reports it.
pub fn push_image(registry: &Registry, repo: &str, tag: &str, spec: &ImageSpec) -> String {
    let image = build_image(spec, tag);
    push_layout(registry, &image, repo, tag)
}

/// Pushes an already built image to `registry` as `repo:tag` (`skopeo copy --all
/// --preserve-digests`, with a 0600 temp authfile for an auth registry). Returns the digest the
/// registry reports, which equals `image.digest`. Panics with skopeo's output on failure.
pub fn push_layout(registry: &Registry, image: &OciImage, repo: &str, tag: &str) -> String {
    let skopeo = require_tool("skopeo", "skopeo");
    let dest = format!("docker://{}/{repo}:{tag}", registry.host());
    let mut cmd = Command::new(skopeo);
    cmd.args([
        "--insecure-policy",
        "copy",
        "--all",
        "--preserve-digests",
        "--dest-tls-verify=false",
    ]);
    // Kept alive until skopeo is done; NamedTempFile is created 0600.
    let mut authfile = None;
    if let Some((user, password)) = registry.credentials() {
        let file = write_authfile(&[(registry.host().as_str(), user.as_str(), password.as_str())]);
        cmd.arg("--dest-authfile").arg(file.path());
        authfile = Some(file);
    }
    cmd.arg(image.skopeo_ref()).arg(&dest);
    let out = cmd.output().expect("cannot run skopeo");
    drop(authfile);
    assert!(
        out.status.success(),
        "skopeo copy {} {dest} failed ({}):\nstdout: {}\nstderr: {}",
        image.skopeo_ref(),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let digest = registry
        .manifest_digest(repo, tag)
        .unwrap_or_else(|| panic!("{dest} not found after a successful push"));
    assert_eq!(
        digest, image.digest,
        "{dest}: registry digest differs from the built image"
    );
    digest
}

/// Writes a containers-auth.json (`{"auths": {host: {"auth": base64(user:password)}}}`) to a
/// 0600 temp file, removed on drop. For `--authfile`, `--src-authfile`, `--dest-authfile`.
pub fn write_authfile(entries: &[(&str, &str, &str)]) -> tempfile::NamedTempFile {
    let mut auths = serde_json::Map::new();
    for (host, user, password) in entries {
        let token = basic_auth(user, password);
        let token = token.trim_start_matches("Basic ");
        auths.insert(host.to_string(), json!({"auth": token}));
    }
    let mut file = tempfile::Builder::new()
        .prefix("test-auth-")
        .suffix(".json")
        .tempfile()
        .expect("cannot create authfile");
    let body = serde_json::to_vec(&json!({"auths": auths})).expect("serialize authfile");
    file.write_all(&body).expect("write authfile");
    file.flush().expect("flush authfile");
    file
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let mut s = String::with_capacity(71);
    s.push_str("sha256:");
    for b in hash {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

fn write_blob(root: &Path, bytes: &[u8]) -> String {
    let digest = sha256_digest(bytes);
    let hex = digest.trim_start_matches("sha256:");
    fs::write(root.join("blobs/sha256").join(hex), bytes).expect("write blob");
    digest
}

/// An uncompressed tar with one regular file `<hash of seed>.bin` of `size` seeded bytes; all
/// metadata fixed (mtime 0, uid/gid 0, mode 0644) so the result depends on the spec only.
fn layer_tar(layer: &LayerSpec) -> Vec<u8> {
    let seed_hash = sha256_digest(layer.seed.as_bytes());
    let name = format!("layer-{}.bin", &seed_hash[7..23]);
    let data = seeded_bytes(&layer.seed, layer.size);
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    let mut builder = tar::Builder::new(Vec::with_capacity(data.len() + 2048));
    builder
        .append_data(&mut header, &name, data.as_slice())
        .expect("append to tar");
    builder.into_inner().expect("finish tar")
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::with_capacity(bytes.len() + 1024), Compression::fast());
    enc.write_all(bytes).expect("gzip");
    enc.finish().expect("gzip finish")
}

/// `len` pseudo-random bytes (xorshift64*), seeded from sha256(seed).
fn seeded_bytes(seed: &str, len: usize) -> Vec<u8> {
    let hash = Sha256::digest(seed.as_bytes());
    let mut state = u64::from_le_bytes(hash[..8].try_into().expect("8 bytes")) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_are_deterministic_and_incompressible() {
        let a = gzip(&layer_tar(&LayerSpec::new("base", 100_000)));
        let b = gzip(&layer_tar(&LayerSpec::new("base", 100_000)));
        let c = gzip(&layer_tar(&LayerSpec::new("other", 100_000)));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(
            a.len() > 100_000 && a.len() < 110_000,
            "gzip size {}",
            a.len()
        );
    }

    #[test]
    fn multi_arch_layout_shares_base_and_differs_on_top() {
        let spec = ImageSpec::multi_arch(
            "base",
            "top",
            1000,
            &[("linux", "amd64"), ("linux", "arm64")],
        );
        let img = build_image(&spec, "1");
        assert_eq!(img.media_type, MEDIA_INDEX);
        let (p0, p1) = (&img.platforms[0], &img.platforms[1]);
        assert_eq!(p0.layer_digests[0], p1.layer_digests[0]);
        assert_ne!(p0.layer_digests[1], p1.layer_digests[1]);
        assert_ne!(p0.manifest_digest, p1.manifest_digest);
        for d in img.all_digests() {
            let hex = d.trim_start_matches("sha256:");
            let bytes = fs::read(img.dir().join("blobs/sha256").join(hex)).unwrap();
            assert_eq!(sha256_digest(&bytes), d);
        }
        let again = build_image(&spec, "1");
        assert_eq!(again.digest, img.digest);
    }
}
