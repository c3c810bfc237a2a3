use axum::extract::{Path, State};
use axum::{Extension, Json};
use serde::Serialize;
use serde_json::json;

use crate::auth::audit;
use crate::auth::principal::Caller;
use crate::error::AppError;
use crate::registries::connection::{self, Limits, Report};
use crate::state::AppState;

/// A registry as the UI sees it: never a credential, only whether one is set.
#[derive(Serialize)]
pub struct RegistryView {
    name: String,
    display_name: Option<String>,
    #[serde(rename = "type")]
    kind: String,
    url: String,
    namespace: Option<String>,
    description: Option<String>,
    insecure: bool,
    has_password: bool,
    /// Harbor: a missing project is created before the first push.
    create_project: bool,
}

pub async fn list(State(state): State<AppState>) -> Json<Vec<RegistryView>> {
    Json(
        state
            .config
            .registries
            .iter()
            .map(|(name, r)| RegistryView {
                name: name.clone(),
                display_name: r.display_name.clone(),
                kind: r.kind.to_string(),
                url: r.host.clone(),
                namespace: r.namespace.clone(),
                description: r.description.clone(),
                insecure: r.insecure,
                has_password: r.password.is_some(),
                create_project: r.create_project,
            })
            .collect(),
    )
}

/// `POST /api/registries/{name}/test`: reachability, TLS, the registry API, the stored
/// credentials and (Harbor) the project, step by step. 200 with `ok: false` when a step fails;
/// 404 for a name not in registries.yaml. Admin only: it uses the stored credentials.
pub async fn test(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
) -> Result<Json<Report>, AppError> {
    let registry =
        state.config.registries.get(&name).ok_or_else(|| {
            AppError::NotFound(format!("no registry `{name}` in registries.yaml"))
        })?;
    let report = connection::test(&name, registry, Limits::default()).await;
    audit::record(
        &state,
        caller.actor(),
        "registry.test",
        &name,
        &caller.client,
        json!({ "ok": report.ok, "failed_step": report.failed_step() }),
    )
    .await;
    Ok(Json(report))
}
