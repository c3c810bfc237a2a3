//! Redis connections. The crate's default 500 ms response timeout is too short for a loaded
//! machine and breaks blocking reads, so every connection made here sets its own.

use std::time::Duration;

use deadpool_redis::{Manager, Pool};
use redis::AsyncConnectionConfig;

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

/// Creates the task stream and the workers' consumer group if they do not exist yet. Both
/// binaries call it at start, so `XINFO GROUPS` works before the first job.
pub async fn ensure_group<C: redis::aio::ConnectionLike + Send>(
    conn: &mut C,
    keys: &crate::keys::Keys,
) -> redis::RedisResult<()> {
    let created: redis::RedisResult<()> = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(keys.tasks())
        .arg(crate::keys::WORKER_GROUP)
        .arg("0")
        .arg("MKSTREAM")
        .query_async(conn)
        .await;
    match created {
        Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
        other => other,
    }
}

/// [`ensure_group`], retried until Redis answers: in Kubernetes or compose, Redis may come up
/// after us, and crash-looping would only add back-off delays. False if `shutdown` came first.
pub async fn wait_for_group(
    pool: &Pool,
    keys: &crate::keys::Keys,
    shutdown: &tokio_util::sync::CancellationToken,
) -> bool {
    let mut delay = Duration::from_millis(200);
    loop {
        let attempt = async {
            let mut conn = pool.get().await.map_err(|e| e.to_string())?;
            ensure_group(&mut *conn, keys)
                .await
                .map_err(|e| e.to_string())
        };
        match attempt.await {
            Ok(()) => return true,
            Err(e) => tracing::warn!(error = %e, retry_in = ?delay, "Redis is not reachable yet"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return false,
            _ = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(Duration::from_secs(5));
    }
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
