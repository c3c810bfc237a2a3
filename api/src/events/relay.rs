//! One WebSocket: where the client asked to start (the whole history, after an event it has, or
//! a snapshot of the job now), then live events from the job's feed, each exactly once and in
//! order, and a close after `job_finished`.

use axum::extract::ws::{CloseFrame, Message};
use futures::{Sink, SinkExt, Stream, StreamExt};
use tokio::sync::broadcast::error::RecvError;

use super::feed::{read_after, Sent};
use super::EventId;
use crate::jobs::store;
use crate::state::AppState;

/// Where a socket starts.
#[derive(Debug, Clone, Copy)]
pub enum Start {
    /// Every event the stream still holds (a job of thousands of tasks has lost its oldest).
    History,
    /// The events after this one (a client that reconnects).
    After(EventId),
    /// A `snapshot` message (the job and its counts now), then the events after it.
    Snapshot,
}

pub async fn relay<S, E>(socket: S, job: String, state: AppState, start: Start)
where
    S: Sink<Message> + Stream<Item = Result<Message, E>> + Unpin,
{
    state.metrics.websocket_opened();
    let (mut tx, mut rx) = socket.split();
    // Subscribe before reading anything, so nothing written in between is missed.
    let mut feed = state.hub.feeds().subscribe(&job, &state);
    let mut last = EventId::default();
    let outcome = async {
        match start {
            Start::History => {}
            Start::After(id) => last = id,
            Start::Snapshot => {
                let Some((text, id, finished)) = snapshot(&state, &job).await? else {
                    return Ok(true);
                };
                send(&mut tx, &text).await?;
                if finished {
                    return Ok(true);
                }
                last = id;
            }
        }
        if catch_up(&state, &job, &mut last, &mut tx).await? {
            return Ok(true);
        }
        loop {
            tokio::select! {
                batch = feed.recv() => match batch {
                    Ok(batch) => {
                        if last < batch.prev && catch_up(&state, &job, &mut last, &mut tx).await? {
                            return Ok(true);
                        }
                        if send_all(&batch.events, &mut last, &mut tx).await? {
                            return Ok(true);
                        }
                    }
                    Err(RecvError::Lagged(_)) => {
                        if catch_up(&state, &job, &mut last, &mut tx).await? {
                            return Ok(true);
                        }
                    }
                    Err(RecvError::Closed) => {
                        feed = state.hub.feeds().subscribe(&job, &state);
                        if catch_up(&state, &job, &mut last, &mut tx).await? {
                            return Ok(true);
                        }
                    }
                },
                msg = rx.next() => match msg {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return Ok(false),
                    Some(Ok(_)) => {}
                },
            }
        }
    };
    let finished: Result<bool, Failure> = outcome.await;
    match finished {
        Ok(true) => {
            let close = CloseFrame {
                code: 1000,
                reason: "job finished".into(),
            };
            let _ = tx.send(Message::Close(Some(close))).await;
        }
        Ok(false) | Err(Failure::Client) => {}
        Err(Failure::Redis(e)) => tracing::warn!(job, error = %e, "cannot read job events"),
    }
    state.metrics.websocket_closed();
}

enum Failure {
    Client,
    Redis(String),
}

/// The `snapshot` message, the event it stands at and whether the job has finished; None when
/// the job is gone.
async fn snapshot(state: &AppState, job: &str) -> Result<Option<(String, EventId, bool)>, Failure> {
    let snap = store::snapshot(state, job)
        .await
        .map_err(|e| Failure::Redis(e.to_string()))?;
    Ok(snap.map(|(view, id)| {
        let finished = view.status.is_final();
        let text = serde_json::json!({ "kind": "snapshot", "id": id.to_string(), "job": view });
        (text.to_string(), id, finished)
    }))
}

/// Sends what the stream holds after `last`; true once `job_finished` went out.
async fn catch_up<S: Sink<Message> + Unpin>(
    state: &AppState,
    job: &str,
    last: &mut EventId,
    tx: &mut S,
) -> Result<bool, Failure> {
    let events = read_after(state, job, *last)
        .await
        .map_err(|e| Failure::Redis(e.to_string()))?;
    send_all(&events, last, tx).await
}

async fn send_all<S: Sink<Message> + Unpin>(
    events: &[Sent],
    last: &mut EventId,
    tx: &mut S,
) -> Result<bool, Failure> {
    for event in events {
        if event.id <= *last {
            continue;
        }
        send(tx, &event.text).await?;
        *last = event.id;
        if event.finished {
            return Ok(true);
        }
    }
    Ok(false)
}

async fn send<S: Sink<Message> + Unpin>(tx: &mut S, text: &str) -> Result<(), Failure> {
    tx.send(Message::Text(text.into()))
        .await
        .map_err(|_| Failure::Client)
}
