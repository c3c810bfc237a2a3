//! Step 2, `tls`: the first `GET /v2/`, on the schemes the registry's transport allows, in the
//! order every other request tries them. Says which one answered (the report's `transport`),
//! and for a failure, what to change.

use docker_sync_common::registry::error_chain;
use docker_sync_common::registry::explain::{Problem, TlsProblem};
use docker_sync_common::registry::reach::{Scheme, Transport};
use reqwest::{Client, Response};

use super::{innermost, Run, Stopped};

impl Run<'_> {
    /// Returns the client to go on with, the `/v2/` url it answered on, and the answer.
    pub(super) async fn scheme(&mut self) -> Result<(Client, String, Response), Stopped> {
        match self.reach.transport {
            Transport::PlainHttp => self.plain_http().await,
            Transport::Https => match self.get(Scheme::Https).await {
                Ok(answer) => {
                    let host = self.host().to_owned();
                    let m = self.say(
                        format!("the certificate of `{host}` is valid and trusted"),
                        format!("`{host}` 的证书有效且受信任"),
                    );
                    self.answered(Scheme::Https, m);
                    Ok(answer)
                }
                Err(e) if !e.is_connect() => Err(self.no_answer(&e)),
                Err(e) => {
                    let m = self.tls_failure(&e);
                    Err(self.fail("tls", m))
                }
            },
            Transport::Insecure => self.insecure().await,
        }
    }

    async fn get(&self, scheme: Scheme) -> Result<(Client, String, Response), reqwest::Error> {
        let client = self.clients.client(&self.reach, scheme);
        let url = format!("{}/v2/", self.reach.base(scheme));
        let resp = client.get(&url).send().await?;
        Ok((client, url, resp))
    }

    fn answered(&mut self, scheme: Scheme, message: String) {
        self.transport = Some(self.scheme_name(scheme));
        self.pass("tls", message);
    }

    fn scheme_name(&self, scheme: Scheme) -> String {
        let en = scheme.to_string();
        let zh = match scheme {
            Scheme::Https => "HTTPS",
            Scheme::HttpsUnverified => "HTTPS，不校验证书（insecure）",
            Scheme::Http => "明文 HTTP",
        };
        if self.reach.transport == Transport::Insecure && scheme == Scheme::Http {
            return self.say(format!("{en} (insecure)"), format!("{zh}（insecure）"));
        }
        self.say(en, zh.to_owned())
    }

    async fn plain_http(&mut self) -> Result<(Client, String, Response), Stopped> {
        let host = self.host().to_owned();
        match self.get(Scheme::Http).await {
            Ok(answer) => {
                self.transport = Some(self.scheme_name(Scheme::Http));
                let m = self.say(
                    format!("skipped: `{host}` is plain HTTP (`url: http://...`), without TLS"),
                    format!("跳过：`{host}` 使用明文 HTTP（`url: http://...`），不用 TLS"),
                );
                self.skip("tls", m);
                Ok(answer)
            }
            Err(e) => {
                let m = self.say(
                    format!(
                        "`{host}` does not answer plain HTTP ({}): if it speaks HTTPS, write \
                         `url: \"{host}\"` without `http://`",
                        innermost(&e)
                    ),
                    format!(
                        "`{host}` 不响应明文 HTTP（{}）：如果它使用 HTTPS，请把 url 写成 `{host}`，去掉 `http://`",
                        innermost(&e)
                    ),
                );
                if e.is_connect() {
                    return Err(self.fail("tls", m));
                }
                Err(self.no_answer(&e))
            }
        }
    }

    /// `insecure: true`: a verified handshake first, to tell whether insecure is needed at all,
    /// then HTTPS without checks, then plain HTTP, as skopeo does.
    async fn insecure(&mut self) -> Result<(Client, String, Response), Stopped> {
        let host = self.host().to_owned();
        let verified_error = match self.get(Scheme::Https).await {
            Ok(answer) => {
                let m = self.say(
                    format!(
                        "the certificate of `{host}` is valid and trusted (`insecure: true` is \
                         set but not needed)"
                    ),
                    format!("`{host}` 的证书有效且受信任（设置了 `insecure: true`，但并不需要）"),
                );
                self.answered(Scheme::Https, m);
                return Ok(answer);
            }
            Err(e) if !e.is_connect() => return Err(self.no_answer(&e)),
            Err(e) => e,
        };
        let why = self.tls_failure(&verified_error);
        match self.get(Scheme::HttpsUnverified).await {
            Ok(answer) => {
                let m = self.say(
                    format!(
                        "HTTPS without certificate checks (`insecure: true`); checked, it would \
                         fail: {why}"
                    ),
                    format!("HTTPS，不校验证书（`insecure: true`）；若校验则会失败：{why}"),
                );
                self.answered(Scheme::HttpsUnverified, m);
                return Ok(answer);
            }
            Err(e) if !e.is_connect() => return Err(self.no_answer(&e)),
            Err(_) => {}
        }
        match self.get(Scheme::Http).await {
            Ok(answer) => {
                let m = self.say(
                    format!(
                        "plain HTTP (insecure): `{host}` does not speak TLS, so copies and digest \
                         checks use plain HTTP, as skopeo does for an insecure registry"
                    ),
                    format!(
                        "明文 HTTP（insecure）：`{host}` 不支持 TLS，复制与摘要检查都使用明文 HTTP，与 skopeo 对 insecure 仓库的做法一致"
                    ),
                );
                self.answered(Scheme::Http, m);
                Ok(answer)
            }
            Err(e) if !e.is_connect() => Err(self.no_answer(&e)),
            Err(_) => Err(self.fail("tls", why)),
        }
    }

    /// Why the verified handshake failed: what happened, then what to do (the advice is left
    /// out when `insecure: true` already accepts it).
    pub(super) fn tls_failure(&self, e: &reqwest::Error) -> String {
        let chain = error_chain(e);
        let detail = innermost(e);
        let host = self.host();
        let name = self.name;
        let insecure = self.reach.transport == Transport::Insecure;
        let (what, advice) = match Problem::classify(&chain) {
            Some(Problem::Tls(TlsProblem::UnknownAuthority)) => (
                self.say(
                    format!(
                        "the certificate of `{host}` is signed by an unknown authority ({detail}): \
                         it is self-signed or from a private CA"
                    ),
                    format!("`{host}` 的证书由未知机构签发（{detail}）：它是自签名证书或来自私有 CA"),
                ),
                self.say(
                    format!(
                        "add the private CA to the system's CA store of the api and worker hosts \
                         (Debian: copy it to /usr/local/share/ca-certificates/ and run \
                         update-ca-certificates; skopeo reads the same store), or tick Insecure \
                         (`insecure: true` for registry `{name}`; the certificate is then not \
                         checked)"
                    ),
                    format!(
                        "把私有 CA 加入 api 和 worker 主机的系统 CA 库（Debian：复制到 /usr/local/share/ca-certificates/ 并运行 update-ca-certificates；skopeo 读取同一个库），或勾选 Insecure（为仓库 `{name}` 设置 `insecure: true`，此后不再校验证书）"
                    ),
                ),
            ),
            Some(Problem::Tls(TlsProblem::WrongName)) => (
                self.say(
                    format!("the certificate of `{host}` is issued for another host name ({detail})"),
                    format!("`{host}` 的证书签发给了另一个主机名（{detail}）"),
                ),
                self.say(
                    format!(
                        "write the name the certificate is issued for in `url`, or install a \
                         certificate that names `{host}`"
                    ),
                    format!("在 `url` 中写证书所签发的名字，或安装包含 `{host}` 的证书"),
                ),
            ),
            Some(Problem::Tls(TlsProblem::Expired)) => (
                self.say(
                    format!("the certificate of `{host}` has expired or is not valid yet ({detail})"),
                    format!("`{host}` 的证书已过期或尚未生效（{detail}）"),
                ),
                self.say(
                    "renew it, or check this machine's clock".to_owned(),
                    "请更新证书，或检查本机时钟".to_owned(),
                ),
            ),
            Some(Problem::PlainHttp) => (
                self.say(
                    format!("this registry answers plain HTTP, not HTTPS ({detail})"),
                    format!("该仓库使用明文 HTTP 而不是 HTTPS（{detail}）"),
                ),
                self.say(
                    format!("write the url as `http://{host}` or tick Insecure (`insecure: true`)"),
                    format!("把 url 写成 `http://{host}`，或勾选 Insecure（`insecure: true`）"),
                ),
            ),
            Some(Problem::Timeout) => {
                let secs = self.limits.connect.as_secs();
                (
                    self.say(
                        format!(
                            "the TLS handshake with `{host}` did not finish within {secs} s ({detail})"
                        ),
                        format!("与 `{host}` 的 TLS 握手未能在 {secs} 秒内完成（{detail}）"),
                    ),
                    String::new(),
                )
            }
            _ => (
                self.say(
                    format!("the TLS handshake with `{host}` failed: {chain}"),
                    format!("与 `{host}` 的 TLS 握手失败：{chain}"),
                ),
                String::new(),
            ),
        };
        if advice.is_empty() || insecure {
            what
        } else {
            self.say(format!("{what}; {advice}"), format!("{what}；{advice}"))
        }
    }

    /// The `GET /v2/` went out but no answer came: the `api` step fails.
    pub(super) fn no_answer(&mut self, e: &reqwest::Error) -> Stopped {
        let m = if e.is_timeout() {
            let secs = self.limits.request.as_secs();
            self.say(
                format!(
                    "GET /v2/ got no answer within {secs} s: the registry is overloaded or \
                     something between holds the request"
                ),
                format!("GET /v2/ 在 {secs} 秒内没有应答：仓库负载过高，或中间设备扣住了请求"),
            )
        } else {
            let chain = error_chain(e);
            self.say(
                format!("GET /v2/ failed: {chain}"),
                format!("GET /v2/ 失败：{chain}"),
            )
        };
        self.fail("api", m)
    }
}
