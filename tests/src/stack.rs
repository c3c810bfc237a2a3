//! The whole product on loopback: a Redis, a source registry, a target registry with htpasswd
//! auth, the real `docker-sync-api` binary and any number of real `docker-sync-worker`
//! processes, configured through a registries.yaml written for the test.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use base64::Engine;
use serde_json::Value;

use crate::process::ManagedChild;
use crate::{free_port, ForwardProxy, RedisServer, Registry, ThrottledProxy, POLL_INTERVAL};

/// The target registry's credentials. Tests assert this password never shows up anywhere.
pub const TARGET_USER: &str = "sync-bot";
pub const TARGET_PASSWORD: &str = "Target-Pa55-e2e-secret";
/// The admin of users.yaml that the stack logs in as (to create its API token).
pub const ADMIN_USER: &str = "e2e-admin";
pub const ADMIN_PASSWORD: &str = "Admin-Pa55-e2e-secret";
/// Key prefix the stack runs under (not the default, so the option is exercised).
pub const KEY_PREFIX: &str = "e2e";
/// The stack's sealing key (`DOCKER_SYNC_SECRET_KEY_FILE` of the api and the workers).
pub const SECRET_KEY: &str = "e2e-sealing-key-0123456789-abcdefghijklmnop";

pub struct Binaries {
    pub api: PathBuf,
    pub worker: PathBuf,
}

/// Builds the api and worker binaries once per test process, in the profile the tests were
/// built with, and returns their paths. Tests always run the binaries of the current source.
///
/// In the test profile this is `cargo test --workspace --no-run`, the build the README's test
/// command has just done: the same feature set, so under `cargo test --workspace` it is a no-op.
/// `cargo build -p api -p worker` would unify features differently and compile reqwest, the
/// api and the worker a second time in the middle of the run (a minute, and twice the disk).
pub fn binaries() -> &'static Binaries {
    static BINS: OnceLock<Binaries> = OnceLock::new();
    BINS.get_or_init(|| {
        let exe = std::env::current_exe().expect("current_exe");
        let mut dir = exe.parent().expect("exe dir").to_path_buf();
        if dir.ends_with("deps") {
            dir.pop();
        }
        let release = dir.ends_with("release");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        if release {
            cmd.args([
                "build",
                "--quiet",
                "--release",
                "-p",
                "docker-sync-api",
                "-p",
                "docker-sync-worker",
                "--bins",
            ]);
        } else {
            cmd.args(["test", "--quiet", "--workspace", "--no-run"]);
        }
        // Cargo gives a test the package's own variables (CARGO_MANIFEST_DIR, CARGO_PKG_NAME,
        // OUT_DIR ...). Some build scripts (ring's) rerun when those change, so a build that
        // inherited them rebuilt ring and everything above it, and the next plain build did
        // it again.
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            let from_cargo_for_the_test = name.starts_with("CARGO_PKG_")
                || name.starts_with("CARGO_BIN_EXE_")
                || matches!(
                    &*name,
                    "CARGO_MANIFEST_DIR"
                        | "CARGO_MANIFEST_PATH"
                        | "CARGO_MANIFEST_LINKS"
                        | "CARGO_CRATE_NAME"
                        | "CARGO_BIN_NAME"
                        | "CARGO_PRIMARY_PACKAGE"
                        | "CARGO_TARGET_TMPDIR"
                        | "CARGO_RUSTC_CURRENT_DIR"
                        | "OUT_DIR"
                );
            if from_cargo_for_the_test {
                cmd.env_remove(&*name);
            }
        }
        let status = cmd.status().expect("cannot run cargo build");
        assert!(status.success(), "building the binaries failed: {status}");
        Binaries {
            api: dir.join("docker-sync-api"),
            worker: dir.join("docker-sync-worker"),
        }
    })
}

/// How registries.yaml writes the target registry's address.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TargetSpelling {
    /// `url: "http://127.0.0.1:PORT"`: the scheme says plain HTTP.
    #[default]
    HttpUrl,
    /// `url: "127.0.0.1:PORT"` and `insecure: true`, as an operator often writes a registry
    /// without TLS: the service has to find out that it speaks plain HTTP.
    BareInsecure,
}

#[derive(Debug, Clone)]
pub struct StackOptions {
    pub workers: usize,
    /// Copies each worker runs at once.
    pub concurrency: usize,
    pub lease: String,
    pub shutdown_grace: String,
    pub retry_count: u32,
    /// `sync_config.batch_size`: tasks a worker takes beyond its copy slots.
    pub batch_size: usize,
    pub max_deliveries: u32,
    /// Serve the source registry through a proxy this slow (bytes per second), so copies take
    /// long enough to interrupt. Jobs must then name images by [`Stack::source_host`].
    pub source_rate: Option<usize>,
    /// Serve the source registry through a proxy that delays each answer this long (with
    /// `source_rate` if given): a registry far away. Jobs must then name images by
    /// [`Stack::source_host`].
    pub source_latency: Option<Duration>,
    /// Name the source registry `<this name>:<its port>`, a name nothing resolves, reachable
    /// only through a [`ForwardProxy`] the stack starts: registries.yaml writes it bare with
    /// `insecure: true` and `proxy: "<the proxy's url>"`. Jobs must then name images by
    /// [`Stack::source_host`]; [`Stack::forward_proxy`] gives the proxy (its URL for skopeo's
    /// `HTTPS_PROXY`, its counts).
    pub source_via_proxy: Option<String>,
    /// With `source_via_proxy`: the proxy answers every manifest HEAD with 403, so the
    /// service's digest check of the source can never run while skopeo's GETs work.
    pub source_proxy_refuses_heads: bool,
    /// With `source_via_proxy`: the proxy wants these credentials (`proxy:` then carries them
    /// in its url, as a company proxy's would).
    pub source_proxy_credentials: Option<(String, String)>,
    /// With `source_via_proxy`: registries.yaml names no `proxy:`; the api and every worker get
    /// the proxy as `HTTPS_PROXY`/`HTTP_PROXY` instead (with `NO_PROXY=127.0.0.1,localhost`,
    /// as an operator keeps the local target direct).
    pub source_proxy_in_env: bool,
    /// Name the source registry by this URL in registries.yaml instead (a stand-in in front of
    /// [`Stack::source`]). Jobs must then name images by [`Stack::source_host`].
    pub source_url: Option<String>,
    /// How registries.yaml writes the target registry's address.
    pub target_spelling: TargetSpelling,
    /// Extra environment for every worker (`DOCKER_SYNC_RATE_LIMIT_FLOOR`, ...).
    pub worker_env: Vec<(String, String)>,
    /// Run Redis with an AOF fsynced every second ([`RedisServer::start_durable`]).
    pub redis_aof: bool,
}

impl Default for StackOptions {
    fn default() -> Self {
        Self {
            workers: 2,
            concurrency: 2,
            lease: "10s".into(),
            shutdown_grace: "20s".into(),
            retry_count: 1,
            batch_size: 5,
            max_deliveries: 5,
            source_rate: None,
            source_latency: None,
            source_via_proxy: None,
            source_proxy_refuses_heads: false,
            source_proxy_credentials: None,
            source_proxy_in_env: false,
            source_url: None,
            target_spelling: TargetSpelling::HttpUrl,
            worker_env: Vec::new(),
            redis_aof: false,
        }
    }
}

pub struct WorkerProcess {
    pub name: String,
    child: ManagedChild,
}

impl WorkerProcess {
    pub fn pid(&self) -> u32 {
        self.child.pid()
    }

    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        let pid = nix::unistd::Pid::from_raw(self.child.pid() as i32);
        nix::sys::signal::kill(pid, signal).expect("kill(2)");
    }

    /// Waits for the process to exit on its own.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.child.exited() {
                return Some(status);
            }
            std::thread::sleep(POLL_INTERVAL);
        }
        None
    }

    pub fn log(&self) -> String {
        self.child.log_tail(1 << 20)
    }
}

pub struct Stack {
    pub redis: RedisServer,
    pub source: Registry,
    pub target: Registry,
    pub options: StackOptions,
    pub workers: Vec<WorkerProcess>,
    proxy: Option<ThrottledProxy>,
    forward_proxy: Option<ForwardProxy>,
    api: ManagedChild,
    api_port: u16,
    api_env: ApiEnv,
    /// More api processes on the same Redis ([`Stack::start_api_replica`]).
    replicas: Vec<(ManagedChild, u16)>,
    /// An admin API token every helper request carries.
    token: String,
    /// The id of the session the admin token was created in (a secret like the token).
    session: String,
    dir: tempfile::TempDir,
}

/// A test that fails leaves what it needs to be understood: the api's and the workers' logs on
/// stderr, and the stack's folder (config, logs, work dirs) on disk.
impl Drop for Stack {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        eprintln!("---- logs of the failed test's stack ----\n{}", self.logs());
        let dir = std::mem::replace(
            &mut self.dir,
            tempfile::tempdir().expect("a temp dir to swap in"),
        );
        eprintln!(
            "---- kept the stack's folder: {} ----",
            dir.keep().display()
        );
    }
}

impl Stack {
    pub fn start(options: StackOptions) -> Stack {
        let redis = if options.redis_aof {
            RedisServer::start_durable()
        } else {
            RedisServer::start()
        };
        let source = Registry::start();
        let target = Registry::start_with_auth(TARGET_USER, TARGET_PASSWORD);
        let dir = tempfile::tempdir().expect("tempdir");
        let proxy =
            (options.source_rate.is_some() || options.source_latency.is_some()).then(|| {
                let latency = options.source_latency.unwrap_or_default();
                ThrottledProxy::spawn(&source.host(), options.source_rate, latency)
            });
        let forward_proxy = options.source_via_proxy.as_ref().map(|name| {
            assert!(
                proxy.is_none(),
                "source_via_proxy goes with no rate or latency"
            );
            let mut builder =
                ForwardProxy::builder(&[(&format!("{name}:{}", source.port()), &source.host())]);
            if let Some((user, password)) = &options.source_proxy_credentials {
                builder = builder.auth(user, password);
            }
            if options.source_proxy_refuses_heads {
                builder.refuse_manifest_heads().start()
            } else {
                builder.start()
            }
        });
        let source_entry = if let Some(url) = &options.source_url {
            Endpoint::url(url.clone())
        } else if let (Some(name), Some(forward)) = (&options.source_via_proxy, &forward_proxy) {
            Endpoint {
                url: format!("{name}:{}", source.port()),
                insecure: true,
                proxy: (!options.source_proxy_in_env).then(|| forward.url_with_credentials()),
            }
        } else if let Some(throttled) = &proxy {
            Endpoint::url(format!("http://{}", throttled.host()))
        } else {
            Endpoint::url(source.url())
        };
        let target_entry = match options.target_spelling {
            TargetSpelling::HttpUrl => Endpoint::url(target.url()),
            TargetSpelling::BareInsecure => Endpoint {
                url: target.host(),
                insecure: true,
                proxy: None,
            },
        };
        std::fs::write(
            dir.path().join("registries.yaml"),
            registries_yaml(&source_entry, &target_entry, &options),
        )
        .expect("write registries.yaml");
        std::fs::write(dir.path().join("users.yaml"), users_yaml()).expect("write users.yaml");
        // The key that seals passwords of registries added through the api; api and workers
        // share it, as a Kubernetes Secret mounted in both would be shared.
        std::fs::write(dir.path().join("secret-key"), SECRET_KEY).expect("write secret-key");

        let api_port = free_port();
        let api_env = ApiEnv {
            redis_url: redis.url(),
            dir: dir.path().to_owned(),
            proxy_env: process_proxy_env(&options, forward_proxy.as_ref()),
        };
        let api = api_env.spawn(api_port, "api.log");
        let (token, session) = admin_token(api_port);

        let mut stack = Stack {
            redis,
            source,
            target,
            options,
            workers: Vec::new(),
            proxy,
            forward_proxy,
            api,
            api_port,
            api_env,
            replicas: Vec::new(),
            token,
            session,
            dir,
        };
        for i in 0..stack.options.workers {
            stack.start_worker(&format!("w{}", i + 1));
        }
        stack
    }

    /// Starts one more api process on the same Redis and config (another replica behind the
    /// Service); returns its port.
    pub fn start_api_replica(&mut self) -> u16 {
        let port = free_port();
        let log = format!("api-{}.log", self.replicas.len() + 2);
        let child = self.api_env.spawn(port, &log);
        self.replicas.push((child, port));
        port
    }

    /// Kills every api process (SIGKILL: nothing gets to finish), replicas included.
    pub fn kill_apis(&mut self) {
        self.api.kill();
        for (child, _) in &mut self.replicas {
            child.kill();
        }
        self.replicas.clear();
    }

    /// Starts the stack's api again on its port, after [`Stack::kill_apis`] (or kills it first).
    pub fn restart_api(&mut self) {
        self.api.kill();
        self.api = self.api_env.spawn(self.api_port, "api.log");
    }

    pub fn config_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Starts one more worker under a stable consumer name.
    pub fn start_worker(&mut self, name: &str) -> &mut WorkerProcess {
        self.start_worker_with(name, &[])
    }

    /// [`Self::start_worker`] with more environment for this worker only (set last: it wins).
    pub fn start_worker_with(&mut self, name: &str, env: &[(&str, String)]) -> &mut WorkerProcess {
        let o = &self.options;
        let mut cmd = Command::new(&binaries().worker);
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("REDIS_URL", self.redis.url())
            .env("DOCKER_SYNC_CONFIG", self.dir.path())
            .env("DOCKER_SYNC_KEY_PREFIX", KEY_PREFIX)
            .env("DOCKER_SYNC_WORKER_NAME", name)
            .env("DOCKER_SYNC_DOWNLOADS", self.downloads())
            .env(
                "DOCKER_SYNC_SECRET_KEY_FILE",
                self.dir.path().join("secret-key"),
            )
            .env("DOCKER_SYNC_CONCURRENCY", o.concurrency.to_string())
            .env("DOCKER_SYNC_LEASE", &o.lease)
            .env("DOCKER_SYNC_SHUTDOWN_GRACE", &o.shutdown_grace)
            .env("DOCKER_SYNC_MAX_DELIVERIES", o.max_deliveries.to_string())
            .env("DOCKER_SYNC_RETRY_BACKOFF", "100ms")
            .env(
                "DOCKER_SYNC_WORK_DIR",
                self.dir.path().join(format!("work-{name}")),
            )
            .env(
                "RUST_LOG",
                "debug,hyper=info,h2=info,reqwest=info,rustls=info",
            );
        cmd.envs(process_proxy_env(o, self.forward_proxy.as_ref()));
        for (k, v) in &o.worker_env {
            cmd.env(k, v);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let log = self.dir.path().join(format!("worker-{name}.log"));
        let child = ManagedChild::spawn(&format!("docker-sync-worker {name}"), cmd, &log);
        self.workers.push(WorkerProcess {
            name: name.to_owned(),
            child,
        });
        self.workers.last_mut().expect("just pushed")
    }

    /// The downloads folder the api and every worker share (`DOCKER_SYNC_DOWNLOADS`).
    pub fn downloads(&self) -> PathBuf {
        self.dir.path().join("downloads")
    }

    /// The host jobs name source images by (the throttling proxy when there is one, the name
    /// only the forward proxy resolves with `source_via_proxy`).
    pub fn source_host(&self) -> String {
        if let Some(url) = &self.options.source_url {
            let host = url.split_once("://").map_or(url.as_str(), |(_, h)| h);
            return host.trim_end_matches('/').to_owned();
        }
        if let Some(name) = &self.options.source_via_proxy {
            return format!("{name}:{}", self.source.port());
        }
        match &self.proxy {
            Some(p) => p.host(),
            None => self.source.host(),
        }
    }

    /// The forward proxy in front of the source (with `source_via_proxy`).
    pub fn forward_proxy(&self) -> Option<&ForwardProxy> {
        self.forward_proxy.as_ref()
    }

    pub fn api_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.api_port)
    }

    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://127.0.0.1:{}{path}", self.api_port)
    }

    /// Every log line the api and the workers wrote so far.
    pub fn logs(&self) -> String {
        let mut all = self.api.log_tail(1 << 22);
        for (replica, _) in &self.replicas {
            all.push_str(&replica.log_tail(1 << 22));
        }
        for w in &self.workers {
            all.push_str(&w.log());
        }
        all
    }

    /// POST as the stack's admin (Bearer token).
    pub fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let resp = ureq::post(&format!("{}{path}", self.api_url()))
            .set("Authorization", &format!("Bearer {}", self.token))
            .set("Content-Type", "application/json")
            .send_string(&body.to_string());
        response_json(resp)
    }

    /// Panics unless `secret`, and every secret the stack itself holds (the target's password,
    /// the sealing key, the admin's API token and session id), is absent from every Redis key
    /// (stream entries included), every log line and the api's listings, as given or encoded:
    /// base64 (standard and URL-safe), and for the target's credentials `user:pass` and a
    /// `Basic ` header's value.
    pub fn assert_secret_nowhere(&self, secret: &str, what: &str) {
        let mut secrets = vec![(secret.to_owned(), what.to_owned())];
        let basic = B64.encode(format!("{TARGET_USER}:{TARGET_PASSWORD}"));
        secrets.push((TARGET_PASSWORD.to_owned(), "target's password".into()));
        secrets.push((format!("Basic {basic}"), "target's Basic header".into()));
        secrets.push((ADMIN_PASSWORD.to_owned(), "admin's password".into()));
        secrets.push((SECRET_KEY.to_owned(), "sealing key".into()));
        secrets.push((self.token.clone(), "API token".into()));
        secrets.push((self.session.clone(), "admin session id".into()));
        let mut needles: Vec<(String, String)> = Vec::new();
        for (plain, name) in secrets {
            needles.push((B64.encode(&plain), format!("base64 of the {name}")));
            needles.push((
                B64URL.encode(&plain),
                format!("URL-safe base64 of the {name}"),
            ));
            needles.push((plain, format!("the {name}")));
        }
        needles.push((basic, "base64 of the target's user:password".into()));

        let keys = crate::dump_keys(&self.redis.url(), KEY_PREFIX);
        assert!(!keys.is_empty(), "the stack's Redis holds no key at all");
        let logs = self.logs();
        let answers: Vec<(String, String)> = [
            "/api/registries",
            "/api/jobs",
            "/api/audit",
            "/api/tokens",
            "/api/users",
        ]
        .iter()
        .map(|path| (path.to_string(), self.get(path).1.to_string()))
        .collect();
        for (needle, name) in &needles {
            for (key, dump) in &keys {
                assert!(!dump.contains(needle.as_str()), "{key} holds {name}");
            }
            assert!(!logs.contains(needle.as_str()), "a log line holds {name}");
            for (path, body) in &answers {
                assert!(!body.contains(needle.as_str()), "GET {path} answers {name}");
            }
        }
    }

    /// PUT as the stack's admin (Bearer token).
    pub fn put(&self, path: &str, body: &Value) -> (u16, Value) {
        let resp = ureq::put(&format!("{}{path}", self.api_url()))
            .set("Authorization", &format!("Bearer {}", self.token))
            .set("Content-Type", "application/json")
            .send_string(&body.to_string());
        response_json(resp)
    }

    /// DELETE as the stack's admin (Bearer token).
    pub fn delete(&self, path: &str) -> (u16, Value) {
        let req = ureq::delete(&format!("{}{path}", self.api_url()))
            .set("Authorization", &format!("Bearer {}", self.token));
        response_json(req.call())
    }

    /// GET as the stack's admin (Bearer token).
    pub fn get(&self, path: &str) -> (u16, Value) {
        let req = ureq::get(&format!("{}{path}", self.api_url()))
            .set("Authorization", &format!("Bearer {}", self.token));
        response_json(req.call())
    }

    /// GET as the stack's admin, with the page's `X-Next-Cursor`.
    pub fn get_page(&self, path: &str) -> (u16, Value, Option<String>) {
        let req = ureq::get(&format!("{}{path}", self.api_url()))
            .set("Authorization", &format!("Bearer {}", self.token));
        let resp = match req.call() {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("request failed: {e}"),
        };
        let next = resp.header("x-next-cursor").map(str::to_owned);
        let (status, body) = response_json(Ok(resp));
        (status, body, next)
    }

    /// Issues the helpers a new API token, e.g. after Redis came back empty (the old one was in
    /// it).
    pub fn renew_token(&mut self) {
        (self.token, self.session) = admin_token(self.api_port);
    }

    /// The stack's admin API token.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Opens a job's event WebSocket as the stack's admin.
    pub fn events_socket(
        &self,
        job: &str,
    ) -> tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<std::net::TcpStream>> {
        self.events_socket_with(job, "")
    }

    /// Opens a job's event WebSocket with a query (`?snapshot=true`, `?after=<id>`).
    pub fn events_socket_with(
        &self,
        job: &str,
        query: &str,
    ) -> tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<std::net::TcpStream>> {
        use tungstenite::client::IntoClientRequest;
        let mut req = self
            .ws_url(&format!("/api/jobs/{job}/events{query}"))
            .into_client_request()
            .expect("a valid ws url");
        req.headers_mut().insert(
            "Authorization",
            format!("Bearer {}", self.token)
                .parse()
                .expect("header value"),
        );
        let socket = tungstenite::connect(req)
            .expect("connect the events socket")
            .0;
        // A read that never returns would hang the test instead of failing it.
        if let tungstenite::stream::MaybeTlsStream::Plain(tcp) = socket.get_ref() {
            tcp.set_read_timeout(Some(Duration::from_secs(30)))
                .expect("set the socket's read timeout");
        }
        socket
    }

    /// Submits images (one per line) to the `target` registry; panics unless 202.
    pub fn submit(&self, images: &[String], level: &str) -> Value {
        let (status, body) = self.post(
            "/api/jobs",
            &serde_json::json!({ "images": images.join("\n"), "target": "target", "replace_level": level }),
        );
        assert_eq!(status, 202, "job refused: {body}");
        body
    }

    /// Polls the job until it is finished; panics with the logs after `timeout`.
    pub fn wait_job(&self, id: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let (status, job) = self.get(&format!("/api/jobs/{id}"));
            assert_eq!(status, 200, "GET job: {job}");
            if matches!(
                job["status"].as_str(),
                Some("succeeded" | "failed" | "partial" | "cancelled")
            ) {
                return job;
            }
            if Instant::now() > deadline {
                panic!(
                    "job {id} not finished after {timeout:?}: {job:#}\nlogs:\n{}",
                    self.logs()
                );
            }
            // Short: the benchmark times jobs with this.
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Every event of job `job` so far, oldest first, from its event stream in Redis.
    pub fn job_events(&self, job: &str) -> Vec<Value> {
        let entries: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
            .arg(format!("{KEY_PREFIX}:job:{job}:events"))
            .arg("-")
            .arg("+")
            .query(&mut self.redis())
            .expect("XRANGE");
        entries
            .into_iter()
            .flat_map(|(_, fields)| fields)
            .filter(|(k, _)| k == "event")
            .map(|(_, v)| serde_json::from_str(&v).expect("event json"))
            .collect()
    }

    /// A synchronous connection to the stack's Redis.
    pub fn redis(&self) -> redis::Connection {
        redis::Client::open(self.redis.url())
            .and_then(|c| c.get_connection())
            .expect("connect to the test redis")
    }
}

/// How the stack starts an api process, kept to start replicas and restarts alike.
struct ApiEnv {
    redis_url: String,
    dir: PathBuf,
    proxy_env: Vec<(&'static str, String)>,
}

impl ApiEnv {
    fn spawn(&self, port: u16, log: &str) -> ManagedChild {
        let dir = &self.dir;
        let mut cmd = Command::new(&binaries().api);
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("REDIS_URL", &self.redis_url)
            .env("DOCKER_SYNC_CONFIG", dir)
            .env("DOCKER_SYNC_KEY_PREFIX", KEY_PREFIX)
            .env("DOCKER_SYNC_LISTEN", format!("127.0.0.1:{port}"))
            .env("DOCKER_SYNC_DATA", dir.join("data"))
            .env("DOCKER_SYNC_DOWNLOADS", dir.join("downloads"))
            .env("DOCKER_SYNC_BCRYPT_COST", "4")
            .env("DOCKER_SYNC_SECRET_KEY_FILE", dir.join("secret-key"))
            .env(
                "RUST_LOG",
                "debug,hyper=info,h2=info,tower=info,reqwest=info",
            );
        cmd.envs(self.proxy_env.iter().cloned());
        let mut api = ManagedChild::spawn("docker-sync-api", cmd, &dir.join(log));
        wait_http_ok(&mut api, &format!("http://127.0.0.1:{port}/health"));
        api
    }
}

/// Where a registry entry of registries.yaml says the registry is.
struct Endpoint {
    url: String,
    insecure: bool,
    proxy: Option<String>,
}

impl Endpoint {
    fn url(url: String) -> Endpoint {
        Endpoint {
            url,
            insecure: false,
            proxy: None,
        }
    }

    /// The entry's `url:` line and, when set, its `insecure:` and `proxy:` lines.
    fn yaml(&self) -> String {
        let mut lines = format!("    url: \"{}\"\n", self.url);
        if self.insecure {
            lines.push_str("    insecure: true\n");
        }
        if let Some(proxy) = &self.proxy {
            lines.push_str(&format!("    proxy: \"{proxy}\"\n"));
        }
        lines
    }
}

/// The process-wide proxy variables of `source_proxy_in_env` (none otherwise).
fn process_proxy_env(
    o: &StackOptions,
    proxy: Option<&ForwardProxy>,
) -> Vec<(&'static str, String)> {
    match proxy.filter(|_| o.source_proxy_in_env) {
        Some(p) => vec![
            ("HTTPS_PROXY", p.url_with_credentials()),
            ("HTTP_PROXY", p.url_with_credentials()),
            ("NO_PROXY", "127.0.0.1,localhost".to_owned()),
        ],
        None => Vec::new(),
    }
}

fn registries_yaml(source: &Endpoint, target: &Endpoint, o: &StackOptions) -> String {
    format!(
        r#"registries:
  source:
{source}    description: "the test's anonymous source registry"
  target:
    type: generic
{target}    username: "{TARGET_USER}"
    password: "{TARGET_PASSWORD}"
    namespace: "mirror"
sync_config:
  batch_size: {batch}
  retry_count: {retries}
  timeout: 120
  parallel_downloads: 2
image_filters:
  exclude_patterns: ["*:debug"]
logging:
  level: DEBUG
"#,
        source = source.yaml(),
        target = target.yaml(),
        retries = o.retry_count,
        batch = o.batch_size,
    )
}

fn users_yaml() -> String {
    format!(
        "users:\n  {ADMIN_USER}:\n    username: {ADMIN_USER}\n    password_hash: \"{}\"\n    role: admin\n\
         security:\n  max_login_attempts: 3\n  lockout_duration: 2\n  password_min_length: 8\n\
         session:\n  session_timeout: 3600\n",
        bcrypt_hash(ADMIN_PASSWORD)
    )
}

/// A bcrypt hash (cost 4) made by `htpasswd`, as an operator would make one.
pub fn bcrypt_hash(password: &str) -> String {
    let htpasswd = crate::require_tool("htpasswd", "apache2-utils");
    let out = Command::new(htpasswd)
        .args(["-nbB", "-C", "4", "u", password])
        .output()
        .expect("cannot run htpasswd");
    assert!(out.status.success(), "htpasswd failed");
    let line = String::from_utf8(out.stdout).expect("utf-8");
    let hash = line.trim().trim_start_matches("u:");
    // htpasswd writes the $2y$ variant: the same algorithm under another name.
    hash.replacen("$2y$", "$2b$", 1)
}

/// Logs in as the users.yaml admin and creates an API token for the helpers: the token and the
/// session id.
fn admin_token(port: u16) -> (String, String) {
    let base = format!("http://127.0.0.1:{port}");
    let login = ureq::post(&format!("{base}/api/auth/login"))
        .set("Origin", &base)
        .send_json(serde_json::json!({ "username": ADMIN_USER, "password": ADMIN_PASSWORD }))
        .expect("the stack's admin logs in");
    let cookie = login
        .header("set-cookie")
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_owned();
    let created: Value = ureq::post(&format!("{base}/api/tokens"))
        .set("Origin", &base)
        .set("Cookie", &cookie)
        .send_json(serde_json::json!({ "name": "e2e", "role": "admin" }))
        .expect("the stack's admin creates a token")
        .into_json()
        .expect("json");
    let session = cookie.split_once('=').map_or("", |(_, v)| v).to_owned();
    (
        created["token"].as_str().expect("a token").to_owned(),
        session,
    )
}

fn wait_http_ok(child: &mut ManagedChild, url: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if child.exited().is_some() {
            panic!("{}", child.failure("exited before it was ready"));
        }
        if matches!(ureq::get(url).call(), Ok(r) if r.status() == 200) {
            return;
        }
        std::thread::sleep(POLL_INTERVAL);
    }
    panic!(
        "{}",
        child.failure(&format!("did not answer {url} in time"))
    );
}

fn response_json(resp: Result<ureq::Response, ureq::Error>) -> (u16, Value) {
    let resp = match resp {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("request failed: {e}"),
    };
    let status = resp.status();
    let text = resp.into_string().unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_written_as_an_operator_would() {
        let plain = Endpoint::url("http://127.0.0.1:5000".into());
        assert_eq!(plain.yaml(), "    url: \"http://127.0.0.1:5000\"\n");
        let proxied = Endpoint {
            url: "mirror-source.test:5000".into(),
            insecure: true,
            proxy: Some("http://127.0.0.1:3128".into()),
        };
        assert_eq!(
            proxied.yaml(),
            "    url: \"mirror-source.test:5000\"\n    insecure: true\n    \
             proxy: \"http://127.0.0.1:3128\"\n"
        );
        let yaml = registries_yaml(&plain, &proxied, &StackOptions::default());
        assert!(yaml.contains(
            "  source:\n    url: \"http://127.0.0.1:5000\"\n    description: \"the test's"
        ));
        assert!(yaml.contains(
            "    type: generic\n    url: \"mirror-source.test:5000\"\n    insecure: true\n    \
             proxy: \"http://127.0.0.1:3128\"\n    username: \"sync-bot\"\n"
        ));
    }
}
