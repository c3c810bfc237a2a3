//! Live progress for browsers. Workers append each event to the job's capped event stream (the
//! durable history) and PUBLISH a wake-up; the hub turns wake-ups into an in-process broadcast,
//! one feed per watched job reads the stream once per wake-up for all its sockets, and each
//! WebSocket relays from where it stands. A lost pub/sub message only delays an event until the
//! next poll: history is read from the stream, never from pub/sub.
mod feed;
mod hub;
mod relay;

pub use feed::Feeds;
pub use hub::Hub;
pub use relay::{relay, Start};

/// A stream entry id (`<ms>-<seq>`), ordered as Redis orders them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct EventId(u64, u64);

impl EventId {
    pub fn parse(s: &str) -> Option<EventId> {
        let (ms, seq) = s.split_once('-')?;
        Some(EventId(ms.parse().ok()?, seq.parse().ok()?))
    }
}

impl std::fmt::Display for EventId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.0, self.1)
    }
}
