//! A signed image for the signature and referrer tests: beside an image already in a registry,
//! cosign-style `.sig`, `.att` and `.sbom` tags and an OCI 1.1 referrer with its referrers-tag
//! index, pushed through the registry HTTP API (blob uploads and manifest PUTs).
//!
//! The payloads are made up (no real key signs them) but name the image's digest, so two images
//! never share a signature manifest.

use std::io::Read;
use std::time::Duration;

use serde_json::{json, Value};

use crate::image::sha256_digest;
use crate::registry::{basic_auth, Registry};

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// The OCI 1.1 empty config of artifacts: the two bytes `{}`.
const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
pub const SBOM_ARTIFACT_TYPE: &str = "application/spdx+json";

/// The digests of everything [`sign_image`] pushed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    pub image: String,
    /// `sha256-<hex>`, the stem of every tag below.
    pub tag: String,
    pub signature: String,
    pub attestation: String,
    pub sbom: String,
    /// The OCI 1.1 referrer (an SPDX document whose `subject` is the image), pushed by digest.
    pub referrer: String,
    /// The referrers-tag index at `sha256-<hex>` listing [`Self::referrer`].
    pub referrers_index: String,
}

/// Signs `repo@image_digest`, which must already be in `registry`.
pub fn sign_image(registry: &Registry, repo: &str, image_digest: &str) -> Signed {
    let image = registry
        .manifest(repo, image_digest)
        .unwrap_or_else(|| panic!("{repo}@{image_digest} is not in the registry"));
    let hex = image_digest
        .strip_prefix("sha256:")
        .expect("a sha256 digest");
    let tag = format!("sha256-{hex}");
    let push = Pusher::new(registry, repo);

    let payload = json!({"critical": {"identity": {"docker-reference": repo},
        "image": {"docker-manifest-digest": image_digest}, "type": "cosign container image signature"},
        "optional": null});
    let signature = push.artifact(
        &format!("{tag}.sig"),
        "application/vnd.dev.cosign.simplesigning.v1+json",
        &serde_json::to_vec(&payload).unwrap(),
        json!({"dev.cosignproject.cosign/signature": "MEUCIQDmadeupsignature=="}),
    );
    let statement = json!({"_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": "https://slsa.dev/provenance/v0.2",
        "subject": [{"name": repo, "digest": {"sha256": hex}}]});
    let envelope = json!({"payloadType": "application/vnd.in-toto+json",
        "payload": base64_of(&serde_json::to_vec(&statement).unwrap()), "signatures": []});
    let attestation = push.artifact(
        &format!("{tag}.att"),
        "application/vnd.dsse.envelope.v1+json",
        &serde_json::to_vec(&envelope).unwrap(),
        json!({"predicateType": "https://slsa.dev/provenance/v0.2"}),
    );
    let spdx = serde_json::to_vec(&json!({"spdxVersion": "SPDX-2.3",
        "name": format!("{repo}@{image_digest}")}))
    .unwrap();
    let sbom = push.artifact(&format!("{tag}.sbom"), "text/spdx+json", &spdx, json!({}));

    let empty = push.blob(b"{}", OCI_EMPTY);
    let layer = push.blob(&spdx, SBOM_ARTIFACT_TYPE);
    let annotations = json!({"org.opencontainers.image.created": "2026-01-01T00:00:00Z"});
    let referrer = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": SBOM_ARTIFACT_TYPE,
        "config": empty, "layers": [layer],
        "subject": {"mediaType": image.media_type, "digest": image_digest, "size": image.body.len()},
        "annotations": annotations,
    }))
    .unwrap();
    let referrer_digest = sha256_digest(&referrer);
    push.manifest(&referrer_digest, OCI_MANIFEST, &referrer);
    // distribution 2.8 has no referrers API: clients find referrers through this tag.
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": referrer_digest,
            "size": referrer.len(), "artifactType": SBOM_ARTIFACT_TYPE, "annotations": annotations}],
    }))
    .unwrap();
    let referrers_index = push.manifest(&tag, OCI_INDEX, &index);
    Signed {
        image: image_digest.to_owned(),
        tag,
        signature,
        attestation,
        sbom,
        referrer: referrer_digest,
        referrers_index,
    }
}

/// `PUT /v2/<repo>/manifests/<reference>` of exact bytes. Returns the digest the registry
/// reports, checked against the bytes' own.
pub fn put_manifest(
    registry: &Registry,
    repo: &str,
    reference: &str,
    media_type: &str,
    body: &[u8],
) -> String {
    Pusher::new(registry, repo).manifest(reference, media_type, body)
}

struct Pusher<'a> {
    registry: &'a Registry,
    repo: &'a str,
    agent: ureq::Agent,
}

impl<'a> Pusher<'a> {
    fn new(registry: &'a Registry, repo: &'a str) -> Self {
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(30))
            .build();
        Pusher {
            registry,
            repo,
            agent,
        }
    }

    /// A cosign-style artifact at `tag`: an OCI image manifest with one annotated layer.
    fn artifact(&self, tag: &str, layer_type: &str, payload: &[u8], annotations: Value) -> String {
        let config = self.blob(
            &serde_json::to_vec(&json!({"architecture": "", "os": "", "config": {},
                "rootfs": {"type": "layers", "diff_ids": [sha256_digest(payload)]}}))
            .unwrap(),
            OCI_CONFIG,
        );
        let mut layer = self.blob(payload, layer_type);
        if annotations.as_object().is_some_and(|a| !a.is_empty()) {
            layer["annotations"] = annotations;
        }
        let manifest = serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": config, "layers": [layer]}))
        .unwrap();
        self.manifest(tag, OCI_MANIFEST, &manifest)
    }

    /// A monolithic upload (`POST` then `PUT ?digest=`); returns its descriptor.
    fn blob(&self, bytes: &[u8], media_type: &str) -> Value {
        let digest = sha256_digest(bytes);
        let start = format!("{}/v2/{}/blobs/uploads/", self.registry.url(), self.repo);
        let resp = self.call(self.agent.post(&start), None);
        let location = resp
            .header("Location")
            .unwrap_or_else(|| panic!("POST {start}: no Location"))
            .to_owned();
        let location = if location.starts_with('/') {
            format!("{}{location}", self.registry.url())
        } else {
            location
        };
        let sep = if location.contains('?') { '&' } else { '?' };
        let put = self
            .agent
            .put(&format!("{location}{sep}digest={digest}"))
            .set("Content-Type", "application/octet-stream");
        self.call(put, Some(bytes));
        json!({"mediaType": media_type, "digest": digest, "size": bytes.len()})
    }

    fn manifest(&self, reference: &str, media_type: &str, body: &[u8]) -> String {
        let url = format!(
            "{}/v2/{}/manifests/{reference}",
            self.registry.url(),
            self.repo
        );
        let req = self.agent.put(&url).set("Content-Type", media_type);
        let resp = self.call(req, Some(body));
        let digest = resp
            .header("Docker-Content-Digest")
            .unwrap_or_else(|| panic!("PUT {url}: no Docker-Content-Digest"))
            .to_owned();
        assert_eq!(
            digest,
            sha256_digest(body),
            "PUT {url}: digest of other bytes"
        );
        digest
    }

    fn call(&self, req: ureq::Request, body: Option<&[u8]>) -> ureq::Response {
        let req = match self.registry.credentials() {
            Some((user, password)) => req.set("Authorization", &basic_auth(&user, &password)),
            None => req,
        };
        let what = format!("{} {}", req.method(), req.url());
        let result = match body {
            Some(b) => req.send_bytes(b),
            None => req.call(),
        };
        match result {
            Ok(resp) => resp,
            Err(ureq::Error::Status(code, resp)) => {
                let mut text = String::new();
                let _ = resp.into_reader().read_to_string(&mut text);
                panic!("{what}: HTTP {code}: {text}")
            }
            Err(e) => panic!("{what}: {e}"),
        }
    }
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
