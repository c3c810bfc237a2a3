//! A webhook receiver for tests: a plain HTTP/1.1 server on a free loopback port that records
//! each request (path, headers, body) and answers 200, or the statuses it was told to answer
//! first.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    /// Header names lower-cased.
    pub headers: HashMap<String, String>,
    pub body: String,
}

#[derive(Default)]
struct Shared {
    requests: Vec<Received>,
    /// Statuses still to answer, next last.
    answers: Vec<u16>,
}

pub struct WebhookReceiver {
    port: u16,
    shared: Arc<Mutex<Shared>>,
}

impl WebhookReceiver {
    /// Answers `first` in turn, then 200 to everything.
    pub fn start(first: &[u16]) -> WebhookReceiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Mutex::new(Shared {
            requests: Vec::new(),
            answers: first.iter().rev().copied().collect(),
        }));
        let s = shared.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let s = s.clone();
                std::thread::spawn(move || {
                    let _ = serve(stream, &s);
                });
            }
        });
        WebhookReceiver { port, shared }
    }

    /// The URL to register, with a path standing for a robot's token.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook/tok3n", self.port)
    }

    pub fn requests(&self) -> Vec<Received> {
        self.shared.lock().unwrap().requests.clone()
    }

    /// Waits until a request matches `pred`; returns it.
    pub fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&Received) -> bool,
    ) -> Received {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(r) = self.requests().into_iter().find(|r| pred(r)) {
                return r;
            }
            assert!(
                Instant::now() < deadline,
                "no webhook request for {what} within {timeout:?}; got {:#?}",
                self.requests()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn serve(stream: std::net::TcpStream, shared: &Mutex<Shared>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        // A connection that sends nothing (the api checking that the address answers) is
        // not a request.
        return Ok(());
    }
    let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
    let mut headers = HashMap::new();
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body)?;
    let status = {
        let mut s = shared.lock().unwrap();
        s.requests.push(Received {
            path,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        });
        s.answers.pop().unwrap_or(200)
    };
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    stream.flush()
}
