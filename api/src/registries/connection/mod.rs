//! The connection test of one configured registry, step by step, each with a message that says
//! what works or what to change, in the UI's language:
//!
//! 1. `reachable` ([`reachable`]): a TCP connection to the registry, or to its proxy, within a
//!    few seconds ("connection refused", "no such host", no answer);
//! 2. `tls` ([`scheme`]): the first `GET /v2/`, by the rule every other request follows
//!    ([`docker_sync_common::registry::reach`]): plain HTTP for `http://`, verified HTTPS, or for
//!    `insecure: true` HTTPS without checks and then plain HTTP. It says which one answered,
//!    and on failure why (unknown authority, expired, another name, plain HTTP) and what to do;
//! 3. `api` ([`api`]): `/v2/` answers 200 or 401 like a registry;
//! 4. `auth` ([`auth`]): the configured credentials, through the flow the registry asks for
//!    (Basic, or a Bearer token from the challenge's realm);
//! 5. `project` (Harbor only, [`project`]): whether the project exists, and whether
//!    `create_project` would create it.
//!
//! The test stops at the first failing step. It uses the stored credentials (hence admin only)
//! and never puts a password in a message.

mod api;
mod auth;
mod project;
mod reachable;
mod scheme;

use std::time::Duration;

use docker_sync_common::config::RegistryConfig;
use docker_sync_common::registry::reach::{ClientOptions, Clients, Reach};
use serde::Serialize;

use crate::lang::Lang;

/// The outcome: `ok` when every step passed. Always answered with 200; `steps` ends with the
/// first failure.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = ConnectionReport)]
pub struct Report {
    pub registry: String,
    pub ok: bool,
    /// How the registry answered (`HTTPS`, `plain HTTP (insecure)`, ...), once it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transport: Option<String>,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = ConnectionStep)]
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
pub async fn test(name: &str, registry: &RegistryConfig, limits: Limits, lang: Lang) -> Report {
    let reach = Reach::for_host(&registry.host, Some(registry), false);
    let clients = Clients::new(ClientOptions {
        timeout: limits.request,
        connect_timeout: Some(limits.connect),
        // A registry answers /v2/ itself; a redirect is reported, not followed.
        follow_redirects: false,
    });
    let mut run = Run {
        name,
        registry,
        reach,
        clients,
        limits,
        lang,
        transport: None,
        steps: Vec::new(),
    };
    let ok = run.all().await.is_ok();
    Report {
        registry: name.to_owned(),
        ok,
        transport: run.transport,
        steps: run.steps,
    }
}

/// A step failed; the report holds why.
struct Stopped;

struct Run<'a> {
    name: &'a str,
    registry: &'a RegistryConfig,
    reach: Reach,
    clients: Clients,
    limits: Limits,
    lang: Lang,
    transport: Option<String>,
    steps: Vec<Step>,
}

impl Run<'_> {
    async fn all(&mut self) -> Result<(), Stopped> {
        self.reachable().await?;
        let (client, url, first) = self.scheme().await?;
        let challenge = self.api(first)?;
        self.auth(&client, &url, challenge).await?;
        if self.registry.kind == docker_sync_common::config::RegistryType::Harbor {
            self.project().await?;
        }
        Ok(())
    }

    /// The message in the UI's language.
    fn say(&self, en: String, zh: String) -> String {
        self.lang.pick(en, zh)
    }

    fn pass(&mut self, step: &'static str, message: String) {
        self.steps.push(Step {
            step,
            ok: true,
            skipped: false,
            message,
        });
    }

    fn skip(&mut self, step: &'static str, message: String) {
        self.steps.push(Step {
            step,
            ok: true,
            skipped: true,
            message,
        });
    }

    fn fail(&mut self, step: &'static str, message: String) -> Stopped {
        tracing::info!(registry = self.name, step, %message, "registry connection test failed");
        self.steps.push(Step {
            step,
            ok: false,
            skipped: false,
            message,
        });
        Stopped
    }

    /// `host[:port]` of the registry's API.
    fn host(&self) -> &str {
        &self.reach.host
    }
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
