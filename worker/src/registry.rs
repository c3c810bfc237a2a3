//! Asks a registry for a manifest digest with `HEAD /v2/<name>/manifests/<ref>`: the cheap check
//! that lets an unchanged image be skipped without a Docker Hub pull (HEAD is not counted).
//!
//! Handles both auth flows of the distribution spec: `Basic` and `Bearer` (a token fetched from
//! the realm named in `WWW-Authenticate`). Tokens are cached per host and repository.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use docker_sync_common::config::RegistryConfig;
use reqwest::header::{HeaderMap, ACCEPT, AUTHORIZATION, WWW_AUTHENTICATE};
use reqwest::{Client, StatusCode};
use secrecy::{ExposeSecret, SecretString};

/// Every manifest type we copy: without the OCI types distribution 2.8 answers 404 for OCI
/// images, and without the list types it converts an index into one platform's manifest.
const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.docker.distribution.manifest.v2+json";

/// How to reach one registry.
#[derive(Debug, Clone)]
pub struct Access {
    /// `https://host` or `http://host`.
    pub base: String,
    pub tls_verify: bool,
    pub credentials: Option<(String, SecretString)>,
}

impl Access {
    /// For a configured registry, or anonymous verified HTTPS for any other host.
    pub fn for_host(host: &str, config: Option<&RegistryConfig>) -> Access {
        match config {
            Some(r) => Access {
                base: r.api_base(),
                tls_verify: !r.insecure,
                credentials: r.username.clone().zip(r.password.clone()),
            },
            None if host == "docker.io" => Access {
                base: "https://registry-1.docker.io".into(),
                tls_verify: true,
                credentials: None,
            },
            None => Access {
                base: format!("https://{host}"),
                tls_verify: true,
                credentials: None,
            },
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{0}")]
    Http(#[from] reqwest::Error),
    #[error("unauthorized: the registry refused the credentials (HTTP {0})")]
    Unauthorized(StatusCode),
    #[error("unexpected HTTP {0} from {1}")]
    Status(StatusCode, String),
    #[error("token request failed: {0}")]
    Token(String),
}

pub struct RegistryClient {
    verified: Client,
    unverified: Client,
    tokens: Mutex<HashMap<String, (String, Instant)>>,
}

impl RegistryClient {
    pub fn new(timeout: Duration) -> Self {
        let build = |verify: bool| {
            Client::builder()
                .timeout(timeout)
                .danger_accept_invalid_certs(!verify)
                .user_agent(concat!("docker-image-sync/", env!("CARGO_PKG_VERSION")))
                .build()
                .expect("the TLS backend initialises")
        };
        Self {
            verified: build(true),
            unverified: build(false),
            tokens: Mutex::new(HashMap::new()),
        }
    }

    /// The digest the registry reports for `repo:reference`, or None when it has no such manifest.
    pub async fn manifest_digest(
        &self,
        access: &Access,
        repo: &str,
        reference: &str,
    ) -> Result<Option<String>, RegistryError> {
        let url = format!("{}/v2/{repo}/manifests/{reference}", access.base);
        let cache_key = format!("{}|{repo}", access.base);
        let client = if access.tls_verify {
            &self.verified
        } else {
            &self.unverified
        };
        let send = |auth: Option<String>| {
            let mut req = client.head(&url).header(ACCEPT, MANIFEST_ACCEPT);
            if let Some(a) = auth {
                req = req.header(AUTHORIZATION, a);
            }
            req.send()
        };
        // A Bearer token is per repository; Basic credentials, once asked for, hold for the host.
        let cached = self
            .cached_token(&cache_key)
            .or_else(|| self.cached_token(&access.base));
        let mut resp = send(cached.clone()).await?;
        if resp.status() == StatusCode::UNAUTHORIZED {
            let auth = self
                .authorize(client, access, repo, resp.headers(), &cache_key)
                .await?;
            resp = send(Some(auth)).await?;
        }
        match resp.status() {
            s if s.is_success() => Ok(resp
                .headers()
                .get("docker-content-digest")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)),
            StatusCode::NOT_FOUND => Ok(None),
            s @ (StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) => {
                Err(RegistryError::Unauthorized(s))
            }
            s => Err(RegistryError::Status(s, url)),
        }
    }

    fn cached_token(&self, key: &str) -> Option<String> {
        let tokens = self.tokens.lock().expect("token cache lock");
        tokens
            .get(key)
            .filter(|(_, until)| *until > Instant::now())
            .map(|(t, _)| t.clone())
    }

    fn remember(&self, key: &str, value: &str, ttl: Duration) {
        self.tokens
            .lock()
            .expect("token cache lock")
            .insert(key.to_owned(), (value.to_owned(), Instant::now() + ttl));
    }

    /// Answers a 401 challenge with an `Authorization` value.
    async fn authorize(
        &self,
        client: &Client,
        access: &Access,
        repo: &str,
        headers: &HeaderMap,
        cache_key: &str,
    ) -> Result<String, RegistryError> {
        let challenge = headers
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .map(Challenge::parse)
            .ok_or(RegistryError::Unauthorized(StatusCode::UNAUTHORIZED))?;
        let basic = |(user, password): &(String, SecretString)| {
            use base64::Engine;
            let raw = format!("{user}:{}", password.expose_secret());
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(raw)
            )
        };
        match challenge {
            Challenge::Basic => {
                let value = access
                    .credentials
                    .as_ref()
                    .map(basic)
                    .ok_or(RegistryError::Unauthorized(StatusCode::UNAUTHORIZED))?;
                self.remember(&access.base, &value, Duration::from_secs(3600));
                Ok(value)
            }
            Challenge::Bearer { realm, service } => {
                let mut req = client
                    .get(&realm)
                    .query(&[("scope", format!("repository:{repo}:pull"))]);
                if let Some(service) = &service {
                    req = req.query(&[("service", service)]);
                }
                if let Some(creds) = &access.credentials {
                    req = req.header(AUTHORIZATION, basic(creds));
                }
                let resp = req.send().await?;
                if !resp.status().is_success() {
                    return Err(RegistryError::Token(format!(
                        "HTTP {} from {realm}",
                        resp.status()
                    )));
                }
                let body: TokenResponse = resp.json().await?;
                let token = body
                    .token
                    .or(body.access_token)
                    .ok_or_else(|| RegistryError::Token("no token in the response".into()))?;
                let value = format!("Bearer {token}");
                // Renew a little early; registries default to 60 s when they say nothing.
                let ttl = Duration::from_secs(body.expires_in.unwrap_or(60).saturating_sub(5));
                self.remember(cache_key, &value, ttl);
                Ok(value)
            }
        }
    }
}

#[derive(serde::Deserialize)]
struct TokenResponse {
    token: Option<String>,
    access_token: Option<String>,
    expires_in: Option<u64>,
}

#[derive(Debug, PartialEq, Eq)]
enum Challenge {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
    },
}

impl Challenge {
    /// Parses `Bearer realm="https://auth.docker.io/token",service="registry.docker.io"`.
    fn parse(header: &str) -> Challenge {
        let (scheme, params) = header.trim().split_once(' ').unwrap_or((header, ""));
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Challenge::Basic;
        }
        let mut realm = String::new();
        let mut service = None;
        for part in split_params(params) {
            if let Some((k, v)) = part.split_once('=') {
                let v = v.trim().trim_matches('"').to_owned();
                match k.trim().to_ascii_lowercase().as_str() {
                    "realm" => realm = v,
                    "service" => service = Some(v),
                    _ => {}
                }
            }
        }
        Challenge::Bearer { realm, service }
    }
}

/// Splits on commas outside quotes (a scope like `repository:a:pull,push` is quoted).
fn split_params(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bearer_and_basic_challenges() {
        assert_eq!(
            Challenge::parse(
                r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull,push""#
            ),
            Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into())
            }
        );
        assert_eq!(
            Challenge::parse(r#"Basic realm="test-registry""#),
            Challenge::Basic
        );
    }
}
