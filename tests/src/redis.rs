//! A throw-away `redis-server` on a loopback port.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use tempfile::TempDir;

use crate::process::ManagedChild;
use crate::{require_tool, start_with_retries, wait_ready};

/// A real `redis-server` bound to 127.0.0.1 on its own port, without persistence unless
/// [`RedisServer::start_durable`].
///
/// Killed and reaped on drop.
pub struct RedisServer {
    port: u16,
    /// `--appendonly yes --appendfsync everysec`: survives a SIGKILL, losing at most ~1 s.
    aof: bool,
    // Field order: the child is killed before its directory is removed.
    child: ManagedChild,
    dir: TempDir,
}

impl RedisServer {
    /// Starts redis-server and waits until it answers `PING`. Panics (with the server's log) if
    /// it does not come up after 5 ports, or if `redis-server` is not installed.
    pub fn start() -> RedisServer {
        Self::start_with(false)
    }

    /// [`Self::start`] with an append-only file fsynced every second, as a production Redis
    /// that must survive a crash runs.
    pub fn start_durable() -> RedisServer {
        Self::start_with(true)
    }

    fn start_with(aof: bool) -> RedisServer {
        let binary = require_tool("redis-server", "redis-server");
        start_with_retries("redis-server", |port| {
            let dir = tempfile::Builder::new()
                .prefix("test-redis-")
                .tempdir()
                .expect("cannot create temp dir for redis");
            let child = spawn(&binary, port, dir.path(), aof)?;
            Ok(RedisServer {
                port,
                aof,
                child,
                dir,
            })
        })
    }

    /// `redis://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's log (stdout and stderr), last 64 KiB.
    pub fn log(&self) -> String {
        self.child.log_tail(64 * 1024)
    }

    /// Kills the server and starts a new, empty one on the same port (e.g. to test reconnects).
    /// Panics if it cannot come back on that port.
    pub fn restart(&mut self) {
        self.child.kill();
        let binary = require_tool("redis-server", "redis-server");
        self.child = spawn(&binary, self.port, self.dir.path(), false)
            .unwrap_or_else(|e| panic!("redis-server restart on port {} failed: {e}", self.port));
    }

    /// SIGKILLs the server (no shutdown save) and starts it again on the same port and data
    /// directory, so a [`Self::start_durable`] server comes back with what its AOF holds.
    pub fn kill_and_restart_keeping_data(&mut self) {
        assert!(self.aof, "only a durable server keeps data over a kill");
        // ManagedChild::kill is SIGKILL: Redis gets no chance to flush or save.
        self.child.kill();
        let binary = require_tool("redis-server", "redis-server");
        self.child = spawn(&binary, self.port, self.dir.path(), true)
            .unwrap_or_else(|e| panic!("redis-server restart on port {} failed: {e}", self.port));
    }

    /// Kills the server now (same as dropping it).
    pub fn stop(self) {}
}

fn spawn(binary: &Path, port: u16, dir: &Path, aof: bool) -> Result<ManagedChild, String> {
    let mut cmd = Command::new(binary);
    cmd.arg("--port")
        .arg(port.to_string())
        .args(["--bind", "127.0.0.1"])
        .args(["--save", ""]);
    if aof {
        cmd.args(["--appendonly", "yes", "--appendfsync", "everysec"]);
    } else {
        cmd.args(["--appendonly", "no"]);
    }
    cmd.arg("--dir")
        .arg(dir)
        .args(["--daemonize", "no"])
        .args(["--maxmemory-policy", "noeviction"])
        .current_dir(dir);
    let mut child = ManagedChild::spawn("redis-server", cmd, &dir.join("redis.log"));
    wait_ready(&mut child, port, || ping(port))?;
    Ok(child)
}

/// Sends a raw RESP `PING` and expects `+PONG`.
fn ping(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let _ = stream.set_write_timeout(Some(Duration::from_millis(500)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 64];
    let mut got = Vec::new();
    while !got.ends_with(b"\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return false,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    got.starts_with(b"+PONG")
}

/// Every key under `prefix` with its whole content as text, whatever its type: what a test
/// searches for a secret that must never be stored in the clear.
pub fn dump_keys(url: &str, prefix: &str) -> Vec<(String, String)> {
    use redis::Commands;
    let mut conn = redis::Client::open(url)
        .and_then(|c| c.get_connection())
        .expect("connect to the test redis");
    let keys: Vec<String> = conn.keys(format!("{prefix}:*")).expect("KEYS");
    keys.into_iter()
        .map(|key| {
            let kind: String = redis::cmd("TYPE").arg(&key).query(&mut conn).unwrap();
            let dump = match kind.as_str() {
                "hash" => format!("{:?}", conn.hgetall::<_, Vec<String>>(&key).unwrap()),
                "list" => format!("{:?}", conn.lrange::<_, Vec<String>>(&key, 0, -1).unwrap()),
                "set" => format!("{:?}", conn.smembers::<_, Vec<String>>(&key).unwrap()),
                "zset" => format!("{:?}", conn.zrange::<_, Vec<String>>(&key, 0, -1).unwrap()),
                "string" => conn.get::<_, String>(&key).unwrap(),
                "stream" => format!(
                    "{:?}",
                    redis::cmd("XRANGE")
                        .arg(&key)
                        .arg("-")
                        .arg("+")
                        .query::<redis::Value>(&mut conn)
                        .unwrap()
                ),
                "none" => String::new(),
                other => panic!("unexpected key type {other} for {key}"),
            };
            (key, dump)
        })
        .collect()
}
