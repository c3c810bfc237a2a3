//! Step 3, `api`: the first answer of `/v2/` looks like a registry's.

use docker_sync_common::config::RegistryType;
use docker_sync_common::registry::Challenge;
use reqwest::header::{HeaderMap, LOCATION, WWW_AUTHENTICATE};
use reqwest::{Response, StatusCode};

use super::{Run, Stopped};

impl Run<'_> {
    /// Returns the answer's challenge (None for 200).
    pub(super) fn api(&mut self, resp: Response) -> Result<Option<Challenge>, Stopped> {
        let status = resp.status();
        let headers = resp.headers();
        let version = headers
            .get("docker-distribution-api-version")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let challenge = challenge_of(headers);
        let host = self.host().to_owned();
        let hint = self.type_hint();
        let code = status.as_u16();
        let message = match (status, &challenge) {
            (StatusCode::OK, _) if version.is_some() => {
                let version = version.unwrap_or_default();
                let m = self.say(
                    format!("GET /v2/ answers 200 ({version}): a registry API, open without a login"),
                    format!("GET /v2/ 返回 200（{version}）：是仓库 API，无需登录"),
                );
                self.pass("api", m);
                return Ok(None);
            }
            (StatusCode::UNAUTHORIZED, Some(c)) => {
                let scheme = c.scheme();
                let m = self.say(
                    format!(
                        "GET /v2/ answers 401 with a {scheme} challenge: a registry API that wants \
                         a login"
                    ),
                    format!("GET /v2/ 返回 401 并要求 {scheme} 认证：是需要登录的仓库 API"),
                );
                self.pass("api", m);
                return Ok(challenge);
            }
            (StatusCode::OK, _) => self.say(
                format!(
                    "GET /v2/ answers 200 but without the `Docker-Distribution-API-Version` header \
                     of a registry: is `url` the registry's address, not a web page?{}",
                    hint.0
                ),
                format!(
                    "GET /v2/ 返回 200，但没有仓库应有的 `Docker-Distribution-API-Version` 头：`url` 是仓库地址而不是网页吗？{}",
                    hint.1
                ),
            ),
            (StatusCode::UNAUTHORIZED, None) => self.say(
                "GET /v2/ answers 401 without a `WWW-Authenticate` challenge: cannot tell how to \
                 log in; is `url` the registry's address?"
                    .to_owned(),
                "GET /v2/ 返回 401 但没有 `WWW-Authenticate` 质询：无法判断如何登录；`url` 是仓库地址吗？"
                    .to_owned(),
            ),
            (s, _) if s.is_redirection() => {
                let to = headers
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("?");
                self.say(
                    format!(
                        "GET /v2/ is redirected (HTTP {code}) to `{to}`: a registry answers /v2/ \
                         itself; write the address it redirects to in `url` (https:// or \
                         http://, host and port)"
                    ),
                    format!(
                        "GET /v2/ 被重定向（HTTP {code}）到 `{to}`：仓库应自己响应 /v2/；请把重定向的目标地址写进 `url`（https:// 或 http://，主机和端口）"
                    ),
                )
            }
            (StatusCode::NOT_FOUND, _) => self.say(
                format!("GET /v2/ answers 404: no registry API at `{host}`{}", hint.0),
                format!("GET /v2/ 返回 404：`{host}` 上没有仓库 API{}", hint.1),
            ),
            (s, _) => self.say(
                format!(
                    "GET /v2/ answers HTTP {s}: not a registry API, or the registry is failing{}",
                    hint.0
                ),
                format!("GET /v2/ 返回 HTTP {s}：不是仓库 API，或仓库出错了{}", hint.1),
            ),
        };
        Err(self.fail("api", message))
    }

    /// What to check for this type, in English and Chinese.
    fn type_hint(&self) -> (&'static str, &'static str) {
        match self.registry.kind {
            RegistryType::Nexus => (
                "; Nexus serves the Docker API only on the docker repository's connector port (or \
                 subdomain), not on its web port: check the port in `url`",
                "；Nexus 只在 docker 仓库的连接器端口（或子域名）上提供 Docker API，而不是网页端口：请检查 `url` 中的端口",
            ),
            RegistryType::Harbor => (
                "; check that `url` is the Harbor host",
                "；请确认 `url` 是 Harbor 的主机",
            ),
            _ => ("", ""),
        }
    }
}

fn challenge_of(headers: &HeaderMap) -> Option<Challenge> {
    headers
        .get(WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .map(Challenge::parse)
}
