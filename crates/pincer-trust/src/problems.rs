//! Work nobody waits on at that moment (the memory sync, the judge, a
//! training round, the daily backup, an audit record written beside an
//! action) that failed. Each failure is kept by area until the same work
//! next succeeds, so the app's banner, `/health` and the log name it; none
//! is dropped with only a log line.

use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Display;
use std::sync::Mutex;

/// Which background work failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Area {
    /// Appending to the audit log or signing its checkpoint.
    Audit,
    /// Keeping memory's index in step with its files and folders.
    Memory,
    /// Keeping a consented turn for training.
    Recording,
    /// The judge scoring turns.
    Judge,
    /// A training round.
    Training,
    /// The daily backup.
    Backups,
}

impl Area {
    /// Its name in `/health` and the app's banner (`audit`, `memory`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Area::Audit => "audit",
            Area::Memory => "memory",
            Area::Recording => "recording",
            Area::Judge => "judge",
            Area::Training => "training",
            Area::Backups => "backups",
        }
    }

    /// What the owner reads the area as.
    pub fn what(self) -> &'static str {
        match self {
            Area::Audit => "writing the audit log",
            Area::Memory => "keeping memory in step with its files",
            Area::Recording => "keeping a turn for training",
            Area::Judge => "judging answers",
            Area::Training => "the training round",
            Area::Backups => "the daily backup",
        }
    }
}

/// One failure, as the owner is told it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// The work that failed.
    pub area: Area,
    /// What failed and why, with the way out when the error names one.
    pub message: String,
    /// When it last failed (ms since the epoch).
    pub at_ms: i64,
    /// How many times in a row it has failed.
    pub times: u32,
}

/// The failures in force, one per area.
#[derive(Debug, Default)]
pub struct Problems(Mutex<BTreeMap<Area, Problem>>);

impl Problems {
    /// Keeps `error` as the area's problem and logs it.
    pub fn report(&self, area: Area, error: &dyn Display) {
        let message = format!("{} failed: {error}", area.what());
        tracing::error!(area = ?area, "{message}");
        let mut held = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let times = held.get(&area).map_or(0, |p| p.times) + 1;
        held.insert(
            area,
            Problem {
                area,
                message,
                at_ms: pincer_store::unix_now_ms(),
                times,
            },
        );
    }

    /// The area's work succeeded: its problem, if any, is over.
    pub fn clear(&self, area: Area) {
        let cleared = self
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&area);
        if cleared.is_some() {
            tracing::info!(area = ?area, "{} works again", area.what());
        }
    }

    /// Keeps `result`'s error as the area's problem, or clears the area.
    pub fn track<T, E: Display>(&self, area: Area, result: &std::result::Result<T, E>) {
        match result {
            Ok(_) => self.clear(area),
            Err(error) => self.report(area, error),
        }
    }

    /// Every problem in force, by area.
    pub fn list(&self) -> Vec<Problem> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_is_kept_until_its_work_succeeds_and_counts_repeats() {
        let problems = Problems::default();
        problems.report(Area::Memory, &"disk full");
        problems.report(Area::Memory, &"disk full again");
        problems.report(Area::Judge, &"no model");
        let listed = problems.list();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0].area, Area::Memory);
        assert_eq!(listed[0].times, 2);
        assert_eq!(
            listed[0].message,
            "keeping memory in step with its files failed: disk full again"
        );
        problems.track(Area::Memory, &Ok::<(), String>(()));
        assert_eq!(problems.list().len(), 1);
        assert_eq!(problems.list()[0].area, Area::Judge);
    }
}
