//! An HTTP forward proxy on loopback, to prove that the service and skopeo reach a registry
//! *only through* a configured proxy.
//!
//! It speaks both forms a client sends to an HTTP proxy: `CONNECT host:port` (answered
//! `200 Connection established`, then bytes are tunnelled both ways) and absolute-form requests
//! (`GET http://host:port/path HTTP/1.1`, forwarded in origin-form over a kept-alive upstream
//! connection, with Content-Length and chunked bodies both ways).
//!
//! Host names are resolved only through the map given at start, so a test can name a registry
//! `mirror-source.test:5000`, a name nothing else on the machine resolves. Anything else is
//! refused with `502 Bad Gateway`. Go (skopeo, the service's helpers) never proxies `localhost`
//! or loopback addresses, which is why the fake name is needed at all.
//!
//! Thread-based like [`crate::ThrottledProxy`]; stops accepting on drop.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

use base64::Engine as _;

use crate::throttle::{pump, Paced, Turn};

/// The longest request or response head accepted.
const MAX_HEAD: usize = 64 * 1024;

/// A forward proxy on 127.0.0.1:<free port>. See the module documentation.
pub struct ForwardProxy {
    port: u16,
    stop: Arc<AtomicBool>,
    shared: Arc<Shared>,
}

/// Options of a [`ForwardProxy`] before it starts: [`ForwardProxy::builder`].
#[derive(Debug, Clone)]
pub struct ForwardProxyBuilder {
    hosts: HashMap<String, String>,
    credentials: Option<(String, String)>,
    latency: Duration,
    rate: Option<usize>,
    refuse_manifest_heads: bool,
}

/// What the proxy saw since it started (or since [`ForwardProxy::reset_counts`]).
#[derive(Debug, Default, Clone)]
struct Counts {
    /// CONNECT tunnels opened, per `host:port` asked for.
    tunnels: HashMap<String, usize>,
    /// Forwarded absolute-form requests: (method, host:port, path with query).
    requests: Vec<(String, String, String)>,
    /// Requests (either form) for a host not in the map.
    refused: usize,
    /// Requests without the right `Proxy-Authorization`.
    auth_failures: usize,
}

struct Shared {
    hosts: Mutex<HashMap<String, String>>,
    credentials: Option<(String, String)>,
    latency: Duration,
    rate: Option<usize>,
    refuse_manifest_heads: bool,
    counts: Mutex<Counts>,
}

impl ForwardProxyBuilder {
    /// Requires `Proxy-Authorization: Basic base64(user:password)` on CONNECT and on every
    /// absolute-form request; others get `407` and are counted in
    /// [`ForwardProxy::auth_failures`].
    pub fn auth(mut self, user: &str, password: &str) -> Self {
        self.credentials = Some((user.to_owned(), password.to_owned()));
        self
    }

    /// Waits this long before relaying each response head, and in a tunnel before each
    /// server-to-client burst that follows client bytes: about a round trip per request.
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Holds each client connection's downstream (server to client) to this many bytes per
    /// second.
    pub fn rate(mut self, bytes_per_sec: usize) -> Self {
        self.rate = Some(bytes_per_sec);
        self
    }

    /// Answers every forwarded `HEAD .../manifests/...` with 403, as a filtering proxy or a
    /// registry that lets a robot account pull but not HEAD would: a digest check through it
    /// can never run, while GETs (skopeo's pulls) still go through.
    pub fn refuse_manifest_heads(mut self) -> Self {
        self.refuse_manifest_heads = true;
        self
    }

    pub fn start(self) -> ForwardProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the forward proxy");
        let port = listener.local_addr().expect("local addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let shared = Arc::new(Shared {
            hosts: Mutex::new(self.hosts),
            credentials: self.credentials,
            latency: self.latency,
            rate: self.rate,
            refuse_manifest_heads: self.refuse_manifest_heads,
            counts: Mutex::new(Counts::default()),
        });
        let (flag, state) = (stop.clone(), shared.clone());
        thread::spawn(move || {
            for client in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(client) = client else { continue };
                let state = state.clone();
                thread::spawn(move || serve(client, &state));
            }
        });
        ForwardProxy { port, stop, shared }
    }
}

impl ForwardProxy {
    /// A proxy resolving only `hosts`: pairs of (`name:port` as clients ask for it,
    /// `127.0.0.1:port` to connect to).
    pub fn builder(hosts: &[(&str, &str)]) -> ForwardProxyBuilder {
        ForwardProxyBuilder {
            hosts: hosts
                .iter()
                .map(|(name, addr)| (name.to_ascii_lowercase(), (*addr).to_owned()))
                .collect(),
            credentials: None,
            latency: Duration::ZERO,
            rate: None,
            refuse_manifest_heads: false,
        }
    }

    /// Starts an open proxy resolving only `hosts` (see [`Self::builder`]).
    pub fn start(hosts: &[(&str, &str)]) -> ForwardProxy {
        Self::builder(hosts).start()
    }

    /// Starts a proxy requiring basic proxy auth (see [`ForwardProxyBuilder::auth`]).
    pub fn start_with_auth(hosts: &[(&str, &str)], user: &str, password: &str) -> ForwardProxy {
        Self::builder(hosts).auth(user, password).start()
    }

    /// Maps one more `name:port` to `addr` (for an upstream started after the proxy).
    pub fn add_host(&self, name: &str, addr: &str) {
        lock(&self.shared.hosts).insert(name.to_ascii_lowercase(), addr.to_owned());
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:PORT`
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `http://127.0.0.1:PORT`, for `HTTP_PROXY`, `HTTPS_PROXY` or a registry's `proxy`.
    pub fn url(&self) -> String {
        format!("http://{}", self.host())
    }

    /// `http://user:password@127.0.0.1:PORT` with the proxy's credentials ([`Self::url`] when
    /// it has none).
    pub fn url_with_credentials(&self) -> String {
        match &self.shared.credentials {
            Some((user, password)) => format!("http://{user}:{password}@{}", self.host()),
            None => self.url(),
        }
    }

    /// Every forwarded absolute-form request: (method, `host:port`, path with query).
    pub fn requests(&self) -> Vec<(String, String, String)> {
        lock(&self.shared.counts).requests.clone()
    }

    /// Forwarded requests with this method (any case) whose path contains `path_contains`,
    /// e.g. `count("GET", "/manifests/")`.
    pub fn count(&self, method: &str, path_contains: &str) -> usize {
        lock(&self.shared.counts)
            .requests
            .iter()
            .filter(|(m, _, p)| m.eq_ignore_ascii_case(method) && p.contains(path_contains))
            .count()
    }

    /// CONNECT tunnels opened, to any host.
    pub fn tunnels(&self) -> usize {
        lock(&self.shared.counts).tunnels.values().sum()
    }

    /// CONNECT tunnels opened to `host:port`.
    pub fn tunnels_to(&self, host: &str) -> usize {
        let counts = lock(&self.shared.counts);
        counts
            .tunnels
            .get(&host.to_ascii_lowercase())
            .copied()
            .unwrap_or(0)
    }

    /// Requests (either form) refused with 502 because their host is not in the map.
    pub fn refused(&self) -> usize {
        lock(&self.shared.counts).refused
    }

    /// Requests answered 407 for want of the right `Proxy-Authorization`.
    pub fn auth_failures(&self) -> usize {
        lock(&self.shared.counts).auth_failures
    }

    /// Forgets every count and logged request.
    pub fn reset_counts(&self) {
        *lock(&self.shared.counts) = Counts::default();
    }
}

impl Drop for ForwardProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    /// Where `authority` (`host[:port]`, port 80 by default) is, if it is in the map.
    fn resolve(&self, authority: &str) -> Option<String> {
        let hosts = lock(&self.hosts);
        let name = authority.to_ascii_lowercase();
        hosts
            .get(&name)
            .or_else(|| hosts.get(&format!("{name}:80")))
            .cloned()
    }

    fn authorized(&self, head: &Head) -> bool {
        let Some((user, password)) = &self.credentials else {
            return true;
        };
        let given = head.header("proxy-authorization").unwrap_or_default();
        let Some((scheme, token)) = given.trim().split_once(' ') else {
            return false;
        };
        let decoded = base64::engine::general_purpose::STANDARD.decode(token.trim());
        scheme.eq_ignore_ascii_case("basic")
            && decoded.is_ok_and(|d| d == format!("{user}:{password}").as_bytes())
    }

    fn counts(&self) -> MutexGuard<'_, Counts> {
        lock(&self.counts)
    }
}

/// One client connection: requests until it closes, or a CONNECT tunnel.
fn serve(client: TcpStream, shared: &Shared) {
    let _ = client.set_nodelay(true);
    let Ok(read_half) = client.try_clone() else {
        return;
    };
    let mut from_client = BufReader::new(read_half);
    let mut to_client = Paced::new(client, shared.rate);
    let mut upstream = None;
    while let Ok(Some(head)) = Head::read(&mut from_client) {
        if !shared.authorized(&head) {
            shared.counts().auth_failures += 1;
            let challenge = "Proxy-Authenticate: Basic realm=\"test\"";
            let _ = answer(
                &mut to_client,
                "407 Proxy Authentication Required",
                challenge,
            );
            return;
        }
        if head.method().eq_ignore_ascii_case("CONNECT") {
            return tunnel(&head, from_client, to_client, shared);
        }
        match forward(
            &head,
            &mut from_client,
            &mut to_client,
            &mut upstream,
            shared,
        ) {
            Ok(true) => {}
            Ok(false) | Err(_) => return,
        }
    }
}

/// A short answer from the proxy itself, closing the connection.
fn answer(to: &mut impl Write, status: &str, header: &str) -> io::Result<()> {
    let body = format!("forward proxy: {status}\n");
    let extra = if header.is_empty() {
        String::new()
    } else {
        format!("{header}\r\n")
    };
    write!(
        to,
        "HTTP/1.1 {status}\r\n{extra}Content-Type: text/plain\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )?;
    to.flush()
}

/// `CONNECT host:port`: connects, answers 200 and relays bytes both ways until either closes.
fn tunnel(
    head: &Head,
    from_client: BufReader<TcpStream>,
    mut to_client: Paced<TcpStream>,
    shared: &Shared,
) {
    let authority = head.target().to_ascii_lowercase();
    let Some(addr) = shared.resolve(&authority) else {
        shared.counts().refused += 1;
        let _ = answer(&mut to_client, "502 Bad Gateway", "");
        return;
    };
    let Ok(mut server) = TcpStream::connect(&addr) else {
        let _ = answer(&mut to_client, "502 Bad Gateway", "");
        return;
    };
    *shared.counts().tunnels.entry(authority).or_default() += 1;
    if to_client
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .is_err()
    {
        return;
    }
    let turn = Turn::new(shared.latency);
    // Bytes the client sent right after its CONNECT, already read into the buffer.
    let early = from_client.buffer().to_vec();
    let client = from_client.into_inner();
    if !early.is_empty() {
        turn.client_speaks();
        if server.write_all(&early).is_err() {
            return;
        }
    }
    let (Ok(server_read), Ok(client_write)) = (server.try_clone(), to_client.get_ref().try_clone())
    else {
        return;
    };
    let up = turn.clone();
    thread::spawn(move || pump(client, server, None, || up.client_speaks()));
    pump(server_read, client_write, shared.rate, || {
        turn.server_answers()
    });
}

/// An upstream connection kept alive between requests of one client connection.
struct Upstream {
    authority: String,
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Upstream {
    fn connect(authority: &str, addr: &str) -> io::Result<Upstream> {
        let writer = TcpStream::connect(addr)?;
        writer.set_nodelay(true)?;
        Ok(Upstream {
            authority: authority.to_owned(),
            reader: BufReader::new(writer.try_clone()?),
            writer,
        })
    }
}

/// Forwards one absolute-form request and relays its response. `Ok(true)`: the client
/// connection can carry another request.
fn forward(
    head: &Head,
    from_client: &mut BufReader<TcpStream>,
    to_client: &mut Paced<TcpStream>,
    upstream: &mut Option<Upstream>,
    shared: &Shared,
) -> io::Result<bool> {
    let method = head.method().to_owned();
    let target = head.target();
    let Some(rest) = target
        .get(..7)
        .filter(|scheme| scheme.eq_ignore_ascii_case("http://"))
        .map(|_| &target[7..])
    else {
        answer(to_client, "400 Bad Request", "")?;
        return Ok(false);
    };
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) if rest[i..].starts_with('?') => (&rest[..i], format!("/{}", &rest[i..])),
        Some(i) => (&rest[..i], rest[i..].to_owned()),
        None => (rest, "/".to_owned()),
    };
    let authority = authority.to_ascii_lowercase();
    let Some(addr) = shared.resolve(&authority) else {
        shared.counts().refused += 1;
        answer(to_client, "502 Bad Gateway", "")?;
        return Ok(false);
    };
    shared
        .counts()
        .requests
        .push((method.clone(), authority.clone(), path.clone()));
    if shared.refuse_manifest_heads && method == "HEAD" && path.contains("/manifests/") {
        answer(to_client, "403 Forbidden", "")?;
        return Ok(false);
    }
    let request_line = format!("{method} {path} {}", head.version());
    let request = head.to_bytes(&request_line, &["proxy-authorization", "proxy-connection"]);
    let body = head.request_body();

    // A kept-alive upstream may have been closed meanwhile: a request without a body is sent
    // again on a new connection when the old one fails before answering.
    let mut attempt = 0;
    let response = loop {
        attempt += 1;
        let reused = matches!(upstream, Some(u) if u.authority == authority);
        if !reused {
            match Upstream::connect(&authority, &addr) {
                Ok(u) => *upstream = Some(u),
                Err(_) => {
                    answer(to_client, "502 Bad Gateway", "")?;
                    return Ok(false);
                }
            }
        }
        let up = upstream.as_mut().expect("connected above");
        let retry = reused && attempt == 1 && matches!(body, Body::Empty);
        let sent = up
            .writer
            .write_all(&request)
            .and_then(|()| relay(body, from_client, &mut up.writer));
        let got = sent.and_then(|()| read_response_head(&mut up.reader));
        match got {
            Ok(Some(response)) => break response,
            _ if retry => *upstream = None,
            Ok(None) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Err(e) => return Err(e),
        }
    };
    let up = upstream.as_mut().expect("answered above");

    if !shared.latency.is_zero() {
        thread::sleep(shared.latency);
    }
    to_client.write_all(&response.to_bytes(&response.start, &[]))?;
    let status = response.status();
    let body = if method.eq_ignore_ascii_case("HEAD") || matches!(status, 100..=199 | 204 | 304) {
        Body::Empty
    } else {
        response.response_body()
    };
    relay(body, &mut up.reader, to_client)?;
    to_client.flush()?;
    let keep_alive = !matches!(body, Body::UntilClose) && !response.closes() && !head.closes();
    if !keep_alive {
        *upstream = None;
    }
    Ok(keep_alive)
}

/// The next response head, relaying nothing; interim `1xx` answers (but 101) are skipped
/// since the client did not ask for them (the proxy never forwards `Expect`-style waits).
fn read_response_head(from: &mut impl BufRead) -> io::Result<Option<Head>> {
    loop {
        match Head::read(from)? {
            Some(head) if (100..=199).contains(&head.status()) && head.status() != 101 => {}
            other => return Ok(other),
        }
    }
}

/// How a message's body is delimited.
#[derive(Debug, Clone, Copy)]
enum Body {
    Empty,
    Length(u64),
    Chunked,
    UntilClose,
}

/// Copies exactly one body from `from` to `to`, chunked framing included.
fn relay(body: Body, from: &mut impl BufRead, to: &mut impl Write) -> io::Result<()> {
    match body {
        Body::Empty => Ok(()),
        Body::Length(n) => copy_exactly(from, to, n),
        Body::UntilClose => io::copy(from, to).map(drop),
        Body::Chunked => loop {
            let line = read_line(from)?;
            to.write_all(&line)?;
            let text = String::from_utf8_lossy(&line);
            let size = text.split(';').next().unwrap_or_default().trim();
            let size = u64::from_str_radix(size, 16)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad chunk size"))?;
            if size == 0 {
                // Trailers, up to the empty line.
                loop {
                    let line = read_line(from)?;
                    to.write_all(&line)?;
                    if line == b"\r\n" || line == b"\n" {
                        return Ok(());
                    }
                }
            }
            copy_exactly(from, to, size)?;
            let end = read_line(from)?;
            to.write_all(&end)?;
        },
    }
}

fn copy_exactly(from: &mut impl Read, to: &mut impl Write, n: u64) -> io::Result<()> {
    let copied = io::copy(&mut from.take(n), to)?;
    if copied < n {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(())
}

/// One line with its `\n`; an error at end of input.
fn read_line(from: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let mut line = Vec::new();
    from.by_ref()
        .take(MAX_HEAD as u64)
        .read_until(b'\n', &mut line)?;
    if !line.ends_with(b"\n") {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(line)
}

/// A request or response head: the start line and the header fields, in order.
struct Head {
    start: String,
    headers: Vec<(String, String)>,
}

impl Head {
    /// The next head; `None` when the peer closed before sending any byte of it.
    fn read(from: &mut impl BufRead) -> io::Result<Option<Head>> {
        let mut start = String::new();
        // Empty lines before a request line are to be ignored (RFC 9112, 2.2).
        while start.trim().is_empty() {
            start.clear();
            if from.by_ref().take(MAX_HEAD as u64).read_line(&mut start)? == 0 {
                return Ok(None);
            }
        }
        let mut headers = Vec::new();
        let mut size = start.len();
        loop {
            let line = read_line(from)?;
            size += line.len();
            if size > MAX_HEAD {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "head too long"));
            }
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches(['\r', '\n']);
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                headers.push((name.trim().to_owned(), value.trim().to_owned()));
            }
        }
        Ok(Some(Head {
            start: start.trim_end_matches(['\r', '\n']).to_owned(),
            headers,
        }))
    }

    fn part(&self, i: usize) -> &str {
        self.start.split(' ').nth(i).unwrap_or_default()
    }

    fn method(&self) -> &str {
        self.part(0)
    }

    fn target(&self) -> &str {
        self.part(1)
    }

    fn version(&self) -> &str {
        self.part(2)
    }

    /// A response's status code (0 when unreadable).
    fn status(&self) -> u16 {
        self.part(1).parse().unwrap_or(0)
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn has_token(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }

    fn chunked(&self) -> bool {
        self.has_token("transfer-encoding", "chunked")
    }

    fn content_length(&self) -> Option<u64> {
        self.header("content-length").and_then(|v| v.parse().ok())
    }

    /// A request's body: chunked, by length, or none.
    fn request_body(&self) -> Body {
        match (self.chunked(), self.content_length()) {
            (true, _) => Body::Chunked,
            (false, Some(n)) if n > 0 => Body::Length(n),
            _ => Body::Empty,
        }
    }

    /// A response's body (for a method and status that have one): chunked, by length, or up
    /// to the end of the connection.
    fn response_body(&self) -> Body {
        match (self.chunked(), self.content_length()) {
            (true, _) => Body::Chunked,
            (false, Some(0)) => Body::Empty,
            (false, Some(n)) => Body::Length(n),
            (false, None) => Body::UntilClose,
        }
    }

    /// The sender closes the connection after this message.
    fn closes(&self) -> bool {
        self.has_token("connection", "close")
            || (self.start.contains("HTTP/1.0") && !self.has_token("connection", "keep-alive"))
    }

    /// The head as bytes with another start line and without the `dropped` fields.
    fn to_bytes(&self, start: &str, dropped: &[&str]) -> Vec<u8> {
        let mut out = format!("{start}\r\n");
        for (name, value) in &self.headers {
            if !dropped.iter().any(|d| name.eq_ignore_ascii_case(d)) {
                out.push_str(&format!("{name}: {value}\r\n"));
            }
        }
        out.push_str("\r\n");
        out.into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(text: &str) -> Head {
        Head::read(&mut text.as_bytes()).unwrap().unwrap()
    }

    #[test]
    fn parses_a_head_and_its_framing() {
        let h = head("\r\nPOST http://a.test:1/x HTTP/1.1\r\nHost: a.test:1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
        assert_eq!(
            (h.method(), h.target(), h.version()),
            ("POST", "http://a.test:1/x", "HTTP/1.1")
        );
        assert!(matches!(h.request_body(), Body::Chunked));
        let h = head("HTTP/1.1 200 OK\r\ncontent-length: 12\r\nConnection: Close\r\n\r\n");
        assert_eq!(h.status(), 200);
        assert!(matches!(h.response_body(), Body::Length(12)));
        assert!(h.closes());
        let h = head("HTTP/1.0 200 OK\r\n\r\n");
        assert!(matches!(h.response_body(), Body::UntilClose) && h.closes());
        assert!(Head::read(&mut &b""[..]).unwrap().is_none());
    }

    #[test]
    fn relays_a_chunked_body_exactly() {
        let wire = b"5;ext=1\r\nhello\r\n1\r\n!\r\n0\r\nTrailer: x\r\n\r\nNEXT";
        let mut from = &wire[..];
        let mut out = Vec::new();
        relay(Body::Chunked, &mut from, &mut out).unwrap();
        assert_eq!(out, &wire[..wire.len() - 4]);
        assert_eq!(from, b"NEXT");
    }

    #[test]
    fn rewrites_the_head_without_proxy_fields() {
        let h = head("GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nProxy-Authorization: Basic eA==\r\nProxy-Connection: keep-alive\r\nAccept: */*\r\n\r\n");
        let out = h.to_bytes(
            "GET / HTTP/1.1",
            &["proxy-authorization", "proxy-connection"],
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "GET / HTTP/1.1\r\nHost: a.test\r\nAccept: */*\r\n\r\n"
        );
    }
}
