//! SQLite's own checks of the file: a bounded `quick_check` at every start,
//! the full `integrity_check` on demand (`pincer doctor --check`).

use crate::{Result, SqliteContext};
use rusqlite::Connection;
use serde::Serialize;
use std::time::{Duration, Instant};

/// How long the check at start may look at a large file before it stops
/// and says the rest is unchecked (the full check has no limit).
pub const QUICK_CHECK_BUDGET: Duration = Duration::from_secs(2);

/// How deep to look.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckDepth {
    /// `PRAGMA quick_check`, within [`QUICK_CHECK_BUDGET`].
    Quick,
    /// `PRAGMA integrity_check` and `foreign_key_check`, to the end.
    Full,
}

/// What a check found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Integrity {
    /// `quick` or `full`.
    pub depth: &'static str,
    /// Whether the check looked at the whole file (a quick check stops at
    /// its time budget).
    pub finished: bool,
    /// SQLite's findings, at most 20; empty when the file is whole.
    pub problems: Vec<String>,
    /// How long it took.
    pub took_ms: u64,
}

impl Integrity {
    /// One sentence naming the damage, when there is any.
    pub fn problem(&self) -> Option<String> {
        match self.problems.as_slice() {
            [] => None,
            [one] => Some(format!("SQLite's {} check: {one}", self.depth)),
            [first, rest @ ..] => Some(format!(
                "SQLite's {} check: {first} (and {} more)",
                self.depth,
                rest.len()
            )),
        }
    }
}

pub(crate) fn check(connection: &Connection, depth: CheckDepth) -> Result<Integrity> {
    let started = Instant::now();
    let (pragma, name) = match depth {
        CheckDepth::Quick => ("PRAGMA quick_check(20)", "quick"),
        CheckDepth::Full => ("PRAGMA integrity_check(20)", "full"),
    };
    if depth == CheckDepth::Quick {
        let deadline = started + QUICK_CHECK_BUDGET;
        connection.progress_handler(10_000, Some(move || Instant::now() > deadline));
    }
    let rows = read_findings(connection, pragma);
    connection.progress_handler(0, None::<fn() -> bool>);
    let (mut problems, finished) = match rows {
        Ok(rows) => (rows, true),
        Err(rusqlite::Error::SqliteFailure(failure, _))
            if failure.code == rusqlite::ErrorCode::OperationInterrupted =>
        {
            (Vec::new(), false)
        }
        Err(other) => return Err(other).context("checking the database's integrity"),
    };
    problems.retain(|row| row != "ok");
    if depth == CheckDepth::Full && problems.is_empty() {
        let orphans: i64 = connection
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .context("checking the database's foreign keys")?;
        if orphans > 0 {
            problems.push(format!(
                "{orphans} rows point at rows that are gone (foreign keys)"
            ));
        }
    }
    Ok(Integrity {
        depth: name,
        finished,
        problems,
        took_ms: started.elapsed().as_millis() as u64,
    })
}

fn read_findings(connection: &Connection, pragma: &str) -> rusqlite::Result<Vec<String>> {
    let mut statement = connection.prepare(pragma)?;
    let rows = statement.query_map([], |row| row.get::<_, String>(0))?;
    rows.collect()
}
