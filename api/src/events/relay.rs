//! One WebSocket: the job's whole history, then live events, each exactly once and in order
//! (the stream id of the last event sent is the resume point).

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message};
use docker_sync_common::queue::EVENT_FIELD;
use futures::{Sink, SinkExt, Stream, StreamExt};
use redis::streams::StreamRangeReply;
use tokio::sync::broadcast::error::RecvError;

use crate::state::AppState;

/// Pub/sub can drop a wake-up; polling this often bounds the delay that causes.
const POLL: Duration = Duration::from_secs(2);
const PAGE: usize = 500;

pub async fn relay<S, E>(socket: S, job: String, state: AppState)
where
    S: Sink<Message> + Stream<Item = Result<Message, E>> + Unpin,
{
    state.metrics.active_connections.inc();
    let (mut tx, mut rx) = socket.split();
    // Subscribe before reading history, so nothing written in between is missed.
    let mut wake = state.hub.subscribe();
    let mut last: Option<String> = None;
    let mut poll = tokio::time::interval(POLL);
    loop {
        match send_new(&state, &job, &mut last, &mut tx).await {
            Ok(false) => {}
            Ok(true) => {
                let close = CloseFrame {
                    code: 1000,
                    reason: "job finished".into(),
                };
                let _ = tx.send(Message::Close(Some(close))).await;
                break;
            }
            Err(Failure::Client) => break,
            Err(Failure::Redis(e)) => tracing::warn!(job, error = %e, "cannot read job events"),
        }
        let woken = async {
            loop {
                match wake.recv().await {
                    Ok(id) if *id == *job => return true,
                    Ok(_) => continue,
                    Err(RecvError::Lagged(_)) => return true,
                    Err(RecvError::Closed) => return false,
                }
            }
        };
        tokio::select! {
            alive = woken => if !alive { break },
            _ = poll.tick() => {}
            msg = rx.next() => match msg {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break,
                Some(Ok(_)) => {}
            },
        }
    }
    state.metrics.active_connections.dec();
}

enum Failure {
    Client,
    Redis(redis::RedisError),
}

/// Sends every event after `last`; true once the job-finished event went out.
async fn send_new<S>(
    state: &AppState,
    job: &str,
    last: &mut Option<String>,
    tx: &mut S,
) -> Result<bool, Failure>
where
    S: Sink<Message> + Unpin,
{
    let key = state.keys.job_events(job);
    let mut conn = state.pool.get().await.map_err(|e| {
        Failure::Redis(redis::RedisError::from(std::io::Error::other(
            e.to_string(),
        )))
    })?;
    loop {
        let start = match last {
            Some(id) => format!("({id}"),
            None => "-".to_owned(),
        };
        let page: StreamRangeReply = redis::cmd("XRANGE")
            .arg(&key)
            .arg(&start)
            .arg("+")
            .arg("COUNT")
            .arg(PAGE)
            .query_async(&mut *conn)
            .await
            .map_err(Failure::Redis)?;
        let n = page.ids.len();
        for entry in page.ids {
            let raw: Option<String> = entry.get(EVENT_FIELD);
            *last = Some(entry.id.clone());
            let Some(mut event) =
                raw.and_then(|r| serde_json::from_str::<serde_json::Map<_, _>>(&r).ok())
            else {
                continue;
            };
            let finished = event.get("kind").and_then(|k| k.as_str()) == Some("job_finished");
            event.insert("id".into(), entry.id.into());
            let text = serde_json::Value::Object(event).to_string();
            tx.send(Message::Text(text.into()))
                .await
                .map_err(|_| Failure::Client)?;
            if finished {
                return Ok(true);
            }
        }
        if n < PAGE {
            return Ok(false);
        }
    }
}
