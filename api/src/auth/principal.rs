//! Who is calling, and may they? `authenticate` runs for every request; `guard` runs for each
//! `/api` route with the [`Access`] the route declared.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth::role::{Access, Role};
use crate::auth::{sessions, tokens, users};
use crate::error::AppError;
use crate::state::AppState;

#[derive(Debug, Clone)]
pub struct Principal {
    pub username: String,
    pub role: Role,
    pub must_change_password: bool,
    pub via: Via,
}

#[derive(Debug, Clone)]
pub enum Via {
    /// The session cookie's value.
    Session(String),
    /// The token's id.
    Token(String),
}

impl Caller {
    /// The logged-in user, for handlers behind a guard that requires one.
    pub fn principal(&self) -> Result<&Principal, AppError> {
        self.principal
            .as_ref()
            .ok_or_else(|| AppError::Unauthorized("login required".into()))
    }

    /// Name for the audit log.
    pub fn actor(&self) -> &str {
        self.principal
            .as_ref()
            .map_or("anonymous", |p| p.username.as_str())
    }
}

/// What `authenticate` learnt, for the guards and handlers.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Option<Principal>,
    /// A Bearer credential came with the request: exempt from the Origin check (a browser never
    /// adds one by itself).
    pub bearer: bool,
    pub client: String,
    pub user_agent: String,
    /// The request arrived over HTTPS (directly or as the proxy says).
    pub https: bool,
    /// Why the request is not same-origin, if it is not (checked by the guard for writes).
    pub cross_origin: Option<String>,
}

pub async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let headers = req.headers();
    let client = client_address(
        headers,
        req.extensions().get::<ConnectInfo<SocketAddr>>(),
        state.auth.trust_proxy,
    );
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .chars()
        .take(200)
        .collect();
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned());
    let cookie = headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(sessions::from_header)
        .map(str::to_owned);

    let principal = match (&bearer, cookie) {
        (Some(token), _) => match from_token(&state, token).await {
            Ok(Some(p)) => Some(p),
            Ok(None) => {
                return AppError::Unauthorized("invalid or expired token".into()).into_response()
            }
            Err(e) => return e.into_response(),
        },
        (None, Some(cookie)) => match from_session(&state, cookie).await {
            Ok(p) => p,
            Err(e) => return e.into_response(),
        },
        (None, None) => None,
    };
    let cross_origin = same_origin(req.headers(), &state.auth.allowed_origins).err();
    req.extensions_mut().insert(Caller {
        principal,
        bearer: bearer.is_some(),
        client,
        user_agent,
        https,
        cross_origin,
    });
    next.run(req).await
}

async fn from_token(state: &AppState, token: &str) -> Result<Option<Principal>, AppError> {
    let Some(grant) = tokens::lookup(state, token).await? else {
        return Ok(None);
    };
    let Some(user) = users::find(state, &grant.user).await?.filter(|u| u.active) else {
        return Ok(None);
    };
    Ok(Some(Principal {
        username: user.username,
        role: grant.role.min(user.role),
        must_change_password: user.must_change_password,
        via: Via::Token(grant.id),
    }))
}

async fn from_session(state: &AppState, cookie: String) -> Result<Option<Principal>, AppError> {
    let Some(session) = sessions::lookup(state, &cookie).await? else {
        return Ok(None);
    };
    let Some(user) = users::find(state, &session.username)
        .await?
        .filter(|u| u.active)
    else {
        return Ok(None);
    };
    Ok(Some(Principal {
        username: user.username,
        role: user.role,
        must_change_password: user.must_change_password,
        via: Via::Session(cookie),
    }))
}

/// Enforces a route's [`Access`], and the same-origin rule for state-changing cookie requests.
pub async fn guard(access: Access, req: Request, next: Next) -> Response {
    let Some(caller) = req.extensions().get::<Caller>().cloned() else {
        // `authenticate` did not run: a wiring mistake. Refuse rather than let it through.
        tracing::error!(path = %req.uri().path(), "a guarded route without authentication");
        return AppError::Internal("authentication did not run".into()).into_response();
    };
    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if let (true, false, Some(why)) = (unsafe_method, caller.bearer, &caller.cross_origin) {
        return AppError::forbidden(format!("cross-origin request refused: {why}")).into_response();
    }
    if let Err(e) = check(access, caller.principal.as_ref()) {
        return e.into_response();
    }
    next.run(req).await
}

/// The decision alone, for the guard and for tests.
pub fn check(access: Access, principal: Option<&Principal>) -> Result<(), AppError> {
    let needed = match access {
        Access::Public => return Ok(()),
        Access::Account => None,
        Access::Role(role) => Some(role),
    };
    let Some(p) = principal else {
        return Err(AppError::Unauthorized("login required".into()));
    };
    let Some(needed) = needed else { return Ok(()) };
    if p.must_change_password {
        return Err(AppError::Forbidden {
            message: "set a new password first".into(),
            code: Some("password_change_required"),
        });
    }
    if p.role < needed {
        return Err(AppError::forbidden(format!(
            "your role ({}) may not do this; it needs {needed}",
            p.role
        )));
    }
    Ok(())
}

/// A state-changing request with cookies must come from a page of this site: its `Origin` (or,
/// lacking one, `Referer`) must name the host the request was sent to.
/// `extra` lists further allowed origins (`https://host[:port]`).
fn same_origin(headers: &HeaderMap, extra: &[String]) -> Result<(), String> {
    let refuse = |why: &str| Err(why.to_owned());
    let host = headers
        .get("x-forwarded-host")
        .or_else(|| headers.get(header::HOST))
        .and_then(|v| v.to_str().ok());
    let origin = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|v| v.to_str().ok());
    let Some(origin) = origin else {
        return refuse("no Origin or Referer header (use a Bearer token for scripts)");
    };
    let authority = origin
        .split_once("://")
        .map(|(_, rest)| rest.split('/').next().unwrap_or(""))
        .unwrap_or("");
    if host.is_some_and(|h| h.eq_ignore_ascii_case(authority)) {
        return Ok(());
    }
    let origin_only = origin.split('/').take(3).collect::<Vec<_>>().join("/");
    if extra.iter().any(|o| o.trim_end_matches('/') == origin_only) {
        return Ok(());
    }
    refuse(&format!("origin {origin_only} is not this site"))
}

fn client_address(
    headers: &HeaderMap,
    peer: Option<&ConnectInfo<SocketAddr>>,
    trust_proxy: bool,
) -> String {
    if trust_proxy {
        if let Some(first) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
        {
            return first.trim().to_owned();
        }
    }
    peer.map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn p(role: Role, must_change: bool) -> Principal {
        Principal {
            username: "u".into(),
            role,
            must_change_password: must_change,
            via: Via::Token("t".into()),
        }
    }

    #[test]
    fn access_decisions() {
        assert!(check(Access::Public, None).is_ok());
        assert!(matches!(
            check(Access::Account, None),
            Err(AppError::Unauthorized(_))
        ));
        assert!(check(Access::Account, Some(&p(Role::Viewer, true))).is_ok());
        assert!(matches!(
            check(Access::Role(Role::Viewer), Some(&p(Role::Admin, true))),
            Err(AppError::Forbidden {
                code: Some("password_change_required"),
                ..
            })
        ));
        assert!(matches!(
            check(Access::Role(Role::Operator), Some(&p(Role::Viewer, false))),
            Err(AppError::Forbidden { .. })
        ));
        assert!(check(Access::Role(Role::Operator), Some(&p(Role::Admin, false))).is_ok());
    }

    #[test]
    fn origins() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("sync.example.com"));
        assert!(same_origin(&h, &[]).is_err(), "no origin at all");
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(same_origin(&h, &[]).is_err());
        assert!(same_origin(&h, &["https://evil.example".into()]).is_ok());
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://sync.example.com"),
        );
        assert!(same_origin(&h, &[]).is_ok());
        h.remove(header::ORIGIN);
        h.insert(
            header::REFERER,
            HeaderValue::from_static("https://sync.example.com/jobs/1"),
        );
        assert!(same_origin(&h, &[]).is_ok());
    }
}
