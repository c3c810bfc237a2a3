//! A rule's schedule: a 5-field cron expression in a time zone (UTC unless named), and what to
//! do about fires missed while no api replica was up. Parsing and next-fire times are croner's.

use std::str::FromStr;

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use croner::Cron;
use serde::{Deserialize, Serialize};

/// As written in rules.yaml or a rule's JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScheduleSpec {
    /// `minute hour day-of-month month day-of-week`, e.g. `0 3 * * *`.
    pub cron: String,
    /// An IANA zone such as `Asia/Shanghai`; UTC when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// A fire missed while every api replica was down: run it once when one is back (`run`,
    /// the default) or let it go (`skip`).
    #[serde(default)]
    pub missed: Missed,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Missed {
    #[default]
    Run,
    Skip,
}

/// A schedule that parsed.
#[derive(Debug, Clone)]
pub struct Schedule {
    cron: Cron,
    zone: Tz,
    pub missed: Missed,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScheduleError {
    #[error("`{0}` has {1} fields; a schedule has 5: minute hour day-of-month month day-of-week")]
    Fields(String, usize),
    #[error("`{0}` is not a cron expression: {1}")]
    Cron(String, String),
    #[error("`{0}` is not a time zone (an IANA name such as `Asia/Shanghai` or `UTC`)")]
    Zone(String),
}

impl ScheduleSpec {
    pub fn parse(&self) -> Result<Schedule, ScheduleError> {
        let fields = self.cron.split_whitespace().count();
        if fields != 5 {
            return Err(ScheduleError::Fields(self.cron.clone(), fields));
        }
        let cron = Cron::from_str(&self.cron)
            .map_err(|e| ScheduleError::Cron(self.cron.clone(), e.to_string()))?;
        let zone = match self.timezone.as_deref().map(str::trim) {
            None | Some("") => Tz::UTC,
            Some(name) => name
                .parse()
                .map_err(|_| ScheduleError::Zone(name.to_owned()))?,
        };
        Ok(Schedule {
            cron,
            zone,
            missed: self.missed,
        })
    }
}

impl Schedule {
    /// The first fire strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = self.zone.from_utc_datetime(&after.naive_utc());
        self.cron
            .find_next_occurrence(&local, false)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(cron: &str, zone: Option<&str>) -> ScheduleSpec {
        ScheduleSpec {
            cron: cron.into(),
            timezone: zone.map(Into::into),
            missed: Missed::Run,
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn next_fires_follow_the_zone() {
        let daily = spec("0 3 * * *", None).parse().unwrap();
        assert_eq!(
            daily.next_after(at("2026-12-01T02:59:00Z")),
            Some(at("2026-12-01T03:00:00Z"))
        );
        assert_eq!(
            daily.next_after(at("2026-12-01T03:00:00Z")),
            Some(at("2026-12-02T03:00:00Z")),
            "strictly after"
        );
        // 03:00 in Shanghai (UTC+8) is 19:00 UTC the day before.
        let shanghai = spec("0 3 * * *", Some("Asia/Shanghai")).parse().unwrap();
        assert_eq!(
            shanghai.next_after(at("2026-12-01T12:00:00Z")),
            Some(at("2026-12-01T19:00:00Z"))
        );
    }

    #[test]
    fn bad_schedules_say_what_is_wrong() {
        assert_eq!(
            spec("0 0 3 * * *", None).parse().unwrap_err(),
            ScheduleError::Fields("0 0 3 * * *".into(), 6)
        );
        assert!(matches!(
            spec("61 * * * *", None).parse().unwrap_err(),
            ScheduleError::Cron(..)
        ));
        assert_eq!(
            spec("0 3 * * *", Some("Mars/Olympus")).parse().unwrap_err(),
            ScheduleError::Zone("Mars/Olympus".into())
        );
    }
}
