//! The nightly window in local time ("01:00-06:00"), which may wrap past
//! midnight ("22:30-05:00"), and when it next opens.

use crate::ScheduleError;
use chrono::{DateTime, Duration, NaiveTime, TimeZone};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A daily span of local time; start == end means all day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeWindow {
    start: NaiveTime,
    end: NaiveTime,
}

impl Default for TimeWindow {
    /// 01:00–06:00, when most owners sleep.
    fn default() -> Self {
        Self {
            start: NaiveTime::from_hms_opt(1, 0, 0).unwrap_or_default(),
            end: NaiveTime::from_hms_opt(6, 0, 0).unwrap_or_default(),
        }
    }
}

impl TimeWindow {
    /// A window from `start` to `end` (local wall-clock times).
    pub fn new(start: NaiveTime, end: NaiveTime) -> Self {
        Self { start, end }
    }

    /// Whether the wall-clock time `at` falls inside.
    pub fn contains(&self, at: NaiveTime) -> bool {
        match self.start.cmp(&self.end) {
            std::cmp::Ordering::Less => self.start <= at && at < self.end,
            std::cmp::Ordering::Greater => at >= self.start || at < self.end,
            std::cmp::Ordering::Equal => true,
        }
    }

    /// When the window next opens at or after `now` (`now` itself when it
    /// is open).
    pub fn next_open<Tz: TimeZone>(&self, now: &DateTime<Tz>) -> DateTime<Tz> {
        if self.contains(now.time()) {
            return now.clone();
        }
        let today = now.date_naive().and_time(self.start);
        let candidate = if now.time() < self.start {
            today
        } else {
            today + Duration::days(1)
        };
        // A start that falls in a daylight-saving gap opens at the first
        // valid instant after it.
        let zone = now.timezone();
        (0..=120)
            .find_map(|minutes| {
                zone.from_local_datetime(&(candidate + Duration::minutes(minutes)))
                    .earliest()
            })
            .unwrap_or_else(|| now.clone())
    }
}

impl fmt::Display for TimeWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{}",
            self.start.format("%H:%M"),
            self.end.format("%H:%M")
        )
    }
}

impl FromStr for TimeWindow {
    type Err = ScheduleError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || ScheduleError::BadWindow(text.to_string());
        let (start, end) = text.split_once('-').ok_or_else(bad)?;
        let time = |t: &str| NaiveTime::parse_from_str(t.trim(), "%H:%M").map_err(|_| bad());
        Ok(Self::new(time(start)?, time(end)?))
    }
}

impl TryFrom<String> for TimeWindow {
    type Error = ScheduleError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<TimeWindow> for String {
    fn from(window: TimeWindow) -> Self {
        window.to_string()
    }
}
