//! Redis connections, and every key name ([`keys`]). The crate's default 500 ms response
//! timeout is too short for a loaded machine and breaks blocking reads, so every connection made
//! here sets its own.

use std::time::Duration;

use deadpool_redis::{Manager, Pool};
use redis::AsyncConnectionConfig;

pub mod keys;

pub use keys::Keys;

pub use deadpool_redis;
pub use redis as client;

/// Commands on a pooled connection fail after this long rather than hang a request forever.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum RedisSetupError {
    #[error("invalid REDIS_URL: {0}")]
    Url(#[source] redis::RedisError),
    #[error("cannot build the Redis pool: {0}")]
    Pool(String),
}

/// A pool of multiplexed connections for ordinary commands and transactions.
pub fn pool(url: &str, max_size: usize) -> Result<Pool, RedisSetupError> {
    let config = AsyncConnectionConfig::new()
        .set_response_timeout(Some(RESPONSE_TIMEOUT))
        .set_connection_timeout(Some(CONNECT_TIMEOUT));
    let manager = Manager::new_with_config(url, config).map_err(RedisSetupError::Url)?;
    Pool::builder(manager)
        .max_size(max_size)
        .build()
        .map_err(|e| RedisSetupError::Pool(e.to_string()))
}

/// A dedicated connection for blocking reads (`XREADGROUP BLOCK`): it must not be shared, and its
/// response timeout must outlast the block.
pub async fn blocking_connection(
    url: &str,
    block: Duration,
) -> redis::RedisResult<redis::aio::MultiplexedConnection> {
    let client = redis::Client::open(url)?;
    let config = AsyncConnectionConfig::new()
        .set_response_timeout(Some(block + RESPONSE_TIMEOUT))
        .set_connection_timeout(Some(CONNECT_TIMEOUT));
    client
        .get_multiplexed_async_connection_with_config(&config)
        .await
}

/// A stream entry's fields as text; fields that are not text are left out.
pub fn text_fields(entry: &redis::streams::StreamId) -> std::collections::HashMap<String, String> {
    entry
        .map
        .iter()
        .filter_map(|(k, v)| {
            redis::from_redis_value::<String>(v.clone())
                .ok()
                .map(|v| (k.clone(), v))
        })
        .collect()
}
