//! A TCP proxy that slows the server-to-client direction to a fixed rate, so a copy of a small
//! image takes seconds: long enough to kill or stop a worker in the middle of it. Optionally it
//! also delays each answer, like a long way to the registry would.
//!
//! The pieces (a paced writer, the "who spoke last" latency mark, the pump) are shared with
//! [`crate::ForwardProxy`].

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

pub struct ThrottledProxy {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl ThrottledProxy {
    /// Forwards 127.0.0.1:<new port> to `upstream` (host:port), `bytes_per_sec` downstream.
    pub fn start(upstream: &str, bytes_per_sec: usize) -> ThrottledProxy {
        Self::spawn(upstream, Some(bytes_per_sec), Duration::ZERO)
    }

    /// [`Self::start`], and each server-to-client burst that follows client-to-server bytes
    /// waits `latency` first: about one round trip per HTTP request (and per TLS handshake
    /// step), which is what a registry far away costs.
    pub fn start_with(upstream: &str, bytes_per_sec: usize, latency: Duration) -> ThrottledProxy {
        Self::spawn(upstream, Some(bytes_per_sec), latency)
    }

    /// Either of the above, or latency at full speed (`rate` None).
    pub(crate) fn spawn(upstream: &str, rate: Option<usize>, latency: Duration) -> ThrottledProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let port = listener.local_addr().expect("local addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let (upstream, flag) = (upstream.to_owned(), stop.clone());
        thread::spawn(move || {
            for client in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                let (c2, s2) = (
                    client.try_clone().expect("clone"),
                    server.try_clone().expect("clone"),
                );
                let turn = Turn::new(latency);
                let answer = turn.clone();
                thread::spawn(move || pump(client, server, None, || turn.client_speaks()));
                thread::spawn(move || pump(s2, c2, rate, || answer.server_answers()));
            }
        });
        ThrottledProxy { port, stop }
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for ThrottledProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Latency for one connection: which side spoke last. The client-to-server pump marks each
/// relay; the server-to-client pump waits `latency` before the first bytes after a mark, once.
#[derive(Clone)]
pub(crate) struct Turn {
    latency: Duration,
    client_spoke: Arc<AtomicBool>,
}

impl Turn {
    pub(crate) fn new(latency: Duration) -> Turn {
        Turn {
            latency,
            client_spoke: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Call before relaying client bytes upstream (before: the answer cannot overtake the mark).
    pub(crate) fn client_speaks(&self) {
        if !self.latency.is_zero() {
            self.client_spoke.store(true, Ordering::SeqCst);
        }
    }

    /// Call before relaying server bytes to the client: waits the latency once per answer.
    pub(crate) fn server_answers(&self) {
        if self.client_spoke.swap(false, Ordering::SeqCst) {
            thread::sleep(self.latency);
        }
    }
}

/// A writer held to `rate` bytes per second (none: as fast as it goes), writing at most a 20th
/// of a second's worth at a time and sleeping after each write for the time it is worth.
pub(crate) struct Paced<W> {
    inner: W,
    rate: Option<usize>,
}

impl<W: Write> Paced<W> {
    pub(crate) fn new(inner: W, rate: Option<usize>) -> Paced<W> {
        Paced { inner, rate }
    }

    pub(crate) fn get_ref(&self) -> &W {
        &self.inner
    }

    /// The largest single write: a 20th of a second's worth, at most 64 KiB.
    fn chunk(&self) -> usize {
        self.rate
            .map_or(64 * 1024, |r| (r / 20).clamp(1, 64 * 1024))
    }
}

impl<W: Write> Write for Paced<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let Some(rate) = self.rate else {
            return self.inner.write(buf);
        };
        let n = self.inner.write(&buf[..buf.len().min(self.chunk())])?;
        thread::sleep(Duration::from_secs_f64(n as f64 / rate as f64));
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Copies `from` to `to` (at `rate`) until either side closes, calling `before_write` before
/// relaying each read; then shuts both down in that direction.
pub(crate) fn pump(
    mut from: TcpStream,
    to: TcpStream,
    rate: Option<usize>,
    mut before_write: impl FnMut(),
) {
    let mut to = Paced::new(to, rate);
    let mut buf = vec![0u8; to.chunk()];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                before_write();
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.get_ref().shutdown(Shutdown::Write);
    let _ = from.shutdown(Shutdown::Read);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    /// A server answering each read with the same bytes.
    fn echo_server() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { return };
                thread::spawn(move || {
                    let mut buf = [0u8; 1024];
                    while let Ok(n @ 1..) = conn.read(&mut buf) {
                        if conn.write_all(&buf[..n]).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        addr
    }

    /// Seconds for `rounds` request/answer exchanges through `proxy`.
    fn exchanges(proxy: &ThrottledProxy, rounds: usize) -> f64 {
        let mut conn = TcpStream::connect(proxy.host()).unwrap();
        let start = Instant::now();
        for i in 0..rounds {
            let msg = format!("ping {i}");
            conn.write_all(msg.as_bytes()).unwrap();
            let mut got = vec![0u8; msg.len()];
            conn.read_exact(&mut got).unwrap();
            assert_eq!(got, msg.as_bytes());
        }
        start.elapsed().as_secs_f64()
    }

    #[test]
    fn each_answer_waits_the_latency_once() {
        let echo = echo_server();
        let slow = ThrottledProxy::start_with(&echo, 1 << 30, Duration::from_millis(100));
        let secs = exchanges(&slow, 4);
        assert!((0.4..1.5).contains(&secs), "4 round trips took {secs:.3}s");
        let fast = ThrottledProxy::start(&echo, 1 << 30);
        let secs = exchanges(&fast, 4);
        assert!(secs < 0.35, "4 round trips without latency took {secs:.3}s");
    }

    #[test]
    fn paced_writer_holds_the_rate() {
        let mut out = Paced::new(Vec::new(), Some(100_000));
        let start = Instant::now();
        out.write_all(&[7u8; 30_000]).unwrap();
        let secs = start.elapsed().as_secs_f64();
        assert!(
            (0.28..1.0).contains(&secs),
            "30 kB at 100 kB/s took {secs:.3}s"
        );
        assert_eq!(out.get_ref().len(), 30_000);
    }
}
