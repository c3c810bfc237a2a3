//! One reader per watched job in this process. Every WebSocket of a job gets the same batches
//! of events from it, so twenty browsers on a busy job cost one `XRANGE` per wake-up, not
//! twenty, and no socket holds a Redis connection while it writes to a slow client.
//!
//! A batch says which event came before it (`prev`); a socket whose last event is older (it
//! joined late, or fell behind and lost batches) reads the gap from the stream itself, so a
//! socket never misses or repeats an event whatever the timing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use docker_sync_common::queue::EVENT_FIELD;
use redis::streams::StreamRangeReply;
use tokio::sync::broadcast::{self, error::RecvError};

use super::EventId;
use crate::state::AppState;

/// Pub/sub can drop a wake-up; polling this often bounds the delay that causes.
const POLL: Duration = Duration::from_secs(2);
/// Batches a slow socket may fall behind by before it reads the gap from the stream instead.
const BACKLOG: usize = 256;
const PAGE: usize = 500;

/// One event as a socket sends it: the stream id and the JSON text (with `id` added).
#[derive(Debug, Clone)]
pub struct Sent {
    pub id: EventId,
    pub text: Arc<str>,
    /// The job's last event: the socket closes after it.
    pub finished: bool,
}

#[derive(Debug)]
pub struct Batch {
    pub prev: EventId,
    pub events: Vec<Sent>,
}

/// The feeds of this process, by job.
#[derive(Clone, Default)]
pub struct Feeds {
    map: Arc<Mutex<HashMap<String, broadcast::Sender<Arc<Batch>>>>>,
}

impl Feeds {
    /// The job's batches from now on, starting its reader when it is the job's first socket.
    pub fn subscribe(&self, job: &str, state: &AppState) -> broadcast::Receiver<Arc<Batch>> {
        let mut map = self.map.lock().expect("feeds lock");
        if let Some(tx) = map.get(job) {
            return tx.subscribe();
        }
        let (tx, rx) = broadcast::channel(BACKLOG);
        map.insert(job.to_owned(), tx.clone());
        tokio::spawn(run(job.to_owned(), tx, state.clone(), self.clone()));
        rx
    }

    /// Forgets the job's feed when no socket listens any more; false when one still does.
    fn close_if_unused(&self, job: &str, tx: &broadcast::Sender<Arc<Batch>>) -> bool {
        let mut map = self.map.lock().expect("feeds lock");
        if tx.receiver_count() > 0 {
            return false;
        }
        if map.get(job).is_some_and(|t| t.same_channel(tx)) {
            map.remove(job);
        }
        true
    }
}

async fn run(job: String, tx: broadcast::Sender<Arc<Batch>>, state: AppState, feeds: Feeds) {
    let mut wake = state.hub.subscribe();
    let mut poll = tokio::time::interval(POLL);
    // From the newest event on: sockets read what came before themselves.
    let mut last = loop {
        match newest(&state, &job).await {
            Ok(id) => break id,
            Err(e) => tracing::warn!(job, error = %e, "cannot read job events"),
        }
        poll.tick().await;
        if feeds.close_if_unused(&job, &tx) {
            return;
        }
    };
    loop {
        match read_after(&state, &job, last).await {
            Ok(events) if !events.is_empty() => {
                let prev = last;
                last = events.last().expect("not empty").id;
                let finished = events.iter().any(|e| e.finished);
                // No receiver left is fine: the check below ends the feed.
                let _ = tx.send(Arc::new(Batch { prev, events }));
                if finished && feeds.close_if_unused(&job, &tx) {
                    return;
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(job, error = %e, "cannot read job events"),
        }
        if feeds.close_if_unused(&job, &tx) {
            return;
        }
        let woken = async {
            loop {
                match wake.recv().await {
                    Ok(id) if *id == *job => return,
                    Ok(_) => continue,
                    Err(RecvError::Lagged(_)) | Err(RecvError::Closed) => return,
                }
            }
        };
        tokio::select! {
            _ = woken => {}
            _ = poll.tick() => {}
        }
    }
}

async fn newest(state: &AppState, job: &str) -> redis::RedisResult<EventId> {
    let mut conn = state.pool.get().await.map_err(pool_error)?;
    let reply: StreamRangeReply = redis::cmd("XREVRANGE")
        .arg(state.keys.job_events(job))
        .arg("+")
        .arg("-")
        .arg("COUNT")
        .arg(1)
        .query_async(&mut *conn)
        .await?;
    Ok(reply
        .ids
        .first()
        .and_then(|e| EventId::parse(&e.id))
        .unwrap_or_default())
}

/// Every event after `after` now in the stream, the connection given back before any is sent.
pub async fn read_after(
    state: &AppState,
    job: &str,
    after: EventId,
) -> redis::RedisResult<Vec<Sent>> {
    let key = state.keys.job_events(job);
    let mut conn = state.pool.get().await.map_err(pool_error)?;
    let mut out = Vec::new();
    let mut from = after;
    loop {
        let page: StreamRangeReply = redis::cmd("XRANGE")
            .arg(&key)
            .arg(format!("({from}"))
            .arg("+")
            .arg("COUNT")
            .arg(PAGE)
            .query_async(&mut *conn)
            .await?;
        let n = page.ids.len();
        for entry in page.ids {
            let Some(id) = EventId::parse(&entry.id) else {
                continue;
            };
            from = id;
            let raw: Option<String> = entry.get(EVENT_FIELD);
            let Some(mut event) =
                raw.and_then(|r| serde_json::from_str::<serde_json::Map<_, _>>(&r).ok())
            else {
                continue;
            };
            let finished = event.get("kind").and_then(|k| k.as_str()) == Some("job_finished");
            event.insert("id".into(), entry.id.into());
            out.push(Sent {
                id,
                text: Arc::from(serde_json::Value::Object(event).to_string()),
                finished,
            });
        }
        if n < PAGE {
            return Ok(out);
        }
    }
}

fn pool_error(e: docker_sync_common::redis::deadpool_redis::PoolError) -> redis::RedisError {
    redis::RedisError::from(std::io::Error::other(e.to_string()))
}
