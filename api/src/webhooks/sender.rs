//! Sends due deliveries, on every api replica: claims a few each second, sends them at once
//! (each with a timeout), and records how it went.

use std::time::Duration;

use docker_sync_common::now_ms;
use secrecy::ExposeSecret;
use tokio_util::sync::CancellationToken;

use super::deliveries::{self, Claimed, Outcome};
use super::format::{accepted, render};
use super::store;
use crate::state::AppState;

const TICK: Duration = Duration::from_secs(1);
const TIMEOUT: Duration = Duration::from_secs(10);
const AT_ONCE: usize = 8;

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        // A redirect would send the body (and DingTalk's signed URL) somewhere unconfigured.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("docker-image-sync/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("a client with rustls")
}

pub fn spawn(state: AppState, shutdown: CancellationToken) {
    tokio::spawn(async move {
        let http = client();
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            let claimed = match deliveries::claim(&state, AT_ONCE).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::debug!(error = %e, "webhooks: claiming deliveries failed");
                    continue;
                }
            };
            let sends = claimed.iter().map(|c| send(&state, &http, c));
            futures::future::join_all(sends).await;
        }
    });
}

async fn send(state: &AppState, http: &reqwest::Client, claimed: &Claimed) {
    let outcome = attempt(state, http, claimed).await;
    match &outcome {
        Outcome::Delivered { code } => {
            tracing::info!(webhook = %claimed.webhook, delivery = %claimed.id, code, "webhook delivered")
        }
        Outcome::Failed { error, .. } | Outcome::GiveUp { error } => {
            tracing::warn!(webhook = %claimed.webhook, delivery = %claimed.id, attempt = claimed.attempts + 1, error = %error, "webhook delivery failed")
        }
    }
    if let Err(e) = deliveries::finish(state, claimed, outcome).await {
        // The lease ends and it is sent again: at least once.
        tracing::warn!(delivery = %claimed.id, error = %e, "webhooks: recording a delivery failed");
    }
}

async fn attempt(state: &AppState, http: &reqwest::Client, claimed: &Claimed) -> Outcome {
    let hook = match store::get(state, &claimed.webhook).await {
        Ok(Some(hook)) => hook,
        Ok(None) => {
            return Outcome::GiveUp {
                error: "the webhook was deleted".into(),
            }
        }
        Err(e) => {
            return Outcome::Failed {
                code: None,
                error: format!("reading the webhook: {e}"),
            }
        }
    };
    let endpoint = match store::open(state, &claimed.webhook, &hook) {
        Ok(e) => e,
        Err(e) => {
            return Outcome::GiveUp {
                error: format!("cannot send: {e}"),
            }
        }
    };
    let secret = endpoint.secret.as_ref().map(|s| s.expose_secret());
    let req = render(
        endpoint.format,
        endpoint.url.expose_secret(),
        secret,
        &claimed.payload,
        now_ms(),
    );
    let mut builder = http.post(&req.url).body(req.body);
    for (name, value) in &req.headers {
        builder = builder.header(*name, value);
    }
    match builder.send().await {
        Ok(resp) => {
            let code = resp.status().as_u16();
            let body = resp.text().await.unwrap_or_default();
            match accepted(endpoint.format, code, &body) {
                Ok(()) => Outcome::Delivered { code },
                Err(error) => Outcome::Failed {
                    code: Some(code),
                    error,
                },
            }
        }
        // Without the URL: reqwest's error names it, and a robot's URL holds its token.
        Err(e) => Outcome::Failed {
            code: None,
            error: describe(e),
        },
    }
}

fn describe(e: reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    let e = e.without_url();
    let mut text = format!("{kind}: {e}");
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}
