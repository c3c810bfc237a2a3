//! `POST /api/scripts`: the batch script of a job, checked by shellcheck and `sh -n`, then run
//! against the test registries, where it must leave the same target digests as the service.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::push_images;
use docker_sync_tests::{
    require_tool, Stack, StackOptions, KEY_PREFIX, TARGET_PASSWORD, TARGET_USER,
};
use redis::Commands;
use serde_json::{json, Value};

/// POSTs `body` to /api/scripts as the stack's admin: status, Content-Type,
/// Content-Disposition and the body text.
fn post_script(stack: &Stack, body: &Value) -> (u16, String, String, String) {
    let resp = match ureq::post(&format!("{}/api/scripts", stack.api_url()))
        .set("Authorization", &format!("Bearer {}", stack.token()))
        .set("Content-Type", "application/json")
        .send_string(&body.to_string())
    {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("POST /api/scripts: {e}"),
    };
    let status = resp.status();
    let content_type = resp.header("Content-Type").unwrap_or_default().to_owned();
    let disposition = resp
        .header("Content-Disposition")
        .unwrap_or_default()
        .to_owned();
    (
        status,
        content_type,
        disposition,
        resp.into_string().unwrap(),
    )
}

/// A script that must be served: 200, a shell script, as an attachment.
fn script(stack: &Stack, body: &Value) -> String {
    let (status, content_type, disposition, text) = post_script(stack, body);
    assert_eq!(status, 200, "{text}");
    assert_eq!(content_type, "text/x-shellscript; charset=utf-8");
    assert_eq!(
        disposition,
        "attachment; filename=\"docker-sync-target.sh\""
    );
    text
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Everything in `dir` but the script and the fake HOME: the authfile must be gone.
fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "docker-sync-target.sh" && n != "home" && n != "fakebin")
        .collect()
}

#[test]
fn the_script_copies_what_the_service_would_and_reports_failures() {
    require_tool("skopeo", "skopeo");
    let stack = Stack::start(StackOptions {
        workers: 0,
        ..StackOptions::default()
    });
    let pushed = push_images(
        &stack.source,
        &[("a/b/c/img", "1"), ("multi/arch", "1"), ("x/y", "2")],
        16 * 1024,
    );
    let host = stack.source_host();
    let images = [
        pushed[0].reference(&host),
        // Pinned by digest: copied by digest, the target keeps the tag.
        format!("{}@{}", pushed[1].reference(&host), pushed[1].digest),
        format!("{host}/a/b/c/img:debug"),
        pushed[2].reference(&host),
        pushed[2].reference(&host),
    ];
    let text = script(
        &stack,
        &json!({ "images": images.join("\n"), "target": "target", "replace_level": "all" }),
    );
    assert!(!text.contains(TARGET_PASSWORD), "{text}");
    assert!(text.contains("DSYNC_TARGET_PASSWORD"), "{text}");
    assert!(text.contains("set -eu\n"), "{text}");
    assert!(text.contains(&format!(
        "#   line 3: {host}/a/b/c/img:debug (excluded by pattern *:debug)\n"
    )));
    assert!(text.contains("#   line 5: ") && text.contains("(duplicate of line 4)"));
    assert!(
        text.contains(&format!(
            "copy_image '{host}/multi/arch@{}' '{}/mirror/arch:1' \
             --src-tls-verify=false --dest-tls-verify=false\n",
            pushed[1].digest,
            stack.target.host()
        )),
        "{text}"
    );
    // Scripts are never queued.
    let queued: u64 = stack.redis().xlen(format!("{KEY_PREFIX}:tasks")).unwrap();
    assert_eq!(queued, 0);

    let tmp = tempfile::tempdir().unwrap();
    let path = docker_sync_tests::check_script(tmp.path(), &text);
    let creds = [
        ("DSYNC_TARGET_USERNAME", TARGET_USER),
        ("DSYNC_TARGET_PASSWORD", TARGET_PASSWORD),
    ];
    let out = docker_sync_tests::run_script(&path, tmp.path(), &creds);
    let (stdout, stderr) = self::text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("3 copied, 0 failed (of 3)"), "{stdout}");
    for (p, repo) in pushed.iter().zip(["mirror/img", "mirror/arch", "mirror/y"]) {
        assert_eq!(
            stack.target.manifest_digest(repo, &p.tag).as_deref(),
            Some(p.digest.as_str()),
            "{repo}:{} differs from its source\n{stdout}\n{stderr}",
            p.tag
        );
    }
    assert_eq!(leftovers(tmp.path()), Vec::<String>::new(), "authfile left");

    // The user name defaults to the configured one.
    let out = docker_sync_tests::run_script(&path, tmp.path(), &creds[1..]);
    let (stdout, stderr) = self::text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains(&format!("as {TARGET_USER}")), "{stdout}");

    // A wrong password: nothing is copied, the summary says so, the exit status is not 0.
    let out = docker_sync_tests::run_script(
        &path,
        tmp.path(),
        &[("DSYNC_TARGET_PASSWORD", "not-the-password")],
    );
    let (stdout, stderr) = self::text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("0 copied, 3 failed") && stderr.contains("login"),
        "{stdout}\n{stderr}"
    );
    assert_eq!(leftovers(tmp.path()), Vec::<String>::new(), "authfile left");

    // No password at all: exit 2 before anything runs, naming the variable.
    let out = docker_sync_tests::run_script(&path, tmp.path(), &[]);
    let (stdout, stderr) = self::text(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("set DSYNC_TARGET_PASSWORD to the password of registry target"),
        "{stderr}"
    );

    // A failing copy does not stop the others: a missing image first, into a fresh namespace.
    let text = script(
        &stack,
        &json!({
            "images": [format!("{host}/nope/missing:1"), pushed[0].reference(&host), pushed[2].reference(&host)],
            "target": "target",
            "replace_level": "skip",
            "namespace": "again",
        }),
    );
    let path = docker_sync_tests::check_script(tmp.path(), &text);
    let out = docker_sync_tests::run_script(&path, tmp.path(), &creds);
    let (stdout, stderr) = self::text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("2 copied, 1 failed (of 3)"), "{stdout}");
    assert!(
        stderr.contains(&format!("{host}/nope/missing:1 -> ")),
        "{stderr}"
    );
    for (p, repo) in [(&pushed[0], "again/a/b/c/img"), (&pushed[2], "again/x/y")] {
        assert_eq!(
            stack.target.manifest_digest(repo, &p.tag).as_deref(),
            Some(p.digest.as_str()),
            "{repo}:{}",
            p.tag
        );
    }
    assert!(
        !stack.logs().contains(TARGET_PASSWORD),
        "a log line holds the registry password"
    );
}

#[test]
fn the_password_reaches_skopeo_on_stdin_and_the_flags_are_the_workers() {
    let stack = Stack::start(StackOptions {
        workers: 0,
        ..StackOptions::default()
    });
    let host = stack.source_host();
    let digest = format!("sha256:{}", "a".repeat(64));
    let text = script(
        &stack,
        &json!({
            "images": [format!("{host}/a/b:1"), format!("{host}/c/d:2@{digest}")],
            "target": "target",
            "replace_level": "1",
        }),
    );
    let tmp = tempfile::tempdir().unwrap();
    let path = docker_sync_tests::check_script(tmp.path(), &text);

    // A stand-in skopeo that records its argv and, for login, its stdin.
    let bin = tmp.path().join("fakebin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = tmp.path().join("calls.log");
    let fake = bin.join("skopeo");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\nprintf 'ARGV' >>'{log}'\nfor a in \"$@\"; do printf ' [%s]' \"$a\" >>'{log}'; done\n\
             echo >>'{log}'\nif [ \"$1\" = login ]; then printf 'STDIN [%s]\\n' \"$(cat)\" >>'{log}'; fi\n",
            log = log.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();

    let home = tmp.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let out = Command::new("sh")
        .arg(&path)
        .env_clear()
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("HOME", &home)
        .env("TMPDIR", tmp.path())
        .env("DSYNC_TARGET_PASSWORD", TARGET_PASSWORD)
        .output()
        .unwrap();
    let (stdout, stderr) = self::text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("2 copied, 0 failed (of 2)"), "{stdout}");

    let calls = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = calls.lines().collect();
    assert_eq!(lines.len(), 4, "{calls}");
    let target = stack.target.host();
    assert!(
        lines[0].starts_with("ARGV [login] [--authfile] [")
            && lines[0].ends_with(&format!(
                "] [--username] [{TARGET_USER}] [--password-stdin] [--tls-verify=false] [{target}]"
            )),
        "{calls}"
    );
    assert_eq!(lines[1], format!("STDIN [{TARGET_PASSWORD}]"));
    assert!(
        lines
            .iter()
            .filter(|l| l.starts_with("ARGV"))
            .all(|l| !l.contains(TARGET_PASSWORD)),
        "{calls}"
    );
    // The argv of worker/src/skopeo.rs: copy --all --authfile --src-tls-verify --dest-tls-verify
    // SOURCE TARGET, the source by digest when pinned, the target by tag.
    let copy = |l: &str| -> String {
        let (_, rest) = l.split_once("] [--src").unwrap();
        format!("[--src{rest}")
    };
    assert!(lines[2].starts_with("ARGV [copy] [--all] [--authfile] ["));
    assert_eq!(
        copy(lines[2]),
        format!(
            "[--src-tls-verify=false] [--dest-tls-verify=false] [docker://{host}/a/b:1] \
             [docker://{target}/mirror/b:1]"
        )
    );
    assert_eq!(
        copy(lines[3]),
        format!(
            "[--src-tls-verify=false] [--dest-tls-verify=false] [docker://{host}/c/d@{digest}] \
             [docker://{target}/mirror/d:2]"
        )
    );
    assert!(leftovers(tmp.path()).iter().all(|n| n == "calls.log"));
}

#[test]
fn a_list_with_bad_lines_is_refused_like_a_job() {
    let stack = Stack::start(StackOptions {
        workers: 0,
        ..StackOptions::default()
    });
    let body = json!({
        "images": "nginx:1.25\n\n# a comment\nNginx:1\nok/img:1\nbad tag!\nimg@sha256:1234\n",
        "target": "target",
        "replace_level": "skip",
    });
    let (status, content_type, _, text) = post_script(&stack, &body);
    assert_eq!(status, 400, "{text}");
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let answer: Value = serde_json::from_str(&text).unwrap();
    let lines: Vec<u64> = answer["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [4, 6, 7], "{answer:#}");
    // Exactly the answer of POST /api/jobs.
    let (job_status, job_answer) = stack.post("/api/jobs", &body);
    assert_eq!((job_status, &job_answer), (400, &answer));

    for (body, needle) in [
        (
            json!({"images": "nginx", "target": "nope"}),
            "unknown target registry",
        ),
        (
            json!({"images": "nginx:debug", "target": "target"}),
            "dropped by the filters",
        ),
        (json!({"images": "", "target": "target"}), "empty"),
    ] {
        let (status, _, _, text) = post_script(&stack, &body);
        assert_eq!(status, 400, "{text}");
        let answer: Value = serde_json::from_str(&text).unwrap();
        assert!(
            answer["error"].as_str().unwrap().contains(needle),
            "{answer}"
        );
    }
    // No target: since a job may export instead, the answer names both choices.
    let (status, _, _, text) = post_script(&stack, &json!({"images": "nginx"}));
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("give `target`"), "{text}");
    let (status, _, _, text) = post_script(
        &stack,
        &json!({"images": "nginx", "export": {"format": "oci-archive"}}),
    );
    assert_eq!(status, 400, "{text}");
    assert!(
        text.contains("a batch script copies into a registry"),
        "{text}"
    );
}
