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
    /// An API token.
    Token { id: String, name: String },
}

impl Caller {
    /// The logged-in user, for handlers behind a guard that requires one.
    pub fn principal(&self) -> Result<&Principal, AppError> {
        self.principal
            .as_ref()
            .ok_or_else(|| AppError::Unauthorized("login required".into()))
    }

    /// What a job this caller submits records as its trigger.
    pub fn trigger(&self) -> docker_sync_common::queue::job::Trigger {
        use docker_sync_common::queue::job::{Trigger, TriggerKind};
        let p = self.principal.as_ref();
        let (kind, token) = match p.map(|p| &p.via) {
            Some(Via::Token { name, .. }) => (TriggerKind::Token, Some(name.clone())),
            _ => (TriggerKind::Session, None),
        };
        Trigger {
            kind,
            user: p.map(|p| p.username.clone()),
            token,
            rule: None,
        }
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
    /// A Bearer credential that matched no live token: refused by guarded routes only, so a
    /// stale header never breaks `/health`, `/metrics` or the pages.
    pub bad_token: bool,
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
        state
            .auth
            .trust_proxy
            .then_some(state.auth.trusted_proxy_hops),
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

    let mut bad_token = false;
    let principal = match (&bearer, cookie) {
        (Some(token), _) => match from_token(&state, token).await {
            Ok(Some(p)) => Some(p),
            Ok(None) => {
                bad_token = true;
                None
            }
            Err(e) => return e.into_response(),
        },
        (None, Some(cookie)) => match from_session(&state, cookie).await {
            Ok(p) => p,
            Err(e) => return e.into_response(),
        },
        (None, None) => None,
    };
    let cross_origin = same_origin(
        req.headers(),
        https,
        state.auth.trust_proxy,
        &state.auth.allowed_origins,
    )
    .err();
    req.extensions_mut().insert(Caller {
        principal,
        bearer: bearer.is_some(),
        client,
        user_agent,
        bad_token,
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
        via: Via::Token {
            id: grant.id,
            name: grant.name,
        },
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
    // A WebSocket handshake is a GET, but the socket it opens reads data with the cookie: a
    // page of another origin could otherwise read a job's events (cross-site WebSocket
    // hijacking), so it passes the same Origin check as a write.
    let websocket = req
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let checked = unsafe_method || websocket;
    if let (true, false, Some(why)) = (checked, caller.bearer, &caller.cross_origin) {
        return AppError::forbidden(format!("cross-origin request refused: {why}")).into_response();
    }
    if caller.bad_token && access != Access::Public {
        return AppError::Unauthorized("invalid or expired token".into()).into_response();
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
/// lacking one, `Referer`) must name the scheme and host the request was sent to.
/// `X-Forwarded-Host` names that host only behind a trusted proxy: otherwise any client could
/// declare its own origin to be this site. `https` may come from `X-Forwarded-Proto` either
/// way: it only chooses between `http://<Host>` and `https://<Host>`, never another host.
/// `extra` lists further allowed origins (`https://host[:port]`).
fn same_origin(
    headers: &HeaderMap,
    https: bool,
    trust_proxy: bool,
    extra: &[String],
) -> Result<(), String> {
    let refuse = |why: &str| Err(why.to_owned());
    let forwarded = trust_proxy
        .then(|| headers.get("x-forwarded-host"))
        .flatten();
    let host = forwarded
        .or_else(|| headers.get(header::HOST))
        .and_then(|v| v.to_str().ok());
    let origin = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|v| v.to_str().ok());
    let Some(origin) = origin else {
        return refuse("no Origin or Referer header (use a Bearer token for scripts)");
    };
    let origin_only = origin.split('/').take(3).collect::<Vec<_>>().join("/");
    let scheme = if https { "https" } else { "http" };
    if let Some(host) = host {
        if origin_only.eq_ignore_ascii_case(&format!("{scheme}://{host}")) {
            return Ok(());
        }
    }
    if extra.iter().any(|o| o.trim_end_matches('/') == origin_only) {
        return Ok(());
    }
    refuse(&format!("origin {origin_only} is not this site"))
}

/// The client's address. Behind `hops` trusted proxies it is the `hops`-th `X-Forwarded-For`
/// entry from the right: each proxy appends the address it saw, so entries further left were
/// written by the client and prove nothing. A missing or malformed entry means the request did
/// not come through the proxies as configured: the socket address is used.
fn client_address(
    headers: &HeaderMap,
    peer: Option<&ConnectInfo<SocketAddr>>,
    hops: Option<usize>,
) -> String {
    let socket = || {
        peer.map(|c| c.0.ip().to_string())
            .unwrap_or_else(|| "unknown".into())
    };
    let Some(hops) = hops.filter(|h| *h > 0) else {
        return socket();
    };
    // Several X-Forwarded-For headers are one list, in order.
    let mut entries = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        let Ok(value) = value.to_str() else {
            return socket();
        };
        entries.extend(value.split(',').map(str::trim));
    }
    entries
        .len()
        .checked_sub(hops)
        .and_then(|i| entries[i].parse::<std::net::IpAddr>().ok())
        .map_or_else(socket, |ip| ip.to_string())
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
            via: Via::Token {
                id: "t".into(),
                name: "t".into(),
            },
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
        let ok = |h: &HeaderMap, extra: &[String]| same_origin(h, false, false, extra).is_ok();
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("sync.example.com"));
        assert!(!ok(&h, &[]), "no origin at all");
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert!(!ok(&h, &[]));
        assert!(ok(&h, &["http://evil.example".into()]));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://sync.example.com"),
        );
        assert!(ok(&h, &[]));
        h.remove(header::ORIGIN);
        h.insert(
            header::REFERER,
            HeaderValue::from_static("http://sync.example.com/jobs/1"),
        );
        assert!(ok(&h, &[]));
    }

    #[test]
    fn the_origin_must_match_the_scheme_and_a_forwarded_host_needs_trust() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("sync.example.com"));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://sync.example.com"),
        );
        assert!(same_origin(&h, true, false, &[]).is_ok());
        assert!(
            same_origin(&h, false, false, &[]).is_err(),
            "an https origin on a plain http request"
        );
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://sync.example.com"),
        );
        assert!(
            same_origin(&h, true, false, &[]).is_err(),
            "an http page writing to the https site"
        );
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        h.insert("x-forwarded-host", HeaderValue::from_static("evil.example"));
        assert!(same_origin(&h, false, false, &[]).is_err());
        assert!(same_origin(&h, false, true, &[]).is_ok());
    }

    #[test]
    fn the_client_is_counted_from_the_right_of_x_forwarded_for() {
        let peer = ConnectInfo("10.0.0.1:4000".parse::<SocketAddr>().unwrap());
        let with = |xff: &[&'static str], hops| {
            let mut h = HeaderMap::new();
            for v in xff {
                h.append("x-forwarded-for", HeaderValue::from_static(v));
            }
            client_address(&h, Some(&peer), hops)
        };
        assert_eq!(with(&["6.6.6.6, 1.2.3.4"], None), "10.0.0.1");
        assert_eq!(with(&["6.6.6.6, 1.2.3.4"], Some(1)), "1.2.3.4");
        assert_eq!(with(&["6.6.6.6", "1.2.3.4, 5.6.7.8"], Some(2)), "1.2.3.4");
        assert_eq!(
            with(&["1.2.3.4"], Some(2)),
            "10.0.0.1",
            "fewer hops than set"
        );
        assert_eq!(with(&["6.6.6.6, not-an-ip"], Some(1)), "10.0.0.1");
        assert_eq!(with(&[], Some(1)), "10.0.0.1");
        assert_eq!(with(&["1.2.3.4, 2001:db8::1"], Some(1)), "2001:db8::1");
    }
}
