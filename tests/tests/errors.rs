//! Failed copies say what went wrong in words people act on, naming the image and the registry,
//! while the task's `output` keeps skopeo's own last lines.

mod common;

use std::time::Duration;

use common::push_images;
use docker_sync_tests::{Stack, StackOptions, TARGET_PASSWORD};
use serde_json::Value;

fn only_task(job: &Value) -> &Value {
    let tasks = job["tasks"].as_array().expect("tasks");
    assert_eq!(tasks.len(), 1, "{job:#}");
    &tasks[0]
}

#[test]
fn a_missing_source_tag_is_named_as_such() {
    let stack = Stack::start(StackOptions {
        workers: 1,
        retry_count: 0,
        ..StackOptions::default()
    });
    push_images(&stack.source, &[("ok/img", "1")], 4 * 1024);
    let missing = format!("{}/ok/img:nope", stack.source_host());
    let job = stack.submit(std::slice::from_ref(&missing), "skip");
    let done = stack.wait_job(job["id"].as_str().unwrap(), Duration::from_secs(60));
    assert_eq!(done["status"], "failed", "{done:#}");
    let task = only_task(&done);
    assert_eq!(task["status"], "failed");
    assert_eq!(
        task["error"],
        format!(
            "`{missing}` does not exist at the source (manifest unknown): check the tag or digest"
        ),
        "{task:#}"
    );
    let output = task["output"].as_str().unwrap();
    assert!(
        output.contains("level=fatal") && output.contains("manifest unknown: manifest unknown"),
        "the raw lines are kept: {output}"
    );
}

#[test]
fn a_wrong_target_password_names_the_registry_entry() {
    let mut stack = Stack::start(StackOptions {
        workers: 0,
        retry_count: 0,
        ..StackOptions::default()
    });
    // The api keeps the right configuration; the one worker reads a wrong password.
    let file = stack.config_dir().join("registries.yaml");
    let yaml = std::fs::read_to_string(&file).unwrap();
    assert!(yaml.contains(TARGET_PASSWORD));
    std::fs::write(&file, yaml.replace(TARGET_PASSWORD, "not-the-password")).unwrap();
    stack.start_worker("w1");

    push_images(&stack.source, &[("ok/img", "1")], 4 * 1024);
    let job = stack.submit(&[format!("{}/ok/img:1", stack.source_host())], "skip");
    let done = stack.wait_job(job["id"].as_str().unwrap(), Duration::from_secs(60));
    assert_eq!(done["status"], "failed", "{done:#}");
    let task = only_task(&done);
    assert_eq!(
        task["error"],
        "the target registry refused the credentials of registry `target` (unauthorized): \
         check its username and password in registries.yaml",
        "{task:#}"
    );
    let output = task["output"].as_str().unwrap();
    assert!(
        output.contains("unauthorized: authentication required"),
        "the raw lines are kept: {output}"
    );
    assert!(!output.contains("not-the-password"), "{output}");
}
