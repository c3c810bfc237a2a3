//! Batch scripts made by the api: checked the way the issue asks (`shellcheck -s sh`, `sh -n`)
//! and run the way a user would run them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::require_tool;

/// Writes the script into `dir` and checks it with `shellcheck -s sh` and `sh -n`; panics with
/// their output and the script when either complains.
pub fn check_script(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("docker-sync-target.sh");
    std::fs::write(&path, text).unwrap();
    let shellcheck = require_tool("shellcheck", "shellcheck");
    for (name, out) in [
        (
            "shellcheck",
            Command::new(shellcheck)
                .args(["-s", "sh"])
                .arg(&path)
                .output(),
        ),
        ("sh -n", Command::new("sh").arg("-n").arg(&path).output()),
    ] {
        let out = out.unwrap();
        assert!(
            out.status.success(),
            "{name}:\n{}{}\n{text}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    path
}

/// Runs the script with `sh` in a clean environment (PATH, a private HOME and TMPDIR) plus
/// `env`.
pub fn run_script(script: &Path, tmp: &Path, env: &[(&str, &str)]) -> Output {
    let home = tmp.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let mut cmd = Command::new("sh");
    cmd.arg(script)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("TMPDIR", tmp);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}
