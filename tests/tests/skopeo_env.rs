//! What a running skopeo can be seen holding (`/proc/<pid>/environ` and `cmdline`, readable by
//! anything running as the worker's user): only what its copy needs, and never a secret.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::Duration;

use base64::Engine;
use common::{nul_separated, running_skopeo, slow_stack, submit_one, wait_copying};
use docker_sync_tests::{StackOptions, TARGET_PASSWORD, TARGET_USER};

const CANARY: &str = "canary-4f1c-never-for-skopeo";

/// What skopeo may be given (README "How a registry is reached", and the worker's skopeo.rs).
const ALLOWED: [&str; 9] = [
    "PATH",
    "HOME",
    "TMPDIR",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "NO_PROXY",
    "https_proxy",
    "http_proxy",
    "no_proxy",
];

#[test]
fn skopeo_sees_a_minimal_environment_and_no_secret() {
    let stack = slow_stack(StackOptions {
        workers: 1,
        worker_env: vec![
            ("DOCKER_SYNC_CANARY_SECRET".into(), CANARY.into()),
            ("AWS_SECRET_ACCESS_KEY".into(), CANARY.into()),
        ],
        ..StackOptions::default()
    });
    let (job, _) = submit_one(&stack, "env/img");
    wait_copying(&stack, &job, 0);
    let pid = running_skopeo(&stack, 0);
    let environ = nul_separated(format!("/proc/{pid}/environ"));
    let argv = nul_separated(format!("/proc/{pid}/cmdline"));

    let names: Vec<&str> = environ
        .iter()
        .map(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k))
        .collect();
    for name in &names {
        assert!(ALLOWED.contains(name), "skopeo got {name}: {environ:?}");
    }
    assert!(
        names.contains(&"PATH") && names.contains(&"HOME"),
        "{environ:?}"
    );
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{TARGET_USER}:{TARGET_PASSWORD}"));
    let redis_url = stack.redis.url();
    for secret in [CANARY, TARGET_PASSWORD, basic.as_str(), redis_url.as_str()] {
        assert!(
            !environ.iter().chain(&argv).any(|e| e.contains(secret)),
            "skopeo's environ or argv holds {secret}: {environ:?} {argv:?}"
        );
    }

    let at = argv
        .iter()
        .position(|a| a == "--authfile")
        .unwrap_or_else(|| panic!("no --authfile in {argv:?}"));
    let authfile = PathBuf::from(&argv[at + 1]);
    let mode = std::fs::metadata(&authfile)
        .expect("the authfile exists while skopeo runs")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "{}", authfile.display());

    let done = stack.wait_job(&job, Duration::from_secs(60));
    assert_eq!(done["status"], "succeeded", "{done:#}");
    assert!(
        !authfile.exists(),
        "{} outlived the copy",
        authfile.display()
    );
}
