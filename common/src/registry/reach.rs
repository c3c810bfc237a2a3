//! How a registry is reached: the one rule for scheme, certificate checks and proxy, used by the
//! digest HEAD, the tag listing, Harbor's API, the connection test and skopeo's arguments.
//!
//! - `url: http://host` is plain HTTP;
//! - `url: https://host` or a bare `host` is HTTPS with verified certificates;
//! - `insecure: true` (or `SKOPEO_DISABLE_SSL_VERIFY`) on such a url means what it means to skopeo
//!   (`--tls-verify=false`) and to Docker's `insecure-registries`: HTTPS without certificate
//!   checks, and plain HTTP when the registry does not speak TLS.
//!
//! The scheme that answered is remembered per registry for the life of the process
//! ([`Clients`]), so an insecure plain-HTTP registry costs one failed TLS attempt, not one per
//! request.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use reqwest::{Client, RequestBuilder, Response};
use secrecy::SecretString;

use crate::config::{ProxyConfig, RegistryConfig};
use crate::registry::explain::Problem;

/// How a registry is spoken to, from its `url` and `insecure`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// `url: http://host`.
    PlainHttp,
    /// `url: https://host` or a bare host.
    Https,
    /// `insecure: true` on an https or bare url: HTTPS unverified, else plain HTTP.
    Insecure,
}

impl Transport {
    /// The schemes to try, in order.
    pub fn schemes(self) -> &'static [Scheme] {
        match self {
            Transport::PlainHttp => &[Scheme::Http],
            Transport::Https => &[Scheme::Https],
            Transport::Insecure => &[Scheme::HttpsUnverified, Scheme::Http],
        }
    }

    /// skopeo's `--src-tls-verify` / `--dest-tls-verify`: false makes skopeo skip certificate
    /// checks and fall back to plain HTTP, the same rule as [`Transport::Insecure`].
    pub fn tls_verify(self) -> bool {
        self == Transport::Https
    }

    /// How a registry is spoken to: as its entry says, or for a host without one verified HTTPS
    /// (`insecure_default`: `SKOPEO_DISABLE_SSL_VERIFY` was set, and it is insecure).
    pub fn for_registry(config: Option<&RegistryConfig>, insecure_default: bool) -> Transport {
        match config {
            Some(r) => r.transport(),
            None if insecure_default => Transport::Insecure,
            None => Transport::Https,
        }
    }
}

/// One way of sending a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    Https,
    HttpsUnverified,
    Http,
}

impl Scheme {
    pub fn url_scheme(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https | Scheme::HttpsUnverified => "https",
        }
    }

    fn verifies(self) -> bool {
        self == Scheme::Https
    }
}

impl fmt::Display for Scheme {
    /// How the connection test and the logs name it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scheme::Https => "HTTPS",
            Scheme::HttpsUnverified => "HTTPS without certificate checks (insecure)",
            Scheme::Http => "plain HTTP",
        })
    }
}

/// Everything needed to talk to one registry.
#[derive(Debug, Clone)]
pub struct Reach {
    /// `host[:port]` of the registry's API: `registry-1.docker.io` for Docker Hub.
    pub host: String,
    pub transport: Transport,
    pub credentials: Option<(String, SecretString)>,
    /// The registry's own proxy; None uses `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY`.
    pub proxy: Option<ProxyConfig>,
}

impl Reach {
    /// For a configured registry, or anonymous verified HTTPS for any other host
    /// (`insecure_default`: `SKOPEO_DISABLE_SSL_VERIFY` was set).
    pub fn for_host(host: &str, config: Option<&RegistryConfig>, insecure_default: bool) -> Reach {
        match config {
            Some(r) => Reach {
                host: api_host(&r.host).to_owned(),
                transport: r.transport(),
                credentials: r.username.clone().zip(r.password.clone()),
                proxy: r.proxy.clone(),
            },
            None => Reach {
                host: api_host(host).to_owned(),
                transport: Transport::for_registry(None, insecure_default),
                credentials: None,
                proxy: None,
            },
        }
    }

    /// `scheme://host`.
    pub fn base(&self, scheme: Scheme) -> String {
        format!("{}://{}", scheme.url_scheme(), self.host)
    }

    /// The key the scheme memory and the caches use: one registry, however it is reached.
    fn key(&self) -> String {
        format!("{:?}|{}", self.transport, self.host)
    }
}

/// Docker Hub's API does not answer at `docker.io`.
pub fn api_host(host: &str) -> &str {
    if host == "docker.io" {
        "registry-1.docker.io"
    } else {
        host
    }
}

/// How the HTTP clients are built.
#[derive(Debug, Clone, Copy)]
pub struct ClientOptions {
    /// Bounds each request.
    pub timeout: Duration,
    /// Bounds the TCP connect and TLS handshake; None leaves it to `timeout`.
    pub connect_timeout: Option<Duration>,
    /// Follow redirects (blob and tag pages may redirect; Harbor's API and /v2/ never should).
    pub follow_redirects: bool,
}

impl ClientOptions {
    pub fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            connect_timeout: None,
            follow_redirects: true,
        }
    }
}

/// A request went out on `scheme` and got an answer.
pub struct Sent {
    pub response: Response,
    pub scheme: Scheme,
    /// `scheme://host`, to resolve relative links against.
    pub base: String,
}

/// Why no scheme got an answer: the error of each one tried, first the preferred one.
#[derive(Debug)]
pub struct Unanswered {
    pub attempts: Vec<(Scheme, reqwest::Error)>,
}

impl Unanswered {
    /// The error that says most: the first scheme's (HTTPS for an insecure registry), unless
    /// that one only found the registry speaks plain HTTP and the plain-HTTP try failed too.
    pub fn into_error(self) -> reqwest::Error {
        let mut attempts = self.attempts.into_iter();
        let (_, first) = attempts.next().expect("at least one scheme is tried");
        let plain_http = Problem::classify(&super::error_chain(&first)) == Some(Problem::PlainHttp);
        match attempts.next() {
            Some((Scheme::Http, second)) if plain_http => second,
            _ => first,
        }
    }
}

/// HTTP clients by certificate policy and proxy, and the scheme each registry answered on.
pub struct Clients {
    options: ClientOptions,
    built: Mutex<HashMap<(bool, Option<String>), Client>>,
    schemes: Mutex<HashMap<String, Scheme>>,
}

impl Clients {
    pub fn new(options: ClientOptions) -> Self {
        Self {
            options,
            built: Mutex::new(HashMap::new()),
            schemes: Mutex::new(HashMap::new()),
        }
    }

    /// The client for `reach` on `scheme`: its certificate policy and its proxy (or the
    /// process-wide proxy variables, which reqwest reads like skopeo does).
    pub fn client(&self, reach: &Reach, scheme: Scheme) -> Client {
        let verify = scheme.verifies();
        let proxy_key = reach.proxy.as_ref().map(ProxyConfig::cache_key);
        let mut built = self.built.lock().expect("client cache lock");
        built
            .entry((verify, proxy_key))
            .or_insert_with(|| self.build(verify, reach.proxy.as_ref()))
            .clone()
    }

    fn build(&self, verify: bool, proxy: Option<&ProxyConfig>) -> Client {
        let mut builder = Client::builder()
            .timeout(self.options.timeout)
            .danger_accept_invalid_certs(!verify)
            .user_agent(concat!("docker-image-sync/", env!("CARGO_PKG_VERSION")));
        if let Some(t) = self.options.connect_timeout {
            builder = builder.connect_timeout(t);
        }
        if !self.options.follow_redirects {
            builder = builder.redirect(reqwest::redirect::Policy::none());
        }
        if let Some(proxy) = proxy {
            builder = builder.proxy(proxy.reqwest());
        }
        builder.build().expect("the TLS backend initialises")
    }

    /// The scheme `reach` answered on before, if it did.
    fn known_scheme(&self, reach: &Reach) -> Option<Scheme> {
        self.schemes
            .lock()
            .expect("scheme memory lock")
            .get(&reach.key())
            .copied()
    }

    /// Sends `build(client, base)` on the remembered scheme, or on each of the transport's
    /// schemes in turn until one gets an answer (any HTTP status); remembers the one that did.
    /// A remembered scheme that stops answering is forgotten and the others are tried again.
    pub async fn send<F>(&self, reach: &Reach, build: F) -> Result<Sent, Unanswered>
    where
        F: Fn(&Client, &str) -> RequestBuilder,
    {
        let known = self.known_scheme(reach);
        let order: Vec<Scheme> = known
            .into_iter()
            .chain(
                reach
                    .transport
                    .schemes()
                    .iter()
                    .copied()
                    .filter(|s| Some(*s) != known),
            )
            .collect();
        let mut attempts = Vec::new();
        for scheme in order {
            let base = reach.base(scheme);
            match build(&self.client(reach, scheme), &base).send().await {
                Ok(response) => {
                    if known != Some(scheme) {
                        self.remember(reach, scheme);
                    }
                    return Ok(Sent {
                        response,
                        scheme,
                        base,
                    });
                }
                // A timeout on the remembered scheme is load, not a changed registry: trying
                // another scheme would only double the wait.
                Err(e) if e.is_timeout() && known == Some(scheme) => {
                    attempts.push((scheme, e));
                    break;
                }
                Err(e) => attempts.push((scheme, e)),
            }
        }
        if known.is_some() {
            self.forget(reach);
        }
        Err(Unanswered { attempts })
    }

    fn remember(&self, reach: &Reach, scheme: Scheme) {
        if reach.transport.schemes().len() > 1 {
            tracing::debug!(host = %reach.host, %scheme, "registry answers on this scheme");
        }
        self.schemes
            .lock()
            .expect("scheme memory lock")
            .insert(reach.key(), scheme);
    }

    fn forget(&self, reach: &Reach) {
        self.schemes
            .lock()
            .expect("scheme memory lock")
            .remove(&reach.key());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::test_registry as registry;

    #[test]
    fn the_url_and_insecure_decide_the_schemes() {
        let cases = [
            ("    url: http://10.0.0.1:5000\n", Transport::PlainHttp),
            (
                "    url: http://10.0.0.1:5000\n    insecure: true\n",
                Transport::PlainHttp,
            ),
            ("    url: harbor.example.com\n", Transport::Https),
            ("    url: https://harbor.example.com\n", Transport::Https),
            (
                "    url: 127.0.0.1:5102\n    insecure: true\n",
                Transport::Insecure,
            ),
            (
                "    url: https://harbor.example.com\n    insecure: true\n",
                Transport::Insecure,
            ),
        ];
        for (entry, want) in cases {
            let reach = Reach::for_host("x", Some(&registry(entry)), false);
            assert_eq!(reach.transport, want, "{entry}");
        }
        assert_eq!(
            Transport::Insecure.schemes(),
            [Scheme::HttpsUnverified, Scheme::Http]
        );
        assert!(!Transport::Insecure.tls_verify());
        assert!(!Transport::PlainHttp.tls_verify());
        assert!(Transport::Https.tls_verify());
    }

    #[test]
    fn docker_hub_and_unknown_hosts() {
        let hub = Reach::for_host("docker.io", None, false);
        assert_eq!(hub.base(Scheme::Https), "https://registry-1.docker.io");
        assert_eq!(hub.transport, Transport::Https);
        let other = Reach::for_host("quay.io", None, true);
        assert_eq!(other.transport, Transport::Insecure);
    }
}
