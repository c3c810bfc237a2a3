//! Registries: everyone sees the list (never a credential); admins add, edit and delete the ones
//! stored in Redis and test any of them. registries.yaml entries are read-only here.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use docker_sync_common::config::stored::{Password, Record, Stored};
use docker_sync_common::config::{RegistryConfig, RegistryFields, RegistryType};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::auth::audit;
use crate::auth::principal::Caller;
use crate::error::{AppError, ErrorBody};
use crate::lang::Lang;
use crate::registries::connection::{self, Limits, Report};
use crate::routes::jobs::ApiJson;
use crate::state::AppState;

/// A registry as the UI sees it: never a credential, only whether one is set.
#[derive(Serialize, utoipa::ToSchema)]
pub struct RegistryView {
    name: String,
    display_name: Option<String>,
    #[serde(rename = "type")]
    kind: RegistryType,
    url: String,
    username: Option<String>,
    namespace: Option<String>,
    description: Option<String>,
    insecure: bool,
    has_password: bool,
    /// Harbor: a missing project is created before the first push.
    create_project: bool,
    /// The registry's own proxy, without its password.
    #[serde(skip_serializing_if = "Option::is_none")]
    proxy: Option<String>,
    proxy_has_password: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    no_proxy: Option<String>,
    /// `file` (registries.yaml, read-only here) or `api` (stored in Redis).
    source: &'static str,
    /// Why a stored registry cannot be used now (its password does not open with our key).
    problem: Option<String>,
    updated_at_ms: Option<u64>,
    updated_by: Option<String>,
}

impl RegistryView {
    fn from_file(name: &str, r: &RegistryConfig) -> Self {
        RegistryView {
            name: name.to_owned(),
            display_name: r.display_name.clone(),
            kind: r.kind,
            url: r.url(),
            username: r.username.clone(),
            namespace: r.namespace.clone(),
            description: r.description.clone(),
            insecure: r.insecure,
            has_password: r.password.is_some(),
            create_project: r.create_project,
            proxy: r.proxy.as_ref().map(|p| p.shown().to_owned()),
            proxy_has_password: r.proxy.as_ref().is_some_and(|p| p.has_password()),
            no_proxy: r.proxy.as_ref().and_then(|p| p.no_proxy.clone()),
            source: "file",
            problem: None,
            updated_at_ms: None,
            updated_by: None,
        }
    }

    fn from_stored(name: &str, stored: &Stored) -> Self {
        let r: &Record = &stored.record;
        RegistryView {
            name: name.to_owned(),
            display_name: r.display_name.clone(),
            kind: r.kind,
            url: r.url.clone(),
            username: r.username.clone(),
            namespace: r.namespace.clone(),
            description: r.description.clone(),
            insecure: r.insecure,
            has_password: r.password.is_some(),
            create_project: r.create_project,
            proxy: r.proxy.clone(),
            proxy_has_password: r.proxy_password.is_some(),
            no_proxy: r.no_proxy.clone(),
            source: "api",
            problem: stored.config.as_ref().err().cloned(),
            updated_at_ms: Some(r.updated_at_ms),
            updated_by: Some(r.updated_by.clone()),
        }
    }
}

/// `GET /api/registries`: registries.yaml's and the stored ones, by name. A stored one whose
/// name the file also uses is shown with the file's (which wins) and a problem saying so.
#[utoipa::path(get, path = "/api/registries", tag = "registries",
    responses((status = 200, description = "registries.yaml's and the stored registries, by name; never a password", body = Vec<RegistryView>)))]
pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<RegistryView>>, AppError> {
    let file = state.catalog.file();
    let stored = state.catalog.store().load_all().await?;
    let mut views: Vec<RegistryView> = file
        .registries
        .iter()
        .map(|(name, r)| RegistryView::from_file(name, r))
        .collect();
    for (name, entry) in &stored {
        let mut view = RegistryView::from_stored(name, entry);
        if file.registries.contains_key(name) {
            view.problem = Some(format!(
                "registries.yaml also defines `{name}`; the file's entry is used"
            ));
        }
        views.push(view);
    }
    views.sort_by(|a, b| a.name.cmp(&b.name).then(a.source.cmp(b.source)));
    Ok(Json(views))
}

/// `GET /api/registries/{name}`.
#[utoipa::path(get, path = "/api/registries/{name}", tag = "registries", params(("name" = String, Path, description = "The registry's name")),
    responses(
        (status = 200, description = "The registry; never a password", body = RegistryView),
        (status = 404, description = "No such registry", body = ErrorBody),
    ))]
pub async fn get(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<RegistryView>, AppError> {
    if let Some(r) = state.catalog.file().registries.get(&name) {
        return Ok(Json(RegistryView::from_file(&name, r)));
    }
    let stored = state
        .catalog
        .store()
        .get(&name)
        .await?
        .ok_or_else(|| not_found(&name))?;
    Ok(Json(RegistryView::from_stored(&name, &stored)))
}

/// The body of create and edit: a registries.yaml entry's keys (`display_name` for the file's
/// `name`), without `password_file`. On edit, a missing `password` keeps the stored one and
/// `clear_password` removes it.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = RegistryForm)]
#[serde(deny_unknown_fields)]
pub struct Form {
    name: Option<String>,
    display_name: Option<String>,
    #[serde(rename = "type", default)]
    kind: RegistryType,
    url: String,
    username: Option<String>,
    #[schema(value_type = Option<String>)]
    password: Option<SecretString>,
    #[serde(default)]
    clear_password: bool,
    namespace: Option<String>,
    project: Option<String>,
    repository: Option<String>,
    description: Option<String>,
    #[serde(default)]
    insecure: bool,
    #[serde(default)]
    create_project: bool,
    /// `http://[user[:password]@]proxy:port`; without a password, an edit keeps the stored
    /// proxy password when the url names the same proxy and user.
    #[schema(value_type = Option<String>)]
    proxy: Option<SecretString>,
    no_proxy: Option<String>,
}

impl Form {
    /// Every free-text field within its bound (`crate::limits`), before any is stored or logged.
    fn check_lengths(&self) -> Result<(), AppError> {
        use crate::limits::{self, check_len, check_opt};
        check_opt("name", self.name.as_deref(), limits::REGISTRY_NAME)?;
        let text = [
            (
                "display_name",
                &self.display_name,
                limits::REGISTRY_DISPLAY_NAME,
            ),
            ("username", &self.username, limits::REGISTRY_USERNAME),
            ("namespace", &self.namespace, limits::REGISTRY_NAMESPACE),
            ("project", &self.project, limits::REGISTRY_NAMESPACE),
            ("repository", &self.repository, limits::REGISTRY_NAMESPACE),
            (
                "description",
                &self.description,
                limits::REGISTRY_DESCRIPTION,
            ),
            ("no_proxy", &self.no_proxy, limits::REGISTRY_NO_PROXY),
        ];
        for (field, value, max) in text {
            check_opt(field, value.as_deref(), max)?;
        }
        check_len("url", &self.url, limits::REGISTRY_URL)?;
        let proxy = self.proxy.as_ref().map(|p| p.expose_secret());
        check_opt("proxy", proxy, limits::REGISTRY_PROXY)
    }

    /// The fields and what to do with the password; an empty password counts as none given.
    fn split(self) -> (RegistryFields, Password) {
        let password = self.password.filter(|p| !p.expose_secret().is_empty());
        let action = match (&password, self.clear_password) {
            (Some(p), _) => Password::Set(p.clone()),
            (None, true) => Password::Clear,
            (None, false) => Password::Keep,
        };
        let fields = RegistryFields {
            name: self.display_name,
            kind: self.kind,
            url: self.url,
            username: self.username,
            password,
            password_file: None,
            namespace: self.namespace,
            project: self.project,
            repository: self.repository,
            description: self.description,
            insecure: self.insecure,
            create_project: self.create_project,
            proxy: self.proxy,
            no_proxy: self.no_proxy,
        };
        (fields, action)
    }
}

/// `POST /api/registries` (admin): 201 with the view; 400 naming the wrong field; 409 when the
/// name is taken (in the file or in Redis).
#[utoipa::path(post, path = "/api/registries", tag = "registries",
    request_body = Form,
    responses(
        (status = 201, description = "Stored", body = RegistryView),
        (status = 400, description = "A field is wrong (named in `error`), or no key to seal a password", body = ErrorBody),
        (status = 409, description = "The name is taken, in registries.yaml or in Redis", body = ErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(form): ApiJson<Form>,
) -> Result<(StatusCode, Json<RegistryView>), AppError> {
    form.check_lengths()?;
    let Some(name) = form.name.clone().map(|n| n.trim().to_owned()) else {
        return Err(AppError::BadRequest("`name` is required".into()));
    };
    if state.catalog.file().registries.contains_key(&name) {
        return Err(AppError::Conflict(format!(
            "registries.yaml already defines `{name}`"
        )));
    }
    let (fields, _) = form.split();
    let with_password = fields.password.is_some();
    let stored = state
        .catalog
        .store()
        .create(&name, fields, caller.actor())
        .await?;
    tracing::info!(registry = %name, user = caller.actor(), "registry added");
    let detail = json!({ "type": stored.record.kind, "url": stored.record.url, "password": if with_password { "set" } else { "none" } });
    audit::record(
        &state,
        caller.actor(),
        "registry.create",
        &name,
        &caller.client,
        detail,
    )
    .await;
    Ok((
        StatusCode::CREATED,
        Json(RegistryView::from_stored(&name, &stored)),
    ))
}

/// `PUT /api/registries/{name}` (admin): replaces the fields; the password is kept unless a new
/// one or `clear_password` is given. 409 for a registries.yaml entry.
#[utoipa::path(put, path = "/api/registries/{name}", tag = "registries", params(("name" = String, Path, description = "The registry's name")),
    request_body = Form,
    responses(
        (status = 200, description = "Replaced", body = RegistryView),
        (status = 400, description = "A field is wrong, a rename, or a kept password for a new host", body = ErrorBody),
        (status = 404, description = "No such stored registry", body = ErrorBody),
        (status = 409, description = "A registries.yaml entry, or another edit at the same time", body = ErrorBody),
    ))]
pub async fn update(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
    ApiJson(form): ApiJson<Form>,
) -> Result<Json<RegistryView>, AppError> {
    form.check_lengths()?;
    refuse_file(&state, &name)?;
    if form.name.as_deref().is_some_and(|n| n.trim() != name) {
        return Err(AppError::BadRequest(
            "a registry cannot be renamed; delete it and add it under the new name".into(),
        ));
    }
    let (fields, password) = form.split();
    let before = state.catalog.store().get(&name).await?;
    let password_detail = match &password {
        Password::Keep => "kept",
        Password::Set(_) => "changed",
        Password::Clear => "cleared",
    };
    let stored = state
        .catalog
        .store()
        .update(&name, fields, password, caller.actor())
        .await?;
    tracing::info!(registry = %name, user = caller.actor(), password = password_detail, "registry changed");
    let host = |url: &str| url.trim_start_matches("http://").to_owned();
    let host_changed = before.is_some_and(|b| host(&b.record.url) != host(&stored.record.url));
    let detail = json!({
        "type": stored.record.kind,
        "url": stored.record.url,
        "url_host_changed": host_changed,
        "password": password_detail,
    });
    audit::record(
        &state,
        caller.actor(),
        "registry.update",
        &name,
        &caller.client,
        detail,
    )
    .await;
    Ok(Json(RegistryView::from_stored(&name, &stored)))
}

/// `DELETE /api/registries/{name}` (admin): 204; tasks already queued for it fail with "unknown
/// registry" when a worker takes them.
#[utoipa::path(delete, path = "/api/registries/{name}", tag = "registries", params(("name" = String, Path, description = "The registry's name")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such stored registry", body = ErrorBody),
        (status = 409, description = "A registries.yaml entry", body = ErrorBody),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
) -> Result<StatusCode, AppError> {
    refuse_file(&state, &name)?;
    state.catalog.store().delete(&name).await?;
    tracing::info!(registry = %name, user = caller.actor(), "registry deleted");
    audit::record(
        &state,
        caller.actor(),
        "registry.delete",
        &name,
        &caller.client,
        json!({}),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/registries/{name}/test`: reachability, TLS, the registry API, the stored
/// credentials and (Harbor) the project, step by step. 200 with `ok: false` when a step fails;
/// 404 for an unknown name. Admin only: it uses the stored credentials.
#[utoipa::path(post, path = "/api/registries/{name}/test", tag = "registries", params(("name" = String, Path, description = "The registry's name")),
    responses(
        (status = 200, description = "Each step's outcome; `ok: false` when one failed", body = Report),
        (status = 404, description = "No such registry", body = ErrorBody),
        (status = 409, description = "A stored registry that cannot be used (its password does not open)", body = ErrorBody),
    ))]
pub async fn test(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    lang: Lang,
    Path(name): Path<String>,
) -> Result<Json<Report>, AppError> {
    let config = state.catalog.current().await?;
    let Some(registry) = config.registries.get(&name) else {
        return Err(match config.unusable.get(&name) {
            Some(reason) => {
                AppError::Conflict(format!("registry `{name}` cannot be used: {reason}"))
            }
            None => not_found(&name),
        });
    };
    let report = connection::test(&name, registry, Limits::default(), lang).await;
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

fn refuse_file(state: &AppState, name: &str) -> Result<(), AppError> {
    if state.catalog.file().registries.contains_key(name) {
        return Err(AppError::Conflict(format!(
            "`{name}` is managed by registries.yaml; change it there"
        )));
    }
    Ok(())
}

fn not_found(name: &str) -> AppError {
    AppError::NotFound(format!("no registry named `{name}`"))
}
