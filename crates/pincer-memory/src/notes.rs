//! Daily notes: `memory/YYYY-MM-DD.md`, OpenClaw's layout, one file a day in
//! the owner's local time. The agent appends what it is asked to remember;
//! the owner reads and edits the same file.

use crate::{io_error, MemoryError, Result};
use chrono::{Datelike, Local, NaiveDate};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Days since 1970-01-01 of a `YYYY-MM-DD` string, if it is one.
pub(crate) fn parse_day(text: &str) -> Option<i32> {
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    Some(date.num_days_from_ce() - NaiveDate::from_ymd_opt(1970, 1, 1)?.num_days_from_ce())
}

/// `YYYY-MM-DD` of a day number.
pub(crate) fn format_day(day: i32) -> String {
    NaiveDate::from_ymd_opt(1970, 1, 1)
        .and_then(|epoch| epoch.checked_add_signed(chrono::Duration::days(day.into())))
        .map_or_else(|| "unknown".into(), |d| d.format("%Y-%m-%d").to_string())
}

/// Today's number in the owner's local time.
pub(crate) fn today() -> i32 {
    parse_day(&Local::now().format("%Y-%m-%d").to_string()).unwrap_or(0)
}

/// The path of a day's note in a workspace.
pub(crate) fn daily_note_path(workspace: &Path, day: i32) -> PathBuf {
    workspace
        .join("memory")
        .join(format!("{}.md", format_day(day)))
}

/// Appends one bullet to today's note, creating the file with a heading, and
/// returns the file and the 1-based line the bullet landed on. The write is
/// one `write_all` of a whole line with `O_APPEND`, then fsync: a crash
/// leaves the note as it was or with the full line.
pub(crate) fn append_to_daily_note(workspace: &Path, text: &str) -> Result<(PathBuf, usize)> {
    let text = text.trim();
    if text.is_empty() {
        return Err(MemoryError::Invalid(
            "there is nothing to remember: the note is empty".into(),
        ));
    }
    let path = daily_note_path(workspace, today());
    let folder = path.parent().unwrap_or(workspace);
    std::fs::create_dir_all(folder).map_err(io_error(folder))?;
    let existing = match std::fs::read_to_string(&path) {
        Ok(existing) => existing,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(io_error(&path)(e)),
    };
    let mut addition = String::new();
    if existing.is_empty() {
        addition.push_str(&format!("# {}\n\n", format_day(today())));
    } else if !existing.ends_with('\n') {
        addition.push('\n');
    }
    let time = Local::now().format("%H:%M");
    let single_line = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    addition.push_str(&format!("- {time} {single_line}\n"));
    let line = format!("{existing}{addition}").lines().count();
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(io_error(&path))?;
    file.write_all(addition.as_bytes())
        .map_err(io_error(&path))?;
    file.sync_all().map_err(io_error(&path))?;
    Ok((path, line))
}

/// The note in a "remember that …" request, if the message is one.
pub fn remember_request(message: &str) -> Option<&str> {
    let trimmed = message.trim_start();
    let lower = trimmed.to_ascii_lowercase();
    for prefix in [
        "please remember that ",
        "remember that ",
        "remember: ",
        "please remember: ",
    ] {
        if lower.starts_with(prefix) {
            let rest = trimmed[prefix.len()..].trim();
            return (!rest.is_empty()).then_some(rest);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_round_trip_and_requests_are_recognised() {
        assert_eq!(parse_day("1970-01-02"), Some(1));
        assert_eq!(format_day(parse_day("2026-11-21").unwrap()), "2026-11-21");
        assert_eq!(parse_day("notes"), None);
        assert_eq!(
            remember_request("Remember that the boat is blue."),
            Some("the boat is blue.")
        );
        assert_eq!(remember_request("what do you remember that I said?"), None);
        assert_eq!(remember_request("remember that   "), None);
    }

    #[test]
    fn appending_creates_the_note_and_reports_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let (path, line) = append_to_daily_note(dir.path(), "first thing").unwrap();
        assert_eq!(line, 3);
        let (_, line) = append_to_daily_note(dir.path(), "second\nthing").unwrap();
        assert_eq!(line, 4);
        let text = std::fs::read_to_string(path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[2].ends_with("first thing"));
        assert!(lines[3].ends_with("second thing"));
    }
}
