//! A registry added through the api, not in registries.yaml: the workers find it in Redis, open
//! its sealed password with the shared key and push with it; an edit applies to the next job
//! without a restart; a worker holding another key refuses to push without the password; the
//! password is in no Redis key, no log line and no answer.

mod common;

use std::time::Duration;

use common::push_images;
use docker_sync_tests::{Stack, StackOptions, TARGET_PASSWORD, TARGET_USER};
use serde_json::{json, Value};

fn submit_to(stack: &Stack, target: &str, images: &[String]) -> Value {
    let (status, job) = stack.post(
        "/api/jobs",
        &json!({ "images": images.join("\n"), "target": target, "replace_level": "all" }),
    );
    assert_eq!(status, 202, "{job}");
    stack.wait_job(job["id"].as_str().unwrap(), Duration::from_secs(120))
}

#[test]
fn workers_push_with_a_registry_stored_through_the_api() {
    let mut stack = Stack::start(StackOptions {
        retry_count: 0,
        ..StackOptions::default()
    });
    let pushed = push_images(
        &stack.source,
        &[("team/app", "1.0"), ("multi/tool", "2")],
        32 * 1024,
    );
    let images: Vec<String> = pushed
        .iter()
        .map(|p| p.reference(&stack.source_host()))
        .collect();

    // The same htpasswd registry as the file's `target`, under another name and namespace.
    let (status, created) = stack.post(
        "/api/registries",
        &json!({
            "name": "vault",
            "type": "generic",
            "url": stack.target.url(),
            "username": TARGET_USER,
            "password": TARGET_PASSWORD,
            "namespace": "stored",
        }),
    );
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["has_password"], true);

    let done = submit_to(&stack, "vault", &images);
    assert_eq!(done["status"], "succeeded", "{done:#}");
    for p in &pushed {
        let name = p.repo.rsplit('/').next().unwrap();
        assert_eq!(
            stack
                .target
                .manifest_digest(&format!("stored/{name}"), &p.tag)
                .as_deref(),
            Some(p.digest.as_str()),
            "stored/{name}:{} differs from its source",
            p.tag
        );
    }

    // Editing the namespace (password kept) applies to the next job, no restart.
    let (status, edited) = stack.put(
        "/api/registries/vault",
        &json!({ "type": "generic", "url": stack.target.url(), "username": TARGET_USER, "namespace": "edited" }),
    );
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["has_password"], true);
    let done = submit_to(&stack, "vault", &images[..1]);
    assert_eq!(done["status"], "succeeded", "{done:#}");
    assert_eq!(
        stack.target.manifest_digest("edited/app", "1.0").as_deref(),
        Some(pushed[0].digest.as_str())
    );

    // Without its password the push is refused: the workers really used the stored one.
    let (status, cleared) = stack.put(
        "/api/registries/vault",
        &json!({ "type": "generic", "url": stack.target.url(), "username": TARGET_USER, "namespace": "nopass", "clear_password": true }),
    );
    assert_eq!(status, 200, "{cleared}");
    let done = submit_to(&stack, "vault", &images[..1]);
    assert_eq!(done["status"], "failed", "{done:#}");
    assert_eq!(stack.target.manifest_digest("nopass/app", "1.0"), None);

    // A worker holding another key cannot open the password: the task fails saying so, and
    // nothing is pushed without it.
    let (status, _) = stack.put(
        "/api/registries/vault",
        &json!({ "type": "generic", "url": stack.target.url(), "username": TARGET_USER, "password": TARGET_PASSWORD, "namespace": "otherkey" }),
    );
    assert_eq!(status, 200);
    for worker in &mut stack.workers {
        worker.signal(nix::sys::signal::Signal::SIGTERM);
        assert!(
            worker.wait_exit(Duration::from_secs(30)).is_some(),
            "{} did not stop",
            worker.name
        );
    }
    let other_key = stack.config_dir().join("other-key");
    std::fs::write(&other_key, "a-different-sealing-key-0123456789abcdefghij").unwrap();
    stack.start_worker_with(
        "stranger",
        &[(
            "DOCKER_SYNC_SECRET_KEY_FILE",
            other_key.display().to_string(),
        )],
    );
    let done = submit_to(&stack, "vault", &images[..1]);
    assert_eq!(done["status"], "failed", "{done:#}");
    let error = done["tasks"][0]["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("cannot be used") && error.contains("sealed with key"),
        "{error}"
    );
    assert_eq!(stack.target.manifest_digest("otherkey/app", "1.0"), None);

    // Deleted: a new job is refused; the list no longer shows it.
    let (status, _) = stack.delete("/api/registries/vault");
    assert_eq!(status, 204);
    let (status, refused) = stack.post(
        "/api/jobs",
        &json!({ "images": images[0], "target": "vault" }),
    );
    assert_eq!(status, 400, "{refused}");
    let (_, list) = stack.get("/api/registries");
    assert!(!list.to_string().contains("vault"), "{list}");

    stack.assert_secret_nowhere(TARGET_PASSWORD, "registry password");
}
