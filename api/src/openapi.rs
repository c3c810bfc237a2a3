//! `GET /api/openapi.json`. The handlers' `#[utoipa::path]` say what each route takes and
//! answers; who may call it is taken from the route table instead, the one the router enforces,
//! so the document cannot promise a role the server does not check.

use std::sync::OnceLock;

use axum::http::Method;
use axum::Json;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{Content, Ref, ResponseBuilder, SecurityRequirement};
use utoipa::{Modify, OpenApi};

use crate::auth::role::Access;
use crate::auth::{sessions, tokens as api_tokens};
use crate::routes::{
    audit, auth, downloads, imports, jobs, preview, registries, rerun, rules, scripts, secret_key,
    stats, tokens, users, webhooks,
};
use crate::startup::{api_routes, Declared};

pub const SESSION_COOKIE: &str = "session_cookie";
pub const BEARER_TOKEN: &str = "bearer_token";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "docker-image-sync",
        description = "Mirrors container images into your registries. Every operation's \
                       `x-required-role` is the least role it needs: public, account (any \
                       signed-in user), viewer, operator or admin."
    ),
    paths(
        auth::login, auth::logout, auth::me, auth::change_password,
        jobs::list, jobs::create, preview::preview, jobs::get, jobs::tasks, jobs::task_log, jobs::cancel, rerun::retry, rerun::sync_again, jobs::events,
        registries::list, registries::create, registries::get, registries::update,
        registries::delete, registries::test,
        rules::list, rules::create, rules::get, rules::update, rules::delete, rules::run,
        secret_key::usage, secret_key::reseal,
        scripts::create,
        tokens::list, tokens::create, tokens::revoke,
        users::list, users::create, users::update, users::delete, users::reset_password,
        users::logins,
        audit::page,
        stats::stats,
        downloads::list, downloads::upload, downloads::usage, downloads::file, downloads::archive,
        downloads::delete, imports::push,
        webhooks::list, webhooks::create, webhooks::update, webhooks::delete, webhooks::test,
        webhooks::deliveries,
        serve,
    ),
    components(schemas(crate::error::ErrorBody)),
    modifiers(&SecuritySchemes)
)]
struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            SESSION_COOKIE,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                sessions::COOKIE,
                "Set by `POST /api/auth/login`",
            ))),
        );
        let mut bearer = Http::new(HttpAuthScheme::Bearer);
        let prefix = api_tokens::PREFIX;
        bearer.description = Some(format!(
            "An API token, `{prefix}…`, from `POST /api/tokens`"
        ));
        components.add_security_scheme(BEARER_TOKEN, SecurityScheme::Http(bearer));
    }
}

/// The OpenAPI 3.1 document of every `/api` route.
#[utoipa::path(get, path = "/api/openapi.json", tag = "openapi",
    responses((status = 200, description = "This document", content_type = "application/json")))]
pub async fn serve() -> Json<&'static utoipa::openapi::OpenApi> {
    // Built once: neither the code nor the table changes while the process runs.
    static DOC: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    Json(DOC.get_or_init(|| document(&api_routes().declared)))
}

/// The document with each declared route's least role, security and guard refusals. A route
/// without an annotation is left out here; the api's tests fail on it.
pub fn document(declared: &[Declared]) -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    for d in declared {
        let item = doc.paths.paths.get_mut(d.path);
        if let Some(op) = item.and_then(|i| operation(i, &d.method)) {
            guard(op, &d.method, d.access);
        }
    }
    doc
}

pub fn role_name(access: Access) -> &'static str {
    match access {
        Access::Public => "public",
        Access::Account => "account",
        Access::Role(role) => role.as_str(),
    }
}

fn operation<'a>(item: &'a mut PathItem, method: &Method) -> Option<&'a mut Operation> {
    match *method {
        Method::GET => item.get.as_mut(),
        Method::POST => item.post.as_mut(),
        Method::PUT => item.put.as_mut(),
        Method::PATCH => item.patch.as_mut(),
        Method::DELETE => item.delete.as_mut(),
        _ => None,
    }
}

/// What `principal::guard` adds to the handler's own answers.
fn guard(op: &mut Operation, method: &Method, access: Access) {
    unique_id(op);
    let extensions = op.extensions.get_or_insert_with(Default::default);
    extensions.insert("x-required-role".into(), role_name(access).into());
    // Writes, even the login, and WebSocket handshakes (101): the guard's Origin check.
    let websocket = op.responses.responses.contains_key("101");
    if *method != Method::GET || websocket {
        let why = "From another origin, without a bearer token";
        refusal(op, "403", why);
    }
    if access == Access::Public {
        // Explicitly none, rather than absent: a reader need not wonder about a default.
        op.security = Some(Vec::new());
        return;
    }
    let scopes: [&str; 0] = [];
    op.security = Some(vec![
        SecurityRequirement::new(SESSION_COOKIE, scopes),
        SecurityRequirement::new(BEARER_TOKEN, scopes),
    ]);
    refusal(op, "401", "Not logged in, or an invalid or expired token");
    if let Access::Role(role) = access {
        let why = format!("The role is below {role}, or the password must be changed first");
        refusal(op, "403", &why);
    }
}

/// utoipa names an operation after its handler, and every resource file has its own `list`,
/// `create`, ...: the tag makes the id unique, as OpenAPI requires.
fn unique_id(op: &mut Operation) {
    let tag = op.tags.as_ref().and_then(|t| t.first());
    if let (Some(tag), Some(id)) = (tag, &op.operation_id) {
        op.operation_id = Some(format!("{}_{id}", tag.replace('-', "_")));
    }
}

/// Adds `why` to the status's answer, keeping the handler's own reasons for it.
fn refusal(op: &mut Operation, status: &str, why: &str) {
    let answers = &mut op.responses.responses;
    if let Some(utoipa::openapi::RefOr::T(existing)) = answers.get_mut(status) {
        // The reasons are ASCII sentences: one more goes on in lower case.
        let (first, rest) = why.split_at(1);
        existing.description = format!(
            "{}; or {}{rest}",
            existing.description,
            first.to_lowercase()
        );
        return;
    }
    let body = Content::new(Some(Ref::from_schema_name("ErrorBody")));
    let response = ResponseBuilder::new()
        .description(why)
        .content("application/json", body)
        .build();
    answers.insert(status.into(), response.into());
}
