//! Offline bundles end to end: an export job writes a multi-arch image and two single ones
//! into a bundle, the bundle comes out of the api as one zip, its `push.sh` (shellcheck
//! clean) puts them into a registry with every digest equal to the source's, and the same
//! bundle pushed back through the api (an import job) lands where a sync would, skipped the
//! second time. A docker-archive holds the one platform asked for, as skopeo reads it back.

use std::io::Read;
use std::process::Command;
use std::time::{Duration, Instant};

use docker_sync_tests::{
    build_image, check_script, push_layout, require_tool, ImageSpec, LayerSpec, OciImage, Platform,
    Stack, StackOptions, TargetSpelling, TARGET_PASSWORD, TARGET_USER,
};
use serde_json::{json, Value};

/// A two-platform index and two single images on the source.
struct Images {
    multi: OciImage,
    solo_a: OciImage,
    solo_b: OciImage,
}

impl Images {
    fn push(stack: &Stack) -> Images {
        let spec = ImageSpec {
            layers: vec![
                LayerSpec::new("base", 16 * 1024),
                LayerSpec::new("multi/arch:1", 16 * 1024),
            ],
            platforms: vec![
                Platform::new("linux", "amd64"),
                Platform::new("linux", "arm64"),
            ],
        };
        let multi = build_image(&spec, "1");
        push_layout(&stack.source, &multi, "multi/arch", "1");
        let solo_a = build_image(&ImageSpec::single("base", "solo/a:1", 8 * 1024), "1");
        push_layout(&stack.source, &solo_a, "solo/a", "1");
        let solo_b = build_image(&ImageSpec::single("base", "solo/b:2", 8 * 1024), "2");
        push_layout(&stack.source, &solo_b, "solo/b", "2");
        Images {
            multi,
            solo_a,
            solo_b,
        }
    }

    /// (repository, tag, digest) of each image as the source has it.
    fn expected(&self) -> Vec<(&'static str, &'static str, String)> {
        vec![
            ("multi/arch", "1", self.multi.digest.clone()),
            ("solo/a", "1", self.solo_a.digest.clone()),
            ("solo/b", "2", self.solo_b.digest.clone()),
        ]
    }
}

fn wait(stack: &Stack, job: &Value) -> Value {
    stack.wait_job(job["id"].as_str().unwrap(), Duration::from_secs(120))
}

/// The bundle's entry in `GET /api/downloads` once its manifest is written (at the job's end,
/// by the api replica that reads the end).
fn bundle_listing(stack: &Stack, bundle: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, list) = stack.get("/api/downloads");
        assert_eq!(status, 200, "{list}");
        let found = list
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["id"] == bundle)
            .cloned();
        if let Some(b) = found.filter(|b| !b["manifest"].is_null()) {
            return b;
        }
        assert!(
            Instant::now() < deadline,
            "bundle {bundle} has no manifest: {list:#}\n{}",
            stack.logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// GET as the stack's admin, the raw body.
fn download(stack: &Stack, path: &str) -> Vec<u8> {
    let resp = ureq::get(&format!("{}{path}", stack.api_url()))
        .set("Authorization", &format!("Bearer {}", stack.token()))
        .call()
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let mut body = Vec::new();
    resp.into_reader().read_to_end(&mut body).unwrap();
    body
}

#[test]
fn an_export_goes_through_the_api_and_push_sh_into_another_registry_with_equal_digests() {
    // The target as users write it (`host:port` with `insecure: true`): the import's second
    // push must still skip by digest.
    let stack = Stack::start(StackOptions {
        target_spelling: TargetSpelling::BareInsecure,
        ..StackOptions::default()
    });
    let images = Images::push(&stack);
    let host = stack.source_host();
    let lines = format!("{host}/multi/arch:1\n{host}/solo/a:1\n{host}/solo/b:2");

    let (status, job) = stack.post(
        "/api/jobs",
        &json!({ "images": lines, "export": {"format": "oci-archive"}, "namespace": "offline" }),
    );
    assert_eq!(status, 202, "{job}");
    assert_eq!(job["target"], "@bundle");
    assert_eq!(job["export"], "oci-archive");
    let bundle = job["bundle"].as_str().unwrap().to_owned();
    assert_eq!(bundle, job["id"].as_str().unwrap());
    let done = wait(&stack, &job);
    assert_eq!(done["status"], "succeeded", "{done:#}\n{}", stack.logs());
    for task in done["tasks"].as_array().unwrap() {
        assert!(
            task["file"].as_str().unwrap().ends_with(".oci.tar"),
            "{task}"
        );
        assert!(task["size"].as_u64().unwrap() > 0, "{task}");
        assert_eq!(task["sha256"].as_str().unwrap().len(), 64, "{task}");
    }

    let listed = bundle_listing(&stack, &bundle);
    let manifest = &listed["manifest"];
    assert_eq!(manifest["format"], "oci-archive");
    let recorded: Vec<(String, String)> = manifest["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["target"].as_str().unwrap().to_owned(),
                i["digest"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = images
        .expected()
        .into_iter()
        .map(|(repo, tag, digest)| (format!("offline/{repo}:{tag}"), digest))
        .collect();
    assert_eq!(
        recorded, want,
        "the manifest records each image's source digest"
    );
    for name in ["manifest.json", "push.sh", "README.md", "SHA256SUMS"] {
        assert!(
            listed["files"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["name"] == name),
            "{name} missing: {listed:#}"
        );
    }
    // No partial file is left or listed.
    let leftovers: Vec<_> = std::fs::read_dir(stack.downloads().join(&bundle))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // Carried away: the whole bundle in one download, unpacked elsewhere.
    let carried = tempfile::tempdir().unwrap();
    let zip = carried.path().join("bundle.zip");
    std::fs::write(
        &zip,
        download(
            &stack,
            &format!("/api/downloads/{bundle}/archive?format=zip"),
        ),
    )
    .unwrap();
    let unzip = Command::new(require_tool("unzip", "unzip"))
        .arg("-q")
        .arg(&zip)
        .arg("-d")
        .arg(carried.path())
        .output()
        .unwrap();
    assert!(
        unzip.status.success(),
        "{}",
        String::from_utf8_lossy(&unzip.stderr)
    );
    let unpacked = carried.path().join(&bundle);
    let sums = Command::new("sha256sum")
        .args(["-c", "SHA256SUMS"])
        .current_dir(&unpacked)
        .output()
        .unwrap();
    assert!(
        sums.status.success(),
        "{}",
        String::from_utf8_lossy(&sums.stdout)
    );

    // push.sh into the authenticated registry, below a prefix.
    let push_sh = std::fs::read_to_string(unpacked.join("push.sh")).unwrap();
    assert!(!push_sh.contains(TARGET_PASSWORD));
    let scratch = tempfile::tempdir().unwrap();
    check_script(scratch.path(), &push_sh);
    let out = Command::new("sh")
        .arg(unpacked.join("push.sh"))
        .arg(format!("{}/carried", stack.target.host()))
        .current_dir(&unpacked)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", scratch.path())
        .env("TMPDIR", scratch.path())
        .env("REGISTRY_USERNAME", TARGET_USER)
        .env("REGISTRY_PASSWORD", TARGET_PASSWORD)
        .env("REGISTRY_INSECURE", "1")
        .output()
        .unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "push.sh failed:\n{printed}");
    assert!(!printed.contains(TARGET_PASSWORD), "{printed}");
    for (repo, tag, digest) in images.expected() {
        assert_eq!(
            stack
                .target
                .manifest_digest(&format!("carried/offline/{repo}"), tag)
                .as_deref(),
            Some(digest.as_str()),
            "carried/offline/{repo}:{tag}"
        );
    }
    for p in &images.multi.platforms {
        assert!(
            stack
                .target
                .manifest_digest("carried/offline/multi/arch", &p.manifest_digest)
                .is_some(),
            "{} of the index pushed",
            p.platform.name()
        );
    }

    // The same bundle pushed back through the api: an import lands where a sync would.
    let push_body = json!({ "target": "target", "namespace": "imported" });
    let (status, import) = stack.post(&format!("/api/downloads/{bundle}/push"), &push_body);
    assert_eq!(status, 202, "{import}");
    assert_eq!(import["bundle"], bundle.as_str());
    let imported = wait(&stack, &import);
    assert_eq!(
        imported["status"],
        "succeeded",
        "{imported:#}\n{}",
        stack.logs()
    );
    for (repo, tag, digest) in images.expected() {
        assert_eq!(
            stack
                .target
                .manifest_digest(&format!("imported/{repo}"), tag)
                .as_deref(),
            Some(digest.as_str()),
            "imported/{repo}:{tag}"
        );
    }
    let (_, again) = stack.post(&format!("/api/downloads/{bundle}/push"), &push_body);
    let again = wait(&stack, &again);
    assert_eq!(again["counts"]["skipped"], 3, "{again:#}");

    // A bundle whose archive was swapped under the same name fails the digest check.
    let files: Vec<String> = manifest["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["file"].as_str().unwrap().to_owned())
        .collect();
    let folder = stack.downloads().join(&bundle);
    std::fs::copy(folder.join(&files[2]), folder.join(&files[1])).unwrap();
    let (_, swapped) = stack.post(
        &format!("/api/downloads/{bundle}/push"),
        &json!({ "target": "target", "namespace": "swapped" }),
    );
    let swapped = wait(&stack, &swapped);
    let task = &swapped["tasks"][1];
    assert_eq!(task["status"], "failed", "{swapped:#}");
    assert!(
        task["error"].as_str().unwrap().contains("digest check"),
        "{task}"
    );
}

#[test]
fn a_docker_archive_holds_the_platform_asked_for_and_needs_one() {
    let stack = Stack::start(StackOptions {
        workers: 1,
        ..StackOptions::default()
    });
    let images = Images::push(&stack);
    let host = stack.source_host();
    let (status, refused) = stack.post(
        "/api/jobs",
        &json!({ "images": format!("{host}/multi/arch:1"), "export": {"format": "docker-archive"} }),
    );
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["code"], "export_needs_platform");
    assert_eq!(refused["field"], "platform");
    let (status, both) = stack.post(
        "/api/jobs",
        &json!({ "images": format!("{host}/solo/a:1"), "target": "target", "export": {"format": "oci-archive"} }),
    );
    assert_eq!(status, 400, "{both}");

    let (status, job) = stack.post(
        "/api/jobs",
        &json!({ "images": format!("{host}/multi/arch:1"), "export": {"format": "docker-archive"}, "platform": "linux/arm64" }),
    );
    assert_eq!(status, 202, "{job}");
    let done = wait(&stack, &job);
    assert_eq!(done["status"], "succeeded", "{done:#}\n{}", stack.logs());
    let arm64 = images
        .multi
        .platforms
        .iter()
        .find(|p| p.platform.name() == "linux/arm64")
        .unwrap();
    assert_eq!(done["tasks"][0]["digest"], arm64.manifest_digest.as_str());
    let file = done["tasks"][0]["file"].as_str().unwrap();
    assert!(file.ends_with(".docker.tar"), "{file}");
    let path = stack
        .downloads()
        .join(job["id"].as_str().unwrap())
        .join(file);

    let skopeo = require_tool("skopeo", "skopeo");
    let inspect = |what: &[&str]| -> Vec<u8> {
        let out = Command::new(&skopeo)
            .arg("inspect")
            .args(what)
            .arg(format!("docker-archive:{}", path.display()))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let config = inspect(&["--config", "--raw"]);
    assert_eq!(
        docker_sync_tests::sha256_digest(&config),
        arm64.config_digest,
        "the archive holds linux/arm64's config"
    );
    let manifest: Value = serde_json::from_slice(&inspect(&["--raw"])).unwrap();
    let layers: Vec<&str> = manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["digest"].as_str().unwrap())
        .collect();
    assert_eq!(layers.len(), arm64.layer_digests.len());
    // `docker load` reads the tag from the archive's manifest.json: the target name.
    let listing = Command::new("tar")
        .args(["-xOf"])
        .arg(&path)
        .arg("manifest.json")
        .output()
        .unwrap();
    let docker_manifest: Value = serde_json::from_slice(&listing.stdout).unwrap();
    let tags = docker_manifest[0]["RepoTags"].to_string();
    assert!(tags.contains("multi/arch:1"), "{tags}");
}
