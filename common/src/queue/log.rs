//! A task's log (`<prefix>:task:<id>:log`): what the worker did and saw, line by line with the
//! time: each attempt, the digest check, skopeo's output, how it ended. For successful tasks
//! too, not only a failure's tail. Capped at the newest [`TASK_LOG_LINES`] and kept as long as
//! the job.

use deadpool_redis::Pool;
use serde::{Deserialize, Serialize};

use super::limits::TASK_LOG_LINES;
use super::task::TaskField;
use super::QueueError;
use crate::redis::Keys;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    pub at_ms: u64,
    pub line: String,
}

impl LogLine {
    pub fn now(line: impl Into<String>) -> LogLine {
        LogLine {
            at_ms: crate::now_ms(),
            line: line.into(),
        }
    }
}

/// A line longer than this is cut: skopeo can print a whole HTTP body.
const MAX_LINE: usize = 2000;

/// Appends lines, dropping the oldest beyond the cap; the key expires with the job hash.
pub async fn append(
    pool: &Pool,
    keys: &Keys,
    job: &str,
    task: &str,
    lines: &[LogLine],
) -> Result<(), QueueError> {
    if lines.is_empty() {
        return Ok(());
    }
    let script = redis::Script::new(
        "local n = #ARGV - 1 \
         for i = 2, #ARGV do redis.call('RPUSH', KEYS[1], ARGV[i]) end \
         redis.call('LTRIM', KEYS[1], -tonumber(ARGV[1]), -1) \
         local left = redis.call('PTTL', KEYS[2]) \
         if left > 0 then redis.call('PEXPIRE', KEYS[1], left) else redis.call('EXPIRE', KEYS[1], 86400) end \
         return n",
    );
    let mut inv = script.key(keys.task_log(task));
    inv.key(keys.job(job)).arg(TASK_LOG_LINES);
    for line in lines {
        let mut line = line.clone();
        if line.line.len() > MAX_LINE {
            let mut end = MAX_LINE;
            while !line.line.is_char_boundary(end) {
                end -= 1;
            }
            line.line.truncate(end);
            line.line.push('…');
        }
        inv.arg(serde_json::to_string(&line).expect("serialisable"));
    }
    let mut conn = pool.get().await?;
    let _: i64 = inv.invoke_async(&mut *conn).await?;
    Ok(())
}

/// The task's log, oldest first; None when the job has no such task.
pub async fn read(
    pool: &Pool,
    keys: &Keys,
    job: &str,
    task: &str,
) -> Result<Option<Vec<LogLine>>, QueueError> {
    let mut conn = pool.get().await?;
    let (owner, raw): (Option<String>, Vec<String>) = redis::pipe()
        .hget(keys.task(task), TaskField::Job.as_str())
        .lrange(keys.task_log(task), 0, -1)
        .query_async(&mut *conn)
        .await?;
    if owner.as_deref() != Some(job) {
        return Ok(None);
    }
    Ok(Some(
        raw.iter()
            .filter_map(|r| serde_json::from_str(r).ok())
            .collect(),
    ))
}
