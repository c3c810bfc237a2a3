//! Endpoints in one Redis hash (`<prefix>:webhooks`, name -> JSON). A chat robot's URL carries
//! its token, so the URL is sealed like the secret (with the registries' sealing key) and only a
//! shortened form (`scheme://host/…`) is ever shown or logged.

use std::collections::BTreeMap;

use docker_sync_common::config::sealing::Sealed;
use redis::AsyncCommands;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::{Event, Format};
use crate::error::AppError;
use crate::state::AppState;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredWebhook {
    pub format: Format,
    pub events: Vec<Event>,
    pub url: Sealed,
    pub url_shown: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<Sealed>,
    pub enabled: bool,
    pub updated_by: String,
    pub updated_at_ms: u64,
}

/// An endpoint with its URL and secret opened, for sending.
pub struct Endpoint {
    pub name: String,
    pub format: Format,
    pub url: SecretString,
    pub secret: Option<SecretString>,
}

pub fn url_context(name: &str) -> String {
    format!("webhook:{name}:url")
}

pub fn secret_context(name: &str) -> String {
    format!("webhook:{name}:secret")
}

pub async fn list(state: &AppState) -> Result<BTreeMap<String, StoredWebhook>, AppError> {
    let mut conn = state.pool.get().await?;
    let all: BTreeMap<String, String> = conn.hgetall(state.keys.webhooks()).await?;
    Ok(all
        .into_iter()
        .filter_map(|(name, json)| match serde_json::from_str(&json) {
            Ok(w) => Some((name, w)),
            Err(e) => {
                tracing::warn!(webhook = %name, error = %e, "unreadable stored webhook skipped");
                None
            }
        })
        .collect())
}

pub async fn get(state: &AppState, name: &str) -> Result<Option<StoredWebhook>, AppError> {
    let mut conn = state.pool.get().await?;
    let json: Option<String> = conn.hget(state.keys.webhooks(), name).await?;
    Ok(json.and_then(|j| serde_json::from_str(&j).ok()))
}

/// Writes the endpoint; with `create`, only when the name is free (false: taken).
pub async fn put(
    state: &AppState,
    name: &str,
    hook: &StoredWebhook,
    create: bool,
) -> Result<bool, AppError> {
    let mut conn = state.pool.get().await?;
    let json = serde_json::to_string(hook).expect("serialisable");
    if create {
        Ok(conn.hset_nx(state.keys.webhooks(), name, json).await?)
    } else {
        let _: () = conn.hset(state.keys.webhooks(), name, json).await?;
        Ok(true)
    }
}

pub async fn delete(state: &AppState, name: &str) -> Result<bool, AppError> {
    let mut conn = state.pool.get().await?;
    let gone: u32 = conn.hdel(state.keys.webhooks(), name).await?;
    Ok(gone == 1)
}

/// The endpoint opened for sending; an error says why it cannot be (no key, another key).
pub fn open(state: &AppState, name: &str, hook: &StoredWebhook) -> Result<Endpoint, String> {
    let Some(keys) = state.catalog.store().sealing() else {
        return Err("no sealing key (DOCKER_SYNC_SECRET_KEY_FILE) to open its URL".into());
    };
    let url = keys
        .open(&hook.url, &url_context(name))
        .map_err(|e| format!("its URL {e}"))?;
    let secret = match &hook.secret {
        Some(s) => Some(
            keys.open(s, &secret_context(name))
                .map_err(|e| format!("its secret {e}"))?,
        ),
        None => None,
    };
    Ok(Endpoint {
        name: name.to_owned(),
        format: hook.format,
        url,
        secret,
    })
}

/// How many sealed values (URLs and secrets) each key id seals.
pub async fn sealed_by_key(state: &AppState) -> Result<BTreeMap<String, u32>, AppError> {
    let mut counts = BTreeMap::new();
    for hook in list(state).await?.into_values() {
        for sealed in std::iter::once(&hook.url).chain(hook.secret.as_ref()) {
            *counts.entry(sealed.key_id.clone()).or_insert(0) += 1;
        }
    }
    Ok(counts)
}

/// Seals every endpoint's URL and secret again with the current key (after a key rotation);
/// the names done, and those no key of ours opens, with why.
pub async fn reseal(state: &AppState) -> Result<(Vec<String>, Vec<(String, String)>), AppError> {
    let Some(keys) = state.catalog.store().sealing() else {
        return Ok((Vec::new(), Vec::new()));
    };
    let (mut done, mut failed) = (Vec::new(), Vec::new());
    for (name, mut hook) in list(state).await? {
        let opened = open(state, &name, &hook);
        match opened {
            Ok(endpoint) => {
                hook.url = keys.seal(&endpoint.url, &url_context(&name));
                hook.secret = endpoint
                    .secret
                    .map(|s| keys.seal(&s, &secret_context(&name)));
                put(state, &name, &hook, false).await?;
                done.push(name);
            }
            Err(e) => failed.push((name, e)),
        }
    }
    Ok((done, failed))
}
