//! Harbor's project API (`/api/v2.0/projects`), for the connection test ("does the project
//! exist?") and for `create_project: true` (create a missing project before the first push).
//!
//! As Harbor documents it, with Basic auth (a user or robot account, or an OIDC user's CLI
//! secret):
//!
//! - `HEAD /api/v2.0/projects?project_name=<name>`: 200 when the project exists, 404 when not;
//! - `POST /api/v2.0/projects` with `{"project_name": "<name>", "metadata": {"public": "false"}}`:
//!   201 Created, 409 Conflict when it already exists, 403 when the account may not create
//!   projects (Harbor can limit that to administrators).
//!
//! Passwords never appear in an error: messages name the user only.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use reqwest::{RequestBuilder, Response, StatusCode};
use secrecy::ExposeSecret;

use crate::config::{is_harbor_project_name, RegistryConfig, RegistryType};
use crate::registry::reach::{ClientOptions, Clients, Reach};

const PROJECTS: &str = "/api/v2.0/projects";

/// What [`ensure_harbor_project`] found or did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectStatus {
    /// The project was missing and is now created (201).
    Created,
    /// The project was there already (HEAD 200, or 409 on create).
    Existed,
}

#[derive(Debug, thiserror::Error)]
pub enum HarborError {
    #[error("registry at `{host}` is type {kind}, not harbor: it has no project API")]
    NotHarbor { host: String, kind: RegistryType },
    #[error(
        "`{0}` is not a valid Harbor project name: lowercase letters, digits and `.`, `_`, `-` \
         between them, at most 255 characters"
    )]
    InvalidName(String),
    /// No answer: connection, TLS, DNS, timeout.
    #[error("cannot reach Harbor's project API at `{host}`: {reason}")]
    Unreachable { host: String, reason: String },
    #[error("Harbor at `{host}` refused the credentials {who} for its project API (HTTP 401): check the registry's `username` and `password`")]
    Unauthorized { host: String, who: String },
    #[error(
        "Harbor at `{host}` does not let {who} create project `{project}` (HTTP 403{detail}): \
         create the project in Harbor, or give the account the right to create projects \
         (Harbor may limit project creation to administrators)"
    )]
    Forbidden {
        host: String,
        who: String,
        project: String,
        detail: String,
    },
    #[error("Harbor at `{host}` answered HTTP {status} to {action}{detail}")]
    Status {
        host: String,
        status: StatusCode,
        action: String,
        detail: String,
    },
}

/// HTTP clients for Harbor's API, reached by the same rule as the registry itself
/// ([`crate::registry::reach`]), and the projects already known to exist, so a worker asks once
/// per project.
pub struct HarborClient {
    clients: Clients,
    known: Mutex<HashSet<String>>,
}

impl HarborClient {
    /// `timeout` bounds each request.
    pub fn new(timeout: Duration) -> Self {
        Self {
            clients: Clients::new(ClientOptions {
                follow_redirects: false,
                ..ClientOptions::new(timeout)
            }),
            known: Mutex::new(HashSet::new()),
        }
    }

    fn check(registry: &RegistryConfig, project: &str) -> Result<(), HarborError> {
        if registry.kind != RegistryType::Harbor {
            return Err(HarborError::NotHarbor {
                host: registry.host.clone(),
                kind: registry.kind,
            });
        }
        if !is_harbor_project_name(project) {
            return Err(HarborError::InvalidName(project.to_owned()));
        }
        Ok(())
    }

    /// Sends `extra(request)` to Harbor's projects endpoint with the registry's credentials.
    async fn send(
        &self,
        registry: &RegistryConfig,
        method: reqwest::Method,
        extra: impl Fn(RequestBuilder) -> RequestBuilder,
    ) -> Result<Response, HarborError> {
        let reach = Reach::for_host(&registry.host, Some(registry), false);
        let build = |client: &reqwest::Client, base: &str| {
            let req = client.request(method.clone(), format!("{base}{PROJECTS}"));
            extra(match (&registry.username, &registry.password) {
                (Some(user), Some(password)) => {
                    req.basic_auth(user, Some(password.expose_secret()))
                }
                _ => req,
            })
        };
        match self.clients.send(&reach, build).await {
            Ok(sent) => Ok(sent.response),
            Err(e) => Err(unreachable(registry, &e.into_error())),
        }
    }

    /// Whether `project` exists (`HEAD /api/v2.0/projects?project_name=`).
    pub async fn project_exists(
        &self,
        registry: &RegistryConfig,
        project: &str,
    ) -> Result<bool, HarborError> {
        Self::check(registry, project)?;
        let resp = self
            .send(registry, reqwest::Method::HEAD, |req| {
                req.query(&[("project_name", project)])
            })
            .await?;
        match resp.status() {
            s if s.is_success() => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            StatusCode::UNAUTHORIZED => Err(HarborError::Unauthorized {
                host: registry.host.clone(),
                who: who(registry),
            }),
            status => Err(HarborError::Status {
                host: registry.host.clone(),
                status,
                action: format!("the existence check of project `{project}`"),
                detail: String::new(),
            }),
        }
    }

    /// Creates `project`, private (`POST /api/v2.0/projects`); an existing one is
    /// [`ProjectStatus::Existed`] (409).
    pub async fn create_project(
        &self,
        registry: &RegistryConfig,
        project: &str,
    ) -> Result<ProjectStatus, HarborError> {
        Self::check(registry, project)?;
        let body = create_body(project);
        let resp = self
            .send(registry, reqwest::Method::POST, |req| req.json(&body))
            .await?;
        match resp.status() {
            StatusCode::CREATED | StatusCode::OK => Ok(ProjectStatus::Created),
            StatusCode::CONFLICT => Ok(ProjectStatus::Existed),
            StatusCode::UNAUTHORIZED => Err(HarborError::Unauthorized {
                host: registry.host.clone(),
                who: who(registry),
            }),
            StatusCode::FORBIDDEN => Err(HarborError::Forbidden {
                host: registry.host.clone(),
                who: who(registry),
                project: project.to_owned(),
                detail: error_detail(resp).await,
            }),
            status => Err(HarborError::Status {
                host: registry.host.clone(),
                status,
                action: format!("the creation of project `{project}`"),
                detail: error_detail(resp).await,
            }),
        }
    }

    /// [`ensure_harbor_project`], remembering projects that exist so later calls send nothing.
    pub async fn ensure_project(
        &self,
        registry: &RegistryConfig,
        project: &str,
    ) -> Result<ProjectStatus, HarborError> {
        let key = format!("{}|{project}", registry.host);
        if self
            .known
            .lock()
            .expect("project cache lock")
            .contains(&key)
        {
            return Ok(ProjectStatus::Existed);
        }
        // Ask first: an account that may push but not create projects gets 403 from POST even
        // for a project that exists.
        let status = if self.project_exists(registry, project).await? {
            ProjectStatus::Existed
        } else {
            self.create_project(registry, project).await?
        };
        self.known.lock().expect("project cache lock").insert(key);
        Ok(status)
    }
}

/// Makes sure Harbor project `project` exists at `registry` before a push into it: asks
/// whether it exists, and creates it (private) when not. Call it only for registries with
/// `create_project: true`; the target's project is the first part of its repository path.
pub async fn ensure_harbor_project(
    client: &HarborClient,
    registry: &RegistryConfig,
    project: &str,
) -> Result<ProjectStatus, HarborError> {
    client.ensure_project(registry, project).await
}

fn create_body(project: &str) -> serde_json::Value {
    serde_json::json!({ "project_name": project, "metadata": { "public": "false" } })
}

fn who(registry: &RegistryConfig) -> String {
    match &registry.username {
        Some(user) if registry.password.is_some() => format!("of user `{user}`"),
        Some(user) => format!("of user `{user}` (no password configured)"),
        None => "(none configured)".to_owned(),
    }
}

fn unreachable(registry: &RegistryConfig, e: &reqwest::Error) -> HarborError {
    let mut reason = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !reason.contains(&text) {
            reason.push_str(": ");
            reason.push_str(&text);
        }
        source = s.source();
    }
    HarborError::Unreachable {
        host: registry.host.clone(),
        reason,
    }
}

/// `: <message>` from Harbor's `{"errors": [{"code": ..., "message": ...}]}`, or nothing.
async fn error_detail(resp: Response) -> String {
    #[derive(serde::Deserialize)]
    struct Body {
        #[serde(default)]
        errors: Vec<Entry>,
    }
    #[derive(serde::Deserialize)]
    struct Entry {
        message: Option<String>,
    }
    let body: Option<Body> = resp.json().await.ok();
    body.and_then(|b| b.errors.into_iter().find_map(|e| e.message))
        .map(|m| format!(": {}", m.chars().take(300).collect::<String>()))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::test_registry as registry;

    #[test]
    fn the_create_body_is_a_private_project() {
        assert_eq!(
            create_body("mirror").to_string(),
            r#"{"metadata":{"public":"false"},"project_name":"mirror"}"#
        );
    }

    #[tokio::test]
    async fn only_harbor_registries_and_valid_names_are_asked() {
        let client = HarborClient::new(Duration::from_secs(1));
        let acr = registry("    type: acr\n    url: http://127.0.0.1:1\n    namespace: n\n");
        assert!(matches!(
            client.project_exists(&acr, "n").await,
            Err(HarborError::NotHarbor { .. })
        ));
        let harbor = registry("    type: harbor\n    url: http://127.0.0.1:1\n    project: p\n");
        let e = client.create_project(&harbor, "Bad").await.unwrap_err();
        assert!(matches!(e, HarborError::InvalidName(_)), "{e}");
    }

    #[test]
    fn who_never_shows_the_password() {
        let r = registry(
            "    type: harbor\n    url: h.example.com\n    project: p\n    username: robot$sync\n    \
             password: s3cret-value\n",
        );
        let e = HarborError::Unauthorized {
            host: r.host.clone(),
            who: who(&r),
        };
        assert!(e.to_string().contains("user `robot$sync`"), "{e}");
        assert!(!e.to_string().contains("s3cret"), "{e}");
    }
}
