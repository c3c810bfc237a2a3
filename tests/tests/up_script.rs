//! The README's first command, `./scripts/up.sh`, keeps its word: it starts its own Redis, the
//! api and two workers; Ctrl-C lets running copies finish within the grace and hands back the
//! ones that cannot, every process is gone by then, and the next start finishes the handed-back
//! tasks without counting a failed attempt. A Redis port already taken is named, not shared.
//!
//! The script runs as a user runs it, with its own data dir and ports; `DOCKER_SYNC_BIN` points
//! it at the binaries the tests built, so it skips its own `cargo build --release`.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::push_images;
use docker_sync_tests::{binaries, free_port, RedisServer, Registry, ThrottledProxy};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use redis::Commands;
use serde_json::{json, Value};

/// The workers' shutdown grace in this test.
const GRACE: Duration = Duration::from_secs(6);
/// Bytes per second the source serves: the quick image takes about 2 s, the slow one about 16 s.
const RATE: usize = 96 * 1024;

struct Up {
    child: Child,
    base: String,
    log: PathBuf,
}

impl Up {
    /// Runs `bash scripts/up.sh` in a process group of its own, as a terminal's foreground job.
    fn start(dir: &Path, redis_port: u16, api_port: u16, run: &str) -> Up {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let bin = binaries().api.parent().unwrap().to_owned();
        let log = dir.join(format!("up-{run}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new("bash")
            .arg(repo.join("scripts/up.sh"))
            .current_dir(repo)
            .env("DOCKER_SYNC_DATA", dir.join("data"))
            .env("DOCKER_SYNC_CONFIG", dir.join("config"))
            .env("DOCKER_SYNC_REDIS_PORT", redis_port.to_string())
            .env("DOCKER_SYNC_LISTEN", format!("127.0.0.1:{api_port}"))
            .env("DOCKER_SYNC_BIN", bin)
            .env(
                "DOCKER_SYNC_SHUTDOWN_GRACE",
                format!("{}s", GRACE.as_secs()),
            )
            .env("DOCKER_SYNC_BCRYPT_COST", "4")
            .env_remove("REDIS_URL")
            .env_remove("DOCKER_SYNC_SECRET_KEY")
            .env_remove("DOCKER_SYNC_SECRET_KEY_FILE")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .process_group(0)
            .spawn()
            .expect("bash scripts/up.sh");
        Up {
            child,
            base: format!("http://127.0.0.1:{api_port}"),
            log,
        }
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "up.sh exited ({status}) before it was ready:\n{}",
                    self.output()
                );
            }
            if matches!(ureq::get(&format!("{}/health", self.base)).call(), Ok(r) if r.status() == 200)
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("up.sh never answered /health:\n{}", self.output());
    }

    /// Ctrl-C: SIGINT to the whole foreground process group.
    fn ctrl_c(&self) {
        kill(Pid::from_raw(-(self.child.id() as i32)), Signal::SIGINT).expect("kill(2)");
    }
}

#[test]
fn ctrl_c_lets_copies_finish_within_the_grace_and_the_next_start_finishes_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let source = Registry::start();
    let target = Registry::start();
    let slow_source = ThrottledProxy::start(&source.host(), RATE);
    let quick = &push_images(&source, &[("up/quick", "1")], 96 * 1024)[0];
    let slow = &push_images(&source, &[("up/slow", "1")], 768 * 1024)[0];
    std::fs::create_dir_all(dir.path().join("config")).unwrap();
    std::fs::write(
        dir.path().join("config/registries.yaml"),
        format!(
            "registries:\n  source:\n    url: \"http://{}\"\n  target:\n    url: \"{}\"\n    namespace: mirror\n",
            slow_source.host(),
            target.url()
        ),
    )
    .unwrap();
    let (redis_port, api_port) = (free_port(), free_port());

    let mut up = Up::start(dir.path(), redis_port, api_port, "first");
    up.wait_ready();
    let password = std::fs::read_to_string(dir.path().join("data/initial-admin-password"))
        .expect("the one-time password file");
    let token = first_login(&up.base, password.trim());
    let images = [
        quick.reference(&slow_source.host()),
        slow.reference(&slow_source.host()),
    ];
    let job = post(
        &up.base,
        &token,
        "/api/jobs",
        json!({ "images": images.join("\n"), "target": "target", "replace_level": "skip" }),
    );
    let job = job["id"].as_str().expect("a job id").to_owned();
    wait_both_copying(&up.base, &token, &job);

    let family = descendants(up.child.id());
    assert!(
        family.len() >= 6,
        "bash, redis, api, 2 workers, 2 skopeo: {family:?}"
    );
    let interrupted = Instant::now();
    up.ctrl_c();
    let status = wait_exit(&mut up.child, GRACE + Duration::from_secs(8))
        .unwrap_or_else(|| panic!("up.sh still runs after the grace:\n{}", up.output()));
    let left: Vec<u32> = family.iter().copied().filter(|&p| alive(p)).collect();
    assert!(
        left.is_empty(),
        "still running after the grace: {left:?}\n{}",
        up.output()
    );
    assert!(
        interrupted.elapsed() < GRACE + Duration::from_secs(8),
        "{:?}",
        interrupted.elapsed()
    );
    let first_output = up.output();
    assert!(status.code().is_some(), "up.sh was killed: {status}");
    assert!(
        !first_output.contains("SIGINT (") && !first_output.contains("signal: 2"),
        "a copy died of the terminal's SIGINT:\n{first_output}"
    );
    assert!(
        first_output.contains("shutdown grace over"),
        "the slow copy outlasts the grace and is handed back:\n{first_output}"
    );

    // The quick copy finished during the grace; the slow one waits, handed back, in the AOF.
    let mut up = Up::start(dir.path(), redis_port, api_port, "second");
    up.wait_ready();
    let done = wait_job(&up.base, &token, &job, Duration::from_secs(90));
    assert_eq!(done["status"], "succeeded", "{done:#}\n{}", up.output());
    let mut redis = redis::Client::open(format!("redis://127.0.0.1:{redis_port}"))
        .unwrap()
        .get_connection()
        .unwrap();
    for task in done["tasks"].as_array().unwrap() {
        let hash: HashMap<String, String> = redis
            .hgetall(format!("dsync:task:{}", task["id"].as_str().unwrap()))
            .unwrap();
        assert_eq!(hash["status"], "succeeded", "{hash:?}");
        assert_eq!(hash["deliveries"], "1", "no attempt was spent: {hash:?}");
        assert!(!hash.contains_key("error"), "{hash:?}");
    }
    let quick_task = &done["tasks"][0];
    assert_eq!(
        quick_task["attempts"], 1,
        "finished within the grace: {done:#}"
    );
    assert_eq!(
        target.manifest_digest("mirror/up/slow", "1").as_deref(),
        Some(slow.digest.as_str())
    );
    assert_eq!(
        target.manifest_digest("mirror/up/quick", "1").as_deref(),
        Some(quick.digest.as_str())
    );

    up.ctrl_c();
    wait_exit(&mut up.child, GRACE + Duration::from_secs(8)).expect("the second run stops too");
}

#[test]
fn a_redis_port_already_in_use_is_named_and_nothing_starts() {
    let dir = tempfile::tempdir().unwrap();
    let other = RedisServer::start();
    let port = other.port();
    std::fs::create_dir_all(dir.path().join("config")).unwrap();
    let mut up = Up::start(dir.path(), port, free_port(), "taken");
    let status = wait_exit(&mut up.child, Duration::from_secs(20)).expect("up.sh gives up at once");
    assert!(!status.success());
    let output = up.output();
    assert!(
        output.contains(&format!("port {port} is already in use")),
        "{output}"
    );
    assert!(!output.contains("docker-image-sync: http"), "{output}");
}

/// Logs in with the one-time password, sets a new one (required first) and returns an admin
/// API token.
fn first_login(base: &str, password: &str) -> String {
    let login = |password: &str| {
        let r = ureq::post(&format!("{base}/api/auth/login"))
            .set("Origin", base)
            .send_json(json!({ "username": "admin", "password": password }))
            .expect("admin logs in");
        r.header("set-cookie")
            .and_then(|c| c.split(';').next())
            .expect("a session cookie")
            .to_owned()
    };
    let cookie = login(password);
    let new_password = "a new admin password";
    ureq::post(&format!("{base}/api/auth/password"))
        .set("Origin", base)
        .set("Cookie", &cookie)
        .send_json(json!({ "old_password": password, "new_password": new_password }))
        .expect("the one-time password is changed");
    let cookie = login(new_password);
    let created: Value = ureq::post(&format!("{base}/api/tokens"))
        .set("Origin", base)
        .set("Cookie", &cookie)
        .send_json(json!({ "name": "up-test", "role": "admin" }))
        .expect("a token")
        .into_json()
        .unwrap();
    created["token"].as_str().unwrap().to_owned()
}

fn post(base: &str, token: &str, path: &str, body: Value) -> Value {
    ureq::post(&format!("{base}{path}"))
        .set("Authorization", &format!("Bearer {token}"))
        .send_json(body)
        .unwrap_or_else(|e| panic!("POST {path}: {e}"))
        .into_json()
        .unwrap()
}

fn get(base: &str, token: &str, path: &str) -> Value {
    ureq::get(&format!("{base}{path}"))
        .set("Authorization", &format!("Bearer {token}"))
        .call()
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
        .into_json()
        .unwrap()
}

fn wait_both_copying(base: &str, token: &str, job: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let j = get(base, token, &format!("/api/jobs/{job}"));
        let copying = j["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["status"] == "running" && t["blobs_done"].as_u64().unwrap_or(0) >= 1)
            .count();
        if copying == 2 {
            return;
        }
        assert!(Instant::now() < deadline, "both copies never ran: {j:#}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn wait_job(base: &str, token: &str, job: &str, timeout: Duration) -> Value {
    let deadline = Instant::now() + timeout;
    loop {
        let j = get(base, token, &format!("/api/jobs/{job}"));
        if j["status"].is_string() && j["status"] != "running" && j["status"] != "queued" {
            return j;
        }
        assert!(Instant::now() < deadline, "job never ended: {j:#}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn wait_exit(child: &mut Child, timeout: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// `pid` and every process below it, from /proc's parent links.
fn descendants(pid: u32) -> BTreeSet<u32> {
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let p: u32 = e.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).ok()?;
            let ppid = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            Some((p, ppid))
        })
        .collect();
    let mut found = BTreeSet::from([pid]);
    loop {
        let before = found.len();
        for &(p, ppid) in &parents {
            if found.contains(&ppid) {
                found.insert(p);
            }
        }
        if found.len() == before {
            return found;
        }
    }
}

/// Running, or stopped: anything but gone or a zombie waiting for its parent to read it.
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
        .is_some_and(|zombie| !zombie)
}
