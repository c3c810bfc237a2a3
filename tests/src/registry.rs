//! A throw-away Docker registry (Debian's `docker-registry`, distribution 2.8) on a loopback port.

use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use base64::Engine as _;
use tempfile::TempDir;

use crate::process::ManagedChild;
use crate::{require_tool, start_with_retries, wait_ready};

/// The `Accept` header sent when fetching manifests: OCI index/manifest and Docker list/schema2.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.docker.distribution.manifest.v2+json";

/// A manifest as stored in the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawManifest {
    /// `Content-Type` of the response (the manifest's media type).
    pub media_type: String,
    /// `Docker-Content-Digest` of the response (`sha256:...`).
    pub digest: String,
    /// The exact bytes.
    pub body: Vec<u8>,
}

impl RawManifest {
    /// The body parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("manifest is not JSON")
    }
}

/// A real `docker-registry serve config.yml` on 127.0.0.1, plain HTTP, filesystem storage in a
/// temp dir, deletes enabled, optionally htpasswd (bcrypt) basic auth.
///
/// Killed and reaped on drop.
pub struct Registry {
    port: u16,
    credentials: Option<(String, String)>,
    agent: ureq::Agent,
    // Field order: the child is killed before its directory is removed.
    child: ManagedChild,
    dir: TempDir,
}

impl Registry {
    /// Starts an anonymous registry and waits until `GET /v2/` answers 200.
    pub fn start() -> Registry {
        Self::start_inner(None)
    }

    /// Starts a registry with htpasswd basic auth for one user and waits until `GET /v2/`
    /// answers 401 to anonymous requests.
    pub fn start_with_auth(user: &str, password: &str) -> Registry {
        assert!(
            !user.contains(':'),
            "htpasswd user names cannot contain ':'"
        );
        Self::start_inner(Some((user.to_string(), password.to_string())))
    }

    fn start_inner(credentials: Option<(String, String)>) -> Registry {
        let binary = require_tool("docker-registry", "docker-registry");
        start_with_retries("docker-registry", |port| {
            let dir = tempfile::Builder::new()
                .prefix("test-registry-")
                .tempdir()
                .expect("cannot create temp dir for registry");
            if let Some((user, password)) = &credentials {
                write_htpasswd(&dir.path().join("htpasswd"), user, password);
            }
            write_config(dir.path(), port, credentials.is_some());
            let agent = ureq::AgentBuilder::new()
                .timeout_connect(Duration::from_secs(2))
                .timeout(Duration::from_secs(30))
                .redirects(0)
                .build();
            let child = spawn(&binary, port, dir.path(), &agent, credentials.is_some())?;
            Ok(Registry {
                port,
                credentials: credentials.clone(),
                agent,
                child,
                dir,
            })
        })
    }

    /// `127.0.0.1:PORT`, as used in image references (`127.0.0.1:PORT/repo:tag`).
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `(user, password)` for an auth registry, `None` for an anonymous one.
    pub fn credentials(&self) -> Option<(String, String)> {
        self.credentials.clone()
    }

    /// The registry's storage root (blobs and repositories on disk).
    pub fn storage_dir(&self) -> PathBuf {
        self.dir.path().join("storage")
    }

    /// The registry's log (stdout and stderr), last 64 KiB.
    pub fn log(&self) -> String {
        self.child.log_tail(64 * 1024)
    }

    /// Kills the registry and starts it again on the same port with the same storage and
    /// credentials (e.g. to test a registry outage). Panics if it cannot come back.
    pub fn restart(&mut self) {
        self.halt();
        self.resume();
    }

    /// Kills the registry, keeping its storage and port for [`Self::resume`]: an outage.
    pub fn halt(&mut self) {
        self.child.kill();
    }

    /// Starts a [`Self::halt`]ed registry again on its port and storage.
    pub fn resume(&mut self) {
        let binary = require_tool("docker-registry", "docker-registry");
        self.child = spawn(
            &binary,
            self.port,
            self.dir.path(),
            &self.agent,
            self.credentials.is_some(),
        )
        .unwrap_or_else(|e| panic!("docker-registry restart on port {} failed: {e}", self.port));
    }

    /// Kills the registry now (same as dropping it).
    pub fn stop(self) {}

    /// `HEAD /v2/<repo>/manifests/<reference>`: the `Docker-Content-Digest`, `None` on 404.
    pub fn manifest_digest(&self, repo: &str, reference: &str) -> Option<String> {
        let url = format!("{}/v2/{repo}/manifests/{reference}", self.url());
        let resp = self.send(self.agent.head(&url).set("Accept", MANIFEST_ACCEPT))?;
        Some(
            resp.header("Docker-Content-Digest")
                .unwrap_or_else(|| panic!("HEAD {url}: no Docker-Content-Digest header"))
                .to_string(),
        )
    }

    /// `GET /v2/<repo>/manifests/<reference>`: the raw manifest, `None` on 404.
    pub fn manifest(&self, repo: &str, reference: &str) -> Option<RawManifest> {
        let url = format!("{}/v2/{repo}/manifests/{reference}", self.url());
        let resp = self.send(self.agent.get(&url).set("Accept", MANIFEST_ACCEPT))?;
        let media_type = resp.content_type().to_string();
        let digest = resp
            .header("Docker-Content-Digest")
            .unwrap_or_else(|| panic!("GET {url}: no Docker-Content-Digest header"))
            .to_string();
        let mut body = Vec::new();
        resp.into_reader()
            .read_to_end(&mut body)
            .unwrap_or_else(|e| panic!("GET {url}: reading body: {e}"));
        Some(RawManifest {
            media_type,
            digest,
            body,
        })
    }

    /// `HEAD /v2/<repo>/blobs/<digest>` answers 200.
    pub fn blob_exists(&self, repo: &str, digest: &str) -> bool {
        let url = format!("{}/v2/{repo}/blobs/{digest}", self.url());
        self.send(self.agent.head(&url)).is_some()
    }

    /// `GET /v2/<repo>/tags/list`; empty when the repository does not exist.
    pub fn tags(&self, repo: &str) -> Vec<String> {
        let url = format!("{}/v2/{repo}/tags/list", self.url());
        let Some(json) = self.get_json(&url) else {
            return Vec::new();
        };
        string_list(&json["tags"])
    }

    /// `GET /v2/_catalog`: all repository names (following `Link` pagination).
    pub fn catalog(&self) -> Vec<String> {
        let mut names = Vec::new();
        let mut path = "/v2/_catalog?n=1000".to_string();
        loop {
            let url = format!("{}{path}", self.url());
            let resp = self
                .send(self.agent.get(&url))
                .unwrap_or_else(|| panic!("GET {url}: 404"));
            // `Link: </v2/_catalog?last=x&n=1000>; rel="next"`
            let next = resp
                .header("Link")
                .and_then(|l| Some(l[l.find('<')? + 1..l.find('>')?].to_string()));
            let text = resp
                .into_string()
                .unwrap_or_else(|e| panic!("GET {url}: reading body: {e}"));
            let json: serde_json::Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("GET {url}: bad JSON {e}: {text}"));
            names.extend(string_list(&json["repositories"]));
            match next {
                Some(n) => path = n,
                None => return names,
            }
        }
    }

    /// `DELETE /v2/<repo>/manifests/<digest>`; false on 404.
    pub fn delete_manifest(&self, repo: &str, digest: &str) -> bool {
        let url = format!("{}/v2/{repo}/manifests/{digest}", self.url());
        self.send(self.agent.delete(&url)).is_some()
    }

    fn get_json(&self, url: &str) -> Option<serde_json::Value> {
        let resp = self.send(self.agent.get(url))?;
        let text = resp
            .into_string()
            .unwrap_or_else(|e| panic!("GET {url}: reading body: {e}"));
        Some(
            serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("GET {url}: bad JSON {e}: {text}")),
        )
    }

    /// Sends with basic auth when configured. `None` on 404; panics on any other failure.
    fn send(&self, req: ureq::Request) -> Option<ureq::Response> {
        let req = match &self.credentials {
            Some((user, password)) => req.set("Authorization", &basic_auth(user, password)),
            None => req,
        };
        let what = format!("{} {}", req.method(), req.url());
        match req.call() {
            Ok(resp) => Some(resp),
            Err(ureq::Error::Status(404, _)) => None,
            Err(ureq::Error::Status(code, resp)) => {
                let body = resp.into_string().unwrap_or_default();
                panic!("{what}: HTTP {code}: {body}")
            }
            Err(e) => panic!("{what}: {e}\nregistry log:\n{}", self.child.log_tail(4096)),
        }
    }
}

/// `Basic base64(user:password)`
pub(crate) fn basic_auth(user: &str, password: &str) -> String {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {token}")
}

fn string_list(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn write_htpasswd(path: &Path, user: &str, password: &str) {
    let htpasswd = require_tool("htpasswd", "apache2-utils");
    // -B: bcrypt (the only scheme distribution accepts); -C 4: cheapest cost, tests stay fast.
    let out = Command::new(htpasswd)
        .args(["-nbB", "-C", "4", user, password])
        .output()
        .expect("cannot run htpasswd");
    assert!(
        out.status.success(),
        "htpasswd failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    fs::write(path, &out.stdout).expect("cannot write htpasswd file");
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).expect("chmod htpasswd");
}

fn write_config(dir: &Path, port: u16, auth: bool) {
    let quote = |p: &Path| serde_json::to_string(&p.to_string_lossy()).expect("quote path");
    let storage = dir.join("storage");
    fs::create_dir_all(&storage).expect("cannot create registry storage dir");
    let mut config = format!(
        "version: 0.1\n\
         log:\n  level: warn\n  accesslog:\n    disabled: true\n\
         storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
         http:\n  addr: 127.0.0.1:{port}\n  secret: test-registry-secret\n",
        quote(&storage)
    );
    if auth {
        config.push_str(&format!(
            "auth:\n  htpasswd:\n    realm: test-registry\n    path: {}\n",
            quote(&dir.join("htpasswd"))
        ));
    }
    fs::write(dir.join("config.yml"), config).expect("cannot write registry config");
}

fn spawn(
    binary: &Path,
    port: u16,
    dir: &Path,
    agent: &ureq::Agent,
    auth: bool,
) -> Result<ManagedChild, String> {
    let mut cmd = Command::new(binary);
    cmd.arg("serve")
        .arg(dir.join("config.yml"))
        .current_dir(dir)
        // The registry reads REGISTRY_* variables as config overrides; do not inherit any.
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    let mut child = ManagedChild::spawn("docker-registry", cmd, &dir.join("registry.log"));
    let expected = if auth { 401 } else { 200 };
    let url = format!("http://127.0.0.1:{port}/v2/");
    let probe_agent = agent.clone();
    wait_ready(&mut child, port, || {
        let status = match probe_agent
            .get(&url)
            .timeout(Duration::from_millis(500))
            .call()
        {
            Ok(resp) => resp.status(),
            Err(ureq::Error::Status(code, _)) => code,
            Err(_) => return false,
        };
        status == expected
    })?;
    Ok(child)
}
