//! Live progress for browsers. Workers append each event to the job's capped event stream (the
//! durable history) and PUBLISH a wake-up; the hub turns wake-ups into an in-process broadcast,
//! and each WebSocket relays the job's stream from where it left off. A lost pub/sub message
//! only delays an event until the next poll: history is read from the stream, never from pub/sub.
mod hub;
mod relay;

pub use hub::Hub;
pub use relay::relay;
