//! A small client for the registry HTTP API (the distribution spec), shared by the api and the
//! worker:
//!
//! - `HEAD /v2/<name>/manifests/<ref>` for a manifest digest: the cheap check that lets the worker
//!   skip an unchanged image without a Docker Hub pull (HEAD is not counted);
//! - `GET /v2/<name>/tags/list`, following `Link: <...>; rel="next"` pages, for the api to expand
//!   tag patterns (`nginx:1.25*`) and `@latest=N` when a job is submitted;
//! - `GET /v2/<name>/manifests/<digest>` of a multi-arch index, for the worker to learn the digest
//!   of the one platform a job copies ([`RegistryClient::manifest_kind`]).
//!
//! Handles both auth flows of the spec: `Basic` and `Bearer` (a token fetched from the realm named
//! in `WWW-Authenticate`). Tokens are cached per host and repository. Errors say what went wrong in
//! the words of [`crate::registry::explain`].

mod challenge;
pub mod explain;
pub mod harbor;
pub mod reach;
pub mod token;

pub use challenge::Challenge;
pub use reach::{Clients, Reach, Scheme, Transport};

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, ACCEPT, AUTHORIZATION, LINK, WWW_AUTHENTICATE};
use reqwest::{Client, Method, Response, StatusCode};

use self::reach::{ClientOptions, Sent};
use secrecy::{ExposeSecret, SecretString};

use crate::image::platform::Platform;
use crate::registry::explain::{describe, Party, Problem};

/// Every manifest type we copy: without the OCI types distribution 2.8 answers 404 for OCI
/// images, and without the list types it converts an index into one platform's manifest.
const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.docker.distribution.manifest.v2+json";

/// Tags asked for per page. Registries may return fewer and link the next page; one that refuses
/// the parameter (HTTP 400) is asked again without it.
pub const TAGS_PAGE_SIZE: usize = 1000;

/// Pages followed at most, against a registry that links pages forever.
const MAX_PAGES: usize = 1000;

/// Media types of a multi-arch image (OCI index, Docker manifest list).
const INDEX_MEDIA_TYPES: [&str; 2] = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];

/// Manifests remembered by digest (their content never changes); the cache is emptied when full.
const MANIFEST_CACHE: usize = 1024;

/// Whether a manifest media type (a `Content-Type`, parameters allowed) is a multi-arch index.
pub fn is_index_media_type(media_type: &str) -> bool {
    let bare = media_type.split(';').next().unwrap_or("").trim();
    INDEX_MEDIA_TYPES
        .iter()
        .any(|t| bare.eq_ignore_ascii_case(t))
}

/// What a manifest HEAD told: the digest (None when there is no such manifest) and the pull
/// limit, when the registry sends one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestHead {
    pub digest: Option<String>,
    /// The manifest's `Content-Type`, when the registry sent one.
    pub media_type: Option<String>,
    pub rate_limit: Option<RateLimit>,
}

/// A manifest as a GET returned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub media_type: Option<String>,
    /// `Docker-Content-Digest`, when sent.
    pub digest: Option<String>,
    pub body: Vec<u8>,
}

/// One entry of an index: a platform's manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    pub digest: String,
    /// None when the entry names no platform.
    pub platform: Option<Platform>,
}

/// What a manifest is, for choosing a platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestKind {
    /// A single image: copied as it is.
    Image,
    /// A multi-arch index (OCI) or manifest list (Docker), its entries in order.
    Index(Arc<Vec<IndexEntry>>),
    /// The registry has no such manifest.
    Missing,
}

/// The entries of `body` when it is an index or manifest list (by `media_type`, its own
/// `mediaType`, or its `manifests` array), None for a single image.
pub fn parse_index(
    media_type: Option<&str>,
    body: &[u8],
) -> Result<Option<Vec<IndexEntry>>, String> {
    #[derive(serde::Deserialize)]
    struct Body {
        #[serde(rename = "mediaType")]
        media_type: Option<String>,
        manifests: Option<Vec<Descriptor>>,
    }
    #[derive(serde::Deserialize)]
    struct Descriptor {
        digest: String,
        platform: Option<PlatformJson>,
    }
    #[derive(serde::Deserialize)]
    struct PlatformJson {
        #[serde(default)]
        os: String,
        #[serde(default)]
        architecture: String,
        variant: Option<String>,
    }
    let parsed: Body = serde_json::from_slice(body).map_err(|e| format!("not a manifest: {e}"))?;
    // An image manifest never has `manifests`; an OCI index may leave its mediaType out.
    let is_index = [media_type, parsed.media_type.as_deref()]
        .into_iter()
        .flatten()
        .any(is_index_media_type)
        || parsed.manifests.is_some();
    if !is_index {
        return Ok(None);
    }
    let entries = parsed
        .manifests
        .ok_or("an index without `manifests`")?
        .into_iter()
        .map(|d| IndexEntry {
            digest: d.digest,
            platform: d.platform.map(|p| {
                let variant = p.variant.filter(|v| !v.is_empty());
                Platform::new(&p.os, &p.architecture, variant.as_deref())
            }),
        })
        .collect();
    Ok(Some(entries))
}

/// A registry's pull limit as it reports it: `ratelimit-remaining: 76;w=21600` and
/// `ratelimit-limit: 100;w=21600` (Docker Hub; a bare number is taken too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub remaining: u64,
    pub limit: Option<u64>,
    /// The window the numbers are for, in seconds (`w=`).
    pub window_s: Option<u64>,
}

impl RateLimit {
    /// From response headers; None without a readable `ratelimit-remaining`.
    pub fn from_headers(headers: &HeaderMap) -> Option<RateLimit> {
        let get = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_quota)
        };
        let (remaining, window_r) = get("ratelimit-remaining")?;
        let (limit, window_l) = match get("ratelimit-limit") {
            Some((l, w)) => (Some(l), w),
            None => (None, None),
        };
        Some(RateLimit {
            remaining,
            limit,
            window_s: window_r.or(window_l),
        })
    }
}

/// `100;w=21600` → (100, Some(21600)); `100` → (100, None). Other parameters are ignored.
pub fn parse_quota(value: &str) -> Option<(u64, Option<u64>)> {
    let mut parts = value.split(';');
    let n = parts.next()?.trim().parse().ok()?;
    let window = parts.find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        (k.trim() == "w").then(|| v.trim().parse().ok())?
    });
    Some((n, window))
}

/// The `Retry-After` of a response in seconds (the HTTP-date form is not used by registries).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The request did not get an answer: connection, TLS, DNS, timeout.
    #[error("{}", error_chain(.0))]
    Http(#[from] reqwest::Error),
    #[error("unauthorized: the registry refused the credentials (HTTP {0})")]
    Unauthorized(StatusCode),
    /// An HTTP error with the registry's error code and message when it sent them.
    #[error("HTTP {status}{} from {url}", code_and_message(.code, .message))]
    Status {
        status: StatusCode,
        url: String,
        code: Option<String>,
        message: Option<String>,
        /// `Retry-After` of a 429.
        retry_after: Option<Duration>,
    },
    #[error("token request failed: {reason}")]
    Token {
        status: Option<StatusCode>,
        reason: String,
    },
    #[error("invalid answer from {url}: {reason}")]
    Invalid { url: String, reason: String },
    #[error("the repository has more than {limit} tags")]
    TooManyTags { limit: usize },
}

impl RegistryError {
    /// What kind of failure this is, when it is one people can act on.
    pub fn problem(&self) -> Option<Problem> {
        match self {
            RegistryError::Http(e) if e.is_timeout() => Some(Problem::Timeout),
            RegistryError::Http(e) => Problem::classify(&error_chain(e)),
            RegistryError::Unauthorized(_) => Some(Problem::Unauthorized),
            RegistryError::Token {
                status: Some(StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN),
                ..
            } => Some(Problem::Unauthorized),
            RegistryError::Token { reason, .. } => Problem::classify(reason),
            RegistryError::Status {
                status,
                code,
                message,
                ..
            } => {
                let by_code =
                    match code.as_deref() {
                        Some("NAME_UNKNOWN") => Some(Problem::NameUnknown),
                        Some("MANIFEST_UNKNOWN") => Some(Problem::ManifestUnknown),
                        Some("DENIED") => Some(Problem::Denied(message.clone().filter(|m| {
                            !m.contains("requested access to the resource is denied")
                        }))),
                        Some("UNAUTHORIZED") => Some(Problem::Unauthorized),
                        Some("TOOMANYREQUESTS") => Some(Problem::RateLimited),
                        _ => None,
                    };
                by_code.or(match *status {
                    StatusCode::NOT_FOUND => Some(Problem::NameUnknown),
                    StatusCode::UNAUTHORIZED => Some(Problem::Unauthorized),
                    StatusCode::FORBIDDEN => Some(Problem::Denied(message.clone())),
                    StatusCode::TOO_MANY_REQUESTS => Some(Problem::RateLimited),
                    _ => None,
                })
            }
            RegistryError::Invalid { .. } | RegistryError::TooManyTags { .. } => None,
        }
    }

    /// How long the registry asked us to wait (`Retry-After` of a 429), if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            RegistryError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The sentence for this failure at `party`: [`describe`] when the problem is recognised,
    /// else the error itself.
    pub fn explain(&self, party: &Party<'_>) -> String {
        match self.problem() {
            Some(problem) => describe(&problem, party),
            None => self.to_string(),
        }
    }
}

fn code_and_message(code: &Option<String>, message: &Option<String>) -> String {
    match (code, message) {
        (Some(c), Some(m)) => format!(" {c}: {m}"),
        (Some(c), None) => format!(" {c}"),
        (None, Some(m)) => format!(": {m}"),
        (None, None) => String::new(),
    }
}

/// An error with its causes, `outer: inner: innermost`, without repeating a cause that the
/// outer text already contains.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

pub struct RegistryClient {
    clients: Clients,
    tokens: Mutex<HashMap<String, (String, Instant)>>,
    /// [`ManifestKind`]s by `registry|repo|digest`.
    kinds: Mutex<HashMap<String, ManifestKind>>,
}

impl RegistryClient {
    /// `timeout` bounds each HTTP request (one page of tags, one HEAD, one token).
    pub fn new(timeout: Duration) -> Self {
        Self {
            clients: Clients::new(ClientOptions::new(timeout)),
            tokens: Mutex::new(HashMap::new()),
            kinds: Mutex::new(HashMap::new()),
        }
    }

    /// The digest the registry reports for `repo:reference`, or None when it has no such manifest.
    pub async fn manifest_digest(
        &self,
        reach: &Reach,
        repo: &str,
        reference: &str,
    ) -> Result<Option<String>, RegistryError> {
        Ok(self.manifest_head(reach, repo, reference).await?.digest)
    }

    /// [`Self::manifest_digest`] with the pull limit the registry reported on the way (Docker
    /// Hub's `ratelimit-remaining` / `ratelimit-limit`; the HEAD itself is not counted).
    pub async fn manifest_head(
        &self,
        reach: &Reach,
        repo: &str,
        reference: &str,
    ) -> Result<ManifestHead, RegistryError> {
        let path = format!("/v2/{repo}/manifests/{reference}");
        let sent = self
            .send(reach, repo, Method::HEAD, &path, Some(MANIFEST_ACCEPT))
            .await?;
        let resp = sent.response;
        let rate_limit = RateLimit::from_headers(resp.headers());
        let (digest, media_type) = match resp.status() {
            s if s.is_success() => (
                header(resp.headers(), "docker-content-digest"),
                header(resp.headers(), "content-type"),
            ),
            StatusCode::NOT_FOUND => (None, None),
            _ => return Err(status_error(resp, &format!("{}{path}", sent.base)).await),
        };
        Ok(ManifestHead {
            digest,
            media_type,
            rate_limit,
        })
    }

    /// `GET` of the manifest `repo:reference` with the `Accept` list of every type we copy; None
    /// when there is no such manifest. A GET of a manifest counts as a pull on Docker Hub.
    pub async fn manifest(
        &self,
        reach: &Reach,
        repo: &str,
        reference: &str,
    ) -> Result<Option<Manifest>, RegistryError> {
        let path = format!("/v2/{repo}/manifests/{reference}");
        let sent = self
            .send(reach, repo, Method::GET, &path, Some(MANIFEST_ACCEPT))
            .await?;
        let resp = sent.response;
        match resp.status() {
            s if s.is_success() => {}
            StatusCode::NOT_FOUND => return Ok(None),
            _ => return Err(status_error(resp, &format!("{}{path}", sent.base)).await),
        }
        let media_type = header(resp.headers(), "content-type");
        let digest = header(resp.headers(), "docker-content-digest");
        let body = resp.bytes().await?.to_vec();
        Ok(Some(Manifest {
            media_type,
            digest,
            body,
        }))
    }

    /// Whether the manifest `repo@digest` is a single image or an index, and the index's
    /// entries. Remembered per registry, repository and digest (a manifest's digest fixes its
    /// content), so only the first look at an index costs a `GET`.
    pub async fn manifest_kind(
        &self,
        reach: &Reach,
        repo: &str,
        digest: &str,
    ) -> Result<ManifestKind, RegistryError> {
        let key = format!("{}|{repo}|{digest}", reach.host);
        if let Some(kind) = self.kinds.lock().expect("manifest cache lock").get(&key) {
            return Ok(kind.clone());
        }
        let Some(manifest) = self.manifest(reach, repo, digest).await? else {
            return Ok(ManifestKind::Missing);
        };
        let kind =
            match parse_index(manifest.media_type.as_deref(), &manifest.body).map_err(|reason| {
                RegistryError::Invalid {
                    url: format!("{}/v2/{repo}/manifests/{digest}", reach.host),
                    reason,
                }
            })? {
                Some(entries) => ManifestKind::Index(Arc::new(entries)),
                None => ManifestKind::Image,
            };
        let mut kinds = self.kinds.lock().expect("manifest cache lock");
        if kinds.len() >= MANIFEST_CACHE {
            kinds.clear();
        }
        kinds.insert(key, kind.clone());
        Ok(kind)
    }

    /// Every tag of `repo`, in the registry's order, following `Link` pages. More than `limit`
    /// tags is an error ([`RegistryError::TooManyTags`]) rather than a silently short list.
    pub async fn list_tags(
        &self,
        reach: &Reach,
        repo: &str,
        limit: usize,
    ) -> Result<Vec<String>, RegistryError> {
        let plain = format!("/v2/{repo}/tags/list");
        let mut path = format!("{plain}?n={TAGS_PAGE_SIZE}");
        let mut tags = Vec::new();
        let mut first = true;
        for _ in 0..MAX_PAGES {
            let sent = self.send(reach, repo, Method::GET, &path, None).await?;
            let (resp, base) = (sent.response, sent.base);
            let url = format!("{base}{path}");
            if first && resp.status() == StatusCode::BAD_REQUEST {
                // A registry that refuses `n` (or our value of it) pages by itself.
                first = false;
                path = plain.clone();
                continue;
            }
            first = false;
            if !resp.status().is_success() {
                return Err(status_error(resp, &url).await);
            }
            let next = next_link(resp.headers());
            let page: TagList = resp.json().await.map_err(|e| RegistryError::Invalid {
                url: url.clone(),
                reason: format!("not a tag list: {}", error_chain(&e)),
            })?;
            tags.extend(page.tags.unwrap_or_default());
            if tags.len() > limit {
                return Err(RegistryError::TooManyTags { limit });
            }
            match next {
                None => return Ok(tags),
                Some(link) => {
                    let next_url =
                        resolve_link(&base, &link).ok_or_else(|| RegistryError::Invalid {
                            url: url.clone(),
                            reason: format!("next page link `{link}` leaves {base}"),
                        })?;
                    let next_path = next_url[base.len()..].to_owned();
                    if next_path == path {
                        return Ok(tags);
                    }
                    path = next_path;
                }
            }
        }
        Err(RegistryError::Invalid {
            url: format!("{}{path}", reach.host),
            reason: format!("more than {MAX_PAGES} pages of tags"),
        })
    }

    /// Sends a request to `path` on the registry (the scheme chosen by [`Clients::send`]),
    /// answering a 401 challenge once (Basic or Bearer) and remembering the answer.
    async fn send(
        &self,
        reach: &Reach,
        repo: &str,
        method: Method,
        path: &str,
        accept: Option<&str>,
    ) -> Result<Sent, RegistryError> {
        let cache_key = format!("{}|{repo}", reach.host);
        let request = |auth: Option<String>| {
            let method = method.clone();
            move |client: &Client, base: &str| {
                let mut req = client.request(method.clone(), format!("{base}{path}"));
                if let Some(accept) = accept {
                    req = req.header(ACCEPT, accept);
                }
                if let Some(a) = &auth {
                    req = req.header(AUTHORIZATION, a);
                }
                req
            }
        };
        // A Bearer token is per repository; Basic credentials, once asked for, hold for the host.
        let cached = self
            .cached_token(&cache_key)
            .or_else(|| self.cached_token(&reach.host));
        let mut sent = self
            .clients
            .send(reach, request(cached))
            .await
            .map_err(|e| RegistryError::Http(e.into_error()))?;
        if sent.response.status() == StatusCode::UNAUTHORIZED {
            let client = self.clients.client(reach, sent.scheme);
            let auth = self
                .authorize(&client, reach, repo, sent.response.headers(), &cache_key)
                .await?;
            sent = self
                .clients
                .send(reach, request(Some(auth)))
                .await
                .map_err(|e| RegistryError::Http(e.into_error()))?;
        }
        if sent.response.status() == StatusCode::UNAUTHORIZED {
            return Err(RegistryError::Unauthorized(sent.response.status()));
        }
        Ok(sent)
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
        reach: &Reach,
        repo: &str,
        headers: &HeaderMap,
        cache_key: &str,
    ) -> Result<String, RegistryError> {
        let challenge = headers
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .map(Challenge::parse)
            .ok_or(RegistryError::Unauthorized(StatusCode::UNAUTHORIZED))?;
        match challenge {
            Challenge::Basic => {
                let value = reach
                    .credentials
                    .as_ref()
                    .map(|(user, password)| basic_auth(user, password))
                    .ok_or(RegistryError::Unauthorized(StatusCode::UNAUTHORIZED))?;
                self.remember(&reach.host, &value, Duration::from_secs(3600));
                Ok(value)
            }
            Challenge::Bearer { realm, service } => {
                let scope = format!("repository:{repo}:pull");
                let token = token::fetch(
                    client,
                    &realm,
                    service.as_deref(),
                    Some(&scope),
                    reach.credentials.as_ref(),
                )
                .await?;
                let value = format!("Bearer {}", token.value.expose_secret());
                self.remember(cache_key, &value, token.renew_after());
                Ok(value)
            }
        }
    }
}

/// `Basic base64(user:password)`.
pub fn basic_auth(user: &str, password: &SecretString) -> String {
    use base64::Engine;
    let raw = format!("{user}:{}", password.expose_secret());
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

/// A header's value as text.
fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// An unsuccessful answer as an error, with the registry's `{"errors": [{code, message}]}`.
async fn status_error(resp: Response, url: &str) -> RegistryError {
    let status = resp.status();
    if status == StatusCode::UNAUTHORIZED {
        return RegistryError::Unauthorized(status);
    }
    let wait = retry_after(resp.headers());
    let body: Option<ErrorBody> = resp.json().await.ok();
    let first = body.and_then(|b| b.errors.into_iter().next());
    RegistryError::Status {
        status,
        url: url.to_owned(),
        code: first.as_ref().and_then(|e| e.code.clone()),
        message: first.and_then(|e| e.message),
        retry_after: wait,
    }
}

/// The target of `Link: <...>; rel="next"`, if any.
fn next_link(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find(|part| {
            part.split(';').skip(1).any(|param| {
                let param = param.trim().replace(' ', "");
                param.eq_ignore_ascii_case("rel=\"next\"") || param.eq_ignore_ascii_case("rel=next")
            })
        })
        .and_then(|part| {
            let start = part.find('<')? + 1;
            let end = part[start..].find('>')? + start;
            Some(part[start..end].trim().to_owned())
        })
}

/// A next-page link made absolute; None when it points to another host (credentials and tokens
/// must not follow it there).
fn resolve_link(base: &str, link: &str) -> Option<String> {
    if link.starts_with("http://") || link.starts_with("https://") {
        let same_origin = link
            .strip_prefix(base)
            .is_some_and(|rest| rest.starts_with('/'));
        return same_origin.then(|| link.to_owned());
    }
    link.starts_with('/').then(|| format!("{base}{link}"))
}

#[derive(serde::Deserialize)]
struct TagList {
    tags: Option<Vec<String>>,
}

#[derive(serde::Deserialize)]
struct ErrorBody {
    #[serde(default)]
    errors: Vec<ErrorEntry>,
}

#[derive(serde::Deserialize)]
struct ErrorEntry {
    code: Option<String>,
    message: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(links: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for l in links {
            h.append(LINK, HeaderValue::from_str(l).unwrap());
        }
        h
    }

    #[test]
    fn next_links_in_the_spec_and_in_the_wild() {
        assert_eq!(
            next_link(&headers(&[r#"</v2/x/tags/list?last=b&n=2>; rel="next""#])).as_deref(),
            Some("/v2/x/tags/list?last=b&n=2")
        );
        assert_eq!(
            next_link(&headers(&[
                r#"<https://h.io/v2/x/tags/list?last=b>; rel=next, </other>; rel="prev""#
            ]))
            .as_deref(),
            Some("https://h.io/v2/x/tags/list?last=b")
        );
        assert_eq!(
            next_link(&headers(&[
                r#"</prev>; rel="prev""#,
                r#"</next>;rel="next""#
            ]))
            .as_deref(),
            Some("/next")
        );
        assert_eq!(next_link(&headers(&[r#"</x>; rel="prev""#])), None);
        assert_eq!(next_link(&HeaderMap::new()), None);
    }

    #[test]
    fn links_stay_on_the_registry() {
        let base = "https://h.io";
        assert_eq!(
            resolve_link(base, "/v2/x/tags/list?last=a").as_deref(),
            Some("https://h.io/v2/x/tags/list?last=a")
        );
        assert_eq!(
            resolve_link(base, "https://h.io/v2/x/tags/list?last=a").as_deref(),
            Some("https://h.io/v2/x/tags/list?last=a")
        );
        assert_eq!(resolve_link(base, "https://evil.io/v2/x"), None);
        assert_eq!(resolve_link(base, "https://h.io.evil.io/v2/x"), None);
        assert_eq!(resolve_link(base, "v2/x"), None);
    }

    #[test]
    fn status_errors_map_to_problems() {
        let status =
            |status: StatusCode, code: Option<&str>, message: Option<&str>| RegistryError::Status {
                status,
                url: "https://h.io/v2/x/tags/list".into(),
                code: code.map(str::to_owned),
                message: message.map(str::to_owned),
                retry_after: None,
            };
        let e = status(
            StatusCode::NOT_FOUND,
            Some("NAME_UNKNOWN"),
            Some("repository name not known to registry"),
        );
        assert_eq!(e.problem(), Some(Problem::NameUnknown));
        assert_eq!(
            e.to_string(),
            "HTTP 404 Not Found NAME_UNKNOWN: repository name not known to registry from \
             https://h.io/v2/x/tags/list"
        );
        let e = status(
            StatusCode::FORBIDDEN,
            Some("DENIED"),
            Some("namespace x does not exist"),
        );
        assert_eq!(
            e.problem(),
            Some(Problem::Denied(Some("namespace x does not exist".into())))
        );
        assert_eq!(
            status(StatusCode::TOO_MANY_REQUESTS, None, None).problem(),
            Some(Problem::RateLimited)
        );
        assert_eq!(status(StatusCode::BAD_GATEWAY, None, None).problem(), None);
        assert_eq!(
            RegistryError::Token {
                status: Some(StatusCode::UNAUTHORIZED),
                reason: "HTTP 401 from realm".into()
            }
            .problem(),
            Some(Problem::Unauthorized)
        );
    }

    #[test]
    fn indexes_and_manifest_lists_are_told_from_single_images() {
        let oci = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",
            "manifests":[
              {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:a","size":1,
               "platform":{"architecture":"amd64","os":"linux"}},
              {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:b","size":1,
               "platform":{"architecture":"arm64","os":"linux","variant":"v8"}},
              {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:c","size":1}]}"#;
        let entries = parse_index(Some("application/vnd.oci.image.index.v1+json"), oci)
            .unwrap()
            .unwrap();
        assert_eq!(
            entries,
            [
                IndexEntry {
                    digest: "sha256:a".into(),
                    platform: Some(Platform::new("linux", "amd64", None))
                },
                IndexEntry {
                    digest: "sha256:b".into(),
                    platform: Some(Platform::new("linux", "arm64", Some("v8")))
                },
                IndexEntry {
                    digest: "sha256:c".into(),
                    platform: None
                },
            ]
        );
        // By its own mediaType when the Content-Type says nothing useful.
        assert!(parse_index(Some("application/json"), oci)
            .unwrap()
            .is_some());
        let list = br#"{"schemaVersion":2,
            "mediaType":"application/vnd.docker.distribution.manifest.list.v2+json",
            "manifests":[{"digest":"sha256:d","platform":{"architecture":"arm","os":"linux","variant":""}}]}"#;
        let entries = parse_index(None, list).unwrap().unwrap();
        assert_eq!(
            entries[0].platform,
            Some(Platform::new("linux", "arm", None))
        );
        // An OCI index may leave mediaType out.
        assert!(parse_index(None, br#"{"schemaVersion":2,"manifests":[]}"#)
            .unwrap()
            .is_some());
        let image =
            br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
            "config":{"digest":"sha256:e"},"layers":[]}"#;
        assert_eq!(
            parse_index(Some("application/vnd.oci.image.manifest.v1+json"), image).unwrap(),
            None
        );
        assert_eq!(parse_index(None, image).unwrap(), None);
        assert!(parse_index(None, b"<html>").is_err());
        assert!(is_index_media_type(
            "application/vnd.docker.distribution.manifest.list.v2+json; charset=utf-8"
        ));
        assert!(!is_index_media_type(
            "application/vnd.docker.distribution.manifest.v2+json"
        ));
    }

    #[test]
    fn rate_limit_headers_in_docker_hub_form_and_bare() {
        assert_eq!(parse_quota("76;w=21600"), Some((76, Some(21600))));
        assert_eq!(parse_quota(" 100 ; w=21600 "), Some((100, Some(21600))));
        assert_eq!(parse_quota("5"), Some((5, None)));
        assert_eq!(parse_quota("5;foo=bar"), Some((5, None)));
        assert_eq!(parse_quota("lots"), None);
        assert_eq!(parse_quota(""), None);

        let mut h = HeaderMap::new();
        assert_eq!(RateLimit::from_headers(&h), None);
        h.insert("ratelimit-limit", "100;w=21600".parse().unwrap());
        assert_eq!(
            RateLimit::from_headers(&h),
            None,
            "no remaining, no limit known"
        );
        h.insert("ratelimit-remaining", "3;w=21600".parse().unwrap());
        assert_eq!(
            RateLimit::from_headers(&h),
            Some(RateLimit {
                remaining: 3,
                limit: Some(100),
                window_s: Some(21600)
            })
        );
        h.insert("ratelimit-remaining", "7".parse().unwrap());
        assert_eq!(
            RateLimit::from_headers(&h),
            Some(RateLimit {
                remaining: 7,
                limit: Some(100),
                window_s: Some(21600)
            })
        );
        h.insert("retry-after", "30".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(30)));
    }
}
