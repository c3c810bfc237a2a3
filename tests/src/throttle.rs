//! A TCP proxy that slows the server-to-client direction to a fixed rate, so a copy of a small
//! image takes seconds: long enough to kill or stop a worker in the middle of it.

use std::io::{Read, Write};
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
                thread::spawn(move || pump(client, server, None));
                thread::spawn(move || pump(s2, c2, Some(bytes_per_sec)));
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

fn pump(mut from: TcpStream, mut to: TcpStream, rate: Option<usize>) {
    let chunk = rate.map_or(64 * 1024, |r| (r / 20).clamp(1, 64 * 1024));
    let mut buf = vec![0u8; chunk];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
                if let Some(r) = rate {
                    thread::sleep(Duration::from_secs_f64(n as f64 / r as f64));
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
    let _ = from.shutdown(Shutdown::Read);
}
