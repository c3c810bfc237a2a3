//! The real `docker-sync-api` binary as an operator starts it: a config folder written for the
//! test, settings through the environment, stdout and stderr kept for the assertions.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_docker-sync-api");
pub const ADMIN: &str = "ops-admin";
pub const REGISTRIES: &str =
    "registries:\n  target:\n    url: \"http://127.0.0.1:1\"\n    namespace: mirror\n";

/// The binary with a clean environment of its own: nothing the test runner's environment
/// holds (a `DOCKER_SYNC_*` or `RUST_LOG` of the developer) changes what is tested.
pub fn command() -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdin(Stdio::null());
    cmd
}

/// `docker-sync-api hash-password` with `input` on stdin.
pub fn hash_password(input: &str) -> Output {
    let mut child = command()
        .args(["hash-password", "--bcrypt-cost", "4"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// A config folder: registries.yaml as given, users.yaml with [`ADMIN`] holding `hash`.
pub fn config_dir(registries: &str, hash: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("registries.yaml"), registries).unwrap();
    let users = format!(
        "users:\n  {ADMIN}:\n    username: {ADMIN}\n    password_hash: \"{hash}\"\n    role: admin\n"
    );
    std::fs::write(dir.path().join("users.yaml"), users).unwrap();
    dir
}

/// A running api; killed on drop.
pub struct Api {
    pub port: u16,
    child: Child,
    pub stderr: PathBuf,
    _data: tempfile::TempDir,
}

impl Api {
    pub fn start(config: &Path, env: &[(&str, &str)]) -> Api {
        let port = docker_sync_tests::free_port();
        let data = tempfile::tempdir().unwrap();
        let stderr = data.path().join("stdout-and-stderr");
        let out = std::fs::File::create(&stderr).unwrap();
        let child = command()
            .arg("--config")
            .arg(config)
            .arg("--data-dir")
            .arg(data.path())
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--bcrypt-cost", "4"])
            .envs(env.iter().copied())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        Api {
            port,
            child,
            stderr,
            _data: data,
        }
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Polls `/health` until it answers `want`; panics with the api's output after 20 s.
    pub async fn wait_health(&mut self, want: u16) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the api exited ({status}):\n{}", self.output());
            }
            let got = client
                .get(format!("{}/health", self.base()))
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .map(|r| r.status().as_u16());
            if got.as_ref().ok() == Some(&want) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "/health did not answer {want} (last: {got:?}):\n{}",
                self.output()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Logs in as [`ADMIN`]; the session cookie.
    pub async fn login(&self, password: &str) -> Result<String, u16> {
        let r = reqwest::Client::new()
            .post(format!("{}/api/auth/login", self.base()))
            .header("Origin", self.base())
            .json(&serde_json::json!({ "username": ADMIN, "password": password }))
            .send()
            .await
            .unwrap();
        if r.status() != 200 {
            return Err(r.status().as_u16());
        }
        let cookie = r.headers()["set-cookie"].to_str().unwrap();
        Ok(cookie.split(';').next().unwrap().to_owned())
    }

    /// Queues a job of one image to `target`; the job's id.
    pub async fn queue_job(&self, cookie: &str) -> String {
        let client = reqwest::Client::new();
        let r = client
            .post(format!("{}/api/jobs", self.base()))
            .header("Origin", self.base())
            .header("Cookie", cookie)
            .json(&serde_json::json!({
                "images": "docker.io/library/alpine:3.20",
                "target": "target",
                "replace_level": "all",
            }))
            .send()
            .await
            .unwrap();
        let status = r.status();
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(status, 202, "{body}");
        let id = body["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{body}"))
            .to_owned();
        let job = client
            .get(format!("{}/api/jobs/{id}", self.base()))
            .header("Cookie", cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(job.status(), 200);
        id
    }

    /// SIGTERM, then waits for the exit (a clean shutdown flushes the log file).
    pub fn stop(mut self) {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "the api did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Api {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
