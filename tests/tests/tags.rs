//! Tag selection end to end: `repo:1.25*` and `repo:@latest=N` lines expand against the source
//! registry's tags when the job is submitted, the job lists exactly those tags, and the preview
//! shows the same copies plus what the filters (`*:debug` in the stack's config) and duplicates
//! drop, without queuing anything.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::push_images;
use docker_sync_tests::{Registry, Stack, StackOptions, KEY_PREFIX};
use redis::Commands;
use serde_json::{json, Value};

const REPO: &str = "team/app";

fn tags_of(job: &Value) -> Vec<String> {
    job["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| {
            let source = t["source"].as_str().unwrap();
            source.rsplit_once(':').unwrap().1.to_owned()
        })
        .collect()
}

/// Tags `repo` with `count` more tags `prefix{i}` pointing at `tag`'s manifest, by putting the
/// same manifest again (much cheaper than a push each).
fn retag(registry: &Registry, repo: &str, tag: &str, prefix: &str, count: usize) {
    let manifest = registry.manifest(repo, tag).expect("the manifest to retag");
    for i in 0..count {
        let url = format!("{}/v2/{repo}/manifests/{prefix}{i}", registry.url());
        ureq::put(&url)
            .set("Content-Type", &manifest.media_type)
            .send_bytes(&manifest.body)
            .unwrap_or_else(|e| panic!("PUT {url}: {e}"));
    }
}

#[test]
fn globs_and_latest_expand_at_submission_and_copy_exactly_those_tags() {
    let stack = Stack::start(StackOptions::default());
    let src = stack.source_host();
    let listed = [
        "1.24.0",
        "1.25.0",
        "1.25.1",
        "1.25.2-rc1",
        "1.26.0",
        "latest",
        "1.25-debug",
        "debug",
    ];
    let repos: Vec<(&str, &str)> = listed.iter().map(|t| (REPO, *t)).collect();
    let pushed: HashMap<String, String> = push_images(&stack.source, &repos, 4 * 1024)
        .into_iter()
        .map(|p| (p.tag, p.digest))
        .collect();

    let lines = [
        format!("{src}/{REPO}:1.25*"),
        format!("{src}/{REPO}:@latest=2"),
        format!("{src}/{REPO}:d*"),
    ];
    let body = json!({ "images": lines.join("\n"), "target": "target", "replace_level": "skip" });

    // The preview first: every line answered, nothing queued.
    let (status, preview) = stack.post("/api/jobs/preview", &body);
    assert_eq!(status, 200, "{preview:#}");
    let mut conn = stack.redis();
    let jobs: u64 = conn.zcard(format!("{KEY_PREFIX}:jobs")).unwrap();
    let queued: u64 = conn.xlen(format!("{KEY_PREFIX}:tasks")).unwrap();
    assert_eq!((jobs, queued), (0, 0), "a preview writes nothing");
    let p_lines = preview["lines"].as_array().unwrap();
    assert_eq!(p_lines.len(), 3, "{preview:#}");
    let target_of = |tag: &str| format!("{}/mirror/{REPO}:{tag}", stack.target.host());
    let source_of = |tag: &str| format!("{src}/{REPO}:{tag}");
    let images = |line: &Value| -> Vec<(String, String)> {
        line["images"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["source"].as_str().unwrap().to_owned(),
                    i["target"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let expect = |tags: &[&str]| -> Vec<(String, String)> {
        tags.iter().map(|t| (source_of(t), target_of(t))).collect()
    };
    assert_eq!(p_lines[0]["line"], 1);
    assert_eq!(p_lines[0]["input"], lines[0]);
    assert_eq!(
        images(&p_lines[0]),
        expect(&["1.25-debug", "1.25.0", "1.25.1", "1.25.2-rc1"])
    );
    assert_eq!(p_lines[0]["error"], Value::Null);
    assert_eq!(images(&p_lines[1]), expect(&["1.26.0"]));
    assert_eq!(
        p_lines[1]["dropped"],
        json!([{ "image": source_of("1.25.1"), "reason": "duplicate of line 1" }])
    );
    assert_eq!(images(&p_lines[2]), expect(&[]));
    assert_eq!(
        p_lines[2]["dropped"],
        json!([{ "image": source_of("debug"), "reason": "excluded by pattern *:debug", "pattern": "*:debug" }])
    );
    assert_eq!(
        (preview["total"].as_u64(), preview["errors"].as_u64()),
        (Some(5), Some(0))
    );

    // The job: exactly the previewed tags, each copied as it is at the source.
    let (status, job) = stack.post("/api/jobs", &body);
    assert_eq!(status, 202, "{job:#}");
    let expected = ["1.25-debug", "1.25.0", "1.25.1", "1.25.2-rc1", "1.26.0"];
    assert_eq!(tags_of(&job), expected);
    let task_lines: Vec<u64> = job["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["line"].as_u64().unwrap())
        .collect();
    assert_eq!(task_lines, [1, 1, 1, 1, 2]);
    let dropped: Vec<&str> = job["filtered"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        dropped,
        ["duplicate of line 1", "excluded by pattern *:debug"]
    );
    let done = stack.wait_job(job["id"].as_str().unwrap(), Duration::from_secs(120));
    assert_eq!(done["status"], "succeeded", "{done:#}");
    assert_eq!(
        tags_of(&done),
        expected,
        "GET /api/jobs/{{id}} lists the same tags"
    );
    for tag in expected {
        assert_eq!(
            stack.target.manifest_digest(&format!("mirror/{REPO}"), tag),
            Some(pushed[tag].clone()),
            "mirror/{REPO}:{tag} differs from its source"
        );
    }
    let mut copied = stack.target.tags(&format!("mirror/{REPO}"));
    copied.sort();
    let mut want: Vec<String> = expected.iter().map(|t| (*t).to_owned()).collect();
    want.sort();
    assert_eq!(copied, want, "nothing else reached the target");
}

#[test]
fn a_repository_of_many_tags_is_listed_whole_and_versions_compare_as_numbers() {
    let stack = Stack::start(StackOptions {
        workers: 1,
        ..StackOptions::default()
    });
    let src = stack.source_host();
    let pushed = push_images(&stack.source, &[("many/app", "base")], 4 * 1024);
    retag(&stack.source, "many/app", "base", "2.0.", 120);
    assert_eq!(stack.source.tags("many/app").len(), 121);

    let body =
        |images: &str| json!({ "images": images, "target": "target", "replace_level": "all" });
    let text = format!(
        "{src}/many/app:2.0.*\n{src}/many/app:@latest=3\n{src}/many/app:@latest=0\n\
         {src}/many/app:9.*\n{src}/no/such:1.*\n"
    );
    let (status, preview) = stack.post("/api/jobs/preview", &body(&text));
    assert_eq!(status, 200, "{preview:#}");
    let lines = preview["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 5, "every line is answered: {preview:#}");
    assert_eq!(lines[0]["images"].as_array().unwrap().len(), 120);
    assert_eq!(
        lines[0]["images"][119]["target"],
        format!("{}/mirror/app:2.0.119", stack.target.host()),
        "natural order: 2.0.119 comes last"
    );
    assert_eq!(lines[1]["images"].as_array().unwrap().len(), 0);
    let dup: Vec<String> = lines[1]["dropped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            d["image"]
                .as_str()
                .unwrap()
                .rsplit_once(':')
                .unwrap()
                .1
                .to_owned()
        })
        .collect();
    assert_eq!(
        dup,
        ["2.0.119", "2.0.118", "2.0.117"],
        "highest by number, not by text"
    );
    assert!(
        lines[2]["error"]
            .as_str()
            .unwrap()
            .starts_with("invalid count \"0\""),
        "{preview:#}"
    );
    assert_eq!(
        lines[3]["error"],
        format!("no tag of `{src}/many/app` matches `9.*` (121 tags listed)")
    );
    let missing = lines[4]["error"].as_str().unwrap();
    assert!(
        missing.starts_with(&format!(
            "cannot list the tags: the repository of `{src}/no/such` does not exist at `{src}` (name unknown)"
        )),
        "{missing}"
    );
    assert_eq!(
        (preview["total"].as_u64(), preview["errors"].as_u64()),
        (Some(120), Some(3))
    );

    // The same list as a job is refused whole, every bad line named.
    let (status, refused) = stack.post("/api/jobs", &body(&text));
    assert_eq!(status, 400, "{refused:#}");
    let bad: Vec<u64> = refused["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_u64().unwrap())
        .collect();
    assert_eq!(bad, [3, 4, 5]);

    let job = stack.submit(&[format!("{src}/many/app:@latest=3")], "all");
    assert_eq!(tags_of(&job), ["2.0.119", "2.0.118", "2.0.117"]);
    let done = stack.wait_job(job["id"].as_str().unwrap(), Duration::from_secs(120));
    assert_eq!(done["status"], "succeeded", "{done:#}");
    for tag in ["2.0.119", "2.0.118", "2.0.117"] {
        assert_eq!(
            stack.target.manifest_digest("mirror/app", tag).as_deref(),
            Some(pushed[0].digest.as_str())
        );
    }
    assert_eq!(stack.target.tags("mirror/app").len(), 3);
}
