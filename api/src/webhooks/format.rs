//! What a delivery sends: the event as JSON ([`Payload`], the generic format, signed), or a chat
//! robot's message made from it. Pure, so every format's exact body and signature is tested
//! here; `sender` only adds the clock and the network.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use docker_sync_common::queue::job::{Counts, JobStatus, Trigger, TriggerKind};
use docker_sync_common::rules::runs::Skipped;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::Sha256;

use super::{Event, Format};

/// The header carrying the generic format's signature: `sha256=<hex HMAC-SHA256(secret, body)>`.
pub const SIGNATURE_HEADER: &str = "X-Docker-Sync-Signature-256";
pub const EVENT_HEADER: &str = "X-Docker-Sync-Event";
/// The delivery's id: the same on every retry, so a receiver can drop repeats.
pub const DELIVERY_HEADER: &str = "X-Docker-Sync-Delivery";

/// Failed images a payload names at most.
pub const FAILED_LISTED: usize = 10;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Payload {
    pub event: Event,
    /// The delivery's id (also in [`DELIVERY_HEADER`]).
    pub delivery: String,
    /// When the event happened.
    pub at_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<JobSummary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<RuleSkip>,
    /// The job's (or rule's) page, when `DOCKER_SYNC_PUBLIC_URL` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct JobSummary {
    pub id: String,
    pub status: JobStatus,
    pub target: String,
    pub namespace: String,
    pub total: u32,
    pub counts: Counts,
    pub created_at_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<Trigger>,
    /// The first failed images (at most [`FAILED_LISTED`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<FailedImage>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FailedImage {
    pub source: String,
    pub target: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RuleSkip {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fire_ms: Option<u64>,
    pub skipped: Skipped,
    pub reason: String,
}

/// One HTTP request to make.
#[derive(Debug, PartialEq)]
pub struct Request {
    pub url: String,
    pub body: String,
    pub headers: Vec<(&'static str, String)>,
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// The generic format's signature of `body`.
pub fn signature(secret: &str, body: &str) -> String {
    format!(
        "sha256={}",
        hex::encode(hmac_sha256(secret.as_bytes(), body.as_bytes()))
    )
}

/// The request for `payload` in `format` to `url`, at `now_ms` (DingTalk and Feishu sign the
/// time, so their body or URL changes per attempt; the generic body never does).
pub fn render(
    format: Format,
    url: &str,
    secret: Option<&str>,
    payload: &Payload,
    now_ms: u64,
) -> Request {
    let mut headers = vec![
        (EVENT_HEADER, payload.event.as_str().to_owned()),
        (DELIVERY_HEADER, payload.delivery.clone()),
    ];
    let (title, text) = (title(payload), text(payload));
    let (url, body) = match format {
        Format::Generic => {
            let body = serde_json::to_string(payload).expect("serialisable");
            if let Some(secret) = secret {
                headers.push((SIGNATURE_HEADER, signature(secret, &body)));
            }
            (url.to_owned(), body)
        }
        Format::Dingtalk => {
            let body = json!({ "msgtype": "markdown", "markdown": { "title": title, "text": format!("#### {title}\n\n{text}") } });
            let url = match secret {
                // timestamp_ms + "\n" + secret, HMAC-SHA256 keyed by the secret, Base64, URL-encoded.
                Some(secret) => {
                    let sign = B64.encode(hmac_sha256(
                        secret.as_bytes(),
                        format!("{now_ms}\n{secret}").as_bytes(),
                    ));
                    let mut u =
                        reqwest::Url::parse(url).expect("checked when the webhook was saved");
                    u.query_pairs_mut()
                        .append_pair("timestamp", &now_ms.to_string())
                        .append_pair("sign", &sign);
                    u.to_string()
                }
                None => url.to_owned(),
            };
            (url, body.to_string())
        }
        Format::Wecom => {
            let body = json!({ "msgtype": "markdown", "markdown": { "content": format!("**{title}**\n{text}") } });
            (url.to_owned(), body.to_string())
        }
        Format::Feishu => {
            let mut body = json!({ "msg_type": "text", "content": { "text": format!("{title}\n{}", plain(&text)) } });
            if let Some(secret) = secret {
                // The key is timestamp_s + "\n" + secret, the message empty.
                let ts = now_ms / 1000;
                let sign = B64.encode(hmac_sha256(format!("{ts}\n{secret}").as_bytes(), b""));
                body["timestamp"] = json!(ts.to_string());
                body["sign"] = json!(sign);
            }
            (url.to_owned(), body.to_string())
        }
        Format::Slack => {
            let body = json!({ "text": format!("*{title}*\n{}", text.replace("**", "*")) });
            (url.to_owned(), body.to_string())
        }
    };
    headers.push(("Content-Type", "application/json".into()));
    Request { url, body, headers }
}

/// Whether an answer with status `code` and `body` means the message was taken: a 2xx, and for
/// the chat robots no error code in their JSON (they answer 200 with `errcode` / `code` on a
/// bad signature or an exceeded limit).
pub fn accepted(format: Format, code: u16, body: &str) -> Result<(), String> {
    if !(200..300).contains(&code) {
        return Err(format!("HTTP {code}: {}", snippet(body)));
    }
    let field = match format {
        Format::Dingtalk | Format::Wecom => "errcode",
        Format::Feishu => "code",
        Format::Generic | Format::Slack => return Ok(()),
    };
    let answer: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    match answer.get(field).and_then(|c| c.as_i64()) {
        None | Some(0) => Ok(()),
        Some(c) => Err(format!("the robot answered {field} {c}: {}", snippet(body))),
    }
}

fn snippet(body: &str) -> String {
    body.chars().take(200).collect()
}

fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

fn title(p: &Payload) -> String {
    match (&p.job, &p.rule) {
        (Some(job), _) => format!(
            "docker-image-sync: job {} {}",
            short(&job.id),
            job.status.as_str()
        ),
        (None, Some(rule)) => format!("docker-image-sync: rule {} skipped a run", rule.name),
        (None, None) => "docker-image-sync: test message".to_owned(),
    }
}

/// Markdown lines (bold with `**`; Slack and Feishu adapt them).
fn text(p: &Payload) -> String {
    let mut lines = Vec::new();
    if let Some(job) = &p.job {
        let c = &job.counts;
        lines.push(format!(
            "- target: {} ({} images: {} copied, {} unchanged, {} failed{})",
            job.target,
            job.total,
            c.succeeded,
            c.skipped,
            c.failed,
            if c.cancelled > 0 {
                format!(", {} cancelled", c.cancelled)
            } else {
                String::new()
            }
        ));
        if let Some(t) = &job.trigger {
            lines.push(format!("- started by: {}", started_by(t)));
        }
        for f in &job.failed {
            let error = f.error.as_deref().unwrap_or("failed");
            lines.push(format!("- **{}**: {}", f.source, snippet(error)));
        }
        let more = job.counts.failed as usize;
        if more > job.failed.len() {
            lines.push(format!("- and {} more failed", more - job.failed.len()));
        }
    }
    if let Some(rule) = &p.rule {
        lines.push(format!("- reason: {}", rule.reason));
    }
    if p.job.is_none() && p.rule.is_none() {
        lines.push("- this endpoint is set up to receive docker-image-sync notifications".into());
    }
    if let Some(link) = &p.link {
        lines.push(format!("- {link}"));
    }
    lines.join("\n")
}

fn started_by(t: &Trigger) -> String {
    let who = t.user.as_deref().unwrap_or("?");
    let rule = t.rule.as_deref().unwrap_or("?");
    match t.kind {
        TriggerKind::Session => format!("user {who}"),
        TriggerKind::Token => format!("user {who} (token {})", t.token.as_deref().unwrap_or("?")),
        TriggerKind::Schedule => format!("rule {rule} (schedule)"),
        TriggerKind::RunNow => format!("rule {rule} (run now by {who})"),
    }
}

fn plain(markdown: &str) -> String {
    markdown.replace("**", "")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed_job() -> Payload {
        Payload {
            event: Event::JobFailed,
            delivery: "d-1".into(),
            at_ms: 1_796_083_200_000,
            job: Some(JobSummary {
                id: "0b7c6a1e-0000-4000-8000-000000000000".into(),
                status: JobStatus::Partial,
                target: "harbor".into(),
                namespace: "mirror".into(),
                total: 3,
                counts: Counts {
                    succeeded: 1,
                    skipped: 1,
                    failed: 1,
                    ..Counts::default()
                },
                created_at_ms: 1_796_083_100_000,
                finished_at_ms: Some(1_796_083_200_000),
                trigger: Some(Trigger {
                    kind: TriggerKind::Schedule,
                    user: None,
                    token: None,
                    rule: Some("nightly".into()),
                }),
                failed: vec![FailedImage {
                    source: "docker.io/library/nginx:1.25".into(),
                    target: "h/mirror/nginx:1.25".into(),
                    error: Some("manifest unknown".into()),
                }],
            }),
            rule: None,
            link: Some("https://sync.example/jobs/0b7c6a1e-0000-4000-8000-000000000000".into()),
        }
    }

    #[test]
    fn the_generic_body_is_the_payload_and_its_signature_verifies() {
        let p = failed_job();
        let r = render(
            Format::Generic,
            "http://127.0.0.1:9/hook",
            Some("s3cret"),
            &p,
            5,
        );
        let back: Payload = serde_json::from_str(&r.body).unwrap();
        assert_eq!(back, p);
        let sig = r
            .headers
            .iter()
            .find(|(h, _)| *h == SIGNATURE_HEADER)
            .unwrap();
        // What a receiver computes, written out with the hmac crate directly.
        let mut mac = Hmac::<Sha256>::new_from_slice(b"s3cret").unwrap();
        mac.update(r.body.as_bytes());
        assert_eq!(
            sig.1,
            format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
        );
        let again = render(
            Format::Generic,
            "http://127.0.0.1:9/hook",
            Some("s3cret"),
            &p,
            99,
        );
        assert_eq!(again, r, "a retry sends the same bytes");
        let unsigned = render(Format::Generic, "http://127.0.0.1:9/hook", None, &p, 5);
        assert!(unsigned.headers.iter().all(|(h, _)| *h != SIGNATURE_HEADER));
    }

    #[test]
    fn dingtalk_signs_the_url_as_its_docs_say() {
        let r = render(
            Format::Dingtalk,
            "https://oapi.dingtalk.com/robot/send?access_token=abc",
            Some("SECxyz"),
            &failed_job(),
            1_700_000_000_123,
        );
        let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(body["msgtype"], "markdown");
        assert_eq!(
            body["markdown"]["title"],
            "docker-image-sync: job 0b7c6a1e partial"
        );
        assert!(body["markdown"]["text"]
            .as_str()
            .unwrap()
            .contains("**docker.io/library/nginx:1.25**: manifest unknown"));
        let url = reqwest::Url::parse(&r.url).unwrap();
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q["access_token"], "abc");
        assert_eq!(q["timestamp"], "1700000000123");
        let expected = B64.encode(hmac_sha256(b"SECxyz", b"1700000000123\nSECxyz"));
        assert_eq!(q["sign"], expected);
    }

    #[test]
    fn feishu_signs_the_body_with_the_time_in_seconds() {
        let r = render(
            Format::Feishu,
            "https://open.feishu.cn/open-apis/bot/v2/hook/t",
            Some("fs"),
            &failed_job(),
            1_700_000_000_999,
        );
        let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(body["msg_type"], "text");
        assert_eq!(body["timestamp"], "1700000000");
        assert_eq!(
            body["sign"],
            B64.encode(hmac_sha256(b"1700000000\nfs", b""))
        );
        assert!(
            !body["content"]["text"].as_str().unwrap().contains("**"),
            "plain text"
        );
    }

    #[test]
    fn wecom_and_slack_take_markdown_text() {
        let w = render(
            Format::Wecom,
            "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k",
            None,
            &failed_job(),
            0,
        );
        let body: serde_json::Value = serde_json::from_str(&w.body).unwrap();
        assert_eq!(body["msgtype"], "markdown");
        assert!(body["markdown"]["content"]
            .as_str()
            .unwrap()
            .starts_with("**docker-image-sync: job 0b7c6a1e partial**"));
        let s = render(
            Format::Slack,
            "https://hooks.slack.com/services/T/B/X",
            None,
            &failed_job(),
            0,
        );
        let body: serde_json::Value = serde_json::from_str(&s.body).unwrap();
        let text = body["text"].as_str().unwrap();
        assert!(text.starts_with("*docker-image-sync: job 0b7c6a1e partial*"));
        assert!(text.contains("started by: rule nightly (schedule)"));
    }

    #[test]
    fn a_robot_that_answers_200_with_an_error_code_did_not_take_it() {
        assert!(accepted(Format::Dingtalk, 200, r#"{"errcode":0,"errmsg":"ok"}"#).is_ok());
        assert!(accepted(
            Format::Dingtalk,
            200,
            r#"{"errcode":310000,"errmsg":"sign not match"}"#
        )
        .unwrap_err()
        .contains("310000"));
        assert!(accepted(
            Format::Feishu,
            200,
            r#"{"code":19021,"msg":"sign match fail"}"#
        )
        .is_err());
        assert!(accepted(Format::Generic, 204, "").is_ok());
        assert_eq!(
            accepted(Format::Slack, 500, "boom").unwrap_err(),
            "HTTP 500: boom"
        );
    }
}
