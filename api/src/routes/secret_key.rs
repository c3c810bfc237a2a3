//! The key sealing the passwords of registries added through the api and the webhooks' URLs and
//! secrets (admins): which key seals how many, and sealing them all again with the current key
//! after a rotation.

use axum::extract::State;
use axum::{Extension, Json};
use docker_sync_common::config::stored::KeyUsage;
use serde::Serialize;
use serde_json::json;

use crate::auth::audit;
use crate::auth::principal::Caller;
use crate::error::{AppError, ErrorBody};
use crate::state::AppState;

/// `GET /api/secret-key`: this api's key ids (the sealing one first; ids are hashes, never the
/// key) and how many stored passwords each key id seals.
#[utoipa::path(get, path = "/api/secret-key", tag = "secret-key",
    responses((status = 200, description = "Key ids (hashes), the sealing one first, and how many passwords each seals", body = KeyUsage)))]
pub async fn usage(State(state): State<AppState>) -> Result<Json<KeyUsage>, AppError> {
    let mut usage = state.catalog.store().key_usage().await?;
    for (key, n) in crate::webhooks::store::sealed_by_key(&state).await? {
        *usage.passwords_by_key.entry(key).or_insert(0) += n;
    }
    Ok(Json(usage))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ResealView {
    resealed: Vec<String>,
    failed: Vec<Failure>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ResealFailure)]
struct Failure {
    registry: String,
    error: String,
}

/// `POST /api/secret-key/reseal`: seals every stored password again with the first key of the
/// key file, so the old key can be removed from it. 200 with what was resealed and what could
/// not be (a password no key of ours opens); 400 when this api has no key.
#[utoipa::path(post, path = "/api/secret-key/reseal", tag = "secret-key",
    responses(
        (status = 200, description = "What was sealed again and what could not be", body = ResealView),
        (status = 400, description = "This api has no key", body = ErrorBody),
    ))]
pub async fn reseal(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<ResealView>, AppError> {
    let mut report = state.catalog.store().reseal(caller.actor()).await?;
    let (hooks, hooks_failed) = crate::webhooks::store::reseal(&state).await?;
    report
        .resealed
        .extend(hooks.into_iter().map(|n| format!("webhook:{n}")));
    report.failed.extend(
        hooks_failed
            .into_iter()
            .map(|(n, e)| (format!("webhook:{n}"), e)),
    );
    tracing::info!(
        resealed = report.resealed.len(),
        failed = report.failed.len(),
        user = caller.actor(),
        "registry passwords sealed again"
    );
    let detail = json!({ "resealed": report.resealed, "failed": report.failed.len() });
    audit::record(
        &state,
        caller.actor(),
        "registry.reseal",
        "*",
        &caller.client,
        detail,
    )
    .await;
    Ok(Json(ResealView {
        resealed: report.resealed,
        failed: report
            .failed
            .into_iter()
            .map(|(registry, error)| Failure { registry, error })
            .collect(),
    }))
}
