//! The one seam around the outside world that does the copying: a `skopeo copy` child process,
//! its arguments those of [`CopySpec`] (the same the api's scripts write).
//!
//! Credentials go into a temporary authfile (mode 0600, removed afterwards), never onto the
//! command line where `ps` would show them. The child is started from argv, never a shell, and is
//! killed when the copy future is dropped (timeout, lost lease, shutdown), or stopped and waited
//! for when the job is cancelled. Each copy gets its own TMPDIR, removed with the authfile once
//! skopeo has exited, so neither a finished nor a stopped copy leaves files behind.
//!
//! skopeo starts from an empty environment ([`child_env`]): the worker's own holds the sealing
//! key, the Redis URL with its password and whatever else the operator set, none of which a copy
//! needs and all of which `/proc/<pid>/environ` would show to anything running as that user.

use std::collections::VecDeque;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use base64::Engine;
use docker_sync_common::bundle::ArchiveFormat;
use docker_sync_common::config::ProxyConfig;
use docker_sync_common::image::ImageRef;
use docker_sync_common::image::Platform;
use docker_sync_common::queue::task::Direction;
use docker_sync_common::registry::copy::{CopyEnd, CopySpec};
use docker_sync_common::registry::{Reach, Transport};
use secrecy::{ExposeSecret, SecretString};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::progress::{Progress, ProgressParser};

/// One line skopeo printed, and the progress it told when it was a step.
#[derive(Debug, Clone)]
pub struct Output {
    pub line: String,
    pub progress: Option<Progress>,
}

/// Lines of skopeo output kept for the task's error report.
const TAIL_LINES: usize = 30;

#[derive(Debug, Clone)]
pub struct Skopeo {
    binary: PathBuf,
    /// Private folder for authfiles (cleared at start: a killed worker may have left some).
    auth_dir: PathBuf,
    /// skopeo's HOME: private, so no `~/.docker/config.json` or `~/.config/containers/auth.json`
    /// of the worker's user adds credentials the task did not name.
    home: PathBuf,
}

/// One side of a copy.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub image: ImageRef,
    /// How the registry is spoken to: skopeo's certificate checks follow it ([`CopySpec`]).
    pub transport: Transport,
    pub credentials: Option<(String, SecretString)>,
    /// The registry's own proxy, given to skopeo as `HTTPS_PROXY` (never in argv).
    pub proxy: Option<ProxyConfig>,
}

impl Endpoint {
    /// One side of a copy of `image`, reached as `reach` says.
    pub fn new(image: ImageRef, reach: &Reach) -> Endpoint {
        Endpoint {
            image,
            transport: reach.transport,
            credentials: reach.credentials.clone(),
            proxy: reach.proxy.clone(),
        }
    }

    fn end(&self) -> CopyEnd<'_> {
        CopyEnd {
            image: &self.image,
            transport: self.transport,
        }
    }
}

#[derive(Debug, Clone)]
pub struct CopyRequest {
    pub source: Endpoint,
    pub target: Endpoint,
    /// None: every platform of a multi-arch index (`--all`, keeps the index digest). A platform:
    /// only that platform's manifest out of an index (skopeo's `--override-os/-arch/-variant`),
    /// which the target gets unchanged, so with that manifest's digest.
    pub platform: Option<Platform>,
    /// Copied byte for byte (`--preserve-digests`) or not at all: a signature or referrer, and
    /// an OCI archive ([`ArchiveEnd::keeps_digests`]).
    pub preserve_digests: bool,
    pub timeout: Duration,
    /// One side is an archive file, not the registry its endpoint names.
    pub archive: Option<ArchiveEnd>,
}

/// The archive side of an export (`target`) or an import (`source`): skopeo's transport
/// argument for the file.
#[derive(Debug, Clone)]
pub struct ArchiveEnd {
    pub direction: Direction,
    /// `oci-archive:/path/file.oci.tar` or `docker-archive:/path/file.docker.tar[:name:tag]`.
    pub arg: String,
}

impl ArchiveEnd {
    /// `name` is what a docker-archive tags the image as (`docker load` shows it); an OCI
    /// archive holds one image and is always named by its path alone (skopeo 1.9 cannot find a
    /// Docker-format manifest in one by its reference).
    pub fn new(
        direction: Direction,
        format: ArchiveFormat,
        path: &Path,
        name: Option<&str>,
    ) -> ArchiveEnd {
        let mut arg = format!("{}:{}", format.as_str(), path.display());
        if let (ArchiveFormat::DockerArchive, Some(name), Direction::Export) =
            (format, name, direction)
        {
            arg.push(':');
            arg.push_str(name);
        }
        ArchiveEnd { direction, arg }
    }

    /// An OCI archive keeps digests (`--preserve-digests`): a bundle is only worth carrying if
    /// what comes out of it is the image that went in. A docker-archive cannot: it holds a
    /// Docker schema 2 image, which an OCI source must be converted to, and
    /// `--preserve-digests` forbids any conversion.
    pub fn keeps_digests(format: ArchiveFormat) -> bool {
        format == ArchiveFormat::OciArchive
    }
}

impl CopyRequest {
    /// What skopeo is told: the same [`CopySpec`] the api's scripts write.
    pub fn spec(&self) -> CopySpec<'_> {
        CopySpec {
            source: self.source.end(),
            target: self.target.end(),
            platform: self.platform.as_ref(),
            preserve_digests: self.preserve_digests,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("cannot start skopeo ({binary}): {source}")]
    Spawn {
        binary: String,
        source: std::io::Error,
    },
    #[error("cannot write the authfile in {dir}: {source}")]
    AuthFile { dir: String, source: std::io::Error },
    /// The two sides name different proxies: skopeo reads one `HTTPS_PROXY`.
    #[error("the source `{source_host}` is reached through proxy {source_proxy} and the target `{target_host}` through proxy {target_proxy}, but one skopeo copy takes one proxy (HTTPS_PROXY): give both registries the same `proxy`, or reach one of them directly")]
    TwoProxies {
        source_host: String,
        source_proxy: String,
        target_host: String,
        target_proxy: String,
    },
    #[error("cannot make the copy's temporary folder in {dir}: {source}")]
    TempDir { dir: String, source: std::io::Error },
    /// The job was cancelled: skopeo was stopped.
    #[error("cancelled")]
    Cancelled,
    #[error("skopeo timed out after {0:?}")]
    Timeout(Duration, String),
    #[error("skopeo failed ({status}): {summary}")]
    Failed {
        status: String,
        summary: String,
        tail: String,
    },
}

impl CopyError {
    /// The last lines skopeo printed, for the task's error report.
    pub fn tail(&self) -> &str {
        match self {
            CopyError::Failed { tail, .. } | CopyError::Timeout(_, tail) => tail,
            _ => "",
        }
    }
}

impl Skopeo {
    /// authfiles go to `<work_dir>/auth`, skopeo's HOME is `<work_dir>/home`.
    pub fn new(binary: PathBuf, work_dir: &Path) -> std::io::Result<Self> {
        let (auth_dir, home) = (work_dir.join("auth"), work_dir.join("home"));
        if auth_dir.exists() {
            std::fs::remove_dir_all(&auth_dir)?;
        }
        for dir in [&auth_dir, &home] {
            std::fs::create_dir_all(dir)?;
            restrict(dir, 0o700)?;
        }
        Ok(Self {
            binary,
            auth_dir,
            home,
        })
    }

    /// The argv of a copy (without the program), for tests and logs: it holds no secret.
    pub fn copy_args(req: &CopyRequest, authfile: &Path) -> Vec<String> {
        let mut args = req.spec().args(authfile);
        if let Some(archive) = &req.archive {
            // The spec ends with source and target; the archive takes its side's place.
            let at = args.len() - 2 + matches!(archive.direction, Direction::Export) as usize;
            args[at] = archive.arg.clone();
        }
        args
    }

    /// Runs the copy, sending each line skopeo prints, with the progress when it was a step.
    pub async fn copy(
        &self,
        req: &CopyRequest,
        progress: mpsc::UnboundedSender<Output>,
        cancel: &CancellationToken,
    ) -> Result<(), CopyError> {
        let proxy_env = proxy_env(req, std::env::var("NO_PROXY").ok())?;
        let authfile = self
            .write_authfile(req)
            .map_err(|source| CopyError::AuthFile {
                dir: self.auth_dir.display().to_string(),
                source,
            })?;
        let tmp_base = std::env::var_os("TMPDIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(SKOPEO_TMP_DEFAULT));
        let tmp = tempfile::Builder::new()
            .prefix("skopeo-")
            .tempdir_in(&tmp_base)
            .map_err(|source| CopyError::TempDir {
                dir: tmp_base.display().to_string(),
                source,
            })?;
        let mut command = Command::new(&self.binary);
        command
            .env_clear()
            .envs(child_env(proxy_env, &self.home, tmp.path(), |name| {
                std::env::var(name).ok()
            }));
        let mut child = command
            .args(Self::copy_args(req, authfile.path()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            // A process group of its own: Ctrl-C at a terminal signals the whole foreground
            // group, and skopeo dying of that SIGINT would spend an attempt. The worker decides
            // when a copy stops (after the shutdown grace), not the terminal.
            .process_group(0)
            .spawn()
            .map_err(|source| CopyError::Spawn {
                binary: self.binary.display().to_string(),
                source,
            })?;
        let stdout = BufReader::new(child.stdout.take().expect("piped")).lines();
        let stderr = BufReader::new(child.stderr.take().expect("piped")).lines();

        let mut tail = VecDeque::with_capacity(TAIL_LINES);
        let mut parser = ProgressParser::default();
        let run = async {
            let (mut out, mut err) = (Some(stdout), Some(stderr));
            while out.is_some() || err.is_some() {
                let line = tokio::select! {
                    l = next(&mut out) => l,
                    l = next(&mut err) => l,
                };
                let Some(line) = line else { continue };
                let step = parser.feed(&line);
                let _ = progress.send(Output {
                    line: line.clone(),
                    progress: step,
                });
                if tail.len() == TAIL_LINES {
                    tail.pop_front();
                }
                tail.push_back(line);
            }
            child.wait().await
        };
        let ended = tokio::select! {
            ended = tokio::time::timeout(req.timeout, run) => Some(ended),
            _ = cancel.cancelled() => None,
        };
        let status = match ended {
            None => {
                // Wait for skopeo to be gone before its folder and authfile are removed.
                let _ = child.start_kill();
                let _ = child.wait().await;
                return Err(CopyError::Cancelled);
            }
            Some(Err(_)) => {
                return Err(CopyError::Timeout(req.timeout, join(&tail)));
            }
            Some(Ok(status)) => status.map_err(|source| CopyError::Spawn {
                binary: self.binary.display().to_string(),
                source,
            })?,
        };
        drop(authfile);
        drop(tmp);
        if status.success() {
            return Ok(());
        }
        let summary = tail
            .iter()
            .rev()
            .find(|l| {
                l.contains("level=fatal")
                    || l.starts_with("FATA[")
                    || l.contains("Error")
                    || l.contains("error")
            })
            .or(tail.back())
            .map(|l| summarize(l))
            .unwrap_or_else(|| "no output".into());
        Err(CopyError::Failed {
            status: status.to_string(),
            summary,
            tail: join(&tail),
        })
    }

    fn write_authfile(&self, req: &CopyRequest) -> std::io::Result<tempfile::NamedTempFile> {
        let mut auths = serde_json::Map::new();
        for side in [&req.source, &req.target] {
            if let Some((user, password)) = &side.credentials {
                let token = base64::engine::general_purpose::STANDARD
                    .encode(format!("{user}:{}", password.expose_secret()));
                auths.insert(
                    side.image.registry().to_owned(),
                    serde_json::json!({ "auth": token }),
                );
            }
        }
        // tempfile creates the file with mode 0600.
        let mut file = tempfile::Builder::new()
            .prefix("auth-")
            .suffix(".json")
            .tempfile_in(&self.auth_dir)?;
        serde_json::to_writer(&mut file, &serde_json::json!({ "auths": auths }))?;
        file.flush()?;
        Ok(file)
    }
}

/// The proxy variables for skopeo when a side has a proxy of its own: `HTTPS_PROXY` and
/// `HTTP_PROXY` name it, and `NO_PROXY` keeps the other side direct (plus the proxy's own
/// `no_proxy` and the process's `NO_PROXY`). Empty when neither side has one: skopeo then uses
/// the process-wide variables, like every other request of this process.
fn proxy_env(
    req: &CopyRequest,
    process_no_proxy: Option<String>,
) -> Result<Vec<(&'static str, String)>, CopyError> {
    let (source, target) = (&req.source, &req.target);
    let (proxy, direct) = match (&source.proxy, &target.proxy) {
        (None, None) => return Ok(Vec::new()),
        (Some(p), None) => (p, Some(target)),
        (None, Some(p)) => (p, Some(source)),
        (Some(a), Some(b)) if a.same_as(b) => (a, None),
        (Some(a), Some(b)) => {
            return Err(CopyError::TwoProxies {
                source_host: source.image.registry().to_owned(),
                source_proxy: a.shown().to_owned(),
                target_host: target.image.registry().to_owned(),
                target_proxy: b.shown().to_owned(),
            })
        }
    };
    let mut no_proxy: Vec<String> = Vec::new();
    if let Some(side) = direct {
        let host = side.image.registry();
        no_proxy.push(docker_sync_common::registry::reach::api_host(host).to_owned());
    }
    for side in [source, target] {
        if let Some(list) = side.proxy.as_ref().and_then(|p| p.no_proxy.as_deref()) {
            no_proxy.push(list.to_owned());
        }
    }
    no_proxy.extend(process_no_proxy.filter(|n| !n.is_empty()));
    let url = proxy.env_value().to_owned();
    let mut env = vec![("HTTPS_PROXY", url.clone()), ("HTTP_PROXY", url)];
    if !no_proxy.is_empty() {
        env.push(("NO_PROXY", no_proxy.join(",")));
    }
    Ok(env)
}

/// Proxy variables a registry without a proxy of its own takes from the worker's environment, as
/// the README's "How a registry is reached" says.
const PROCESS_PROXY_VARS: [&str; 6] = [
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "NO_PROXY",
    "https_proxy",
    "http_proxy",
    "no_proxy",
];

/// Where copies' temporary folders go when the worker has no TMPDIR: skopeo's own default.
const SKOPEO_TMP_DEFAULT: &str = "/var/tmp";

/// skopeo's whole environment: PATH, HOME, TMPDIR (the copy's own folder, made in the worker's
/// TMPDIR or skopeo's default, /var/tmp) and the proxy variables, the registry's own
/// (`registry_proxy`, from [`proxy_env`]) or else the worker's. Credentials come from
/// `--authfile`, not from here.
fn child_env(
    registry_proxy: Vec<(&'static str, String)>,
    home: &Path,
    tmp: &Path,
    process: impl Fn(&str) -> Option<String>,
) -> Vec<(String, String)> {
    let path = process("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".to_owned());
    let mut env = vec![
        ("PATH".to_owned(), path),
        ("HOME".to_owned(), home.display().to_string()),
        ("TMPDIR".to_owned(), tmp.display().to_string()),
    ];
    if registry_proxy.is_empty() {
        for name in PROCESS_PROXY_VARS {
            env.extend(process(name).map(|v| (name.to_owned(), v)));
        }
    } else {
        // Only the upper-case names: Go reads them first, lower-case ones would only confuse.
        env.extend(registry_proxy.into_iter().map(|(k, v)| (k.to_owned(), v)));
    }
    env
}

async fn next<R: tokio::io::AsyncBufRead + Unpin>(
    lines: &mut Option<tokio::io::Lines<R>>,
) -> Option<String> {
    match lines {
        Some(l) => match l.next_line().await {
            Ok(Some(line)) => Some(line),
            _ => {
                *lines = None;
                None
            }
        },
        None => std::future::pending().await,
    }
}

fn join(tail: &VecDeque<String>) -> String {
    tail.iter().cloned().collect::<Vec<_>>().join("\n")
}

/// skopeo's fatal lines look like `time="..." level=fatal msg="..."` (or `FATA[0001] ...` on a
/// terminal): keep the message, the part the task's error is made from.
fn summarize(line: &str) -> String {
    if let Some((_, msg)) = line.split_once("msg=") {
        return msg.trim().trim_matches('"').replace("\\\"", "\"");
    }
    match line
        .strip_prefix("FATA[")
        .and_then(|rest| rest.split_once(']'))
    {
        Some((_, msg)) => msg.trim().to_owned(),
        None => line.trim().to_owned(),
    }
}

fn restrict(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(s: &str, transport: Transport) -> Endpoint {
        Endpoint {
            image: ImageRef::parse(s).unwrap(),
            transport,
            credentials: Some(("user".into(), SecretString::from("hunter2".to_owned()))),
            proxy: None,
        }
    }

    #[test]
    fn a_proxy_reaches_skopeo_through_its_environment_only() {
        let proxy = |url: &str| Some(ProxyConfig::parse(url, Some("auth.corp".into())).unwrap());
        let mut req = CopyRequest {
            source: endpoint("mirror-source.test:5000/a/b:1", Transport::Insecure),
            target: endpoint("127.0.0.1:5000/ns/b:1", Transport::PlainHttp),
            platform: None,
            preserve_digests: false,
            timeout: Duration::from_secs(1),
            archive: None,
        };
        assert!(proxy_env(&req, None).unwrap().is_empty());
        req.source.proxy = proxy("http://u:pw@127.0.0.1:3128");
        let env = proxy_env(&req, Some("intra.example".into())).unwrap();
        assert_eq!(
            env,
            [
                ("HTTPS_PROXY", "http://u:pw@127.0.0.1:3128".to_owned()),
                ("HTTP_PROXY", "http://u:pw@127.0.0.1:3128".to_owned()),
                (
                    "NO_PROXY",
                    "127.0.0.1:5000,auth.corp,intra.example".to_owned()
                ),
            ]
        );
        let args = Skopeo::copy_args(&req, Path::new("/tmp/auth.json"));
        assert!(
            args.iter()
                .all(|a| !a.contains("pw") && !a.contains("3128")),
            "{args:?}"
        );
        req.target.proxy = proxy("http://other:3128");
        let e = proxy_env(&req, None).unwrap_err();
        assert!(
            e.to_string().contains("one skopeo copy takes one proxy"),
            "{e}"
        );
        assert!(!e.to_string().contains("pw"), "{e}");
    }

    #[test]
    fn argv_carries_no_secret_and_pins_digests() {
        let digest = format!("sha256:{}", "a".repeat(64));
        let req = CopyRequest {
            source: endpoint(&format!("quay.io/a/b:1@{digest}"), Transport::Https),
            target: endpoint("127.0.0.1:5000/ns/b:1", Transport::PlainHttp),
            platform: None,
            preserve_digests: false,
            timeout: Duration::from_secs(1),
            archive: None,
        };
        let args = Skopeo::copy_args(&req, Path::new("/tmp/auth.json"));
        assert!(args.iter().all(|a| !a.contains("hunter2")));
        assert_eq!(args[..2], ["copy", "--all"]);
        assert!(args.contains(&"--dest-tls-verify=false".to_owned()));
        assert!(args.contains(&format!("docker://quay.io/a/b@{digest}")));
        assert_eq!(args.last().unwrap(), "docker://127.0.0.1:5000/ns/b:1");
    }

    #[test]
    fn an_archive_takes_its_sides_place_and_only_oci_keeps_digests() {
        let base = |archive, format| CopyRequest {
            source: endpoint("quay.io/a/b:1", Transport::Https),
            target: endpoint("quay.io/a/b:1", Transport::Https),
            platform: None,
            preserve_digests: ArchiveEnd::keeps_digests(format),
            timeout: Duration::from_secs(1),
            archive: Some(archive),
        };
        let oci = ArchiveEnd::new(
            Direction::Export,
            ArchiveFormat::OciArchive,
            Path::new("/d/j/b.oci.tar"),
            Some("mirror/b:1"),
        );
        let args = Skopeo::copy_args(
            &base(oci, ArchiveFormat::OciArchive),
            Path::new("/tmp/auth.json"),
        );
        assert_eq!(args[..3], ["copy", "--all", "--preserve-digests"]);
        assert_eq!(args[args.len() - 2], "docker://quay.io/a/b:1");
        assert_eq!(args.last().unwrap(), "oci-archive:/d/j/b.oci.tar");

        let docker = ArchiveEnd::new(
            Direction::Export,
            ArchiveFormat::DockerArchive,
            Path::new("/d/j/b.docker.tar"),
            Some("mirror/b:1"),
        );
        let args = Skopeo::copy_args(
            &base(docker, ArchiveFormat::DockerArchive),
            Path::new("/tmp/auth.json"),
        );
        assert!(!args.contains(&"--preserve-digests".to_owned()));
        assert_eq!(
            args.last().unwrap(),
            "docker-archive:/d/j/b.docker.tar:mirror/b:1"
        );

        let import = ArchiveEnd::new(
            Direction::Import,
            ArchiveFormat::OciArchive,
            Path::new("/d/j/b.oci.tar"),
            None,
        );
        let args = Skopeo::copy_args(
            &base(import, ArchiveFormat::OciArchive),
            Path::new("/tmp/auth.json"),
        );
        assert_eq!(args[args.len() - 2], "oci-archive:/d/j/b.oci.tar");
        assert_eq!(args.last().unwrap(), "docker://quay.io/a/b:1");
    }

    #[test]
    fn the_authfile_holds_the_credentials_of_each_side_that_has_them() {
        let dir = tempfile::tempdir().unwrap();
        let skopeo = Skopeo::new("skopeo".into(), dir.path()).unwrap();
        let mut req = CopyRequest {
            source: endpoint("quay.io/a/b:1", Transport::Https),
            target: endpoint("127.0.0.1:5000/ns/b:1", Transport::PlainHttp),
            platform: None,
            preserve_digests: false,
            timeout: Duration::from_secs(1),
            archive: None,
        };
        req.target.credentials = None;
        let auths = |req: &CopyRequest| {
            let file = skopeo.write_authfile(req).unwrap();
            let json: serde_json::Value =
                serde_json::from_slice(&std::fs::read(file.path()).unwrap()).unwrap();
            json["auths"].as_object().unwrap().clone()
        };
        let with = auths(&req);
        assert_eq!(with.keys().collect::<Vec<_>>(), ["quay.io"]);
        let token = base64::engine::general_purpose::STANDARD.encode("user:hunter2");
        assert_eq!(with["quay.io"]["auth"], token.as_str());
        // Without credentials the copy still reads this authfile, empty, and nothing else.
        req.source.credentials = None;
        assert!(auths(&req).is_empty());
    }

    #[test]
    fn skopeo_gets_path_home_tmpdir_and_proxies_only() {
        let worker = |name: &str| {
            Some(match name {
                "PATH" => "/usr/bin".to_owned(),
                "TMPDIR" => "/scratch".to_owned(),
                "DOCKER_SYNC_SECRET_KEY" => "sealing".to_owned(),
                "REDIS_URL" => "redis://:pw@127.0.0.1:6379".to_owned(),
                "HTTPS_PROXY" | "https_proxy" => "http://corp:3128".to_owned(),
                "NO_PROXY" => "127.0.0.1".to_owned(),
                _ => return None,
            })
        };
        let names =
            |env: &[(String, String)]| env.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
        let (home, tmp) = (Path::new("/work/home"), Path::new("/scratch/skopeo-1"));
        let env = child_env(Vec::new(), home, tmp, worker);
        assert_eq!(
            names(&env),
            [
                "PATH",
                "HOME",
                "TMPDIR",
                "HTTPS_PROXY",
                "NO_PROXY",
                "https_proxy"
            ]
        );
        assert!(env.contains(&("HOME".into(), "/work/home".into())));
        assert!(env.contains(&("TMPDIR".into(), "/scratch/skopeo-1".into())));
        let own = vec![("HTTPS_PROXY", "http://own:3128".to_owned())];
        let env = child_env(own, home, tmp, worker);
        assert_eq!(names(&env), ["PATH", "HOME", "TMPDIR", "HTTPS_PROXY"]);
        assert_eq!(env[3].1, "http://own:3128");
    }

    #[test]
    fn fatal_lines_are_summarised() {
        let line = r#"time="2026-01-01T00:00:00Z" level=fatal msg="initializing source docker://x: reading manifest 1 in x: manifest unknown""#;
        assert_eq!(
            summarize(line),
            "initializing source docker://x: reading manifest 1 in x: manifest unknown"
        );
        // Quotes inside the message come escaped.
        let line = r#"time="2026-11-28T06:49:44Z" level=fatal msg="initializing source docker://127.0.0.1:39161/x:1: pinging container registry 127.0.0.1:39161: Get \"https://127.0.0.1:39161/v2/\": http: server gave HTTP response to HTTPS client""#;
        assert_eq!(
            summarize(line),
            "initializing source docker://127.0.0.1:39161/x:1: pinging container registry \
             127.0.0.1:39161: Get \"https://127.0.0.1:39161/v2/\": http: server gave HTTP \
             response to HTTPS client"
        );
        let line = "FATA[0001] initializing source docker://tagless:test: reading manifest test in docker.io/library/tagless: requested access to the resource is denied";
        assert_eq!(
            summarize(line),
            "initializing source docker://tagless:test: reading manifest test in \
             docker.io/library/tagless: requested access to the resource is denied"
        );
    }
}
