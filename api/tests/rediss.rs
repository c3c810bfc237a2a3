//! `REDIS_URL=rediss://...`: the api on a Redis that speaks only TLS, with a certificate from
//! a private CA trusted through `SSL_CERT_FILE`, as a company's managed Redis is reached; and a
//! clear error, not a hang, when the CA is not trusted.

mod binary;

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use binary::{config_dir, Api, REGISTRIES};
use docker_sync_tests::tls::Certified;

const PASSWORD: &str = "Tls-admin-Passw0rd";
const REDIS_PASSWORD: &str = "redis-tls-requirepass-9f3k";

/// redis-server with TLS only (`port 0`), its password in the config file, never in argv.
struct TlsRedis {
    port: u16,
    child: Child,
    dir: tempfile::TempDir,
}

impl TlsRedis {
    fn start(certified: &Certified) -> TlsRedis {
        let binary = docker_sync_tests::require_tool("redis-server", "redis-server");
        let dir = tempfile::tempdir().unwrap();
        let path = |name: &str| dir.path().join(name);
        std::fs::write(path("server.pem"), &certified.cert_pem).unwrap();
        std::fs::write(path("server.key"), &certified.key_pem).unwrap();
        std::fs::write(path("ca.pem"), certified.ca_pem.as_deref().unwrap()).unwrap();
        let port = docker_sync_tests::free_port();
        let conf = format!(
            "port 0\ntls-port {port}\nbind 127.0.0.1\ntls-cert-file {}\ntls-key-file {}\n\
             tls-ca-cert-file {}\ntls-auth-clients no\nrequirepass {REDIS_PASSWORD}\n\
             save \"\"\nappendonly no\ndir {}\n",
            path("server.pem").display(),
            path("server.key").display(),
            path("ca.pem").display(),
            dir.path().display(),
        );
        std::fs::write(path("redis.conf"), conf).unwrap();
        let log = std::fs::File::create(path("redis.log")).unwrap();
        let mut child = Command::new(binary)
            .arg(path("redis.conf"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            let log = std::fs::read_to_string(path("redis.log")).unwrap_or_default();
            assert!(
                child.try_wait().unwrap().is_none(),
                "redis-server exited:\n{log}"
            );
            assert!(Instant::now() < deadline, "redis-server TLS not up:\n{log}");
            std::thread::sleep(Duration::from_millis(20));
        }
        TlsRedis { port, child, dir }
    }

    fn url(&self) -> String {
        format!("rediss://:{REDIS_PASSWORD}@127.0.0.1:{}", self.port)
    }

    fn ca_file(&self) -> String {
        self.dir.path().join("ca.pem").display().to_string()
    }
}

impl Drop for TlsRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn admin_config() -> tempfile::TempDir {
    config_dir(REGISTRIES, &bcrypt::hash(PASSWORD, 4).unwrap())
}

#[tokio::test]
async fn the_api_queues_a_job_on_a_tls_redis_trusted_through_ssl_cert_file() {
    let redis = tokio::task::spawn_blocking(|| TlsRedis::start(&Certified::by_private_ca()))
        .await
        .unwrap();
    let config = admin_config();
    let mut api = Api::start(
        config.path(),
        &[
            ("REDIS_URL", &redis.url()),
            ("SSL_CERT_FILE", &redis.ca_file()),
        ],
    );
    api.wait_health(200).await;
    let cookie = api.login(PASSWORD).await.unwrap();
    api.queue_job(&cookie).await;
    let output = api.output();
    api.stop();
    assert!(!output.contains(REDIS_PASSWORD), "{output}");
}

#[tokio::test]
async fn an_untrusted_certificate_is_a_clear_error_not_a_hang() {
    let redis = tokio::task::spawn_blocking(|| TlsRedis::start(&Certified::by_private_ca()))
        .await
        .unwrap();
    let config = admin_config();
    let mut api = Api::start(config.path(), &[("REDIS_URL", &redis.url())]);
    api.wait_health(503).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let output = api.output();
        if output.contains("Redis is not reachable") && output.contains("certificate") {
            assert!(!output.contains(REDIS_PASSWORD), "{output}");
            break;
        }
        assert!(Instant::now() < deadline, "no certificate error:\n{output}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    api.stop();
}
