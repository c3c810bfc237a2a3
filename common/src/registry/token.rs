//! The Bearer token flow of the distribution spec: a `GET` of the challenge's realm with the
//! service, the scope and (when configured) the credentials as Basic auth. One function for the
//! digest client and the connection test, so both ask the token service the same way.

use std::time::Duration;

use reqwest::header::AUTHORIZATION;
use reqwest::Client;
use secrecy::SecretString;

use super::{basic_auth, error_chain, RegistryError};

/// A token as the realm issued it.
pub struct Token {
    pub value: SecretString,
    /// Seconds it is valid for, when the realm said.
    pub expires_in: Option<u64>,
}

impl Token {
    /// How long to reuse it: a little less than its life (registries default to 60 s when they
    /// say nothing).
    pub fn renew_after(&self) -> Duration {
        Duration::from_secs(self.expires_in.unwrap_or(60).saturating_sub(5))
    }
}

#[derive(serde::Deserialize)]
struct TokenResponse {
    token: Option<String>,
    access_token: Option<String>,
    expires_in: Option<u64>,
}

/// Asks `realm` for a token. `scope` None asks for no repository (what `/v2/` needs).
pub async fn fetch(
    client: &Client,
    realm: &str,
    service: Option<&str>,
    scope: Option<&str>,
    credentials: Option<&(String, SecretString)>,
) -> Result<Token, RegistryError> {
    if !(realm.starts_with("https://") || realm.starts_with("http://")) {
        return Err(RegistryError::Token {
            status: None,
            reason: format!("the Bearer challenge names no usable token service (realm `{realm}`)"),
        });
    }
    let mut req = client.get(realm);
    if let Some(service) = service {
        req = req.query(&[("service", service)]);
    }
    if let Some(scope) = scope {
        req = req.query(&[("scope", scope)]);
    }
    if let Some((user, password)) = credentials {
        req = req
            .query(&[("account", user.as_str())])
            .header(AUTHORIZATION, basic_auth(user, password));
    }
    let resp = req.send().await.map_err(|e| RegistryError::Token {
        status: None,
        reason: format!(
            "cannot reach the token service `{realm}`: {}",
            error_chain(&e)
        ),
    })?;
    let status = resp.status();
    if !status.is_success() {
        return Err(RegistryError::Token {
            status: Some(status),
            reason: format!("the token service `{realm}` answered HTTP {status}"),
        });
    }
    let body: TokenResponse = resp.json().await.map_err(|e| RegistryError::Token {
        status: None,
        reason: format!(
            "the token service `{realm}` answered something else than a token: {}",
            error_chain(&e)
        ),
    })?;
    let value = body
        .token
        .or(body.access_token)
        .ok_or_else(|| RegistryError::Token {
            status: None,
            reason: format!("the token service `{realm}` answered without a token"),
        })?;
    Ok(Token {
        value: SecretString::from(value),
        expires_in: body.expires_in,
    })
}
