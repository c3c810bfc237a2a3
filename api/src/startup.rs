//! Building the router and serving it. Tests call [`router`] with `oneshot`, or [`run`] with a
//! listener bound to port 0 and their own shutdown token.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use docker_sync_common::config::Config;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::events::Hub;
use crate::metrics::Metrics;
use crate::routes::{health, jobs, metrics, registries};
use crate::settings::Args;
use crate::state::AppState;

/// A sync request of tens of thousands of image names fits; anything larger is refused (413).
const BODY_LIMIT: usize = 2 * 1024 * 1024;

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

pub async fn run(
    args: Args,
    config: Config,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let keys = args.shared.keys();
    let pool = docker_sync_common::redis::pool(&args.shared.redis_url, 32)?;
    // Serve at once (health says 503 until Redis answers); create the group when it does.
    {
        let (pool, keys, shutdown) = (pool.clone(), keys.clone(), shutdown.clone());
        tokio::spawn(async move {
            docker_sync_common::redis::wait_for_group(&pool, &keys, &shutdown).await
        });
    }
    let hub = Hub::new();
    hub.spawn_listener(
        args.shared.redis_url.clone(),
        keys.clone(),
        shutdown.clone(),
    );
    let state = AppState {
        pool,
        redis_url: args.shared.redis_url.clone(),
        keys,
        config: Arc::new(config),
        hub,
        metrics: Metrics::new(),
    };
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await?;
    Ok(())
}

/// Everything under `/api`: the routes an auth layer will wrap.
pub fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/api/jobs", get(jobs::list).post(jobs::create))
        .route("/api/jobs/{id}", get(jobs::get))
        .route("/api/jobs/{id}/events", get(jobs::events))
        .route("/api/registries", get(registries::list))
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(api_routes())
        .route("/health", get(health::health))
        .route("/metrics", get(metrics::metrics))
        .fallback(crate::assets::serve)
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
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(header_layer(header::CONTENT_SECURITY_POLICY, CSP))
        .layer(header_layer(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(header_layer(header::X_FRAME_OPTIONS, "DENY"))
        .layer(header_layer(header::REFERRER_POLICY, "no-referrer"))
        .with_state(state)
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
    let method = req.method().to_string();
    let started = Instant::now();
    let response = next.run(req).await;
    let m = &state.metrics;
    m.http_requests
        .with_label_values(&[method.as_str(), route.as_str(), response.status().as_str()])
        .inc();
    m.http_duration
        .with_label_values(&[method.as_str(), route.as_str()])
        .observe(started.elapsed().as_secs_f64());
    response
}
