//! The job option `platform`: one platform's image out of a multi-arch index, copied by the
//! workers (skopeo's `--override-os/--override-arch` instead of `--all`) and by the batch script,
//! compared for the skip check with that platform's manifest digest, refused when malformed, and
//! explained by the preview.

use std::time::Duration;

use docker_sync_tests::{
    build_image, push_layout, ImageSpec, LayerSpec, OciImage, Platform, Stack, StackOptions,
    KEY_PREFIX, TARGET_PASSWORD, TARGET_USER,
};
use redis::Commands;
use serde_json::{json, Value};

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// A multi-arch index of linux/amd64 and linux/arm64/v8 (the variant as real images carry it),
/// pushed to the source as `multi/arch:1`, and a single-platform image `solo/img:1`.
struct Images {
    multi: OciImage,
    solo: OciImage,
}

impl Images {
    fn push(stack: &Stack) -> Images {
        let arm64 = Platform {
            variant: Some("v8".into()),
            ..Platform::new("linux", "arm64")
        };
        let spec = ImageSpec {
            layers: vec![
                LayerSpec::new("base", 16 * 1024),
                LayerSpec::new("multi/arch:1", 16 * 1024),
            ],
            platforms: vec![Platform::new("linux", "amd64"), arm64],
        };
        let multi = build_image(&spec, "1");
        assert_eq!(multi.media_type, OCI_INDEX);
        push_layout(&stack.source, &multi, "multi/arch", "1");
        let solo = build_image(&ImageSpec::single("base", "solo/img:1", 16 * 1024), "1");
        push_layout(&stack.source, &solo, "solo/img", "1");
        Images { multi, solo }
    }

    /// The digest of `platform`'s manifest inside the index.
    fn platform_digest(&self, platform: &str) -> String {
        self.multi
            .platforms
            .iter()
            .find(|p| p.platform.name() == platform)
            .unwrap_or_else(|| panic!("the test image has no {platform}"))
            .manifest_digest
            .clone()
    }

    fn lines(&self, stack: &Stack) -> String {
        let host = stack.source_host();
        format!("{host}/multi/arch:1\n{host}/solo/img:1")
    }
}

fn body(images: &str, namespace: &str, platform: Option<&str>) -> Value {
    let mut body = json!({
        "images": images,
        "target": "target",
        "replace_level": "skip",
        "namespace": namespace,
    });
    if let Some(p) = platform {
        body["platform"] = json!(p);
    }
    body
}

fn submit(stack: &Stack, body: &Value) -> Value {
    let (status, job) = stack.post("/api/jobs", body);
    assert_eq!(status, 202, "job refused: {job}");
    job
}

fn tasks(job: &Value) -> &Vec<Value> {
    job["tasks"].as_array().expect("tasks array")
}

fn wait(stack: &Stack, job: &Value) -> Value {
    stack.wait_job(job["id"].as_str().unwrap(), Duration::from_secs(120))
}

/// Every stream entry's fields, as `[field, value, ...]` lists.
fn stream_entries(stack: &Stack) -> Vec<Vec<String>> {
    let entries: Vec<(String, Vec<String>)> = redis::cmd("XRANGE")
        .arg(format!("{KEY_PREFIX}:tasks"))
        .arg("-")
        .arg("+")
        .query(&mut stack.redis())
        .unwrap();
    entries.into_iter().map(|(_, fields)| fields).collect()
}

fn field<'a>(entry: &'a [String], name: &str) -> Option<&'a str> {
    entry
        .chunks(2)
        .find(|kv| kv[0] == name)
        .map(|kv| kv[1].as_str())
}

#[test]
fn one_platform_is_copied_unchanged_skipped_when_unchanged_and_refused_when_missing() {
    let mut stack = Stack::start(StackOptions {
        workers: 0,
        ..StackOptions::default()
    });
    let images = Images::push(&stack);
    let arm64 = images.platform_digest("linux/arm64/v8");
    assert_ne!(arm64, images.multi.digest);

    let job = submit(
        &stack,
        &body(&images.lines(&stack), "one", Some("linux/arm64")),
    );
    assert_eq!(job["platform"], "linux/arm64", "{job:#}");
    // The stream entries carry the platform to the workers; the job hash keeps it.
    let entries = stream_entries(&stack);
    assert_eq!(entries.len(), 2);
    for entry in &entries {
        assert_eq!(field(entry, "platform"), Some("linux/arm64"), "{entry:?}");
    }
    let id = job["id"].as_str().unwrap();
    let stored: Option<String> = stack
        .redis()
        .hget(format!("{KEY_PREFIX}:job:{id}"), "platform")
        .unwrap();
    assert_eq!(stored.as_deref(), Some("linux/arm64"));

    stack.start_worker("w1");
    let done = wait(&stack, &job);
    assert_eq!(done["status"], "succeeded", "{done:#}");
    assert_eq!(done["platform"], "linux/arm64");
    let (multi_task, solo_task) = (&tasks(&done)[0], &tasks(&done)[1]);
    assert_eq!(multi_task["status"], "succeeded", "{multi_task:#}");
    assert_eq!(multi_task["digest"].as_str(), Some(arm64.as_str()));
    // At the target: the arm64 manifest itself, not an index, with the digest of the source
    // index's arm64 entry.
    let copied = stack
        .target
        .manifest("one/multi/arch", "1")
        .expect("copied to the target");
    assert_eq!(copied.media_type, OCI_MANIFEST);
    assert_eq!(copied.digest, arm64);
    assert_ne!(copied.digest, images.multi.digest);
    // A single-platform image is copied as it is.
    assert_eq!(solo_task["status"], "succeeded", "{solo_task:#}");
    assert_eq!(
        stack.target.manifest_digest("one/solo/img", "1").as_deref(),
        Some(images.solo.digest.as_str())
    );
    let (_, list) = stack.get("/api/jobs?limit=5");
    assert_eq!(list[0]["platform"], "linux/arm64", "{list:#}");

    // Nothing changed: the same job is skipped, compared with the arm64 manifest's digest.
    let again = submit(
        &stack,
        &body(&images.lines(&stack), "one", Some("linux/arm64")),
    );
    let done = wait(&stack, &again);
    assert_eq!(done["status"], "succeeded", "{done:#}");
    for task in tasks(&done) {
        assert_eq!(task["status"], "skipped", "{task:#}");
    }
    assert_eq!(tasks(&done)[0]["digest"].as_str(), Some(arm64.as_str()));

    // The same image without the option is the whole index: the arm64 copy is not taken for it.
    let whole = submit(&stack, &body(&images.lines(&stack), "one", None));
    assert!(whole.get("platform").is_none(), "{whole:#}");
    let done = wait(&stack, &whole);
    assert_eq!(tasks(&done)[0]["status"], "succeeded", "{done:#}");
    assert_eq!(tasks(&done)[1]["status"], "skipped", "{done:#}");
    assert_eq!(
        stack
            .target
            .manifest_digest("one/multi/arch", "1")
            .as_deref(),
        Some(images.multi.digest.as_str())
    );

    // A platform the index lacks fails that image, naming the platforms it has, without trying
    // skopeo (one attempt although the stack retries once); a single-platform image is copied.
    let missing = submit(
        &stack,
        &body(&images.lines(&stack), "two", Some("linux/s390x")),
    );
    let done = wait(&stack, &missing);
    assert_eq!(done["status"], "partial", "{done:#}");
    let failed = &tasks(&done)[0];
    assert_eq!(failed["status"], "failed", "{failed:#}");
    assert_eq!(failed["attempts"], 1, "{failed:#}");
    let error = failed["error"].as_str().unwrap();
    assert!(
        error.contains("has no linux/s390x image") && error.contains("linux/amd64, linux/arm64/v8"),
        "{error}"
    );
    assert_eq!(stack.target.manifest_digest("two/multi/arch", "1"), None);
    assert_eq!(tasks(&done)[1]["status"], "succeeded", "{done:#}");
}

#[test]
fn a_bad_platform_is_refused_and_the_preview_explains_the_digest() {
    let stack = Stack::start(StackOptions {
        workers: 0,
        ..StackOptions::default()
    });
    let lines = format!("{}/multi/arch:1", stack.source_host());

    for bad in ["arm64", "linux/", "linux/arm64/v8/x", "linux/$(id)"] {
        for path in ["/api/jobs", "/api/jobs/preview", "/api/scripts"] {
            let (status, answer) = stack.post(path, &body(&lines, "x", Some(bad)));
            assert_eq!(status, 400, "{path} {bad}: {answer}");
            let error = answer["error"].as_str().unwrap();
            assert!(
                error.contains(&format!("invalid platform `{bad}`"))
                    && error.contains("expected os/arch or os/arch/variant"),
                "{path}: {error}"
            );
        }
    }
    let queued: u64 = stack.redis().xlen(format!("{KEY_PREFIX}:tasks")).unwrap();
    assert_eq!(queued, 0, "nothing may be queued from a refused job");

    let (status, preview) =
        stack.post("/api/jobs/preview", &body(&lines, "x", Some("linux/arm64")));
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["platform"], "linux/arm64");
    let note = preview["platform_note"].as_str().unwrap();
    assert!(
        note.contains("linux/arm64")
            && note.contains("differ from the source's multi-arch index digest"),
        "{note}"
    );
    for whole in [None, Some("all"), Some("")] {
        let (status, preview) = stack.post("/api/jobs/preview", &body(&lines, "x", whole));
        assert_eq!(status, 200, "{preview}");
        assert!(preview.get("platform_note").is_none(), "{preview}");
    }
}

#[test]
fn the_script_copies_the_same_platform_to_the_same_digest() {
    let stack = Stack::start(StackOptions {
        workers: 0,
        ..StackOptions::default()
    });
    let images = Images::push(&stack);
    let arm64 = images.platform_digest("linux/arm64/v8");

    let text = script(
        &stack,
        &body(&images.lines(&stack), "scripted", Some("linux/arm64")),
    );
    assert!(
        text.contains("skopeo --override-os 'linux' --override-arch 'arm64' copy --authfile"),
        "{text}"
    );
    assert!(!text.contains("--all"), "{text}");

    let tmp = tempfile::tempdir().unwrap();
    let path = docker_sync_tests::check_script(tmp.path(), &text);
    let out = docker_sync_tests::run_script(
        &path,
        tmp.path(),
        &[
            ("DSYNC_TARGET_USERNAME", TARGET_USER),
            ("DSYNC_TARGET_PASSWORD", TARGET_PASSWORD),
        ],
    );
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("2 copied, 0 failed (of 2)"), "{stdout}");
    let copied = stack
        .target
        .manifest("scripted/multi/arch", "1")
        .expect("copied by the script");
    assert_eq!(copied.media_type, OCI_MANIFEST);
    assert_eq!(copied.digest, arm64, "the service would have left {arm64}");
    assert_eq!(
        stack
            .target
            .manifest_digest("scripted/solo/img", "1")
            .as_deref(),
        Some(images.solo.digest.as_str())
    );
}

/// POSTs `body` to /api/scripts as the stack's admin and returns the script (200 required).
fn script(stack: &Stack, body: &Value) -> String {
    let resp = ureq::post(&format!("{}/api/scripts", stack.api_url()))
        .set("Authorization", &format!("Bearer {}", stack.token()))
        .set("Content-Type", "application/json")
        .send_string(&body.to_string());
    match resp {
        Ok(r) => r.into_string().unwrap(),
        Err(ureq::Error::Status(status, r)) => {
            panic!("POST /api/scripts: {status} {}", r.into_string().unwrap())
        }
        Err(e) => panic!("POST /api/scripts: {e}"),
    }
}

#[test]
fn the_preview_asks_the_source_for_each_image_and_its_platform() {
    let stack = Stack::start(StackOptions {
        workers: 0,
        ..StackOptions::default()
    });
    let _images = Images::push(&stack);
    let host = stack.source_host();
    let lines = format!("{host}/multi/arch:1\n{host}/solo/img:1\n{host}/solo/img:nope");
    let states = |platform: Option<&str>| {
        let (status, preview) = stack.post("/api/jobs/preview", &body(&lines, "x", platform));
        assert_eq!(status, 200, "{preview}");
        preview["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                l["images"][0]["source_state"]["state"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(states(None), ["present", "present", "missing"]);
    assert_eq!(
        states(Some("linux/arm64")),
        ["present", "present", "missing"]
    );
    // A single-platform image is copied as it is; an index without the platform is not.
    assert_eq!(
        states(Some("linux/s390x")),
        ["no_platform", "present", "missing"]
    );
}
