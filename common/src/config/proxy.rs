//! A registry's own proxy (`proxy: http://user:pass@proxy:3128`, `no_proxy: ...`). Its password is
//! a secret like a registry password: never logged (Debug shows the url without it), never in a
//! process's argv (skopeo gets it through `HTTPS_PROXY` in its environment), sealed when stored
//! through the api.

use std::fmt;

use reqwest::Url;
use secrecy::{ExposeSecret, SecretString};

#[derive(Clone)]
pub struct ProxyConfig {
    /// The url as written, credentials included.
    url: SecretString,
    /// The url without the password: `http://user@proxy:3128`.
    shown: String,
    /// Hosts reached without this proxy (the `NO_PROXY` syntax: `a.example.com,.corp,10.0.0.0/8`),
    /// e.g. a token service inside the network.
    pub no_proxy: Option<String>,
}

impl fmt::Debug for ProxyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyConfig")
            .field("url", &self.shown)
            .field("has_password", &self.has_password())
            .field("no_proxy", &self.no_proxy)
            .finish()
    }
}

impl ProxyConfig {
    /// Checks `url` (`http://` or `https://`, a host, optionally a port and `user:password@`, no
    /// path).
    pub fn parse(url: &str, no_proxy: Option<String>) -> Result<ProxyConfig, String> {
        let written = url.trim();
        // Never echo the url: it may hold a password.
        let parsed = Url::parse(written).map_err(|e| {
            format!("`proxy` must be a url such as http://proxy.example.com:3128 ({e})")
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(format!(
                "`proxy` must start with http:// or https:// (an HTTP proxy, as skopeo takes \
                 through HTTPS_PROXY), not `{}://`",
                parsed.scheme()
            ));
        }
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err("`proxy` names no host".into());
        }
        if !matches!(parsed.path(), "" | "/") || parsed.query().is_some() {
            return Err("`proxy` is a host and port without a path".into());
        }
        let mut shown = parsed.clone();
        let _ = shown.set_password(None);
        let no_proxy = no_proxy
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty());
        if let Some(n) = &no_proxy {
            if n.chars().any(|c| c.is_whitespace() && c != ' ') {
                return Err("`no_proxy` is one line: hosts separated by commas".into());
            }
        }
        Ok(ProxyConfig {
            url: SecretString::from(written.trim_end_matches('/').to_owned()),
            shown: shown.as_str().trim_end_matches('/').to_owned(),
            no_proxy,
        })
    }

    /// The same proxy with `password` put back into the url (a stored record keeps it sealed).
    pub fn with_password(&self, password: &SecretString) -> Result<ProxyConfig, String> {
        let mut url = Url::parse(&self.shown).map_err(|e| e.to_string())?;
        url.set_password(Some(password.expose_secret()))
            .map_err(|()| "a proxy password needs a user name in the url".to_owned())?;
        ProxyConfig::parse(url.as_str(), self.no_proxy.clone())
    }

    /// The url without its password, safe to show and to log.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    pub fn has_password(&self) -> bool {
        self.password().is_some()
    }

    /// The password in the url, percent-decoded.
    pub fn password(&self) -> Option<SecretString> {
        let url = Url::parse(self.url.expose_secret()).ok()?;
        let password = url.password()?;
        let decoded = percent_encoding::percent_decode_str(password).decode_utf8_lossy();
        Some(SecretString::from(decoded.into_owned()))
    }

    /// The proxy for reqwest; its credentials go in `Proxy-Authorization`.
    pub fn reqwest(&self) -> reqwest::Proxy {
        let proxy =
            reqwest::Proxy::all(self.url.expose_secret()).expect("the url was checked at parse");
        proxy.no_proxy(
            self.no_proxy
                .as_deref()
                .and_then(reqwest::NoProxy::from_string),
        )
    }

    /// The url with credentials, for a child's `HTTPS_PROXY` (never its argv).
    pub fn env_value(&self) -> &str {
        self.url.expose_secret()
    }

    /// Tells two proxies apart without exposing either.
    pub(crate) fn cache_key(&self) -> String {
        format!(
            "{}|{}",
            self.url.expose_secret(),
            self.no_proxy.as_deref().unwrap_or("")
        )
    }

    /// Whether two registries name the same proxy, credentials included.
    pub fn same_as(&self, other: &ProxyConfig) -> bool {
        self.url.expose_secret() == other.url.expose_secret()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_kept_out_of_what_is_shown() {
        let p = ProxyConfig::parse("http://bob:s%40cret@proxy.corp:3128", None).unwrap();
        assert_eq!(p.shown(), "http://bob@proxy.corp:3128");
        assert_eq!(p.password().unwrap().expose_secret(), "s@cret");
        assert!(!format!("{p:?}").contains("cret"));
        let back = ProxyConfig::parse("http://bob@proxy.corp:3128", None)
            .unwrap()
            .with_password(&SecretString::from("s@cret".to_owned()))
            .unwrap();
        assert!(back.same_as(&p));
        assert!(!ProxyConfig::parse("http://proxy:3128", None)
            .unwrap()
            .has_password());
    }

    #[test]
    fn bad_proxies_are_named_without_echoing_them() {
        let e = ProxyConfig::parse("socks5://u:topsecret@p:1080", None).unwrap_err();
        assert!(e.contains("http://"), "{e}");
        assert!(!e.contains("topsecret"), "{e}");
        assert!(ProxyConfig::parse("proxy.corp:3128", None).is_err());
        assert!(ProxyConfig::parse("http://proxy.corp:3128/path", None).is_err());
    }
}
