//! Which of a rule's fires are due, and the claim that makes each run once however many api
//! replicas look. Every rule has a cursor in `<prefix>:schedules` (name -> the last fire time
//! handled, ms); a replica that sees fires after the cursor moves it with compare-and-set, and
//! only the one whose set succeeds acts on them.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use deadpool_redis::Pool;
use redis::AsyncCommands;

use super::schedule::{Missed, Schedule};
use crate::queue::QueueError;
use crate::redis::Keys;

/// A fire handled later than this after its time was missed (no replica was up to see it).
pub const LATE_AFTER_MS: u64 = 60_000;

/// What a replica should do about a rule's schedule now.
#[derive(Debug, PartialEq, Eq)]
pub enum Due {
    /// Nothing before the next fire.
    Nothing,
    /// A fire to run now, at its time (or a little late).
    Fire { fire_ms: u64 },
    /// Fires passed while no replica was up: `count` of them, the latest at `fire_ms`.
    Missed { fire_ms: u64, count: u32 },
}

/// Pure: what is due between the cursor (last fire handled) and `now`.
pub fn due(schedule: &Schedule, cursor_ms: u64, now_ms: u64) -> Due {
    let at = |ms: u64| DateTime::<Utc>::from_timestamp_millis(ms as i64).unwrap_or_default();
    let mut latest = None;
    let mut count = 0u32;
    let mut from = at(cursor_ms);
    // Bounded: a cursor years old with a per-minute schedule stops counting at the cap.
    while let Some(next) = schedule.next_after(from) {
        let ms = next.timestamp_millis() as u64;
        if ms > now_ms || count == 10_000 {
            break;
        }
        latest = Some(ms);
        count += 1;
        from = next;
    }
    match latest {
        None => Due::Nothing,
        Some(fire_ms) if count == 1 && now_ms - fire_ms <= LATE_AFTER_MS => Due::Fire { fire_ms },
        Some(fire_ms) => Due::Missed { fire_ms, count },
    }
}

/// The decision for a claimed [`Due`], after the missed-fire policy.
pub fn should_run(due: &Due, missed: Missed) -> bool {
    match due {
        Due::Nothing => false,
        Due::Fire { .. } => true,
        Due::Missed { .. } => missed == Missed::Run,
    }
}

/// Every scheduled rule's cursor, in one read: the scheduler looks at all of them each second.
pub async fn cursors(pool: &Pool, keys: &Keys) -> Result<HashMap<String, u64>, QueueError> {
    let mut conn = pool.get().await?;
    Ok(conn.hgetall(keys.schedules()).await?)
}

/// Starts a rule's cursor at `now_ms` the first time a rule with a schedule is seen (fires
/// before the schedule existed are not "missed"); returns the cursor, which another replica may
/// have started first.
pub async fn start_cursor(
    pool: &Pool,
    keys: &Keys,
    rule: &str,
    now_ms: u64,
) -> Result<u64, QueueError> {
    let mut conn = pool.get().await?;
    let _: bool = conn.hset_nx(keys.schedules(), rule, now_ms).await?;
    let at: Option<u64> = conn.hget(keys.schedules(), rule).await?;
    Ok(at.unwrap_or(now_ms))
}

/// Moves the cursor from `from_ms` to `to_ms`; true only for the one replica that did.
pub async fn claim(
    pool: &Pool,
    keys: &Keys,
    rule: &str,
    from_ms: u64,
    to_ms: u64,
) -> Result<bool, QueueError> {
    let script = redis::Script::new(
        "if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end \
         redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) return 1",
    );
    let mut conn = pool.get().await?;
    let won: i32 = script
        .key(keys.schedules())
        .arg(rule)
        .arg(from_ms)
        .arg(to_ms)
        .invoke_async(&mut *conn)
        .await?;
    Ok(won == 1)
}

/// Forgets the cursor (the rule's schedule changed or the rule is gone): the next look starts
/// it afresh, so a new cron does not count the old one's fires as missed.
pub async fn reset(pool: &Pool, keys: &Keys, rule: &str) -> Result<(), QueueError> {
    let mut conn = pool.get().await?;
    let _: u32 = conn.hdel(keys.schedules(), rule).await?;
    Ok(())
}

/// The last fire handled, when the cursor has moved past its start.
pub async fn last_fire(pool: &Pool, keys: &Keys, rule: &str) -> Result<Option<u64>, QueueError> {
    let mut conn = pool.get().await?;
    Ok(conn.hget(keys.schedules(), rule).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::ScheduleSpec;

    fn every_minute() -> Schedule {
        ScheduleSpec {
            cron: "* * * * *".into(),
            timezone: None,
            missed: Missed::Run,
        }
        .parse()
        .unwrap()
    }

    const MIN: u64 = 60_000;
    // 2026-12-01T00:00:00Z
    const T0: u64 = 1_796_083_200_000;

    #[test]
    fn a_fire_is_due_once_its_time_has_come() {
        let s = every_minute();
        assert_eq!(due(&s, T0, T0 + 59_999), Due::Nothing);
        assert_eq!(due(&s, T0, T0 + MIN), Due::Fire { fire_ms: T0 + MIN });
        assert_eq!(
            due(&s, T0, T0 + MIN + 30_000),
            Due::Fire { fire_ms: T0 + MIN },
            "a little late is still on time"
        );
    }

    #[test]
    fn fires_passed_while_nobody_looked_are_missed_and_counted() {
        let s = every_minute();
        assert_eq!(
            due(&s, T0, T0 + 2 * MIN + 1),
            Due::Missed {
                fire_ms: T0 + 2 * MIN,
                count: 2
            }
        );
        let hourly = ScheduleSpec {
            cron: "0 * * * *".into(),
            timezone: None,
            missed: Missed::Run,
        }
        .parse()
        .unwrap();
        assert_eq!(
            due(&hourly, T0, T0 + 60 * MIN + LATE_AFTER_MS + 1),
            Due::Missed {
                fire_ms: T0 + 60 * MIN,
                count: 1
            },
            "one fire seen too late"
        );
        assert!(should_run(&due(&s, T0, T0 + 5 * MIN), Missed::Run));
        assert!(!should_run(&due(&s, T0, T0 + 5 * MIN), Missed::Skip));
        assert!(should_run(&due(&s, T0, T0 + MIN), Missed::Skip));
    }
}
