use axum::extract::State;
use axum::Json;
use serde::Serialize;

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
            })
            .collect(),
    )
}
