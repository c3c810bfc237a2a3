//! Webhook endpoints (admins): register, change, delete, send a test, list deliveries. The URL
//! and secret are sealed and never answered back: the view shows `scheme://host/…` and whether
//! a secret is set.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use docker_sync_common::now_ms;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::auth::audit;
use crate::auth::principal::Caller;
use crate::error::{AppError, ErrorBody};
use crate::routes::jobs::ApiJson;
use crate::state::AppState;
use crate::webhooks::deliveries::{self, DeliveryView};
use crate::webhooks::format::Payload;
use crate::webhooks::store::{self, secret_context, url_context, StoredWebhook};
use crate::webhooks::{Event, Format};

const URL_MAX: usize = 2048;
const SECRET_MAX: usize = 256;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookView {
    pub name: String,
    pub format: Format,
    /// Scheme and host only: a robot's URL carries its token.
    pub url: String,
    pub events: Vec<Event>,
    pub enabled: bool,
    pub has_secret: bool,
    pub updated_by: String,
    pub updated_at_ms: u64,
}

impl WebhookView {
    fn new(name: String, w: StoredWebhook) -> Self {
        WebhookView {
            name,
            format: w.format,
            url: w.url_shown,
            events: w.events,
            enabled: w.enabled,
            has_secret: w.secret.is_some(),
            updated_by: w.updated_by,
            updated_at_ms: w.updated_at_ms,
        }
    }
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// 1 to 63 letters, digits, `-`, `_` or `.`.
    pub name: String,
    pub format: Format,
    /// `http://` or `https://`; a chat robot's URL with its token.
    pub url: String,
    /// Any of `job.finished`, `job.failed`, `rule.skipped`.
    pub events: Vec<Event>,
    /// Signs deliveries (generic, DingTalk and Feishu formats).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub secret: Option<SecretString>,
    #[serde(default = "yes")]
    pub enabled: bool,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookChange {
    pub format: Format,
    /// Absent: keep the current URL.
    #[serde(default)]
    pub url: Option<String>,
    pub events: Vec<Event>,
    /// Absent: keep the current secret.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub secret: Option<SecretString>,
    /// Remove the secret.
    #[serde(default)]
    pub clear_secret: bool,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn check_name(name: &str) -> Result<(), AppError> {
    docker_sync_common::rules::check_name(name).map_err(|_| {
        AppError::BadRequest(format!(
            "`name`: webhook name `{name}`: 1 to 63 letters, digits, `-`, `_` or `.`"
        ))
    })
}

/// The URL checked, and the form of it that may be shown.
fn check_url(url: &str) -> Result<String, AppError> {
    let bad = |why: &str| AppError::BadRequest(format!("`url`: {why}"));
    if url.chars().count() > URL_MAX {
        return Err(bad(&format!("at most {URL_MAX} characters")));
    }
    let parsed = reqwest::Url::parse(url.trim()).map_err(|e| bad(&format!("not a URL ({e})")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(bad(&format!("`{}:` is not http or https", parsed.scheme())));
    }
    let host = parsed.host_str().ok_or_else(|| bad("no host"))?;
    let port = parsed.port().map(|p| format!(":{p}")).unwrap_or_default();
    let rest = if parsed.path() == "/" && parsed.query().is_none() {
        ""
    } else {
        "…"
    };
    Ok(format!("{}://{host}{port}/{rest}", parsed.scheme()))
}

/// How long saving waits for the endpoint to accept a connection.
const REACH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Refuses a URL nothing answers at, so a typo is found when saving rather than at the first
/// event. Behind a proxy (the `*_PROXY` variables reqwest follows) the api cannot tell, and
/// leaves it to "send test".
async fn check_reachable(url: &str) -> Result<(), AppError> {
    let parsed = reqwest::Url::parse(url.trim())
        .map_err(|e| AppError::BadRequest(format!("`url`: not a URL ({e})")))?;
    let proxied = [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ]
    .iter()
    .any(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty()));
    if proxied {
        return Ok(());
    }
    let host = parsed
        .host_str()
        .unwrap_or_default()
        .trim_matches(['[', ']'])
        .to_owned();
    let port = parsed.port_or_known_default().unwrap_or(443);
    let connect = tokio::net::TcpStream::connect((host.as_str(), port));
    let why = match tokio::time::timeout(REACH_TIMEOUT, connect).await {
        Ok(Ok(_)) => return Ok(()),
        Ok(Err(e)) => e.to_string(),
        Err(_) => format!("no answer within {} s", REACH_TIMEOUT.as_secs()),
    };
    Err(AppError::BadRequest(format!(
        "`url`: cannot reach {host}:{port} ({why}); check the address and that the endpoint is up"
    )))
}

fn check_events(events: &[Event]) -> Result<Vec<Event>, AppError> {
    let mut out: Vec<Event> = Vec::new();
    for e in events {
        if *e == Event::Ping {
            return Err(AppError::BadRequest("`events`: `ping` is what \"send test\" sends; subscribe to job.finished, job.failed or rule.skipped".into()));
        }
        if !out.contains(e) {
            out.push(*e);
        }
    }
    if out.is_empty() {
        return Err(AppError::BadRequest(
            "`events`: name at least one of job.finished, job.failed, rule.skipped".into(),
        ));
    }
    Ok(out)
}

fn check_secret(format: Format, secret: Option<&SecretString>) -> Result<(), AppError> {
    use secrecy::ExposeSecret;
    let Some(secret) = secret else { return Ok(()) };
    if !format.signs() {
        return Err(AppError::BadRequest(format!(
            "`secret`: the {} format has no signing secret (its URL carries the key); leave it empty",
            format.as_str()
        )));
    }
    let len = secret.expose_secret().chars().count();
    if len == 0 || len > SECRET_MAX {
        return Err(AppError::BadRequest(format!(
            "`secret`: 1 to {SECRET_MAX} characters"
        )));
    }
    Ok(())
}

fn sealing(
    state: &AppState,
) -> Result<&docker_sync_common::config::sealing::SealingKeys, AppError> {
    state.catalog.store().sealing().map(|k| k.as_ref()).ok_or_else(|| {
        AppError::BadRequest(
            "webhooks need DOCKER_SYNC_SECRET_KEY_FILE: a webhook's URL and secret are sealed with it".into(),
        )
    })
}

#[utoipa::path(get, path = "/api/webhooks", tag = "webhooks",
    responses((status = 200, description = "Every endpoint, by name (never a URL's token or a secret)", body = [WebhookView])))]
pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<WebhookView>>, AppError> {
    Ok(Json(
        store::list(&state)
            .await?
            .into_iter()
            .map(|(name, w)| WebhookView::new(name, w))
            .collect(),
    ))
}

#[utoipa::path(post, path = "/api/webhooks", tag = "webhooks",
    request_body = NewWebhook,
    responses(
        (status = 201, description = "Registered", body = WebhookView),
        (status = 400, description = "A bad field (named), or no sealing key", body = ErrorBody),
        (status = 409, description = "The name is taken", body = ErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(req): ApiJson<NewWebhook>,
) -> Result<(StatusCode, Json<WebhookView>), AppError> {
    check_name(&req.name)?;
    let url_shown = check_url(&req.url)?;
    let events = check_events(&req.events)?;
    check_secret(req.format, req.secret.as_ref())?;
    let keys = sealing(&state)?;
    check_reachable(&req.url).await?;
    let name = req.name;
    let hook = StoredWebhook {
        format: req.format,
        events,
        url: keys.seal(
            &SecretString::from(req.url.trim().to_owned()),
            &url_context(&name),
        ),
        url_shown,
        secret: req.secret.map(|s| keys.seal(&s, &secret_context(&name))),
        enabled: req.enabled,
        updated_by: caller.actor().to_owned(),
        updated_at_ms: now_ms(),
    };
    if !store::put(&state, &name, &hook, true).await? {
        return Err(AppError::Conflict(format!(
            "webhook `{name}` already exists"
        )));
    }
    audit_hook(&state, &caller, "webhook.create", &name, &hook).await;
    Ok((StatusCode::CREATED, Json(WebhookView::new(name, hook))))
}

#[utoipa::path(put, path = "/api/webhooks/{name}", tag = "webhooks",
    params(("name" = String, Path, description = "The endpoint's name")),
    request_body = WebhookChange,
    responses(
        (status = 200, description = "Changed", body = WebhookView),
        (status = 400, description = "A bad field (named)", body = ErrorBody),
        (status = 404, description = "No such webhook", body = ErrorBody),
    ))]
pub async fn update(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
    ApiJson(req): ApiJson<WebhookChange>,
) -> Result<Json<WebhookView>, AppError> {
    let old = store::get(&state, &name)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no webhook `{name}`")))?;
    let events = check_events(&req.events)?;
    check_secret(req.format, req.secret.as_ref())?;
    let keys = sealing(&state)?;
    let (url, url_shown) = match req.url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        Some(u) => {
            let shown = check_url(u)?;
            check_reachable(u).await?;
            (
                keys.seal(&SecretString::from(u.to_owned()), &url_context(&name)),
                shown,
            )
        }
        None => (old.url, old.url_shown),
    };
    let secret = match (req.secret, req.clear_secret) {
        (Some(s), _) => Some(keys.seal(&s, &secret_context(&name))),
        (None, true) => None,
        (None, false) if req.format.signs() => old.secret,
        (None, false) => None,
    };
    let hook = StoredWebhook {
        format: req.format,
        events,
        url,
        url_shown,
        secret,
        enabled: req.enabled,
        updated_by: caller.actor().to_owned(),
        updated_at_ms: now_ms(),
    };
    store::put(&state, &name, &hook, false).await?;
    audit_hook(&state, &caller, "webhook.update", &name, &hook).await;
    Ok(Json(WebhookView::new(name, hook)))
}

#[utoipa::path(delete, path = "/api/webhooks/{name}", tag = "webhooks",
    params(("name" = String, Path, description = "The endpoint's name")),
    responses(
        (status = 204, description = "Deleted; its pending deliveries are dropped"),
        (status = 404, description = "No such webhook", body = ErrorBody),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
) -> Result<StatusCode, AppError> {
    if !store::delete(&state, &name).await? {
        return Err(AppError::NotFound(format!("no webhook `{name}`")));
    }
    audit::record(
        &state,
        caller.actor(),
        "webhook.delete",
        &name,
        &caller.client,
        json!({}),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TestQueued {
    pub delivery: String,
}

#[utoipa::path(post, path = "/api/webhooks/{name}/test", tag = "webhooks",
    params(("name" = String, Path, description = "The endpoint's name")),
    responses(
        (status = 202, description = "A `ping` delivery queued (sent within a second or two; see its deliveries)", body = TestQueued),
        (status = 404, description = "No such webhook", body = ErrorBody),
    ))]
pub async fn test(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
) -> Result<(StatusCode, Json<TestQueued>), AppError> {
    if store::get(&state, &name).await?.is_none() {
        return Err(AppError::NotFound(format!("no webhook `{name}`")));
    }
    let payload = Payload {
        event: Event::Ping,
        delivery: String::new(),
        at_ms: now_ms(),
        job: None,
        rule: None,
        link: state.public_url.clone(),
    };
    let delivery = deliveries::enqueue(&state, &name, payload).await?;
    audit::record(
        &state,
        caller.actor(),
        "webhook.test",
        &name,
        &caller.client,
        json!({ "delivery": delivery }),
    )
    .await;
    Ok((StatusCode::ACCEPTED, Json(TestQueued { delivery })))
}

#[utoipa::path(get, path = "/api/webhooks/{name}/deliveries", tag = "webhooks",
    params(("name" = String, Path, description = "The endpoint's name")),
    responses(
        (status = 200, description = "The last 100 deliveries, newest first", body = [DeliveryView]),
        (status = 404, description = "No such webhook", body = ErrorBody),
    ))]
pub async fn deliveries(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Vec<DeliveryView>>, AppError> {
    if store::get(&state, &name).await?.is_none() {
        return Err(AppError::NotFound(format!("no webhook `{name}`")));
    }
    Ok(Json(deliveries::list(&state, &name).await?))
}

async fn audit_hook(
    state: &AppState,
    caller: &Caller,
    action: &str,
    name: &str,
    hook: &StoredWebhook,
) {
    let detail = json!({
        "format": hook.format,
        "url": hook.url_shown,
        "events": hook.events,
        "enabled": hook.enabled,
        "has_secret": hook.secret.is_some(),
    });
    audit::record(state, caller.actor(), action, name, &caller.client, detail).await;
}
