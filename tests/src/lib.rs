//! Test harness: starts real redis-server and docker-registry processes on loopback ports,
//! builds small deterministic OCI images and pushes them with skopeo.
//!
//! Everything is synchronous (std::process, std::net, a blocking HTTP client) so it can be
//! called from plain `#[test]` functions and from async tests alike (from async code, call it
//! inside `spawn_blocking` or before starting the runtime work that depends on it).
//!
//! Each server gets its own port and temp dir, so tests run in parallel. Servers are killed and
//! reaped on drop; a watchdog kills them too if the test process dies without unwinding.
//! A missing tool is a panic naming the Debian package to install, never a skip.

mod browser;
mod forward_proxy;
mod image;
mod process;
mod receiver;
mod redis;
mod registry;
mod script;
mod signed;
mod stack;
mod throttle;
pub mod tls;

pub use browser::Chromedriver;
pub use forward_proxy::{ForwardProxy, ForwardProxyBuilder};
pub use image::{
    build_image, push_image, push_layout, sha256_digest, write_authfile, ImageSpec, LayerSpec,
    OciImage, Platform, PlatformImage,
};
pub use receiver::WebhookReceiver;
pub use redis::{dump_keys, RedisServer};
pub use registry::{RawManifest, Registry, MANIFEST_ACCEPT};
pub use script::{check_script, run_script};
pub use signed::{put_manifest, sign_image, Signed, SBOM_ARTIFACT_TYPE};
pub use stack::{
    bcrypt_hash, binaries, Binaries, Stack, StackOptions, TargetSpelling, WorkerProcess,
    ADMIN_PASSWORD, ADMIN_USER, KEY_PREFIX, TARGET_PASSWORD, TARGET_USER,
};
pub use throttle::ThrottledProxy;

use std::collections::HashSet;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use process::ManagedChild;

/// How long a server may take to become ready before it is considered failed.
pub const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// Interval between readiness probes.
pub const POLL_INTERVAL: Duration = Duration::from_millis(20);
/// How many ports a server starter tries before giving up.
const START_ATTEMPTS: usize = 5;

/// Returns a currently free TCP port on 127.0.0.1 (bind to port 0, read it, release it).
///
/// Ports already handed out by this process are not handed out again. Another process can still
/// take the port before it is used; the server starters retry with a new port when that happens.
pub fn free_port() -> u16 {
    static HANDED_OUT: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    let mut guard = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    let handed_out = guard.get_or_insert_with(HashSet::new);
    for _ in 0..100 {
        let listener = TcpListener::bind("127.0.0.1:0").expect("cannot bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local_addr").port();
        if handed_out.insert(port) {
            return port;
        }
    }
    panic!("free_port: no new free port found in 100 tries");
}

/// Finds the executable `name` on PATH (and in /usr/sbin, /usr/bin, /sbin, /bin) or panics with
/// the Debian package that provides it.
pub fn require_tool(name: &str, debian_package: &str) -> PathBuf {
    let path_var = std::env::var_os("PATH").unwrap_or_default();
    let extra = [
        "/usr/local/sbin",
        "/usr/local/bin",
        "/usr/sbin",
        "/usr/bin",
        "/sbin",
        "/bin",
    ];
    let dirs = std::env::split_paths(&path_var).chain(extra.iter().map(PathBuf::from));
    for dir in dirs {
        let candidate = dir.join(name);
        if is_executable(&candidate) {
            return candidate;
        }
    }
    panic!("{name} not found: install it with `apt-get install -y {debian_package}`");
}

fn is_executable(path: &Path) -> bool {
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Runs `attempt` with fresh ports until it succeeds, up to [`START_ATTEMPTS`] times.
pub(crate) fn start_with_retries<T>(
    what: &str,
    mut attempt: impl FnMut(u16) -> Result<T, String>,
) -> T {
    let mut failures = Vec::new();
    for _ in 0..START_ATTEMPTS {
        match attempt(free_port()) {
            Ok(v) => return v,
            Err(e) => failures.push(e),
        }
    }
    panic!(
        "{what} failed to start in {START_ATTEMPTS} attempts:\n{}",
        failures.join("\n---\n")
    );
}

/// Polls until `child` listens on `port` and `probe` succeeds, every [`POLL_INTERVAL`] up to
/// [`READY_TIMEOUT`]. On failure the child is killed and the error carries its log tail.
pub(crate) fn wait_ready(
    child: &mut ManagedChild,
    port: u16,
    mut probe: impl FnMut() -> bool,
) -> Result<(), String> {
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if child.exited().is_some() {
            return Err(child.failure(&format!("exited before becoming ready on port {port}")));
        }
        if process::listens_on(child.pid(), port) && probe() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            let msg = child.failure(&format!(
                "did not become ready on port {port} within {READY_TIMEOUT:?}"
            ));
            child.kill();
            return Err(msg);
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    #[should_panic(
        expected = "no-such-tool-xyz not found: install it with `apt-get install -y some-package`"
    )]
    fn missing_tool_panics_with_package_name() {
        require_tool("no-such-tool-xyz", "some-package");
    }

    #[test]
    fn readiness_failure_reports_exit_and_log_tail() {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = Command::new("/bin/sh");
        cmd.args(["-c", "echo 'bind: address already in use' >&2; exit 3"]);
        let mut child = ManagedChild::spawn("fake-server", cmd, &dir.path().join("log"));
        let err = wait_ready(&mut child, free_port(), || false).unwrap_err();
        assert!(err.contains("exited before becoming ready"), "{err}");
        assert!(err.contains("bind: address already in use"), "{err}");
        assert!(err.contains("exit status: 3"), "{err}");
    }

    #[test]
    fn free_port_does_not_repeat() {
        let ports: HashSet<u16> = (0..50).map(|_| free_port()).collect();
        assert_eq!(ports.len(), 50);
    }
}
