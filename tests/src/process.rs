//! Child-process supervision: kill-and-reap on drop, a watchdog so that nothing outlives the
//! test process, log capture to a file, and a check that the child really owns its port.

use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};

/// A spawned server process whose stdout and stderr go to a log file.
///
/// Dropping it kills (SIGKILL) and reaps the process. A companion watchdog (`sh`) blocks on a
/// pipe whose write end only this test process holds: if the test process dies without running
/// destructors (SIGKILL, abort, `process::exit`), the pipe closes and the watchdog kills the
/// server, so no server outlives the test process.
pub(crate) struct ManagedChild {
    name: String,
    child: Child,
    watchdog: Option<Child>,
    log_path: PathBuf,
}

impl ManagedChild {
    /// Spawns `cmd` with stdin closed and stdout/stderr appended to `log_path`.
    pub(crate) fn spawn(name: &str, mut cmd: Command, log_path: &Path) -> ManagedChild {
        let log = File::options()
            .create(true)
            .append(true)
            .open(log_path)
            .unwrap_or_else(|e| panic!("cannot open log file {}: {e}", log_path.display()));
        let log_err = log
            .try_clone()
            .unwrap_or_else(|e| panic!("cannot clone log file handle: {e}"));
        cmd.stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err));
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot spawn {name} ({cmd:?}): {e}"));
        let watchdog = spawn_watchdog(child.id());
        ManagedChild {
            name: name.to_string(),
            child,
            watchdog,
            log_path: log_path.to_path_buf(),
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `Some(status)` once the process has exited (and is reaped).
    pub(crate) fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// The last `max_bytes` of the process's combined stdout/stderr.
    pub(crate) fn log_tail(&self, max_bytes: u64) -> String {
        log_tail(&self.log_path, max_bytes)
    }

    /// Builds a panic message with the log tail.
    pub(crate) fn failure(&mut self, what: &str) -> String {
        let status = match self.exited() {
            Some(s) => format!("exited with {s}"),
            None => "still running".to_string(),
        };
        format!(
            "{} (pid {}) {what}; process {status}; log tail ({}):\n{}",
            self.name,
            self.pid(),
            self.log_path.display(),
            self.log_tail(4096)
        )
    }

    /// Kills and reaps the process (and its watchdog). Idempotent.
    pub(crate) fn kill(&mut self) {
        if let Some(mut w) = self.watchdog.take() {
            // SIGKILL, so the watchdog never gets to run its `kill` on a (reaped) pid.
            let _ = w.kill();
            let _ = w.wait();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ManagedChild {
    fn drop(&mut self) {
        self.kill();
    }
}

fn spawn_watchdog(pid: u32) -> Option<Child> {
    // `read` returns when stdin reaches EOF, i.e. when every write end of the pipe is closed.
    // Only this process holds the write end (std creates pipes with O_CLOEXEC).
    Command::new("/bin/sh")
        .arg("-c")
        .arg(r#"read _unused; kill -9 "$1" 2>/dev/null"#)
        .arg("watchdog")
        .arg(pid.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()
}

pub(crate) fn log_tail(path: &Path, max_bytes: u64) -> String {
    let Ok(mut f) = File::open(path) else {
        return String::from("<no log>");
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let start = len.saturating_sub(max_bytes);
    let _ = f.seek(SeekFrom::Start(start));
    let mut buf = Vec::new();
    let _ = f.read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

/// True when process `pid` holds a TCP socket listening on `port` (Linux `/proc`).
///
/// Guards against a race where another process grabbed the port we picked and answers our
/// readiness probe. Where `/proc` is not available this returns true.
pub(crate) fn listens_on(pid: u32, port: u16) -> bool {
    let mut inodes = Vec::new();
    let mut have_proc = false;
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = fs::read_to_string(table) else {
            continue;
        };
        have_proc = true;
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.len() < 10 || cols[3] != "0A" {
                continue; // not LISTEN
            }
            let local_port = cols[1]
                .rsplit(':')
                .next()
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            if local_port == Some(port) {
                inodes.push(format!("socket:[{}]", cols[9]));
            }
        }
    }
    if !have_proc {
        return true;
    }
    if inodes.is_empty() {
        return false;
    }
    let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.flatten().any(|fd| {
        fs::read_link(fd.path())
            .map(|target| inodes.iter().any(|i| Path::new(i) == target))
            .unwrap_or(false)
    })
}
