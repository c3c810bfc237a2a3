//! An image's signatures and referrers end to end on distribution 2.8: a signed image in one
//! registry, [`related`] finds all of it (the referrers API answers 404, so through the
//! referrers tag), each item is copied to an authenticated registry the way
//! `registry::referrers` documents, and the target then holds the same digests and `related`
//! there finds the same set (what a re-sync compares to skip).

use std::process::Command;
use std::time::Duration;

use docker_sync_common::registry::{
    related, CopyBy, CosignSuffix, Reach, RegistryClient, Related, RelatedKind, Transport,
};
use docker_sync_tests::{
    push_image, require_tool, sign_image, write_authfile, ImageSpec, Registry, SBOM_ARTIFACT_TYPE,
};
use secrecy::SecretString;

const REPO: &str = "signed/app";

fn reach(registry: &Registry) -> Reach {
    Reach {
        host: registry.host(),
        transport: Transport::PlainHttp,
        credentials: registry
            .credentials()
            .map(|(user, password)| (user, SecretString::from(password))),
        proxy: None,
    }
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

fn find(registry: &Registry, digest: &str) -> Vec<Related> {
    let client = RegistryClient::new(Duration::from_secs(10));
    block_on(related(&client, &reach(registry), REPO, digest))
        .unwrap_or_else(|e| panic!("related() at {}: {e}", registry.host()))
}

/// `skopeo copy --preserve-digests <extra> src dst` into `target` (which has credentials).
fn skopeo_copy(target: &Registry, extra: &[&str], src: &str, dst: &str) -> std::process::Output {
    let (user, password) = target.credentials().expect("an authenticated target");
    let authfile = write_authfile(&[(target.host().as_str(), user.as_str(), password.as_str())]);
    Command::new(require_tool("skopeo", "skopeo"))
        .args(["--insecure-policy", "copy", "--preserve-digests"])
        .args(["--src-tls-verify=false", "--dest-tls-verify=false"])
        .arg("--dest-authfile")
        .arg(authfile.path())
        .args(extra)
        .args([src, dst])
        .output()
        .expect("cannot run skopeo")
}

#[test]
fn signatures_and_referrers_copy_with_equal_digests_and_are_found_again_at_the_target() {
    let source = Registry::start();
    let target = Registry::start_with_auth("sync", "referrers-pw");
    let image = push_image(
        &source,
        REPO,
        "1",
        &ImageSpec::single("base", "signed", 4096),
    );
    let signed = sign_image(&source, REPO, &image);

    let found = find(&source, &image);
    let by_kind = |kind: RelatedKind| {
        found
            .iter()
            .find(|r| r.kind == kind)
            .unwrap_or_else(|| panic!("{kind:?} not found in {found:#?}"))
    };
    let tag = &signed.tag;
    for (suffix, digest) in [
        (CosignSuffix::Sig, &signed.signature),
        (CosignSuffix::Att, &signed.attestation),
        (CosignSuffix::Sbom, &signed.sbom),
    ] {
        let r = by_kind(RelatedKind::Cosign(suffix));
        assert_eq!(&r.digest, digest);
        assert_eq!(r.copy, CopyBy::Tag(format!("{tag}.{}", suffix.as_str())));
    }
    let referrer = by_kind(RelatedKind::Referrer {
        artifact_type: Some(SBOM_ARTIFACT_TYPE.into()),
    });
    assert_eq!(
        (&referrer.digest, &referrer.copy),
        (&signed.referrer, &CopyBy::Digest)
    );
    let index = by_kind(RelatedKind::ReferrersTag);
    assert_eq!(
        (&index.digest, &index.copy),
        (&signed.referrers_index, &CopyBy::ManifestBytes(tag.clone()))
    );
    assert_eq!(found.len(), 5, "{found:#?}");

    let src = |suffix: &str| format!("docker://{}/{REPO}{suffix}", source.host());
    let dst = |suffix: &str| format!("docker://{}/{REPO}{suffix}", target.host());
    let out = skopeo_copy(&target, &["--all"], &src(":1"), &dst(":1"));
    assert!(out.status.success(), "{out:?}");
    // In related()'s order: an index is written after the manifests it lists.
    for r in &found {
        match &r.copy {
            CopyBy::Tag(_) | CopyBy::Digest => {
                let suffix = r.skopeo_suffix();
                let out = skopeo_copy(&target, &[], &src(&suffix), &dst(&suffix));
                assert!(out.status.success(), "copy {suffix}: {out:?}");
            }
            CopyBy::ManifestBytes(tag) => {
                let raw = source.manifest(REPO, tag).expect("the referrers tag");
                let written = block_on(RegistryClient::new(Duration::from_secs(10)).put_manifest(
                    &reach(&target),
                    REPO,
                    tag,
                    &raw.media_type,
                    &raw.body,
                ))
                .expect("the referrers index is PUT through the client, basic auth and all");
                assert_eq!(written, r.digest);
            }
        }
        assert_eq!(
            target.manifest_digest(REPO, r.reference()).as_deref(),
            Some(r.digest.as_str()),
            "{r:?} at the target"
        );
    }
    let mut again = find(&target, &image);
    let mut found = found;
    again.sort();
    found.sort();
    assert_eq!(again, found, "the target holds the same set");
}

/// What the module documents skopeo 1.9 cannot do: copy the referrers tag's index unchanged
/// (it drops the entries' `artifactType`). Fails here first if a newer skopeo learns it.
#[test]
fn skopeo_1_9_cannot_copy_the_referrers_index_with_its_digest() {
    let source = Registry::start();
    let target = Registry::start_with_auth("sync", "referrers-pw");
    let image = push_image(
        &source,
        REPO,
        "1",
        &ImageSpec::single("base", "index", 4096),
    );
    let signed = sign_image(&source, REPO, &image);
    let src = format!("docker://{}/{REPO}:{}", source.host(), signed.tag);
    let dst = format!("docker://{}/{REPO}:{}", target.host(), signed.tag);
    let out = skopeo_copy(&target, &["--all"], &src, &dst);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("preserve digests"),
        "skopeo copied the referrers index with --preserve-digests: {out:?}"
    );
    assert_eq!(target.manifest_digest(REPO, &signed.tag), None);
}
