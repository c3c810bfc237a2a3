//! Webhooks: endpoints an admin registers, told when a job ends or a scheduled run is skipped.
//!
//! Nothing is sent from the code path that notices the event. A job's end is written to the
//! job-ends stream by the script that ends it ([`crate::jobs::ends`] reads it, [`notifier`]
//! turns each end into deliveries); a skipped fire is queued by the scheduler. Deliveries wait in Redis ([`deliveries`]) until [`sender`]
//! (on every api replica, each delivery claimed by one) has sent them, retrying with backoff, so
//! an api restart loses none. [`format`] renders the generic signed JSON and the chat robots'
//! messages; [`store`] keeps endpoints with their URL and secret sealed.

pub mod deliveries;
pub mod format;
pub mod notifier;
pub mod sender;
pub mod store;

use serde::{Deserialize, Serialize};

/// What an endpoint can be told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Event {
    /// A job ended, whatever its result.
    #[serde(rename = "job.finished")]
    JobFinished,
    /// A job ended `failed` or `partial`.
    #[serde(rename = "job.failed")]
    JobFailed,
    /// A schedule's fire started no job (previous run still going, missed, rule invalid).
    #[serde(rename = "rule.skipped")]
    RuleSkipped,
    /// "Send test".
    #[serde(rename = "ping")]
    Ping,
}

impl Event {
    pub fn as_str(self) -> &'static str {
        match self {
            Event::JobFinished => "job.finished",
            Event::JobFailed => "job.failed",
            Event::RuleSkipped => "rule.skipped",
            Event::Ping => "ping",
        }
    }
}

/// The body an endpoint takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// The event as JSON, signed with HMAC-SHA256 when a secret is set.
    Generic,
    /// DingTalk custom robot (markdown; "sign" security with a secret).
    Dingtalk,
    /// WeCom (WeChat Work) group robot (markdown; the key in the URL is its secret).
    Wecom,
    /// Feishu / Lark custom bot (text; signature check with a secret).
    Feishu,
    /// Slack incoming webhook (mrkdwn text).
    Slack,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Generic => "generic",
            Format::Dingtalk => "dingtalk",
            Format::Wecom => "wecom",
            Format::Feishu => "feishu",
            Format::Slack => "slack",
        }
    }

    /// Whether the format has a use for a signing secret.
    pub fn signs(self) -> bool {
        matches!(self, Format::Generic | Format::Dingtalk | Format::Feishu)
    }
}
