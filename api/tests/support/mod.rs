//! What the api's integration tests share: a real Redis and an app state built the way
//! `main` builds it, with cheap bcrypt and throwaway folders.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use serde_json::{json, Value};
use tower::ServiceExt;

use clap::Parser;
use docker_sync_api::auth::users_file::UsersFile;
use docker_sync_api::settings::Args;
use docker_sync_api::startup;
use docker_sync_api::state::AppState;
use docker_sync_common::config::Config;
use docker_sync_tests::RedisServer;

/// The password of every user in [`file_users`].
pub const PASSWORD: &str = "Passw0rd-for-tests";

/// users.yaml's `users:` section: `boss` (admin), `op` (operator), `view` (viewer).
pub fn file_users() -> String {
    let hash = bcrypt::hash(PASSWORD, 4).unwrap();
    let mut yaml = String::from("users:\n");
    for (name, role) in [("boss", "admin"), ("op", "operator"), ("view", "viewer")] {
        yaml.push_str(&format!(
            "  {name}:\n    username: {name}\n    password_hash: \"{hash}\"\n    role: {role}\n"
        ));
    }
    yaml
}

/// Keeps the Redis process and the data folder alive as long as the state is used.
pub struct Started {
    pub state: AppState,
    pub redis: RedisServer,
    pub data: tempfile::TempDir,
}

/// A state over a fresh Redis, with the consumer group in place.
pub async fn start(registries_yaml: &str, users_yaml: &str) -> Started {
    start_with_args(registries_yaml, users_yaml, &[]).await
}

/// [`start`] with more command-line flags (`--secret-key-file`, ...).
pub async fn start_with_args(registries_yaml: &str, users_yaml: &str, extra: &[&str]) -> Started {
    let redis = tokio::task::spawn_blocking(RedisServer::start)
        .await
        .unwrap();
    let data = tempfile::tempdir().unwrap();
    let state = state_on(
        &redis.url(),
        data.path(),
        registries_yaml,
        users_yaml,
        extra,
    )
    .await;
    let shutdown = tokio_util::sync::CancellationToken::new();
    assert!(
        docker_sync_common::queue::lease::wait_for_group(&state.pool, &state.keys, &shutdown).await
    );
    Started { state, redis, data }
}

/// A state as `main` builds it, over the Redis at `redis_url` (another api replica when one
/// is there already).
pub async fn state_on(
    redis_url: &str,
    data: &Path,
    registries_yaml: &str,
    users_yaml: &str,
    extra: &[&str],
) -> AppState {
    let config = Config::parse(registries_yaml, Path::new("registries.yaml"), false).unwrap();
    let users = UsersFile::parse(users_yaml, Path::new("users.yaml")).unwrap();
    let mut argv = vec![
        "docker-sync-api",
        "--redis-url",
        redis_url,
        "--key-prefix",
        "t",
        "--bcrypt-cost",
        "4",
        "--data-dir",
        data.to_str().unwrap(),
    ];
    argv.extend_from_slice(extra);
    let args = Args::parse_from(argv);
    let sealing = args.shared.sealing_keys().unwrap();
    startup::state(&args, config, users, sealing).await.unwrap()
}

/// The router over a [`start`]ed state, called with `oneshot` as a browser on
/// [`ORIGIN`] would call it.
pub struct App {
    pub router: axum::Router,
    pub state: AppState,
    pub redis: Arc<RedisServer>,
    _data: Arc<tempfile::TempDir>,
    registries_yaml: String,
}

pub const HOST: &str = "sync.test";
pub const ORIGIN: &str = "http://sync.test";

pub async fn app(registries_yaml: &str, extra_args: &[&str]) -> App {
    let started = start_with_args(registries_yaml, &file_users(), extra_args).await;
    App {
        router: startup::router(started.state.clone()),
        state: started.state,
        redis: Arc::new(started.redis),
        _data: Arc::new(started.data),
        registries_yaml: registries_yaml.to_owned(),
    }
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
    /// The body as sent (a zip is no text).
    pub bytes: axum::body::Bytes,
}

impl App {
    /// Another api replica on the same Redis, started with `extra` flags instead.
    pub async fn replica(&self, extra: &[&str]) -> App {
        let state = state_on(
            &self.redis.url(),
            self._data.path(),
            &self.registries_yaml,
            &file_users(),
            extra,
        )
        .await;
        App {
            router: startup::router(state.clone()),
            state,
            redis: self.redis.clone(),
            _data: self._data.clone(),
            registries_yaml: self.registries_yaml.clone(),
        }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        cookie: Option<&str>,
        body: Value,
    ) -> Reply {
        self.call_with(method, path, cookie, body, &[]).await
    }

    /// [`Self::call`] with more request headers (`Accept-Language`, ...).
    pub async fn call_with(
        &self,
        method: Method,
        path: &str,
        cookie: Option<&str>,
        body: Value,
        headers: &[(header::HeaderName, &str)],
    ) -> Reply {
        let mut all = vec![(header::CONTENT_TYPE, "application/json")];
        all.extend(headers.iter().cloned());
        self.call_raw(method, path, cookie, &all, Body::from(body.to_string()))
            .await
    }

    /// A request with any body (an upload) and only the `headers` given besides Host and
    /// Origin; the answer read up to 16 MiB.
    pub async fn call_raw(
        &self,
        method: Method,
        path: &str,
        cookie: Option<&str>,
        headers: &[(header::HeaderName, &str)],
        body: Body,
    ) -> Reply {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, HOST)
            .header(header::ORIGIN, ORIGIN);
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        for (name, value) in headers {
            req = req.header(name, *value);
        }
        let mut req = req.body(body).unwrap();
        let addr: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        req.extensions_mut().insert(ConnectInfo(addr));
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = axum::body::to_bytes(resp.into_body(), 16 << 20)
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        Reply {
            status,
            headers,
            body: serde_json::from_str(&text).unwrap_or(Value::String(text.clone())),
            text,
            bytes,
        }
    }

    pub async fn get(&self, path: &str, cookie: &str) -> Reply {
        self.call(Method::GET, path, Some(cookie), Value::Null)
            .await
    }

    pub async fn post(&self, path: &str, cookie: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(cookie), body).await
    }

    pub async fn put(&self, path: &str, cookie: &str, body: Value) -> Reply {
        self.call(Method::PUT, path, Some(cookie), body).await
    }

    pub async fn delete(&self, path: &str, cookie: &str) -> Reply {
        self.call(Method::DELETE, path, Some(cookie), Value::Null)
            .await
    }

    /// Logs `user` (one of [`file_users`]) in; the cookie to send back.
    pub async fn login(&self, user: &str) -> String {
        let r = self
            .call(
                Method::POST,
                "/api/auth/login",
                None,
                json!({ "username": user, "password": PASSWORD }),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let set = r.headers[header::SET_COOKIE].to_str().unwrap();
        set.split(';').next().unwrap().to_owned()
    }
}

/// What the api logs on this thread while the capture lives (the tests' runtime is
/// single-threaded, so that is everything the request handlers log).
pub struct LogCapture {
    buf: Arc<Mutex<Vec<u8>>>,
    _guard: tracing::subscriber::DefaultGuard,
}

#[derive(Clone)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogCapture {
    pub fn start() -> LogCapture {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let sink = Sink(buf.clone());
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(move || sink.clone())
            .finish();
        LogCapture {
            buf,
            _guard: tracing::subscriber::set_default(subscriber),
        }
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.buf.lock().unwrap()).into_owned()
    }
}
