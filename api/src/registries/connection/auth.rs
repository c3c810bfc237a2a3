//! Step 4, `auth`: the configured credentials, through the flow `/v2/` asked for: Basic, or a
//! Bearer token from the challenge's realm (the same token fetch the digest checks use).

use docker_sync_common::registry::{error_chain, token, Challenge, RegistryError};
use reqwest::{Client, StatusCode};
use secrecy::{ExposeSecret, SecretString};

use super::{Run, Stopped};

impl Run<'_> {
    pub(super) async fn auth(
        &mut self,
        client: &Client,
        url: &str,
        challenge: Option<Challenge>,
    ) -> Result<(), Stopped> {
        let creds = self.reach.credentials.clone();
        let user = creds.as_ref().map(|(u, _)| u.clone());
        match challenge {
            None => {
                let message = match &user {
                    Some(u) => self.say(
                        format!(
                            "/v2/ needs no login; the credentials of user `{u}` are sent when the \
                             registry asks for them"
                        ),
                        format!("/v2/ 无需登录；仓库要求时会发送用户 `{u}` 的凭据"),
                    ),
                    None => self.say(
                        "/v2/ needs no login, and none is configured".to_owned(),
                        "/v2/ 无需登录，也没有配置凭据".to_owned(),
                    ),
                };
                self.pass("auth", message);
                Ok(())
            }
            Some(Challenge::Basic) => {
                let Some((user, password)) = creds else {
                    let m = self.no_credentials();
                    return Err(self.fail("auth", m));
                };
                let sent = client
                    .get(url)
                    .basic_auth(&user, Some(password.expose_secret()))
                    .send()
                    .await;
                let m = match sent {
                    Ok(r) if r.status().is_success() => {
                        let m = self.say(
                            format!(
                                "the registry accepted the credentials of user `{user}` (Basic)"
                            ),
                            format!("仓库接受了用户 `{user}` 的凭据（Basic）"),
                        );
                        self.pass("auth", m);
                        return Ok(());
                    }
                    Ok(r) if r.status() == StatusCode::UNAUTHORIZED => {
                        self.refused(&user, "Basic, HTTP 401")
                    }
                    Ok(r) => {
                        let status = r.status();
                        self.say(
                            format!("GET /v2/ with the credentials of user `{user}` answers HTTP {status}"),
                            format!("带用户 `{user}` 凭据的 GET /v2/ 返回 HTTP {status}"),
                        )
                    }
                    Err(e) => {
                        let chain = error_chain(&e);
                        self.say(
                            format!("GET /v2/ with credentials failed: {chain}"),
                            format!("带凭据的 GET /v2/ 失败：{chain}"),
                        )
                    }
                };
                Err(self.fail("auth", m))
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
    ) -> Result<(), Stopped> {
        let user = creds.as_ref().map(|(u, _)| u.clone());
        let token = match token::fetch(client, realm, service, None, creds.as_ref()).await {
            Ok(t) => t,
            Err(RegistryError::Token {
                status: Some(status @ (StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)),
                ..
            }) => {
                let code = status.as_u16();
                let m = match &user {
                    Some(u) => self.refused(
                        u,
                        &format!("Bearer: the token service `{realm}` answered HTTP {code}"),
                    ),
                    None => self.no_credentials(),
                };
                return Err(self.fail("auth", m));
            }
            Err(e) => {
                let m = self.say(e.to_string(), format!("获取令牌失败：{e}"));
                return Err(self.fail("auth", m));
            }
        };
        let check = client
            .get(url)
            .bearer_auth(token.value.expose_secret())
            .send()
            .await;
        let m = match (check, &user) {
            (Ok(r), Some(u)) if r.status().is_success() => {
                let m = self.say(
                    format!(
                        "the registry accepted the credentials of user `{u}` (Bearer token from \
                         `{realm}`)"
                    ),
                    format!("仓库接受了用户 `{u}` 的凭据（Bearer 令牌来自 `{realm}`）"),
                );
                self.pass("auth", m);
                return Ok(());
            }
            (Ok(r), None) if r.status().is_success() => {
                let m = self.say(
                    format!(
                        "anonymous access works (a Bearer token from `{realm}` without \
                         credentials); none are configured"
                    ),
                    format!("匿名访问可用（来自 `{realm}` 的无凭据 Bearer 令牌）；未配置凭据"),
                );
                self.pass("auth", m);
                return Ok(());
            }
            (Ok(r), Some(u)) if r.status() == StatusCode::UNAUTHORIZED => {
                self.refused(u, "Bearer: /v2/ refused the token issued for it")
            }
            (Ok(r), None) if r.status() == StatusCode::UNAUTHORIZED => self.no_credentials(),
            (Ok(r), _) => {
                let status = r.status();
                self.say(
                    format!("GET /v2/ with the token answers HTTP {status}"),
                    format!("带令牌的 GET /v2/ 返回 HTTP {status}"),
                )
            }
            (Err(e), _) => {
                let chain = error_chain(&e);
                self.say(
                    format!("GET /v2/ with the token failed: {chain}"),
                    format!("带令牌的 GET /v2/ 失败：{chain}"),
                )
            }
        };
        Err(self.fail("auth", m))
    }

    fn no_credentials(&self) -> String {
        let name = self.name;
        match &self.registry.username {
            Some(user) => self.say(
                format!(
                    "the registry requires a login, and registry `{name}` has user `{user}` but \
                     no password: set `password` (or `password_file`)"
                ),
                format!("仓库需要登录，而仓库 `{name}` 有用户 `{user}` 但没有密码：请设置 `password`（或 `password_file`）"),
            ),
            None => self.say(
                format!(
                    "the registry requires a login, and registry `{name}` has no credentials: set \
                     `username` and `password` (or `password_file`)"
                ),
                format!("仓库需要登录，而仓库 `{name}` 没有凭据：请设置 `username` 和 `password`（或 `password_file`）"),
            ),
        }
    }

    fn refused(&self, user: &str, how: &str) -> String {
        let name = self.name;
        self.say(
            format!(
                "the registry refused the credentials of user `{user}` ({how}): check `username` \
                 and `password` of registry `{name}`"
            ),
            format!("仓库拒绝了用户 `{user}` 的凭据（{how}）：请检查仓库 `{name}` 的 `username` 和 `password`"),
        )
    }
}
