//! The job option `with_signatures` end to end: a signed image on the source (cosign `.sig`,
//! `.att`, `.sbom` tags and an OCI 1.1 referrer with its referrers-tag index, distribution 2.8
//! having no referrers API) is synced through the api into the stack's target (basic auth), and
//! the target then holds every one of them with the source's digests; a re-sync skips them all;
//! a signature the worker cannot copy fails its task, naming it.

use std::time::Duration;

use base64::Engine as _;
use docker_sync_tests::{
    push_image, sign_image, ImageSpec, Signed, Stack, StackOptions, KEY_PREFIX, SBOM_ARTIFACT_TYPE,
    TARGET_PASSWORD, TARGET_USER,
};
use redis::Commands;
use serde_json::{json, Value};

const REPO: &str = "signed/app";
const PLAIN: &str = "plain/app";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// `.sig`, `.att`, `.sbom`, the referrer, the referrers tag.
const RELATED: u64 = 5;

struct Source {
    signed: Signed,
    unsigned: String,
}

fn push(stack: &Stack) -> Source {
    let image = push_image(
        &stack.source,
        REPO,
        "1",
        &ImageSpec::single("base", "signed", 8 * 1024),
    );
    let signed = sign_image(&stack.source, REPO, &image);
    let unsigned = push_image(
        &stack.source,
        PLAIN,
        "1",
        &ImageSpec::single("base", "plain", 8 * 1024),
    );
    Source { signed, unsigned }
}

fn lines(stack: &Stack) -> String {
    let host = stack.source.host();
    format!("{host}/{REPO}:1\n{host}/{PLAIN}:1")
}

fn submit(stack: &Stack, namespace: &str, with_signatures: Option<bool>) -> Value {
    let mut body = json!({"images": lines(stack), "target": "target", "replace_level": "skip",
        "namespace": namespace});
    if let Some(w) = with_signatures {
        body["with_signatures"] = json!(w);
    }
    let (status, job) = stack.post("/api/jobs", &body);
    assert_eq!(status, 202, "job refused: {job}");
    job
}

fn wait(stack: &Stack, job: &Value) -> Value {
    stack.wait_job(job["id"].as_str().unwrap(), Duration::from_secs(120))
}

fn task<'a>(job: &'a Value, source: &str) -> &'a Value {
    job["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .find(|t| t["source"].as_str().unwrap().contains(source))
        .unwrap_or_else(|| panic!("no task of {source}: {job:#}"))
}

/// `(copied, skipped)` of a task, None where absent.
fn counts(task: &Value) -> (Option<u64>, Option<u64>) {
    (
        task["related_copied"].as_u64(),
        task["related_skipped"].as_u64(),
    )
}

/// The tag or digest and the digest the source has for each signature and referrer.
fn expected(signed: &Signed) -> Vec<(String, String)> {
    let tag = &signed.tag;
    vec![
        (format!("{tag}.sig"), signed.signature.clone()),
        (format!("{tag}.att"), signed.attestation.clone()),
        (format!("{tag}.sbom"), signed.sbom.clone()),
        (signed.referrer.clone(), signed.referrer.clone()),
    ]
}

/// The digests the referrers tag at `repo` lists, with their artifact types.
fn referrers_tag(stack: &Stack, repo: &str, tag: &str) -> Vec<(String, Option<String>)> {
    let index = stack
        .target
        .manifest(repo, tag)
        .unwrap_or_else(|| panic!("no referrers tag {repo}:{tag} at the target"));
    assert_eq!(index.media_type, OCI_INDEX);
    let value: Value = serde_json::from_slice(&index.body).unwrap();
    value["manifests"]
        .as_array()
        .expect("manifests")
        .iter()
        .map(|m| {
            (
                m["digest"].as_str().unwrap().to_owned(),
                m["artifactType"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

/// `GET /v2/<repo>/referrers/<digest>` at the target, with its credentials: the status.
fn referrers_api_status(stack: &Stack, repo: &str, digest: &str) -> u16 {
    let auth = base64::engine::general_purpose::STANDARD
        .encode(format!("{TARGET_USER}:{TARGET_PASSWORD}"));
    let url = format!("{}/v2/{repo}/referrers/{digest}", stack.target.url());
    match ureq::get(&url)
        .set("Authorization", &format!("Basic {auth}"))
        .call()
    {
        Ok(resp) => resp.status(),
        Err(ureq::Error::Status(code, _)) => code,
        Err(e) => panic!("GET {url}: {e}"),
    }
}

fn stream_signatures_fields(stack: &Stack) -> Vec<Option<String>> {
    let entries: Vec<(String, Vec<String>)> = redis::cmd("XRANGE")
        .arg(format!("{KEY_PREFIX}:tasks"))
        .arg("-")
        .arg("+")
        .query(&mut stack.redis())
        .unwrap();
    entries
        .into_iter()
        .map(|(_, fields)| {
            fields
                .chunks(2)
                .find(|kv| kv[0] == "signatures")
                .map(|kv| kv[1].clone())
        })
        .collect()
}

#[test]
fn signatures_and_referrers_follow_the_image_with_equal_digests_and_a_resync_skips_them() {
    let mut stack = Stack::start(StackOptions {
        workers: 0,
        ..StackOptions::default()
    });
    let source = push(&stack);
    let signed = &source.signed;

    // Without the option: the image only. With it, into another namespace: the image and its
    // signatures in one task. Only the second job's stream entries carry `signatures`.
    let plain = submit(&stack, "m", None);
    assert_eq!(plain["with_signatures"], false, "{plain:#}");
    let fresh = submit(&stack, "fresh", Some(true));
    let one = Some("1".to_owned());
    assert_eq!(
        stream_signatures_fields(&stack),
        [None, None, one.clone(), one]
    );
    stack.start_worker("w1");

    let done = wait(&stack, &fresh);
    let image_task = task(&done, REPO);
    assert_eq!(image_task["status"], "succeeded", "{image_task:#}");
    assert_eq!(
        counts(image_task),
        (Some(RELATED), Some(0)),
        "{image_task:#}"
    );
    assert_eq!(counts(task(&done, PLAIN)), (Some(0), Some(0)), "{done:#}");
    assert_signed_at_target(&stack, &format!("fresh/{REPO}"), signed);
    assert_eq!(
        stack.target.manifest_digest(&format!("fresh/{PLAIN}"), "1"),
        Some(source.unsigned.clone())
    );
    let log = task_log(&stack, &fresh, image_task);
    assert!(
        log.contains(&format!(
            "signature {}.sig {}: copied",
            signed.tag, signed.signature
        )) && log.contains("signatures and referrers: 5 copied, 0 at the target already"),
        "{log}"
    );

    let done = wait(&stack, &plain);
    assert_eq!(done["status"], "succeeded", "{done:#}");
    let image_task = task(&done, REPO);
    assert_eq!(counts(image_task), (None, None), "{image_task:#}");
    let repo = format!("m/{REPO}");
    assert_eq!(
        stack.target.manifest_digest(&repo, "1").as_deref(),
        Some(signed.image.as_str())
    );
    for (reference, _) in expected(signed) {
        assert_eq!(stack.target.manifest_digest(&repo, &reference), None);
    }
    assert_eq!(stack.target.manifest_digest(&repo, &signed.tag), None);

    // The image is at the target already: skipped, and its signatures filled in.
    let with = submit(&stack, "m", Some(true));
    assert_eq!(with["with_signatures"], true, "{with:#}");
    let id = with["id"].as_str().unwrap().to_owned();
    let stored: Option<String> = stack
        .redis()
        .hget(format!("{KEY_PREFIX}:job:{id}"), "with_signatures")
        .unwrap();
    assert_eq!(stored.as_deref(), Some("1"));
    let done = wait(&stack, &with);
    assert_eq!(done["status"], "succeeded", "{done:#}");
    assert_eq!(done["with_signatures"], true);
    let image_task = task(&done, REPO);
    assert_eq!(image_task["status"], "skipped", "{image_task:#}");
    assert_eq!(
        counts(image_task),
        (Some(RELATED), Some(0)),
        "{image_task:#}"
    );
    // An image without any: the source answers 404 to every look-up, nothing to copy.
    let unsigned_task = task(&done, PLAIN);
    assert_eq!(unsigned_task["status"], "skipped", "{unsigned_task:#}");
    assert_eq!(
        counts(unsigned_task),
        (Some(0), Some(0)),
        "{unsigned_task:#}"
    );
    assert_signed_at_target(&stack, &repo, signed);

    // Unchanged: everything is skipped by digest.
    let again = submit(&stack, "m", Some(true));
    let done = wait(&stack, &again);
    let image_task = task(&done, REPO);
    assert_eq!(image_task["status"], "skipped", "{image_task:#}");
    assert_eq!(
        counts(image_task),
        (Some(0), Some(RELATED)),
        "{image_task:#}"
    );

    // "Sync again" keeps the option.
    let (status, rerun) = stack.post(&format!("/api/jobs/{id}/sync-again"), &json!({}));
    assert_eq!(status, 202, "{rerun:#}");
    assert_eq!(rerun["with_signatures"], true, "{rerun:#}");
    let done = wait(&stack, &rerun);
    assert_eq!(
        counts(task(&done, REPO)),
        (Some(0), Some(RELATED)),
        "{done:#}"
    );
}

/// Every signature and referrer at `repo` with the source's digest; the referrers tag, not the
/// API (distribution 2.8 has none), lists the referrer.
fn assert_signed_at_target(stack: &Stack, repo: &str, signed: &Signed) {
    for (reference, digest) in expected(signed) {
        assert_eq!(
            stack.target.manifest_digest(repo, &reference).as_deref(),
            Some(digest.as_str()),
            "{repo}:{reference} at the target"
        );
    }
    assert_eq!(
        stack.target.manifest_digest(repo, &signed.tag).as_deref(),
        Some(signed.referrers_index.as_str()),
        "the referrers tag is the source's, byte for byte"
    );
    assert_eq!(
        referrers_tag(stack, repo, &signed.tag),
        [(signed.referrer.clone(), Some(SBOM_ARTIFACT_TYPE.to_owned()))]
    );
    assert_eq!(referrers_api_status(stack, repo, &signed.image), 404);
}

fn task_log(stack: &Stack, job: &Value, task: &Value) -> String {
    let (status, log) = stack.get(&format!(
        "/api/jobs/{}/tasks/{}/log",
        job["id"].as_str().unwrap(),
        task["id"].as_str().unwrap()
    ));
    assert_eq!(status, 200, "{log:#}");
    log.to_string()
}

/// A referrers tag some other tool wrote at the target keeps its entries: the source's referrer
/// is added to it, and a re-sync finds nothing missing.
#[test]
fn an_existing_referrers_tag_at_the_target_is_merged_not_replaced() {
    let stack = Stack::start(StackOptions {
        workers: 1,
        ..StackOptions::default()
    });
    let source = push(&stack);
    let signed = &source.signed;
    let done = wait(&stack, &submit(&stack, "m", None));
    assert_eq!(done["status"], "succeeded", "{done:#}");
    let repo = format!("m/{REPO}");
    // Any manifest the repository holds may be listed; the image's own is one.
    let image = stack.target.manifest(&repo, "1").unwrap();
    let theirs = serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": image.media_type, "digest": image.digest,
            "size": image.body.len(), "artifactType": "application/vnd.example.other"}]}))
    .unwrap();
    docker_sync_tests::put_manifest(&stack.target, &repo, &signed.tag, OCI_INDEX, &theirs);

    let done = wait(&stack, &submit(&stack, "m", Some(true)));
    let image_task = task(&done, REPO);
    assert_eq!(
        counts(image_task),
        (Some(RELATED), Some(0)),
        "{image_task:#}"
    );
    assert_eq!(
        referrers_tag(&stack, &repo, &signed.tag),
        [
            (
                image.digest.clone(),
                Some("application/vnd.example.other".to_owned())
            ),
            (signed.referrer.clone(), Some(SBOM_ARTIFACT_TYPE.to_owned())),
        ]
    );
    let done = wait(&stack, &submit(&stack, "m", Some(true)));
    assert_eq!(
        counts(task(&done, REPO)),
        (Some(0), Some(RELATED)),
        "{done:#}"
    );
}

/// A signature whose layer the source lost cannot be copied: the task fails naming it and
/// saying the image itself is at the target.
#[test]
fn a_signature_that_cannot_be_copied_fails_the_task_naming_it() {
    let stack = Stack::start(StackOptions {
        workers: 1,
        ..StackOptions::default()
    });
    let source = push(&stack);
    let signed = &source.signed;
    let sig = stack
        .source
        .manifest(REPO, &format!("{}.sig", signed.tag))
        .unwrap();
    let sig: Value = serde_json::from_slice(&sig.body).unwrap();
    let layer = sig["layers"][0]["digest"].as_str().unwrap();
    let hex = layer.strip_prefix("sha256:").unwrap();
    let data = stack.source.storage_dir().join(format!(
        "docker/registry/v2/blobs/sha256/{}/{hex}/data",
        &hex[..2]
    ));
    std::fs::remove_file(&data).unwrap_or_else(|e| panic!("{}: {e}", data.display()));

    let done = wait(&stack, &submit(&stack, "m", Some(true)));
    assert_eq!(done["status"], "partial", "{done:#}");
    let image_task = task(&done, REPO);
    assert_eq!(image_task["status"], "failed", "{image_task:#}");
    let error = image_task["error"].as_str().unwrap();
    assert!(
        error.starts_with(&format!(
            "the image is at the target, but its signature {}.sig ({}) could not be copied",
            signed.tag, signed.signature
        )),
        "{error}"
    );
    assert_eq!(
        stack
            .target
            .manifest_digest(&format!("m/{REPO}"), "1")
            .as_deref(),
        Some(signed.image.as_str()),
        "the image itself is there"
    );
    assert_eq!(counts(image_task), (Some(0), Some(0)), "{image_task:#}");
    assert_eq!(task(&done, PLAIN)["status"], "succeeded", "{done:#}");
}
