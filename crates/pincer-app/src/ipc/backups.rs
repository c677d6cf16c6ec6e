//! The backups card in Settings and the app's banner for the store's
//! condition and background work that failed.

use serde::{Deserialize, Serialize};
use specta::Type;

/// One backup, as the Settings pane lists it.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct BackupView {
    /// Its id: when it was taken, then why (`20261202T210000Z-daily`).
    pub id: String,
    /// Why it was taken (`daily`, `manual`, `before migrating to schema 7`).
    pub reason: String,
    /// When (ms since the epoch).
    pub created_at_ms: f64,
    /// The database copy's size in bytes.
    pub bytes: f64,
    /// The database schema it holds.
    pub schema_version: u32,
    /// The newest audit record it holds.
    pub audit_records: f64,
    /// How many workspace files came with it.
    pub files: u32,
    /// Its folder.
    pub folder: String,
}

/// The backups card: where they go, what there is, a restore waiting for
/// the next start and what the last one did.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct BackupsView {
    /// Where new backups go.
    pub folder: String,
    /// Whether that is the data folder's own `backups` (no folder chosen).
    pub default_folder: bool,
    /// Every backup found, newest first.
    pub backups: Vec<BackupView>,
    /// Hours between the automatic backups.
    pub every_hours: u32,
    /// How many of each kind are kept.
    pub keep: u32,
    /// The backup that will be restored at the next start, if asked for.
    pub restore_at_start: Option<String>,
    /// What the restore at the last start did.
    pub last_restore: Option<String>,
    /// Whether that restore succeeded.
    pub last_restore_ok: Option<bool>,
}

/// Names one backup by id.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct BackupRef {
    /// The backup's id, as listed.
    pub id: String,
}

/// The folder for new backups; `None` goes back to the data folder's own.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct BackupFolder {
    /// A full path, or `None`.
    pub path: Option<String>,
}

/// What checking a backup found.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct BackupCheckView {
    /// The backup's id.
    pub id: String,
    /// Why it cannot be restored (`None`: it can).
    pub problem: Option<String>,
    /// The audit records that verified in it.
    pub audit_records: f64,
}

/// Background work that failed and has not succeeded since.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct ProblemView {
    /// The work (`audit`, `memory`, `recording`, `judge`, `training`, `backups`).
    pub area: String,
    /// What failed and why.
    pub message: String,
    /// When it last failed (ms since the epoch).
    pub at_ms: f64,
    /// How many times in a row.
    pub times: u32,
}

/// The store's condition and the failures in force, for the app's banner.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct HealthView {
    /// `ok`, `degraded` (a full disk: what is asked now may not be
    /// saved) or `damaged` (writes are stopped).
    pub store: String,
    /// Why, when not healthy, with the way out.
    pub cause: Option<String>,
    /// Background work that failed.
    pub problems: Vec<ProblemView>,
}
