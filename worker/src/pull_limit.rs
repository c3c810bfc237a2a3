//! The pull limits registries report (Docker Hub's `ratelimit-remaining`), shared by every
//! worker through Redis, and holding a task while its source's limit is nearly used up instead of
//! burning the rest of the quota on failures.

use std::time::Duration;

use std::collections::HashMap;

use crate::step::Interrupt;
use docker_sync_common::now_ms;
use docker_sync_common::queue::event::{Event, EventKind};
use docker_sync_common::queue::task::{TaskField, TaskMessage};
use docker_sync_common::queue::Entry;
use docker_sync_common::redis::client::AsyncCommands;
use docker_sync_common::registry::RateLimit;

use crate::digest_check::{source_head, Asked};
use crate::failure::round_to_ms;
use crate::parts::Parts;

/// Whether a held task may go on.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Hold {
    Go,
    /// The worker is stopping or the job was cancelled (see [`Interrupt::outcome`]).
    Stopping,
}

/// Holds the task while the source's pull limit (as last seen by any worker) is below the
/// floor, looking again every `rate_limit_recheck` with a fresh (free) HEAD; or, after a 429
/// on the HEAD, for its `Retry-After`. Emits `waiting` with the reason, and a progress step
/// when it lets go. [`Hold::Stopping`] when the worker is stopping meanwhile.
pub(crate) async fn hold(
    parts: &Parts,
    entry: &Entry,
    msg: &TaskMessage,
    source: &Asked<'_>,
    retry_after: Option<Duration>,
    interrupt: &Interrupt<'_>,
) -> Hold {
    let host = source.image.registry();
    let floor = parts.settings.rate_limit_floor;
    let mut announced: Option<String> = None;
    let mut retry_after = retry_after;
    loop {
        let (reason, until_ms, wait) = if let Some(wait) = retry_after.take() {
            let reason = format!(
                "`{host}` answered 429 Too Many Requests: waiting {} (Retry-After) before pulling",
                humantime::format_duration(round_to_ms(wait))
            );
            (reason, now_ms() + wait.as_millis() as u64, wait)
        } else {
            if floor == 0 {
                break;
            }
            let known = match last_seen(parts, host).await {
                Ok(k) => k,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the pull limit");
                    None
                }
            };
            let Some((limit, seen_at_ms)) = known.filter(|(l, _)| l.remaining < floor) else {
                break;
            };
            let recheck = parts.settings.rate_limit_recheck;
            let refill_ms = limit.window_s.map(|w| seen_at_ms + w * 1000);
            let until_ms = refill_ms.unwrap_or_else(|| now_ms() + recheck.as_millis() as u64);
            (rate_limit_reason(host, &limit, floor), until_ms, recheck)
        };
        if announced.as_deref() != Some(reason.as_str()) {
            tracing::info!(task = %msg.task, %reason, "holding the task");
            let ev = Event::for_task(
                msg,
                EventKind::Waiting {
                    reason: reason.clone(),
                    until_ms,
                },
            );
            let fields = [
                (TaskField::Waiting, reason.clone()),
                (TaskField::WaitingUntilMs, until_ms.to_string()),
            ];
            if let Err(e) = parts
                .consumer
                .update(entry, &msg.job, &msg.task, Some(&ev), &fields)
                .await
            {
                tracing::warn!(task = %msg.task, error = %e, "cannot record the hold");
            }
            announced = Some(reason);
        }
        tokio::select! {
            biased;
            _ = interrupt.fired() => return Hold::Stopping,
            _ = tokio::time::sleep(wait) => {}
        }
        // The HEAD is not counted against the limit: look again at what is left.
        retry_after = source_head(parts, source).await.retry_after;
    }
    if announced.is_some() {
        let ev = Event::for_task(
            msg,
            EventKind::Progress {
                blobs_done: 0,
                images_done: 0,
                images_total: None,
                step: format!("`{host}` allows pulls again: copying"),
            },
        );
        let fields = [
            (TaskField::Waiting, String::new()),
            (TaskField::WaitingUntilMs, String::new()),
        ];
        if let Err(e) = parts
            .consumer
            .update(entry, &msg.job, &msg.task, Some(&ev), &fields)
            .await
        {
            tracing::warn!(task = %msg.task, error = %e, "cannot record the end of the hold");
        }
    }
    Hold::Go
}

/// Records the pull limit `host` reported, for every worker; the hash expires with the window
/// (six hours when the registry did not say).
pub(crate) async fn record(parts: &Parts, host: &str, limit: &RateLimit) -> anyhow::Result<()> {
    let key = parts.keys.rate_limit(host);
    let mut fields = vec![
        ("remaining", limit.remaining.to_string()),
        ("seen_at_ms", now_ms().to_string()),
    ];
    if let Some(l) = limit.limit {
        fields.push(("limit", l.to_string()));
    }
    if let Some(w) = limit.window_s {
        fields.push(("window_s", w.to_string()));
    }
    let ttl = limit.window_s.unwrap_or(6 * 3600).max(1) as i64;
    let mut conn = parts.pool.get().await?;
    docker_sync_common::redis::client::pipe()
        .atomic()
        .del(&key)
        .hset_multiple(&key, &fields)
        .expire(&key, ttl)
        .query_async::<()>(&mut *conn)
        .await?;
    Ok(())
}

/// The pull limit last recorded for `host` (by any worker), with when it was seen (ms).
async fn last_seen(parts: &Parts, host: &str) -> anyhow::Result<Option<(RateLimit, u64)>> {
    let mut conn = parts.pool.get().await?;
    let f: HashMap<String, String> = conn.hgetall(parts.keys.rate_limit(host)).await?;
    let num = |k: &str| f.get(k).and_then(|v| v.parse::<u64>().ok());
    Ok(num("remaining").map(|remaining| {
        (
            RateLimit {
                remaining,
                limit: num("limit"),
                window_s: num("window_s"),
            },
            num("seen_at_ms").unwrap_or(0),
        )
    }))
}

/// Why a task is held: "Docker Hub pull limit nearly used: 3 of 100 left in this 6h window".
fn rate_limit_reason(host: &str, limit: &RateLimit, floor: u64) -> String {
    let who = if host == "docker.io" {
        "Docker Hub".to_owned()
    } else {
        format!("`{host}`")
    };
    let of = limit.limit.map(|l| format!(" of {l}")).unwrap_or_default();
    let window = limit
        .window_s
        .map(|w| {
            format!(
                " in this {} window",
                humantime::format_duration(Duration::from_secs(w))
            )
        })
        .unwrap_or_default();
    format!(
        "{who} pull limit nearly used: {}{of} left{window} (floor {floor}); holding until it refills",
        limit.remaining
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hold_reasons_name_the_registry_and_the_numbers() {
        let l = RateLimit {
            remaining: 3,
            limit: Some(100),
            window_s: Some(21600),
        };
        assert_eq!(
            rate_limit_reason("docker.io", &l, 10),
            "Docker Hub pull limit nearly used: 3 of 100 left in this 6h window (floor 10); \
             holding until it refills"
        );
        let bare = RateLimit {
            remaining: 0,
            limit: None,
            window_s: None,
        };
        assert_eq!(
            rate_limit_reason("127.0.0.1:5000", &bare, 1),
            "`127.0.0.1:5000` pull limit nearly used: 0 left (floor 1); holding until it refills"
        );
    }
}
