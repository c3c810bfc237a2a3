//! A registry's pull limit (`ratelimit-remaining` / `ratelimit-limit`, as Docker Hub sends them)
//! and the `Retry-After` of a 429.

use std::time::Duration;

use reqwest::header::HeaderMap;

/// A registry's pull limit as it reports it: `ratelimit-remaining: 76;w=21600` and
/// `ratelimit-limit: 100;w=21600` (Docker Hub; a bare number is taken too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub remaining: u64,
    pub limit: Option<u64>,
    /// The window the numbers are for, in seconds (`w=`).
    pub window_s: Option<u64>,
}

impl RateLimit {
    /// From response headers; None without a readable `ratelimit-remaining`.
    pub fn from_headers(headers: &HeaderMap) -> Option<RateLimit> {
        let get = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_quota)
        };
        let (remaining, window_r) = get("ratelimit-remaining")?;
        let (limit, window_l) = match get("ratelimit-limit") {
            Some((l, w)) => (Some(l), w),
            None => (None, None),
        };
        Some(RateLimit {
            remaining,
            limit,
            window_s: window_r.or(window_l),
        })
    }
}

/// `100;w=21600` → (100, Some(21600)); `100` → (100, None). Other parameters are ignored.
pub fn parse_quota(value: &str) -> Option<(u64, Option<u64>)> {
    let mut parts = value.split(';');
    let n = parts.next()?.trim().parse().ok()?;
    let window = parts.find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        (k.trim() == "w").then(|| v.trim().parse().ok())?
    });
    Some((n, window))
}

/// The `Retry-After` of a response in seconds (the HTTP-date form is not used by registries).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_headers_in_docker_hub_form_and_bare() {
        assert_eq!(parse_quota("76;w=21600"), Some((76, Some(21600))));
        assert_eq!(parse_quota(" 100 ; w=21600 "), Some((100, Some(21600))));
        assert_eq!(parse_quota("5"), Some((5, None)));
        assert_eq!(parse_quota("5;foo=bar"), Some((5, None)));
        assert_eq!(parse_quota("lots"), None);
        assert_eq!(parse_quota(""), None);

        let mut h = HeaderMap::new();
        assert_eq!(RateLimit::from_headers(&h), None);
        h.insert("ratelimit-limit", "100;w=21600".parse().unwrap());
        assert_eq!(
            RateLimit::from_headers(&h),
            None,
            "no remaining, no limit known"
        );
        h.insert("ratelimit-remaining", "3;w=21600".parse().unwrap());
        assert_eq!(
            RateLimit::from_headers(&h),
            Some(RateLimit {
                remaining: 3,
                limit: Some(100),
                window_s: Some(21600)
            })
        );
        h.insert("ratelimit-remaining", "7".parse().unwrap());
        assert_eq!(
            RateLimit::from_headers(&h),
            Some(RateLimit {
                remaining: 7,
                limit: Some(100),
                window_s: Some(21600)
            })
        );
        h.insert("retry-after", "30".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(30)));
    }
}

/// A pull limit as the workers last saw it, from a `<prefix>:ratelimit:<host>` hash.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Reported {
    pub host: String,
    pub remaining: u64,
    pub limit: Option<u64>,
    pub window_s: Option<u64>,
    pub seen_at_ms: Option<u64>,
}

/// Every pull limit a source reported, by host (what `/metrics` and the statistics show).
pub async fn reported(
    pool: &deadpool_redis::Pool,
    keys: &crate::redis::Keys,
) -> Result<Vec<Reported>, crate::queue::QueueError> {
    use std::collections::HashMap;
    let pattern = keys.rate_limit_pattern();
    let prefix = pattern.trim_end_matches('*').to_owned();
    let mut conn = pool.get().await?;
    let mut found = Vec::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(100)
            .query_async(&mut *conn)
            .await?;
        found.extend(batch);
        cursor = next;
        // Bounded: a host per source registry, never thousands.
        if cursor == 0 || found.len() > 1000 {
            break;
        }
    }
    found.sort();
    found.dedup();
    let mut out = Vec::new();
    for key in found {
        let f: HashMap<String, String> = redis::AsyncCommands::hgetall(&mut *conn, &key).await?;
        let num = |k: &str| f.get(k).and_then(|v| v.parse().ok());
        let Some(remaining) = num("remaining") else {
            continue;
        };
        out.push(Reported {
            host: key.strip_prefix(&prefix).unwrap_or(&key).to_owned(),
            remaining,
            limit: num("limit"),
            window_s: num("window_s"),
            seen_at_ms: num("seen_at_ms"),
        });
    }
    Ok(out)
}
