//! Step 1, `reachable`: a TCP connection to the registry, or to the proxy it is reached through.

use std::time::Instant;

use docker_sync_common::registry::reach::Transport;

use super::{Run, Stopped};

/// A network address written `host[:port]`.
pub(super) struct Address {
    /// `host[:port]` as written.
    pub authority: String,
    /// For the name lookup: no brackets around an IPv6 address.
    pub host: String,
    pub port: u16,
}

impl Address {
    pub fn parse(authority: &str, default_port: u16) -> Address {
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
        Address {
            authority: authority.to_owned(),
            host,
            port,
        }
    }
}

/// A proxy variable of this process, if one is set: requests without a proxy of their own use it.
fn process_proxy() -> Option<&'static str> {
    [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ]
    .into_iter()
    .find(|name| std::env::var(name).is_ok_and(|v| !v.is_empty()))
}

impl Run<'_> {
    pub(super) async fn reachable(&mut self) -> Result<(), Stopped> {
        if let Some(proxy) = &self.reach.proxy {
            let shown = proxy.shown().to_owned();
            let url = reqwest::Url::parse(&shown).ok();
            let default_port = if shown.starts_with("https://") {
                443
            } else {
                80
            };
            let host = url.as_ref().and_then(|u| u.host_str()).unwrap_or("");
            let port = url.as_ref().and_then(|u| u.port()).unwrap_or(default_port);
            let address = Address::parse(&format!("{host}:{port}"), default_port);
            let what = self.say(format!("the proxy `{shown}`"), format!("代理 `{shown}`"));
            return self.connect(&address, &what, "proxy").await;
        }
        if let Some(variable) = process_proxy() {
            let message = self.say(
                format!(
                    "through the proxy of this process ({variable}): the connection is checked by \
                     the next step"
                ),
                format!("经由本进程的代理（{variable}）：连接由下一步检查"),
            );
            self.skip("reachable", message);
            return Ok(());
        }
        let default_port = match self.reach.transport {
            Transport::PlainHttp => 80,
            Transport::Https | Transport::Insecure => 443,
        };
        let address = Address::parse(self.host(), default_port);
        let what = format!("`{}`", address.authority);
        self.connect(&address, &what, "url").await
    }

    /// Connects to `at` (`what` names it in messages; `key` is the setting that holds it).
    async fn connect(&mut self, at: &Address, what: &str, key: &str) -> Result<(), Stopped> {
        let limit = self.limits.connect;
        let secs = limit.as_secs();
        let started = Instant::now();
        let lookup =
            tokio::time::timeout(limit, tokio::net::lookup_host((at.host.as_str(), at.port))).await;
        let host = &at.host;
        let addrs: Vec<_> = match lookup {
            Err(_) => {
                let m = self.say(
                    format!(
                        "looking up `{host}` took longer than {secs} s: check this machine's DNS"
                    ),
                    format!("解析 `{host}` 超过 {secs} 秒：请检查本机的 DNS"),
                );
                return Err(self.fail("reachable", m));
            }
            Ok(Err(e)) => {
                let m = self.say(
                    format!("no such host: `{host}` cannot be resolved ({e}); check `{key}`"),
                    format!("找不到主机：无法解析 `{host}`（{e}）；请检查 `{key}`"),
                );
                return Err(self.fail("reachable", m));
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
                    let ms = started.elapsed().as_millis();
                    let m = self.say(
                        format!("{what} accepts connections ({address}{ms} ms)"),
                        format!("{what} 可以连接（{address}{ms} 毫秒）"),
                    );
                    self.pass("reachable", m);
                    return Ok(());
                }
                Ok(Err(e)) => last_error = Some(e),
                Err(_) => break,
            }
        }
        let port = at.port;
        let message = match last_error {
            Some(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => self.say(
                format!(
                    "connection refused at {what}: nothing listens on port {port} there; check \
                     the port in `{key}` and that it is running"
                ),
                format!("{what} 拒绝连接：端口 {port} 上没有服务在监听；请检查 `{key}` 中的端口以及它是否在运行"),
            ),
            Some(e) if started.elapsed() < limit => self.say(
                format!("cannot connect to {what}: {e}"),
                format!("无法连接 {what}：{e}"),
            ),
            _ => self.say(
                format!(
                    "no answer from {what} within {secs} s: a firewall drops the connection, or \
                     the address is wrong"
                ),
                format!("{what} 在 {secs} 秒内没有应答：可能被防火墙丢弃，或地址有误"),
            ),
        };
        Err(self.fail("reachable", message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_split_host_and_port() {
        let a = Address::parse("registry-1.docker.io", 443);
        assert_eq!((a.host.as_str(), a.port), ("registry-1.docker.io", 443));
        let a = Address::parse("127.0.0.1:5000", 80);
        assert_eq!((a.host.as_str(), a.port), ("127.0.0.1", 5000));
        assert_eq!(a.authority, "127.0.0.1:5000");
        let a = Address::parse("[::1]:8443", 443);
        assert_eq!((a.host.as_str(), a.port), ("::1", 8443));
        let a = Address::parse("[::1]", 80);
        assert_eq!((a.host.as_str(), a.port), ("::1", 80));
    }
}
