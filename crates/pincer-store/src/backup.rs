//! Online copies of the database with SQLite's backup API.
//!
//! A copy is taken on a connection of its own, in one read transaction:
//! WAL lets the server's writes go on meanwhile, and the store's connection
//! is never held, so a turn does not wait for a backup. The copy is written
//! beside its final name and renamed once whole, in rollback-journal mode
//! so it is one self-contained file; a manifest records its size, hash,
//! schema version and audit head, and the other files kept with it.

use crate::{human_bytes, Result, SqliteContext, StoreError};
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The database's name inside a backup folder.
pub const BACKUP_FILE_NAME: &str = "pincer.db";
/// The manifest's name inside a backup folder.
pub const MANIFEST_FILE_NAME: &str = "manifest.json";

/// One backup folder's manifest: what it holds and how to check it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupCopy {
    /// Why it was taken (`manual`, `daily`, `before migrating from schema 8`).
    pub reason: String,
    /// When it was taken (ms since the epoch).
    pub created_at_ms: i64,
    /// The database's schema version.
    pub schema_version: i64,
    /// The database copy's size.
    pub bytes: u64,
    /// Its SHA-256, so a copy damaged later is refused.
    pub sha256: String,
    /// The audit chain's head in the copy (`seq`, `hash`).
    pub audit_head: Option<(i64, String)>,
    /// Other files kept with it (the workspace's markdown), by relative path.
    pub files: Vec<KeptFile>,
    /// How long the copy took.
    pub took_ms: u64,
}

/// A file kept with a backup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeptFile {
    /// Its path inside the backup folder (and under the folder it came from).
    pub path: String,
    /// Its size.
    pub bytes: u64,
    /// Its SHA-256.
    pub sha256: String,
}

/// Where the copy before a migration from `version` goes: beside the
/// database, in `backups/`.
pub(crate) fn pre_migration_folder(database: &Path, version: i64) -> PathBuf {
    let folder = database.parent().unwrap_or(Path::new("."));
    folder.join("backups").join(format!(
        "{}-before-schema-{version}",
        crate::backup::stamp(crate::unix_now_ms())
    ))
}

/// `20261202T181530.123Z`: a folder name that sorts by time.
pub fn stamp(at_ms: i64) -> String {
    let seconds = at_ms.div_euclid(1000);
    let (days, rest) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}.{:03}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
        at_ms.rem_euclid(1000)
    )
}

/// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian, UTC).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Copies the database at `database` into `folder` (created; it must not
/// hold a backup yet) with `files` (source path, path inside the folder)
/// kept beside it, and writes the manifest last: a folder without one is
/// an unfinished backup. Refused before writing when the disk cannot hold it.
pub fn copy_online(database: &Path, folder: &Path, reason: &str) -> Result<BackupCopy> {
    copy_with_files(database, folder, reason, &[])
}

/// [`copy_online`] with other files kept beside the database.
pub fn copy_with_files(
    database: &Path,
    folder: &Path,
    reason: &str,
    files: &[(PathBuf, String)],
) -> Result<BackupCopy> {
    let started = Instant::now();
    let needed = std::fs::metadata(database).map(|m| m.len()).unwrap_or(0)
        + files
            .iter()
            .filter_map(|(source, _)| std::fs::metadata(source).ok())
            .map(|m| m.len())
            .sum::<u64>();
    ensure_space(folder, needed, "taking a backup")?;
    std::fs::create_dir_all(folder).map_err(|source| StoreError::CreateDir {
        path: folder.to_path_buf(),
        source,
    })?;
    let partial = folder.join(format!("{BACKUP_FILE_NAME}.partial"));
    let _ = std::fs::remove_file(&partial);
    let source = Connection::open_with_flags(
        database,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .context("opening the database to back it up")?;
    source
        .busy_timeout(std::time::Duration::from_secs(30))
        .context("opening the database to back it up")?;
    let mut target = Connection::open(&partial).context("creating the backup file")?;
    {
        let backup =
            rusqlite::backup::Backup::new(&source, &mut target).context("starting the backup")?;
        // All pages in one step: one read transaction, which WAL lets run
        // beside the server's writes (a step-by-step copy restarts whenever
        // another connection writes, and might never finish).
        backup.step(-1).context("copying the database")?;
    }
    let mode: String = target
        .query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))
        .context("finishing the backup file")?;
    debug_assert_eq!(mode, "delete");
    let schema_version: i64 = target
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .context("reading the backup's schema version")?;
    let audit_head = audit_head(&target)?;
    drop(target);
    drop(source);
    sync_file(&partial)?;
    let copy = folder.join(BACKUP_FILE_NAME);
    std::fs::rename(&partial, &copy).map_err(|e| io("naming the backup file", &copy, e))?;
    let mut kept = Vec::with_capacity(files.len());
    for (source, relative) in files {
        let target = folder.join(relative);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io("keeping a file", parent, e))?;
        }
        std::fs::copy(source, &target).map_err(|e| io("keeping a file", source, e))?;
        let (bytes, sha256) = hash_file(&target)?;
        kept.push(KeptFile {
            path: relative.clone(),
            bytes,
            sha256,
        });
    }
    let (bytes, sha256) = hash_file(&copy)?;
    let manifest = BackupCopy {
        reason: reason.to_string(),
        created_at_ms: crate::unix_now_ms(),
        schema_version,
        bytes,
        sha256,
        audit_head,
        files: kept,
        took_ms: started.elapsed().as_millis() as u64,
    };
    write_manifest(folder, &manifest)?;
    tracing::info!(
        folder = %folder.display(),
        size = %human_bytes(bytes),
        took_ms = manifest.took_ms,
        "backed up the database ({reason})"
    );
    Ok(manifest)
}

fn audit_head(connection: &Connection) -> Result<Option<(i64, String)>> {
    let has_log: bool = connection
        .query_row(
            "SELECT count(*) > 0 FROM sqlite_master WHERE name = 'audit_log'",
            [],
            |r| r.get(0),
        )
        .context("reading the backup's audit head")?;
    if !has_log {
        return Ok(None);
    }
    connection
        .query_row(
            "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .context("reading the backup's audit head")
}

/// Refuses, naming the space needed and free, when `folder`'s disk cannot
/// hold `needed` more bytes (and a margin for SQLite's own files).
pub fn ensure_space(folder: &Path, needed: u64, what: &'static str) -> Result<()> {
    let Some(free) = crate::free_bytes(folder) else {
        return Ok(());
    };
    let wanted = needed + needed / 20 + 1_000_000;
    if free < wanted {
        return Err(StoreError::DiskFull {
            context: what,
            cause: format!(
                "it needs about {} and the disk holding {} has {} free; free some space and try again",
                human_bytes(wanted),
                folder.display(),
                human_bytes(free)
            ),
        });
    }
    Ok(())
}

/// Reads a backup folder's manifest.
pub fn read_manifest(folder: &Path) -> Result<BackupCopy> {
    let path = folder.join(MANIFEST_FILE_NAME);
    let text =
        std::fs::read_to_string(&path).map_err(|e| io("reading a backup's manifest", &path, e))?;
    serde_json::from_str(&text).map_err(|error| StoreError::Backup {
        folder: folder.to_path_buf(),
        problem: format!("its manifest does not read ({error})"),
    })
}

fn write_manifest(folder: &Path, manifest: &BackupCopy) -> Result<()> {
    let path = folder.join(MANIFEST_FILE_NAME);
    let partial = folder.join(format!("{MANIFEST_FILE_NAME}.partial"));
    let text = serde_json::to_string_pretty(manifest).expect("a manifest serialises");
    std::fs::write(&partial, text).map_err(|e| io("writing a backup's manifest", &partial, e))?;
    sync_file(&partial)?;
    std::fs::rename(&partial, &path).map_err(|e| io("writing a backup's manifest", &path, e))
}

/// Size and SHA-256 of a file.
pub fn hash_file(path: &Path) -> Result<(u64, String)> {
    let mut file = std::fs::File::open(path).map_err(|e| io("reading a file", path, e))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let read = file
            .read(&mut buffer)
            .map_err(|e| io("reading a file", path, e))?;
        if read == 0 {
            break;
        }
        bytes += read as u64;
        hasher.update(&buffer[..read]);
    }
    Ok((bytes, hex::encode(hasher.finalize())))
}

/// Checks a backup folder's files against its manifest: the database and
/// every kept file there, with the size and hash recorded when it was taken.
pub fn check_files(folder: &Path) -> Result<BackupCopy> {
    let manifest = read_manifest(folder)?;
    let refuse = |problem: String| StoreError::Backup {
        folder: folder.to_path_buf(),
        problem,
    };
    let database = folder.join(BACKUP_FILE_NAME);
    if !database.exists() {
        return Err(refuse(format!("{BACKUP_FILE_NAME} is missing")));
    }
    let (bytes, sha256) = hash_file(&database)?;
    if bytes != manifest.bytes || sha256 != manifest.sha256 {
        return Err(refuse(format!(
            "{BACKUP_FILE_NAME} changed since it was taken ({} now, {} then; its hash differs)",
            human_bytes(bytes),
            human_bytes(manifest.bytes)
        )));
    }
    for kept in &manifest.files {
        let path = folder.join(&kept.path);
        let (bytes, sha256) = hash_file(&path)
            .map_err(|_| refuse(format!("the kept file {} is missing", kept.path)))?;
        if bytes != kept.bytes || sha256 != kept.sha256 {
            return Err(refuse(format!(
                "the kept file {} changed since it was taken",
                kept.path
            )));
        }
    }
    Ok(manifest)
}

fn sync_file(path: &Path) -> Result<()> {
    std::fs::File::open(path)
        .and_then(|file| file.sync_all())
        .map_err(|e| io("flushing a backup to disk", path, e))
}

fn io(context: &'static str, path: &Path, source: std::io::Error) -> StoreError {
    if source.raw_os_error() == Some(28) {
        return StoreError::DiskFull {
            context,
            cause: format!(
                "the disk holding {} is full; free some space and try again",
                path.display()
            ),
        };
    }
    StoreError::Io {
        context,
        path: path.to_path_buf(),
        source,
    }
}
