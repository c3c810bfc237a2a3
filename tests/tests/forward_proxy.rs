//! The test forward proxy against a real docker-registry, ureq and the real skopeo.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use base64::Engine as _;
use docker_sync_tests::{
    build_image, push_image, push_layout, require_tool, ForwardProxy, ImageSpec, Registry,
};

/// The name tests give the registry behind the proxy: nothing else on the machine resolves it.
fn mapped_name(registry: &Registry) -> String {
    format!("mirror-source.test:{}", registry.port())
}

fn proxy_for(registry: &Registry) -> ForwardProxy {
    ForwardProxy::start(&[(&mapped_name(registry), &registry.host())])
}

fn agent(proxy_url: &str) -> ureq::Agent {
    ureq::AgentBuilder::new()
        .proxy(ureq::Proxy::new(proxy_url).expect("proxy url"))
        .timeout(Duration::from_secs(20))
        .build()
}

/// The status of a request, whether ureq calls it an error or not.
fn status(result: Result<ureq::Response, ureq::Error>) -> u16 {
    match result {
        Ok(resp) => resp.status(),
        Err(ureq::Error::Status(code, _)) => code,
        Err(e) => panic!("request failed: {e}"),
    }
}

fn basic(user: &str, password: &str) -> String {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {token}")
}

/// skopeo with only PATH, HOME and the proxy variables in its environment.
fn skopeo(proxy_url: &str, args: &[&str]) -> Output {
    let out = Command::new(require_tool("skopeo", "skopeo"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env(
            "HOME",
            std::env::var("HOME").unwrap_or_else(|_| "/root".into()),
        )
        .env("HTTP_PROXY", proxy_url)
        .env("HTTPS_PROXY", proxy_url)
        .args(args)
        .output()
        .expect("cannot run skopeo");
    assert!(
        out.status.success(),
        "skopeo {args:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn absolute_form_requests_reach_the_mapped_registry_and_are_counted() {
    let registry = Registry::start();
    let proxy = proxy_for(&registry);
    let name = mapped_name(&registry);
    let agent = agent(&proxy.url());
    for _ in 0..3 {
        let resp = agent.get(&format!("http://{name}/v2/")).call().unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.into_string().unwrap(), "{}");
    }
    assert_eq!(
        status(
            agent
                .head(&format!("http://{name}/v2/none/manifests/1"))
                .call()
        ),
        404
    );
    assert_eq!(proxy.count("GET", "/v2/"), 3);
    assert_eq!(proxy.count("HEAD", "/manifests/"), 1);
    assert_eq!(
        proxy.requests()[0],
        ("GET".into(), name.clone(), "/v2/".into())
    );
    assert_eq!((proxy.tunnels(), proxy.refused()), (0, 0));
    proxy.reset_counts();
    assert!(proxy.requests().is_empty());
}

#[test]
fn an_unmapped_host_is_refused_in_both_forms() {
    let registry = Registry::start();
    let proxy = proxy_for(&registry);
    let agent = agent(&proxy.url());
    // The registry's real address is not in the map either: only names are.
    for url in [
        "http://elsewhere.test:5000/v2/".to_owned(),
        format!("{}/v2/", registry.url()),
    ] {
        assert_eq!(status(agent.get(&url).call()), 502, "{url}");
    }
    // https: ureq sends CONNECT, which is refused.
    let err = agent
        .get("https://elsewhere.test:5000/v2/")
        .call()
        .unwrap_err();
    assert!(matches!(err, ureq::Error::Transport(_)), "{err}");
    assert_eq!(proxy.refused(), 3);
    assert!(proxy.requests().is_empty());
    assert_eq!(proxy.tunnels(), 0);
}

#[test]
fn auth_is_required_on_both_forms_and_not_forwarded() {
    let upstream = FakeUpstream::start();
    let proxy = ForwardProxy::start_with_auth(&[("fake.test:80", &upstream.addr)], "pu", "pp");
    let agent = agent(&proxy.url());

    let resp = match agent.get("http://fake.test/x").call() {
        Err(ureq::Error::Status(407, resp)) => resp,
        other => panic!("expected 407, got {other:?}"),
    };
    assert_eq!(
        resp.header("Proxy-Authenticate"),
        Some("Basic realm=\"test\"")
    );
    let wrong = agent
        .get("http://fake.test/x")
        .set("Proxy-Authorization", &basic("pu", "nope"))
        .call();
    assert_eq!(status(wrong), 407);
    let right = agent
        .get("http://fake.test/x?q=1")
        .set("Proxy-Authorization", &basic("pu", "pp"))
        .call()
        .unwrap();
    assert_eq!(right.into_string().unwrap(), "GET /x");
    assert_eq!(proxy.auth_failures(), 2);
    let heads = upstream.heads();
    assert_eq!(heads.len(), 1, "{heads:?}");
    assert!(
        !heads[0]
            .1
            .to_ascii_lowercase()
            .contains("proxy-authorization"),
        "{heads:?}"
    );

    // CONNECT without credentials (ureq sends them only from the proxy URL).
    let err = agent.get("https://fake.test/x").call().unwrap_err();
    assert!(err.to_string().contains("proxy credentials"), "{err}");
    assert_eq!(proxy.auth_failures(), 3);
    // With them, the tunnel opens (the fake upstream speaks no TLS, so the request fails
    // after that).
    let with = self::agent(&proxy.url_with_credentials());
    assert!(with.get("https://fake.test:80/x").call().is_err());
    assert_eq!(proxy.tunnels_to("fake.test:80"), 1);
    assert_eq!(proxy.auth_failures(), 3);
}

#[test]
fn keep_alive_with_chunked_and_sized_bodies_both_ways() {
    // A raw client: ureq never reuses a connection to a proxy.
    let upstream = FakeUpstream::start();
    let proxy = ForwardProxy::start(&[("fake.test:8080", &upstream.addr)]);
    let conn = TcpStream::connect(proxy.host()).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut to_proxy = conn.try_clone().unwrap();
    let mut from_proxy = BufReader::new(conn);
    let head = |method: &str, path: &str, extra: &str| {
        format!(
            "{method} http://fake.test:8080{path} HTTP/1.1\r\nHost: fake.test:8080\r\n{extra}\r\n"
        )
    };

    // A chunked request body (with a chunk extension and a trailer); a chunked answer.
    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let mut request = head("POST", "/upload", "Transfer-Encoding: chunked\r\n").into_bytes();
    for (i, chunk) in big.chunks(70_000).enumerate() {
        request.extend(format!("{:x};n={i}\r\n", chunk.len()).bytes());
        request.extend(chunk);
        request.extend(b"\r\n");
    }
    request.extend(b"0\r\nX-Trailer: 1\r\n\r\n");
    to_proxy.write_all(&request).unwrap();
    let (answer, body) = read_message(&mut from_proxy, true).unwrap();
    assert!(answer.contains("Transfer-Encoding: chunked"), "{answer}");
    assert_eq!(body, b"POST /upload: 200000 bytes");

    let put = head("PUT", "/put?digest=sha256:x", "Content-Length: 12\r\n") + "twelve bytes";
    to_proxy.write_all(put.as_bytes()).unwrap();
    let (_, body) = read_message(&mut from_proxy, true).unwrap();
    assert_eq!(body, b"PUT /put: 12 bytes");
    // HEAD: a Content-Length but no body; the next answer must still be read right.
    to_proxy
        .write_all(head("HEAD", "/head", "").as_bytes())
        .unwrap();
    let (answer, body) = read_message(&mut from_proxy, false).unwrap();
    assert!(answer.contains("Content-Length: 10"), "{answer}");
    assert!(body.is_empty());
    to_proxy
        .write_all(head("GET", "/get", "").as_bytes())
        .unwrap();
    let (_, body) = read_message(&mut from_proxy, true).unwrap();
    assert_eq!(body, b"GET /get");

    let heads = upstream.heads();
    let lines: Vec<&str> = heads
        .iter()
        .map(|(_, h)| h.lines().next().unwrap())
        .collect();
    assert_eq!(
        lines,
        [
            "POST /upload HTTP/1.1",
            "PUT /put?digest=sha256:x HTTP/1.1",
            "HEAD /head HTTP/1.1",
            "GET /get HTTP/1.1"
        ]
    );
    // One client connection to the proxy, one upstream connection.
    assert!(heads.iter().all(|(conn, _)| *conn == 1), "{heads:?}");
    assert_eq!(upstream.bodies()[0], big);
    assert_eq!(proxy.count("PUT", "digest="), 1);
    assert_eq!(proxy.requests().len(), 4);

    // And ureq's own chunked body (a reader of unknown length).
    let resp = agent(&proxy.url())
        .post("http://fake.test:8080/ureq")
        .send(&big[..1000])
        .unwrap();
    assert_eq!(resp.into_string().unwrap(), "POST /ureq: 1000 bytes");
}

#[test]
fn latency_and_rate_slow_what_is_relayed() {
    let registry = Registry::start();
    let image = build_image(&ImageSpec::single("base", "slow", 150_000), "1");
    push_layout(&registry, &image, "slow/app", "1");
    let layer = &image.platforms[0].layer_digests[1];
    let name = mapped_name(&registry);
    let blob_url = format!("http://{name}/v2/slow/app/blobs/{layer}");

    let fast = proxy_for(&registry);
    let mut body = Vec::new();
    let resp = agent(&fast.url()).get(&blob_url).call().unwrap();
    resp.into_reader().read_to_end(&mut body).unwrap();
    assert!(body.len() > 150_000, "{}", body.len());

    let slow = ForwardProxy::builder(&[(&name, &registry.host())])
        .latency(Duration::from_millis(100))
        .rate(300_000)
        .start();
    let agent = agent(&slow.url());
    let start = Instant::now();
    for _ in 0..3 {
        agent.get(&format!("http://{name}/v2/")).call().unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    assert!((0.3..1.5).contains(&secs), "3 requests took {secs:.2}s");
    let start = Instant::now();
    let mut slow_body = Vec::new();
    let resp = agent.get(&blob_url).call().unwrap();
    resp.into_reader().read_to_end(&mut slow_body).unwrap();
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(slow_body, body);
    // 150 kB at 300 kB/s, plus the latency.
    assert!((0.55..3.0).contains(&secs), "the blob took {secs:.2}s");
}

#[test]
fn skopeo_inspects_a_mapped_registry_through_the_proxy() {
    let registry = Registry::start();
    let digest = push_image(
        &registry,
        "proxied/app",
        "1",
        &ImageSpec::single("base", "inspect", 4096),
    );
    let proxy = proxy_for(&registry);
    let name = mapped_name(&registry);
    let image = format!("docker://{name}/proxied/app:1");
    let out = skopeo(&proxy.url(), &["inspect", "--tls-verify=false", &image]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["Digest"], digest.as_str());
    assert!(proxy.count("GET", "/v2/proxied/app/manifests/1") >= 1);
    assert!(proxy.requests().iter().all(|(_, host, _)| *host == name));
    assert_eq!(proxy.refused(), 0);
}

#[test]
fn skopeo_sends_proxy_credentials_in_the_proxy_url() {
    let registry = Registry::start();
    let digest = push_image(
        &registry,
        "proxied/auth",
        "1",
        &ImageSpec::single("base", "auth", 4096),
    );
    let name = mapped_name(&registry);
    let proxy = ForwardProxy::start_with_auth(&[(&name, &registry.host())], "proxy-user", "pw");
    let image = format!("docker://{name}/proxied/auth:1");
    let out = skopeo(
        &proxy.url_with_credentials(),
        &["inspect", "--tls-verify=false", &image],
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["Digest"], digest.as_str());
    assert_eq!(proxy.auth_failures(), 0);
    assert!(proxy.count("GET", "/manifests/1") >= 1);
}

#[test]
fn skopeo_copies_from_the_mapped_source_into_a_direct_target() {
    let source = Registry::start();
    let image = build_image(&ImageSpec::single("base", "copy", 64 * 1024), "1");
    push_layout(&source, &image, "proxied/copy", "1");
    let target = Registry::start();
    let proxy = proxy_for(&source);
    let name = mapped_name(&source);
    skopeo(
        &proxy.url(),
        &[
            "copy",
            "--all",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            &format!("docker://{name}/proxied/copy:1"),
            &format!("docker://{}/copied/app:1", target.host()),
        ],
    );
    assert_eq!(
        target.manifest_digest("copied/app", "1").as_deref(),
        Some(image.digest.as_str())
    );
    // The config and both layers came through the proxy; the target (127.0.0.1) did not.
    assert!(proxy.count("GET", "/v2/proxied/copy/blobs/") >= 3);
    assert!(proxy.count("GET", "/v2/proxied/copy/manifests/1") >= 1);
    assert!(proxy.requests().iter().all(|(_, host, _)| *host == name));
}

#[test]
fn skopeo_pushes_blobs_through_the_proxy() {
    let registry = Registry::start();
    let proxy = proxy_for(&registry);
    let name = mapped_name(&registry);
    let image = build_image(&ImageSpec::single("base", "push", 300 * 1024), "1");
    skopeo(
        &proxy.url(),
        &[
            "--insecure-policy",
            "copy",
            "--all",
            "--preserve-digests",
            "--dest-tls-verify=false",
            &image.skopeo_ref(),
            &format!("docker://{name}/pushed/app:1"),
        ],
    );
    assert_eq!(
        registry.manifest_digest("pushed/app", "1").as_deref(),
        Some(image.digest.as_str())
    );
    assert!(proxy.count("POST", "/blobs/uploads/") >= 3);
    assert!(proxy.count("PATCH", "/blobs/uploads/") + proxy.count("PUT", "/blobs/uploads/") >= 3);
    assert_eq!(proxy.count("PUT", "/manifests/1"), 1);
}

/// An HTTP/1.1 server that records each request (connection number, head, body) and answers
/// `METHOD /path` for GET and HEAD (Content-Length), `METHOD /path: N bytes` for requests with
/// a body (chunked).
struct FakeUpstream {
    addr: String,
    seen: Arc<Seen>,
}

impl FakeUpstream {
    fn start() -> FakeUpstream {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        thread::spawn(move || {
            for (i, conn) in listener.incoming().enumerate() {
                let Ok(conn) = conn else { return };
                let log = log.clone();
                thread::spawn(move || serve_fake(i + 1, conn, &log));
            }
        });
        FakeUpstream { addr, seen }
    }

    fn heads(&self) -> Vec<(usize, String)> {
        let seen = self.seen.lock().unwrap();
        seen.iter().map(|(c, h, _)| (*c, h.clone())).collect()
    }

    fn bodies(&self) -> Vec<Vec<u8>> {
        let seen = self.seen.lock().unwrap();
        seen.iter().map(|(_, _, b)| b.clone()).collect()
    }
}

/// What a [`FakeUpstream`] saw: (connection number, request head, body) per request.
type Seen = Mutex<Vec<(usize, String, Vec<u8>)>>;

/// One HTTP message: its head (up to the empty line) and its body, by Content-Length or
/// chunked (decoded); `None` at the end of the connection.
fn read_message(reader: &mut impl BufRead, has_body: bool) -> Option<(String, Vec<u8>)> {
    let mut head = String::new();
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return None;
        }
        if line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let fields: HashMap<String, String> = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = Vec::new();
    if !has_body {
    } else if fields
        .get("transfer-encoding")
        .is_some_and(|t| t.contains("chunked"))
    {
        loop {
            line.clear();
            reader.read_line(&mut line).unwrap();
            let size = line.trim().split(';').next().unwrap();
            let size = usize::from_str_radix(size, 16).unwrap();
            if size == 0 {
                // Trailers, up to the empty line.
                while line != "\r\n" {
                    line.clear();
                    reader.read_line(&mut line).unwrap();
                }
                break;
            }
            let mut chunk = vec![0u8; size + 2];
            reader.read_exact(&mut chunk).unwrap();
            body.extend_from_slice(&chunk[..size]);
        }
    } else if let Some(n) = fields.get("content-length") {
        body = vec![0u8; n.parse().unwrap()];
        reader.read_exact(&mut body).unwrap();
    }
    Some((head, body))
}

fn serve_fake(conn_no: usize, conn: TcpStream, log: &Seen) {
    let mut out = conn.try_clone().unwrap();
    let mut reader = BufReader::new(conn);
    while let Some((head, body)) = read_message(&mut reader, true) {
        let mut words = head.split(' ');
        let (method, path) = (words.next().unwrap(), words.next().unwrap());
        let path = path.split('?').next().unwrap();
        let answer = match method {
            "GET" | "HEAD" => {
                let text = format!("{method} {path}");
                let shown = if method == "HEAD" { "" } else { text.as_str() };
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{shown}",
                    text.len()
                )
            }
            _ => {
                let text = format!("{method} {path}: {} bytes", body.len());
                let (a, b) = text.split_at(text.len() / 2);
                format!(
                    "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n\
                     {:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
                    a.len(),
                    b.len()
                )
            }
        };
        log.lock().unwrap().push((conn_no, head, body));
        if out.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}
