//! The audit log: who did what, when, from where. A capped Redis stream, newest last.

use docker_sync_common::now_ms;
use redis::streams::StreamRangeReply;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::AppError;
use crate::state::AppState;

const KEPT: usize = 100_000;

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = AuditEntry)]
pub struct Entry {
    pub id: String,
    pub at_ms: u64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub client: String,
    pub detail: Value,
}

/// Records an action. A failure to record is logged, not returned: the action already happened.
pub async fn record(
    state: &AppState,
    actor: &str,
    action: &str,
    target: &str,
    client: &str,
    detail: Value,
) {
    let result = async {
        let mut conn = state.pool.get().await?;
        redis::cmd("XADD")
            .arg(state.keys.audit())
            .arg("MAXLEN")
            .arg("~")
            .arg(KEPT)
            .arg("*")
            .arg("at_ms")
            .arg(now_ms())
            .arg("actor")
            .arg(actor)
            .arg("action")
            .arg(action)
            .arg("target")
            .arg(target)
            .arg("client")
            .arg(client)
            .arg("detail")
            .arg(detail.to_string())
            .query_async::<String>(&mut *conn)
            .await?;
        Ok::<_, AppError>(())
    };
    if let Err(e) = result.await {
        tracing::error!(error = %e, action, actor, "cannot write the audit log");
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Query {
    /// Entries per page, 1 to 500.
    #[param(default = 50)]
    pub limit: Option<usize>,
    /// Entries older than this id (the previous page's `next`).
    pub before: Option<String>,
    pub actor: Option<String>,
    /// Action prefix: `login` matches `login.success` and `login.failure`.
    pub action: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = AuditPage)]
pub struct Page {
    pub entries: Vec<Entry>,
    pub next: Option<String>,
}

/// Newest first, filtered; scans at most a few thousand entries per page.
pub async fn page(state: &AppState, q: &Query) -> Result<Page, AppError> {
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    if let Some(b) = q.before.as_deref().filter(|b| !is_entry_id(b)) {
        return Err(AppError::BadRequest(format!(
            "before must be an entry id (`<ms>-<seq>`, a page's `next`), not {b:?}"
        )));
    }
    let mut conn = state.pool.get().await?;
    let mut end = q
        .before
        .as_ref()
        .map_or("+".to_owned(), |b| format!("({b}"));
    let mut entries = Vec::new();
    let mut exhausted = false;
    for _ in 0..20 {
        let batch: StreamRangeReply = redis::cmd("XREVRANGE")
            .arg(state.keys.audit())
            .arg(&end)
            .arg("-")
            .arg("COUNT")
            .arg(250)
            .query_async(&mut *conn)
            .await?;
        exhausted = batch.ids.len() < 250;
        for raw in batch.ids {
            end = format!("({}", raw.id);
            let f = docker_sync_common::redis::text_fields(&raw);
            let text = |k: &str| f.get(k).cloned().unwrap_or_default();
            let entry = Entry {
                id: raw.id.clone(),
                at_ms: f.get("at_ms").and_then(|v| v.parse().ok()).unwrap_or(0),
                actor: text("actor"),
                action: text("action"),
                target: text("target"),
                client: text("client"),
                detail: serde_json::from_str(&text("detail")).unwrap_or(Value::Null),
            };
            let actor_ok = q
                .actor
                .as_deref()
                .is_none_or(|a| a.is_empty() || entry.actor == a);
            let action_ok = q
                .action
                .as_deref()
                .is_none_or(|a| entry.action.starts_with(a));
            if actor_ok && action_ok {
                entries.push(entry);
                if entries.len() == limit {
                    let next = entries.last().map(|e| e.id.clone());
                    return Ok(Page { entries, next });
                }
            }
        }
        if exhausted {
            break;
        }
    }
    // Scanned as far as one page may: the client goes on from where the scan stopped.
    let next = (!exhausted).then(|| end.trim_start_matches('(').to_owned());
    Ok(Page { entries, next })
}

/// A stream entry id as Redis writes it (`1700000000000-0`); checked here so a client's text
/// never reaches XREVRANGE as anything else.
fn is_entry_id(s: &str) -> bool {
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u64>().is_ok();
    match s.split_once('-') {
        Some((ms, seq)) => digits(ms) && digits(seq),
        None => digits(s),
    }
}
