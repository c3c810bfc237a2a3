//! Tests of the harness itself: real redis-server, docker-registry and skopeo.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use docker_sync_tests::{
    push_image, require_tool, sha256_digest, write_authfile, ImageSpec, RedisServer, Registry,
};

fn redis_command(port: u16, command: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to redis");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream
        .write_all(format!("{command}\r\n").as_bytes())
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    while !got.ends_with(b"\r\n") {
        let n = stream.read(&mut buf).expect("read from redis");
        assert!(n > 0, "redis closed the connection");
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8(got).unwrap()
}

fn http_status(url: &str, auth: Option<(&str, &str)>) -> u16 {
    let mut req = ureq::get(url);
    if let Some((user, password)) = auth {
        use base64::Engine as _;
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        req = req.set("Authorization", &format!("Basic {token}"));
    }
    match req.call() {
        Ok(resp) => resp.status(),
        Err(ureq::Error::Status(code, _)) => code,
        Err(e) => panic!("GET {url}: {e}"),
    }
}

#[test]
fn redis_servers_start_in_parallel_on_distinct_ports() {
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(RedisServer::start);
        let b = s.spawn(RedisServer::start);
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_ne!(a.port(), b.port());
    assert_eq!(a.url(), format!("redis://127.0.0.1:{}", a.port()));
    assert_eq!(redis_command(a.port(), "PING"), "+PONG\r\n");
    assert_eq!(redis_command(b.port(), "PING"), "+PONG\r\n");
    assert_eq!(redis_command(a.port(), "SET k v"), "+OK\r\n");
    assert_eq!(redis_command(b.port(), "EXISTS k"), ":0\r\n");

    let port = a.port();
    a.stop();
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "redis still accepts connections after stop"
    );
}

#[test]
fn redis_restart_keeps_the_port() {
    let mut redis = RedisServer::start();
    assert_eq!(redis_command(redis.port(), "SET k v"), "+OK\r\n");
    redis.restart();
    assert_eq!(redis_command(redis.port(), "PING"), "+PONG\r\n");
    assert_eq!(redis_command(redis.port(), "EXISTS k"), ":0\r\n");
}

#[test]
fn anonymous_and_auth_registries() {
    let (anon, auth) = std::thread::scope(|s| {
        let anon = s.spawn(Registry::start);
        let auth = s.spawn(|| Registry::start_with_auth("alice", "s3cret pass"));
        (anon.join().unwrap(), auth.join().unwrap())
    });
    assert_ne!(anon.port(), auth.port());
    assert_eq!(anon.host(), format!("127.0.0.1:{}", anon.port()));
    assert_eq!(anon.credentials(), None);
    assert_eq!(
        auth.credentials(),
        Some(("alice".to_string(), "s3cret pass".to_string()))
    );

    assert_eq!(http_status(&format!("{}/v2/", anon.url()), None), 200);
    assert_eq!(http_status(&format!("{}/v2/", auth.url()), None), 401);
    assert_eq!(
        http_status(&format!("{}/v2/", auth.url()), Some(("alice", "wrong"))),
        401
    );
    assert_eq!(
        http_status(
            &format!("{}/v2/", auth.url()),
            Some(("alice", "s3cret pass"))
        ),
        200
    );

    assert!(auth.catalog().is_empty());
    assert!(auth.tags("nothing/here").is_empty());
    assert_eq!(auth.manifest_digest("nothing/here", "1"), None);
}

#[test]
fn push_single_and_multi_arch_images() {
    let registry = Registry::start_with_auth("bob", "hunter2");
    let single = push_image(
        &registry,
        "a/b/c/img",
        "1",
        &ImageSpec::single("base", "img", 64 * 1024),
    );
    let multi = push_image(
        &registry,
        "multi",
        "1",
        &ImageSpec::multi_arch(
            "base",
            "multi",
            64 * 1024,
            &[("linux", "amd64"), ("linux", "arm64")],
        ),
    );
    for d in [&single, &multi] {
        assert!(d.starts_with("sha256:") && d.len() == 71, "digest {d}");
    }
    assert_ne!(single, multi);
    assert_eq!(
        registry.manifest_digest("a/b/c/img", "1").as_ref(),
        Some(&single)
    );
    assert_eq!(registry.tags("a/b/c/img"), vec!["1".to_string()]);
    assert_eq!(
        registry.catalog(),
        vec!["a/b/c/img".to_string(), "multi".to_string()]
    );

    // skopeo sees the index, and the registry's digest is the sha256 of its raw bytes.
    let authfile = write_authfile(&[(registry.host().as_str(), "bob", "hunter2")]);
    let out = Command::new(require_tool("skopeo", "skopeo"))
        .args(["inspect", "--raw", "--tls-verify=false", "--authfile"])
        .arg(authfile.path())
        .arg(format!("docker://{}/multi:1", registry.host()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(sha256_digest(&out.stdout), multi);
    let index: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        index["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    let manifests = index["manifests"].as_array().unwrap();
    let archs: Vec<&str> = manifests
        .iter()
        .map(|m| m["platform"]["architecture"].as_str().unwrap())
        .collect();
    assert_eq!(archs, ["amd64", "arm64"]);

    let raw = registry.manifest("multi", "1").unwrap();
    assert_eq!(raw.body, out.stdout);
    assert_eq!(raw.digest, multi);
    assert_eq!(raw.media_type, "application/vnd.oci.image.index.v1+json");

    // Same base seed => the bottom layer is the same blob in every image and platform.
    let single_manifest = registry.manifest("a/b/c/img", &single).unwrap().json();
    let base_layer = single_manifest["layers"][0]["digest"].as_str().unwrap();
    let mut top_layers = vec![single_manifest["layers"][1]["digest"].clone()];
    for m in manifests {
        let digest = m["digest"].as_str().unwrap();
        let platform_manifest = registry.manifest("multi", digest).unwrap();
        assert_eq!(platform_manifest.digest, digest);
        assert_eq!(sha256_digest(&platform_manifest.body), digest);
        let json = platform_manifest.json();
        assert_eq!(json["layers"][0]["digest"], base_layer);
        top_layers.push(json["layers"][1]["digest"].clone());
        assert!(registry.blob_exists("multi", base_layer));
    }
    top_layers.sort_by_key(|v| v.to_string());
    top_layers.dedup();
    assert_eq!(top_layers.len(), 3, "top layers must all differ");

    // Pushing the same spec again yields the same digest.
    let again = push_image(
        &registry,
        "copy",
        "2",
        &ImageSpec::single("base", "img", 64 * 1024),
    );
    assert_eq!(again, single);
}

#[test]
fn registry_restart_keeps_storage_and_port() {
    let mut registry = Registry::start();
    let digest = push_image(
        &registry,
        "keep",
        "1",
        &ImageSpec::single("base", "keep", 1024),
    );
    let port = registry.port();
    registry.restart();
    assert_eq!(registry.port(), port);
    assert_eq!(registry.manifest_digest("keep", "1"), Some(digest.clone()));
    assert!(registry.delete_manifest("keep", &digest));
    assert_eq!(registry.manifest_digest("keep", "1"), None);
}
