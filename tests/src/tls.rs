//! A `docker-registry` serving TLS with a certificate made here: self-signed, or issued by a
//! private CA the test trusts through `SSL_CERT_FILE`.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{free_port, require_tool};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};

/// A server certificate for 127.0.0.1 and localhost, and the CA that issued it (None when it
/// is self-signed).
pub struct Certified {
    pub cert_pem: String,
    pub key_pem: String,
    pub ca_pem: Option<String>,
}

impl Certified {
    pub fn self_signed() -> Certified {
        let c = rcgen::generate_simple_self_signed(vec![
            "127.0.0.1".to_owned(),
            "localhost".to_owned(),
        ])
        .unwrap();
        Certified {
            cert_pem: c.cert.pem(),
            key_pem: c.key_pair.serialize_pem(),
            ca_pem: None,
        }
    }

    /// Issued by a fresh private CA, as a company CA would issue a registry's certificate.
    pub fn by_private_ca() -> Certified {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "docker-image-sync test CA");
        let ca_key = KeyPair::generate().unwrap();
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let leaf_key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap()
            .signed_by(&leaf_key, &ca, &ca_key)
            .unwrap();
        Certified {
            cert_pem: leaf.pem(),
            key_pem: leaf_key.serialize_pem(),
            ca_pem: Some(ca.pem()),
        }
    }
}

/// `docker-registry serve` with TLS from a certificate made here; killed on drop.
pub struct TlsRegistry {
    pub port: u16,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for TlsRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl TlsRegistry {
    /// `127.0.0.1:PORT`, as image references and a bare `url` name it.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn start(certified: &Certified) -> TlsRegistry {
        let binary = require_tool("docker-registry", "docker-registry");
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("cert.pem");
        let key = dir.path().join("key.pem");
        std::fs::write(&cert, &certified.cert_pem).unwrap();
        std::fs::write(&key, &certified.key_pem).unwrap();
        let storage = dir.path().join("storage");
        std::fs::create_dir_all(&storage).unwrap();
        let quote = |p: &PathBuf| serde_json::to_string(&p.to_string_lossy()).unwrap();
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port();
            let config = format!(
                "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\n\
                 storage:\n  filesystem:\n    rootdirectory: {}\n\
                 http:\n  addr: 127.0.0.1:{port}\n  secret: tls-test\n  tls:\n    \
                 certificate: {}\n    key: {}\n",
                quote(&storage),
                quote(&cert),
                quote(&key)
            );
            let file = dir.path().join("config.yml");
            std::fs::write(&file, config).unwrap();
            let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
            let mut child = Command::new(&binary)
                .arg("serve")
                .arg(&file)
                .env_clear()
                .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if child.try_wait().unwrap().is_some() {
                    break;
                }
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return TlsRegistry {
                        port,
                        child,
                        _dir: dir,
                    };
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
            last = std::fs::read_to_string(dir.path().join("registry.log")).unwrap_or_default();
        }
        panic!("docker-registry with TLS did not start:\n{last}");
    }
}
