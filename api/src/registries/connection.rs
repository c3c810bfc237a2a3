//! The connection test of one configured registry, step by step, each with a message that says
//! what works or what to change:
//!
//! 1. `reachable`: a TCP connection within a few seconds ("connection refused", "no such host",
//!    no answer);
//! 2. `tls`: a verified handshake (for `https`); on failure, why (unknown authority, expired,
//!    issued for another name, plain HTTP) and what to do. Skipped for `http://` registries;
//! 3. `api`: `GET /v2/` answers 200 or 401 like a registry (a `Docker-Distribution-API-Version`
//!    header or a `WWW-Authenticate` challenge);
//! 4. `auth`: the configured credentials, through the flow the registry asks for (Basic, or a
//!    Bearer token from the challenge's realm);
//! 5. `project` (Harbor only): whether the project exists, and whether `create_project` would
//!    create it.
//!
//! The test stops at the first failing step. It uses the stored credentials (hence admin only)
//! and never puts a password in a message.

use std::time::{Duration, Instant};

use docker_sync_common::config::{RegistryConfig, RegistryType};
use docker_sync_common::explain::{Problem, TlsProblem};
use docker_sync_common::harbor::HarborClient;
use docker_sync_common::registry::{error_chain, Challenge};
use reqwest::header::{HeaderMap, LOCATION, WWW_AUTHENTICATE};
use reqwest::{Client, Response, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

/// The outcome: `ok` when every step passed. Always answered with 200; `steps` ends with the
/// first failure.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub registry: String,
    pub ok: bool,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub step: &'static str,
    pub ok: bool,
    /// The step does not apply (TLS for a plain-HTTP registry).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub skipped: bool,
    pub message: String,
}

impl Report {
    /// The first failed step's name, if any.
    pub fn failed_step(&self) -> Option<&'static str> {
        self.steps.iter().find(|s| !s.ok).map(|s| s.step)
    }
}

/// How long each part may take.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// TCP connect (and the TLS handshake).
    pub connect: Duration,
    /// One HTTP request.
    pub request: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(5),
            request: Duration::from_secs(15),
        }
    }
}

/// Runs the steps for registry `name`.
pub async fn test(name: &str, registry: &RegistryConfig, limits: Limits) -> Report {
    let mut run = Run {
        name,
        registry,
        limits,
        steps: Vec::new(),
    };
    let ok = run.all().await.is_ok();
    Report {
        registry: name.to_owned(),
        ok,
        steps: run.steps,
    }
}

/// A step failed; the report holds why.
struct Stop;

struct Run<'a> {
    name: &'a str,
    registry: &'a RegistryConfig,
    limits: Limits,
    steps: Vec<Step>,
}

/// The registry's network address, from its API base URL.
struct Endpoint {
    https: bool,
    /// `host[:port]` as in the URL.
    authority: String,
    /// For the name lookup: no brackets around an IPv6 address.
    host: String,
    port: u16,
}

impl Endpoint {
    fn of(base: &str) -> Endpoint {
        let (https, authority) = match base.split_once("://") {
            Some(("http", rest)) => (false, rest),
            Some((_, rest)) => (true, rest),
            None => (true, base),
        };
        let default_port = if https { 443 } else { 80 };
        let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
            // [v6]:port
            let (h, after) = rest.split_once(']').unwrap_or((rest, ""));
            let port = after.strip_prefix(':').and_then(|p| p.parse().ok());
            (h.to_owned(), port.unwrap_or(default_port))
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) if p.parse::<u16>().is_ok() => {
                    (h.to_owned(), p.parse().unwrap_or(default_port))
                }
                _ => (authority.to_owned(), default_port),
            }
        };
        Endpoint {
            https,
            authority: authority.to_owned(),
            host,
            port,
        }
    }
}

impl Run<'_> {
    fn pass(&mut self, step: &'static str, message: String) {
        self.steps.push(Step {
            step,
            ok: true,
            skipped: false,
            message,
        });
    }

    fn fail(&mut self, step: &'static str, message: String) -> Stop {
        tracing::info!(registry = self.name, step, %message, "registry connection test failed");
        self.steps.push(Step {
            step,
            ok: false,
            skipped: false,
            message,
        });
        Stop
    }

    fn client(&self, verify: bool) -> Client {
        Client::builder()
            .connect_timeout(self.limits.connect)
            .timeout(self.limits.request)
            .danger_accept_invalid_certs(!verify)
            // A registry answers /v2/ itself; a redirect is reported, not followed.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("docker-image-sync/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the TLS backend initialises")
    }

    fn credentials(&self) -> Option<(&str, &SecretString)> {
        self.registry
            .username
            .as_deref()
            .zip(self.registry.password.as_ref())
    }

    async fn all(&mut self) -> Result<(), Stop> {
        let base = self.registry.api_base();
        let endpoint = Endpoint::of(&base);
        self.reachable(&endpoint).await?;
        let url = format!("{base}/v2/");
        let (client, first) = self.tls(&endpoint, &url).await?;
        let challenge = self.api(&endpoint, first)?;
        self.auth(&client, &url, challenge).await?;
        if self.registry.kind == RegistryType::Harbor {
            self.project().await?;
        }
        Ok(())
    }

    async fn reachable(&mut self, at: &Endpoint) -> Result<(), Stop> {
        let limit = self.limits.connect;
        let started = Instant::now();
        let lookup =
            tokio::time::timeout(limit, tokio::net::lookup_host((at.host.as_str(), at.port))).await;
        let addrs: Vec<_> = match lookup {
            Err(_) => {
                return Err(self.fail(
                    "reachable",
                    format!(
                        "looking up `{}` took longer than {} s: check this machine's DNS",
                        at.host,
                        limit.as_secs()
                    ),
                ))
            }
            Ok(Err(e)) => {
                return Err(self.fail(
                    "reachable",
                    format!(
                        "no such host: `{}` cannot be resolved ({e}); check `url`",
                        at.host
                    ),
                ))
            }
            Ok(Ok(addrs)) => addrs.collect(),
        };
        let mut last_error = None;
        for addr in &addrs {
            let left = limit.saturating_sub(started.elapsed());
            match tokio::time::timeout(left, tokio::net::TcpStream::connect(addr)).await {
                Ok(Ok(_)) => {
                    let address = if addr.to_string() == at.authority {
                        String::new()
                    } else {
                        format!("{addr}, ")
                    };
                    self.pass(
                        "reachable",
                        format!(
                            "`{}` accepts connections ({address}{} ms)",
                            at.authority,
                            started.elapsed().as_millis()
                        ),
                    );
                    return Ok(());
                }
                Ok(Err(e)) => last_error = Some(e),
                Err(_) => break,
            }
        }
        let message = match last_error {
            Some(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => format!(
                "connection refused at `{}`: nothing listens on port {} there; check the port \
                 in `url` and that the registry is running",
                at.authority, at.port
            ),
            Some(e) if started.elapsed() < limit => {
                format!("cannot connect to `{}`: {e}", at.authority)
            }
            _ => format!(
                "no answer from `{}` within {} s: a firewall drops the connection, or the \
                 address is wrong",
                at.authority,
                limit.as_secs()
            ),
        };
        Err(self.fail("reachable", message))
    }

    /// The TLS step, by way of the first `GET /v2/` (whose answer the next steps read). Returns
    /// the client to go on with (verifying unless `insecure: true`) and the answer.
    async fn tls(&mut self, at: &Endpoint, url: &str) -> Result<(Client, Response), Stop> {
        let verified = self.client(true);
        let first = verified.get(url).send().await;
        if !at.https {
            self.steps.push(Step {
                step: "tls",
                ok: true,
                skipped: true,
                message: format!(
                    "skipped: `{}` is plain HTTP (`url: http://...`), without TLS",
                    at.authority
                ),
            });
            return match first {
                Ok(resp) => Ok((verified, resp)),
                Err(e) => Err(self.fail("api", self.no_answer(&e))),
            };
        }
        match first {
            Ok(resp) => {
                let note = if self.registry.insecure {
                    " (`insecure: true` is set but not needed)"
                } else {
                    ""
                };
                self.pass(
                    "tls",
                    format!(
                        "the certificate of `{}` is valid and trusted{note}",
                        at.authority
                    ),
                );
                Ok((verified, resp))
            }
            Err(e) if !e.is_connect() => {
                // The request went out, so the handshake was done; the answer failed.
                self.pass("tls", format!("TLS handshake with `{}` done", at.authority));
                Err(self.fail("api", self.no_answer(&e)))
            }
            Err(e) if !self.registry.insecure => Err(self.fail("tls", self.tls_failure(at, &e))),
            Err(e) => {
                let why = self.tls_failure(at, &e);
                let unverified = self.client(false);
                match unverified.get(url).send().await {
                    Ok(resp) => {
                        self.pass(
                            "tls",
                            format!(
                                "TLS without certificate checks (`insecure: true`); checked, it \
                                 would fail: {why}"
                            ),
                        );
                        Ok((unverified, resp))
                    }
                    Err(e) if e.is_connect() => Err(self.fail("tls", self.tls_failure(at, &e))),
                    Err(e) => {
                        self.pass(
                            "tls",
                            format!(
                                "TLS handshake with `{}` done, certificate not checked \
                                 (`insecure: true`)",
                                at.authority
                            ),
                        );
                        Err(self.fail("api", self.no_answer(&e)))
                    }
                }
            }
        }
    }

    /// Why the verified handshake failed: what happened, then what to do (the advice is left
    /// out when `insecure: true` already accepts it).
    fn tls_failure(&self, at: &Endpoint, e: &reqwest::Error) -> String {
        let chain = error_chain(e);
        let detail = innermost(e);
        let host = &at.authority;
        let name = self.name;
        let (what, advice) = match Problem::classify(&chain) {
            Some(Problem::Tls(TlsProblem::UnknownAuthority)) => (
                format!(
                    "the certificate of `{host}` is signed by an unknown authority ({detail}): \
                     it is self-signed or from a private CA"
                ),
                format!(
                    "add the private CA to the system's CA store of the api and worker hosts \
                     (Debian: copy it to /usr/local/share/ca-certificates/ and run \
                     update-ca-certificates; skopeo reads the same store), or set \
                     `insecure: true` for registry `{name}` (the certificate is then not checked)"
                ),
            ),
            Some(Problem::Tls(TlsProblem::WrongName)) => (
                format!("the certificate of `{host}` is issued for another host name ({detail})"),
                format!(
                    "write the name the certificate is issued for in `url`, or install a \
                     certificate that names `{}`",
                    at.host
                ),
            ),
            Some(Problem::Tls(TlsProblem::Expired)) => (
                format!("the certificate of `{host}` has expired or is not valid yet ({detail})"),
                "renew it, or check this machine's clock".to_owned(),
            ),
            Some(Problem::PlainHttp) => (
                format!("`{host}` answers in plain HTTP, not HTTPS ({detail})"),
                format!("write `url: \"http://{host}\"` for registry `{name}`"),
            ),
            Some(Problem::Timeout) => (
                format!(
                    "the TLS handshake with `{host}` did not finish within {} s ({detail})",
                    self.limits.connect.as_secs()
                ),
                String::new(),
            ),
            _ => (
                format!("the TLS handshake with `{host}` failed: {chain}"),
                String::new(),
            ),
        };
        if advice.is_empty() || self.registry.insecure {
            what
        } else {
            format!("{what}; {advice}")
        }
    }

    fn no_answer(&self, e: &reqwest::Error) -> String {
        if e.is_timeout() {
            format!(
                "GET /v2/ got no answer within {} s: the registry is overloaded or something \
                 between holds the request",
                self.limits.request.as_secs()
            )
        } else {
            format!("GET /v2/ failed: {}", error_chain(e))
        }
    }

    /// Checks the first answer looks like a registry; returns its challenge (None for 200).
    fn api(&mut self, at: &Endpoint, resp: Response) -> Result<Option<Challenge>, Stop> {
        let status = resp.status();
        let headers = resp.headers();
        let version = headers
            .get("docker-distribution-api-version")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let challenge = challenge_of(headers);
        let host = &at.authority;
        match (status, &challenge) {
            (StatusCode::OK, _) if version.is_some() => {
                self.pass(
                    "api",
                    format!(
                        "GET /v2/ answers 200 ({}): a registry API, open without a login",
                        version.unwrap_or_default()
                    ),
                );
                Ok(None)
            }
            (StatusCode::OK, _) => Err(self.fail(
                "api",
                format!(
                    "GET /v2/ answers 200 but without the `Docker-Distribution-API-Version` \
                     header of a registry: is `url` the registry's address, not a web page?{}",
                    self.type_hint()
                ),
            )),
            (StatusCode::UNAUTHORIZED, Some(c)) => {
                self.pass(
                    "api",
                    format!(
                        "GET /v2/ answers 401 with a {} challenge: a registry API that wants a \
                         login",
                        c.scheme()
                    ),
                );
                Ok(challenge)
            }
            (StatusCode::UNAUTHORIZED, None) => Err(self.fail(
                "api",
                "GET /v2/ answers 401 without a `WWW-Authenticate` challenge: cannot tell how to \
                 log in; is `url` the registry's address?"
                    .to_owned(),
            )),
            (s, _) if s.is_redirection() => {
                let to = headers
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("?");
                Err(self.fail(
                    "api",
                    format!(
                        "GET /v2/ is redirected (HTTP {}) to `{to}`: a registry answers /v2/ \
                         itself; write the address it redirects to in `url` (https:// or \
                         http://, host and port)",
                        s.as_u16()
                    ),
                ))
            }
            (StatusCode::NOT_FOUND, _) => Err(self.fail(
                "api",
                format!(
                    "GET /v2/ answers 404: no registry API at `{host}`{}",
                    self.type_hint()
                ),
            )),
            (s, _) => Err(self.fail(
                "api",
                format!(
                    "GET /v2/ answers HTTP {s}: not a registry API, or the registry is failing{}",
                    self.type_hint()
                ),
            )),
        }
    }

    fn type_hint(&self) -> &'static str {
        match self.registry.kind {
            RegistryType::Nexus => {
                "; Nexus serves the Docker API only on the docker repository's connector port (or \
                 subdomain), not on its web port: check the port in `url`"
            }
            RegistryType::Harbor => "; check that `url` is the Harbor host",
            _ => "",
        }
    }

    fn no_credentials(&self) -> String {
        let missing = match &self.registry.username {
            Some(user) => format!("has user `{user}` but no password"),
            None => "has no credentials".to_owned(),
        };
        format!(
            "the registry requires a login, and registry `{}` {missing}: set `username` and \
             `password` (or `password_file`) in registries.yaml",
            self.name
        )
    }

    fn refused(&self, user: &str, how: &str) -> String {
        format!(
            "the registry refused the credentials of user `{user}` ({how}): check `username` and \
             `password` of registry `{}`",
            self.name
        )
    }

    async fn auth(
        &mut self,
        client: &Client,
        url: &str,
        challenge: Option<Challenge>,
    ) -> Result<(), Stop> {
        let creds = self.credentials().map(|(u, p)| (u.to_owned(), p.clone()));
        let user = creds.as_ref().map(|(u, _)| u.clone());
        match challenge {
            None => {
                let message = match &user {
                    Some(u) => format!(
                        "/v2/ needs no login; the credentials of user `{u}` are sent when the \
                         registry asks for them"
                    ),
                    None => "/v2/ needs no login, and none is configured".to_owned(),
                };
                self.pass("auth", message);
                Ok(())
            }
            Some(Challenge::Basic) => {
                let Some((user, password)) = creds else {
                    return Err(self.fail("auth", self.no_credentials()));
                };
                let sent = client
                    .get(url)
                    .basic_auth(&user, Some(password.expose_secret()))
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status().is_success() => {
                        self.pass(
                            "auth",
                            format!(
                                "the registry accepted the credentials of user `{user}` (Basic)"
                            ),
                        );
                        Ok(())
                    }
                    Ok(r) if r.status() == StatusCode::UNAUTHORIZED => {
                        Err(self.fail("auth", self.refused(&user, "Basic, HTTP 401")))
                    }
                    Ok(r) => Err(self.fail(
                        "auth",
                        format!(
                            "GET /v2/ with the credentials of user `{user}` answers HTTP {}",
                            r.status()
                        ),
                    )),
                    Err(e) => Err(self.fail(
                        "auth",
                        format!("GET /v2/ with credentials failed: {}", error_chain(&e)),
                    )),
                }
            }
            Some(Challenge::Bearer { realm, service }) => {
                self.bearer(client, url, &realm, service.as_deref(), creds)
                    .await
            }
        }
    }

    async fn bearer(
        &mut self,
        client: &Client,
        url: &str,
        realm: &str,
        service: Option<&str>,
        creds: Option<(String, SecretString)>,
    ) -> Result<(), Stop> {
        if !(realm.starts_with("https://") || realm.starts_with("http://")) {
            return Err(self.fail(
                "auth",
                format!("the registry's Bearer challenge names no usable token service (realm `{realm}`)"),
            ));
        }
        let mut req = client.get(realm);
        if let Some(service) = service {
            req = req.query(&[("service", service)]);
        }
        if let Some((user, password)) = &creds {
            req = req
                .query(&[("account", user.as_str())])
                .basic_auth(user, Some(password.expose_secret()));
        }
        let user = creds.as_ref().map(|(u, _)| u.clone());
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                return Err(self.fail(
                    "auth",
                    format!(
                        "cannot get a token from the registry's token service `{realm}`: {}",
                        error_chain(&e)
                    ),
                ))
            }
        };
        let status = resp.status();
        if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
            let message = match &user {
                Some(u) => self.refused(
                    u,
                    &format!(
                        "Bearer: the token service `{realm}` answered HTTP {}",
                        status.as_u16()
                    ),
                ),
                None => self.no_credentials(),
            };
            return Err(self.fail("auth", message));
        }
        if !status.is_success() {
            return Err(self.fail(
                "auth",
                format!("the registry's token service `{realm}` answered HTTP {status}"),
            ));
        }
        let token = match resp.json::<TokenResponse>().await {
            Ok(TokenResponse { token: Some(t), .. })
            | Ok(TokenResponse {
                access_token: Some(t),
                ..
            }) => t,
            Ok(_) => {
                return Err(self.fail(
                    "auth",
                    format!("the token service `{realm}` answered without a token"),
                ))
            }
            Err(e) => {
                return Err(self.fail(
                    "auth",
                    format!(
                        "the token service `{realm}` answered something else than a token: {}",
                        error_chain(&e)
                    ),
                ))
            }
        };
        let check = client.get(url).bearer_auth(&token).send().await;
        match (check, &user) {
            (Ok(r), Some(u)) if r.status().is_success() => {
                self.pass(
                    "auth",
                    format!(
                        "the registry accepted the credentials of user `{u}` (Bearer token from \
                         `{realm}`)"
                    ),
                );
                Ok(())
            }
            (Ok(r), None) if r.status().is_success() => {
                self.pass(
                    "auth",
                    format!(
                        "anonymous access works (a Bearer token from `{realm}` without \
                         credentials); none are configured"
                    ),
                );
                Ok(())
            }
            (Ok(r), Some(u)) if r.status() == StatusCode::UNAUTHORIZED => Err(self.fail(
                "auth",
                self.refused(u, "Bearer: /v2/ refused the token issued for it"),
            )),
            (Ok(r), None) if r.status() == StatusCode::UNAUTHORIZED => {
                Err(self.fail("auth", self.no_credentials()))
            }
            (Ok(r), _) => Err(self.fail(
                "auth",
                format!("GET /v2/ with the token answers HTTP {}", r.status()),
            )),
            (Err(e), _) => Err(self.fail(
                "auth",
                format!("GET /v2/ with the token failed: {}", error_chain(&e)),
            )),
        }
    }

    async fn project(&mut self) -> Result<(), Stop> {
        let Some(project) = self.registry.harbor_project().map(str::to_owned) else {
            return Err(self.fail(
                "project",
                format!(
                    "registry `{}` names no Harbor project: set `project`",
                    self.name
                ),
            ));
        };
        let harbor = HarborClient::new(self.limits.request);
        match harbor.project_exists(self.registry, &project).await {
            Ok(true) => {
                self.pass("project", format!("project `{project}` exists"));
                Ok(())
            }
            Ok(false) if self.registry.create_project => {
                self.pass(
                    "project",
                    format!(
                        "project `{project}` does not exist yet; auto-create is on \
                         (`create_project: true`): it is created before the first push into it"
                    ),
                );
                Ok(())
            }
            Ok(false) => Err(self.fail(
                "project",
                format!(
                    "project `{project}` does not exist, and auto-create is off: create it in \
                     Harbor, or set `create_project: true` for registry `{}`",
                    self.name
                ),
            )),
            Err(e) => Err(self.fail("project", e.to_string())),
        }
    }
}

fn challenge_of(headers: &HeaderMap) -> Option<Challenge> {
    headers
        .get(WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .map(Challenge::parse)
}

#[derive(serde::Deserialize)]
struct TokenResponse {
    token: Option<String>,
    access_token: Option<String>,
}

/// The deepest cause: the TLS library's own words (`invalid peer certificate: UnknownIssuer`).
fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last = e;
    while let Some(s) = last.source() {
        last = s;
    }
    last.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_split_host_and_port() {
        let e = Endpoint::of("https://registry-1.docker.io");
        assert!(e.https);
        assert_eq!((e.host.as_str(), e.port), ("registry-1.docker.io", 443));
        let e = Endpoint::of("http://127.0.0.1:5000");
        assert!(!e.https);
        assert_eq!((e.host.as_str(), e.port), ("127.0.0.1", 5000));
        assert_eq!(e.authority, "127.0.0.1:5000");
        let e = Endpoint::of("https://[::1]:8443");
        assert_eq!((e.host.as_str(), e.port), ("::1", 8443));
        let e = Endpoint::of("http://[::1]");
        assert_eq!((e.host.as_str(), e.port), ("::1", 80));
    }

    #[test]
    fn steps_serialize_without_skipped_unless_set() {
        let step = Step {
            step: "reachable",
            ok: true,
            skipped: false,
            message: "m".into(),
        };
        assert_eq!(
            serde_json::to_string(&step).unwrap(),
            r#"{"step":"reachable","ok":true,"message":"m"}"#
        );
    }
}
