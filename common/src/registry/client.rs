//! [`RegistryClient`]: the requests themselves (manifest HEAD and GET, tag lists followed over
//! their `Link` pages), answering a 401 challenge with Basic credentials or a Bearer token, and
//! the caches of tokens and manifest kinds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, ACCEPT, AUTHORIZATION, CONTENT_TYPE, LINK, WWW_AUTHENTICATE};
use reqwest::{Client, Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};

use super::error::status_error;
use super::manifest::MANIFEST_ACCEPT;
use super::reach::{ClientOptions, Clients, Reach, Sent};
use super::{
    error_chain, parse_index, token, Challenge, Manifest, ManifestHead, ManifestKind, RateLimit,
    RegistryError,
};

/// Tags asked for per page. Registries may return fewer and link the next page; one that refuses
/// the parameter (HTTP 400) is asked again without it.
pub const TAGS_PAGE_SIZE: usize = 1000;

/// Pages followed at most, against a registry that links pages forever.
const MAX_PAGES: usize = 1000;

/// Manifests remembered by digest (their content never changes); the cache is emptied when full.
const MANIFEST_CACHE: usize = 1024;

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
    pub(super) async fn send(
        &self,
        reach: &Reach,
        repo: &str,
        method: Method,
        path: &str,
        accept: Option<&str>,
    ) -> Result<Sent, RegistryError> {
        self.exchange(
            reach,
            repo,
            Call {
                method,
                path,
                accept,
                body: None,
            },
        )
        .await
    }

    /// [`Self::send`] for any [`Call`]: one with a body asks a token service for `push` too,
    /// and its token is remembered apart from the pull-only one.
    async fn exchange(
        &self,
        reach: &Reach,
        repo: &str,
        call: Call<'_>,
    ) -> Result<Sent, RegistryError> {
        let push = call.body.is_some();
        let cache_key = format!("{}|{repo}{}", reach.host, if push { "|push" } else { "" });
        let request = |auth: Option<String>| {
            let call = &call;
            move |client: &Client, base: &str| {
                let mut req = client.request(call.method.clone(), format!("{base}{}", call.path));
                if let Some(accept) = call.accept {
                    req = req.header(ACCEPT, accept);
                }
                if let Some((body, content_type)) = &call.body {
                    req = req.header(CONTENT_TYPE, *content_type).body(body.to_vec());
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
            let scope = format!(
                "repository:{repo}:{}",
                if push { "pull,push" } else { "pull" }
            );
            let auth = self
                .authorize(&client, reach, &scope, sent.response.headers(), &cache_key)
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

    /// PUTs a manifest's exact bytes at `reference` (a tag or its digest) and returns the
    /// digest the registry gives it. For what skopeo cannot copy unchanged (a referrers-tag
    /// index, whose entries' `artifactType` it drops): the bytes, hence the digest, stay.
    pub async fn put_manifest(
        &self,
        reach: &Reach,
        repo: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<String, RegistryError> {
        let path = format!("/v2/{repo}/manifests/{reference}");
        let sent = self
            .exchange(
                reach,
                repo,
                Call {
                    method: Method::PUT,
                    path: &path,
                    accept: None,
                    body: Some((bytes, media_type)),
                },
            )
            .await?;
        let status = sent.response.status();
        if status != StatusCode::CREATED {
            let url = format!("{}{path}", reach.host);
            let body = sent.response.text().await.unwrap_or_default();
            return Err(RegistryError::Invalid {
                url,
                reason: format!("PUT answered {status}: {}", body.trim()),
            });
        }
        Ok(sent
            .response
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned())
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
        scope: &str,
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
                let token = token::fetch(
                    client,
                    &realm,
                    service.as_deref(),
                    Some(scope),
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
/// One request [`RegistryClient::exchange`] sends: a body (bytes, content type) makes it a push.
struct Call<'a> {
    method: Method,
    path: &'a str,
    accept: Option<&'a str>,
    body: Option<(&'a [u8], &'a str)>,
}

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
}
