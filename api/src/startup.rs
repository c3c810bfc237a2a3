//! Building the state and the router, and serving. Tests call [`router`] with `oneshot`, or
//! [`run`] with a listener bound to port 0 and their own shutdown token.

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post, put, MethodRouter};
use axum::Router;
use docker_sync_common::config::sealing::SealingKeys;
use docker_sync_common::config::stored::{Catalog, RegistryStore};
use docker_sync_common::config::{Config, ConfigError};
use docker_sync_common::queue::limits::Retention;
use docker_sync_common::rules::RuleSpec;
use secrecy::SecretString;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::auth::role::{Access, Role};
use crate::auth::users_file::UsersFile;
use crate::auth::{bootstrap, principal, AuthConfig};
use crate::error::AppError;
use crate::events::Hub;
use crate::metrics::Metrics;
use crate::routes::{
    audit, auth, downloads, health, imports, jobs, metrics, preview, registries, rerun, rules,
    scripts, secret_key, stats, tokens, users, webhooks,
};
use crate::settings::Args;
use crate::state::AppState;

/// A sync request of tens of thousands of image names fits; anything larger is refused (413).
const BODY_LIMIT: usize = 2 * 1024 * 1024;

/// The one route whose body is not held to [`BODY_LIMIT`]: a bundle upload is gigabytes,
/// streamed to disk, and held to the downloads quota instead.
const UPLOAD_PATH: &str = "/api/downloads";

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The state for `args`, the loaded files and the sealing keys (`args.shared.sealing_keys()`).
/// Needs no Redis yet.
pub async fn state(
    args: &Args,
    config: Config,
    users: UsersFile,
    sealing: Option<SealingKeys>,
) -> anyhow::Result<AppState> {
    let file_rules = load_rules(&args.shared.config, &config)?;
    let pool = docker_sync_common::redis::pool(&args.shared.redis_url, 32)?;
    let config = Arc::new(config);
    let store = RegistryStore::new(pool.clone(), args.shared.keys(), sealing.map(Arc::new));
    let dummy = crate::auth::password::hash(
        SecretString::from("no such user".to_owned()),
        crate::auth::password::dummy_cost(&users, args.bcrypt_cost),
    )
    .await;
    Ok(AppState {
        pool,
        redis_url: args.shared.redis_url.clone(),
        keys: args.shared.keys(),
        catalog: Catalog::new(config.clone(), store),
        config,
        auth: Arc::new(AuthConfig {
            file: users,
            bcrypt_cost: args.bcrypt_cost,
            data_dir: args.data_dir.clone(),
            trust_proxy: args.trust_proxy,
            trusted_proxy_hops: args.trusted_proxy_hops.into(),
            allowed_origins: args.allowed_origins.clone(),
            dummy_hash: SecretString::from(dummy),
        }),
        hub: Hub::new(),
        registry: Arc::new(crate::jobs::tags::new_client()),
        metrics: Metrics::new(),
        file_rules: Arc::new(file_rules),
        public_url: args
            .public_url
            .as_deref()
            .map(|u| u.trim_end_matches('/').to_owned()),
        retention: Retention {
            jobs: days(args.job_retention_days),
            stats: days(args.stats_retention_days),
        },
        downloads: crate::bundles::store::Downloads::new(&args.shared.downloads),
        downloads_retention: days(args.downloads_retention_days),
        quota: args.shared.quota(),
    })
}

fn days(n: u32) -> std::time::Duration {
    std::time::Duration::from_secs(u64::from(n) * 24 * 3600)
}

/// rules.yaml beside registries.yaml. Its targets must be registries of registries.yaml: those
/// added through the api are only known once Redis answers.
pub fn load_rules(
    dir: &std::path::Path,
    config: &Config,
) -> Result<BTreeMap<String, RuleSpec>, ConfigError> {
    docker_sync_common::rules::load_rules(dir, |name| {
        config.registries.contains_key(name) || config.unusable.contains_key(name)
    })
}

pub async fn run(
    state: AppState,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    state.hub.spawn_listener(
        state.redis_url.clone(),
        state.keys.clone(),
        shutdown.clone(),
    );
    crate::rules::scheduler::spawn(state.clone(), shutdown.clone());
    crate::jobs::ends::spawn(state.clone(), shutdown.clone());
    crate::webhooks::sender::spawn(state.clone(), shutdown.clone());
    crate::bundles::expiry::spawn(state.clone(), shutdown.clone());
    // Serve at once (health says 503 until Redis answers); set Redis up when it does.
    {
        let (state, shutdown) = (state.clone(), shutdown.clone());
        tokio::spawn(async move {
            if docker_sync_common::queue::lease::wait_for_group(&state.pool, &state.keys, &shutdown)
                .await
            {
                if let Err(e) = bootstrap::ensure_admin(&state).await {
                    tracing::error!(error = %e, "cannot create the first admin");
                }
            }
        });
    }
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move { shutdown.cancelled().await })
    .await?;
    Ok(())
}

/// One `/api` route and what it demands.
pub struct Declared {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
}

/// `/api` routes can only be added here, each with the access it needs; `router` refuses any
/// `/api` request whose route is not in this table.
#[derive(Default)]
pub struct ApiRoutes {
    router: Router<AppState>,
    pub declared: Vec<Declared>,
}

impl ApiRoutes {
    fn add(
        mut self,
        method: Method,
        path: &'static str,
        access: Access,
        handler: MethodRouter<AppState>,
    ) -> Self {
        let guarded = handler.route_layer(middleware::from_fn(move |req: Request, next: Next| {
            principal::guard(access, req, next)
        }));
        self.router = self.router.route(path, guarded);
        self.declared.push(Declared {
            method,
            path,
            access,
        });
        self
    }
}

pub fn api_routes() -> ApiRoutes {
    use Access::{Account, Public};
    const VIEWER: Access = Access::Role(Role::Viewer);
    const OPERATOR: Access = Access::Role(Role::Operator);
    const ADMIN: Access = Access::Role(Role::Admin);
    ApiRoutes::default()
        .add(Method::POST, "/api/auth/login", Public, post(auth::login))
        .add(
            Method::POST,
            "/api/auth/logout",
            Account,
            post(auth::logout),
        )
        .add(Method::GET, "/api/auth/me", Account, get(auth::me))
        .add(
            Method::POST,
            "/api/auth/password",
            Account,
            post(auth::change_password),
        )
        .add(Method::GET, "/api/downloads", VIEWER, get(downloads::list))
        .add(Method::POST, UPLOAD_PATH, OPERATOR, post(downloads::upload))
        .add(
            Method::GET,
            "/api/downloads/usage",
            VIEWER,
            get(downloads::usage),
        )
        .add(
            Method::GET,
            "/api/downloads/{bundle}/archive",
            OPERATOR,
            get(downloads::archive),
        )
        .add(
            Method::GET,
            "/api/downloads/{bundle}/files/{file}",
            OPERATOR,
            get(downloads::file),
        )
        .add(
            Method::DELETE,
            "/api/downloads/{bundle}",
            ADMIN,
            delete(downloads::delete),
        )
        .add(
            Method::POST,
            "/api/downloads/{bundle}/push",
            OPERATOR,
            post(imports::push),
        )
        .add(Method::GET, "/api/jobs", VIEWER, get(jobs::list))
        .add(Method::POST, "/api/jobs", OPERATOR, post(jobs::create))
        .add(
            Method::POST,
            "/api/jobs/preview",
            OPERATOR,
            post(preview::preview),
        )
        .add(Method::GET, "/api/jobs/{id}", VIEWER, get(jobs::get))
        .add(
            Method::GET,
            "/api/jobs/{id}/tasks",
            VIEWER,
            get(jobs::tasks),
        )
        .add(
            Method::GET,
            "/api/jobs/{id}/tasks/{task}/log",
            VIEWER,
            get(jobs::task_log),
        )
        .add(
            Method::POST,
            "/api/jobs/{id}/cancel",
            OPERATOR,
            post(jobs::cancel),
        )
        .add(
            Method::POST,
            "/api/jobs/{id}/retry",
            OPERATOR,
            post(rerun::retry),
        )
        .add(
            Method::POST,
            "/api/jobs/{id}/sync-again",
            OPERATOR,
            post(rerun::sync_again),
        )
        .add(
            Method::GET,
            "/api/jobs/{id}/events",
            VIEWER,
            get(jobs::events),
        )
        .add(
            Method::GET,
            "/api/registries",
            VIEWER,
            get(registries::list),
        )
        .add(
            Method::POST,
            "/api/registries",
            ADMIN,
            post(registries::create),
        )
        .add(
            Method::GET,
            "/api/registries/{name}",
            VIEWER,
            get(registries::get),
        )
        .add(
            Method::PUT,
            "/api/registries/{name}",
            ADMIN,
            put(registries::update),
        )
        .add(
            Method::DELETE,
            "/api/registries/{name}",
            ADMIN,
            delete(registries::delete),
        )
        .add(
            Method::POST,
            "/api/registries/{name}/test",
            ADMIN,
            post(registries::test),
        )
        .add(Method::GET, "/api/rules", VIEWER, get(rules::list))
        .add(Method::POST, "/api/rules", OPERATOR, post(rules::create))
        .add(Method::GET, "/api/rules/{name}", VIEWER, get(rules::get))
        .add(
            Method::PUT,
            "/api/rules/{name}",
            OPERATOR,
            put(rules::update),
        )
        .add(
            Method::DELETE,
            "/api/rules/{name}",
            OPERATOR,
            delete(rules::delete),
        )
        .add(
            Method::POST,
            "/api/rules/{name}/run",
            OPERATOR,
            post(rules::run),
        )
        .add(
            Method::GET,
            "/api/secret-key",
            ADMIN,
            get(secret_key::usage),
        )
        .add(
            Method::POST,
            "/api/secret-key/reseal",
            ADMIN,
            post(secret_key::reseal),
        )
        .add(
            Method::POST,
            "/api/scripts",
            OPERATOR,
            post(scripts::create),
        )
        .add(Method::GET, "/api/tokens", VIEWER, get(tokens::list))
        .add(Method::POST, "/api/tokens", VIEWER, post(tokens::create))
        .add(
            Method::DELETE,
            "/api/tokens/{id}",
            VIEWER,
            delete(tokens::revoke),
        )
        .add(Method::GET, "/api/users", ADMIN, get(users::list))
        .add(Method::POST, "/api/users", ADMIN, post(users::create))
        .add(
            Method::PATCH,
            "/api/users/{name}",
            ADMIN,
            patch(users::update),
        )
        .add(
            Method::DELETE,
            "/api/users/{name}",
            ADMIN,
            delete(users::delete),
        )
        .add(
            Method::POST,
            "/api/users/{name}/password",
            ADMIN,
            post(users::reset_password),
        )
        .add(
            Method::GET,
            "/api/users/{name}/logins",
            ADMIN,
            get(users::logins),
        )
        .add(Method::GET, "/api/audit", ADMIN, get(audit::page))
        .add(Method::GET, "/api/stats", VIEWER, get(stats::stats))
        .add(Method::GET, "/api/webhooks", ADMIN, get(webhooks::list))
        .add(Method::POST, "/api/webhooks", ADMIN, post(webhooks::create))
        .add(
            Method::PUT,
            "/api/webhooks/{name}",
            ADMIN,
            put(webhooks::update),
        )
        .add(
            Method::DELETE,
            "/api/webhooks/{name}",
            ADMIN,
            delete(webhooks::delete),
        )
        .add(
            Method::POST,
            "/api/webhooks/{name}/test",
            ADMIN,
            post(webhooks::test),
        )
        .add(
            Method::GET,
            "/api/webhooks/{name}/deliveries",
            ADMIN,
            get(webhooks::deliveries),
        )
        .add(
            Method::GET,
            "/api/openapi.json",
            Public,
            get(crate::openapi::serve),
        )
}

pub fn router(state: AppState) -> Router {
    let others = Router::new()
        .route("/health", get(health::health))
        .route("/metrics", get(metrics::metrics))
        .route("/metrics/cluster", get(metrics::cluster));
    assemble(state, api_routes(), others)
}

/// The app around the declared `/api` routes and `others` (routes outside the access table:
/// public ones; an `/api` route among them is refused). Public for tests of that rule.
pub fn assemble(state: AppState, api: ApiRoutes, others: Router<AppState>) -> Router {
    let ApiRoutes {
        router: api,
        declared,
    } = api;
    let known: Arc<HashSet<(Method, &'static str)>> = Arc::new(
        declared
            .iter()
            .map(|d| (d.method.clone(), d.path))
            .collect(),
    );
    Router::new()
        .merge(api)
        .merge(others)
        .fallback(crate::assets::serve)
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            refuse_undeclared(known.clone(), req, next)
        }))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            principal::authenticate,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            record_metrics,
        ))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let route = req
                .extensions()
                .get::<MatchedPath>()
                .map(MatchedPath::as_str)
                .unwrap_or("(fallback)");
            tracing::info_span!("http", method = %req.method(), route)
        }))
        .layer(middleware::from_fn(limit_body))
        .layer(header_layer(header::CONTENT_SECURITY_POLICY, CSP))
        .layer(header_layer(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(header_layer(header::X_FRAME_OPTIONS, "DENY"))
        .layer(header_layer(header::REFERRER_POLICY, "no-referrer"))
        .with_state(state)
}

/// [`BODY_LIMIT`] for every request but a bundle upload.
async fn limit_body(req: Request, next: Next) -> Response {
    if req.method() == Method::POST && req.uri().path() == UPLOAD_PATH {
        return next.run(req).await;
    }
    let limited = tower::ServiceBuilder::new()
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .map_request(
            |req: Request<tower_http::body::Limited<axum::body::Body>>| {
                req.map(axum::body::Body::new)
            },
        )
        .service(next);
    match limited.oneshot(req).await {
        Ok(response) => response.map(axum::body::Body::new),
        Err(never) => match never {},
    }
}

/// Fails closed: an `/api` route that was added without a declared access answers 403 to
/// everyone instead of running unguarded. A declared path asked with a method it does not
/// declare is the client's mistake (405 with `Allow`), not a missing rule, so it logs nothing.
async fn refuse_undeclared(
    known: Arc<HashSet<(Method, &'static str)>>,
    req: Request,
    next: Next,
) -> Response {
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let (Some(path), true) = (path, req.uri().path().starts_with("/api/")) else {
        return next.run(req).await;
    };
    let allowed: Vec<&Method> = known
        .iter()
        .filter(|(_, k)| *k == path)
        .map(|(m, _)| m)
        .collect();
    let method = req.method();
    let declared = allowed
        .iter()
        .any(|m| *m == method || method == Method::HEAD && **m == Method::GET);
    if declared {
        return next.run(req).await;
    }
    if allowed.is_empty() {
        tracing::error!(path, method = %method, "refused: this api route declares no access");
        return AppError::forbidden("this route declares no access rule").into_response();
    }
    method_not_allowed(method, &allowed)
}

fn method_not_allowed(method: &Method, allowed: &[&Method]) -> Response {
    let mut names: Vec<&str> = allowed.iter().map(|m| m.as_str()).collect();
    if names.contains(&"GET") {
        names.push("HEAD");
    }
    names.sort_unstable();
    let allow = names.join(", ");
    let body = serde_json::json!({
        "error": format!("method {} is not allowed here; use {allow}", metric_method(method))
    });
    (
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        [(header::ALLOW, allow)],
        axum::Json(body),
    )
        .into_response()
}

/// The method as a metric label or in a message: a fixed set, so a client inventing methods
/// can neither add series nor put its own text there.
pub fn metric_method(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

fn header_layer(
    name: header::HeaderName,
    value: &'static str,
) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}

async fn record_metrics(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "(fallback)".into());
    let method = metric_method(req.method());
    let started = Instant::now();
    let response = next.run(req).await;
    state.metrics.http_request(
        method,
        &route,
        response.status().as_str(),
        started.elapsed().as_secs_f64(),
    );
    response
}
