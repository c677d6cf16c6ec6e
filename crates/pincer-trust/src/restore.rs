//! Restoring a backup: checked first, the current files moved aside (never
//! deleted), the restore recorded in the restored audit log and the
//! keychain anchor moved to it, so verification names the restore instead
//! of a loss. A running app cannot restore under itself: the owner asks
//! for a restore at the next start ([`restore_at_start`]), which runs
//! before the database is opened ([`restore_pending`]).

use crate::backup_copies::{io, Backup, Backups};
use crate::{keys, Action, Actor, Result, TrustError};
use pincer_store::backup::{self, BACKUP_FILE_NAME};
use pincer_store::Store;
use pincer_vault::{names, Secret};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::path::{Path, PathBuf};

/// The lock a running Pincer holds on its data folder; a restore needs it.
pub const SERVING_LOCK: &str = "pincer.lock";
/// The restore the owner asked for at the next start.
const PENDING_FILE: &str = "restore-at-start.json";
/// What the last restore at start did, for the Settings pane.
const OUTCOME_FILE: &str = "last-restore.json";

/// What a restore did.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Restored {
    /// The backup brought back.
    pub backup: Backup,
    /// Where the replaced database and workspace files were kept.
    pub kept_aside: PathBuf,
    /// The audit record of the restore, in the restored log.
    pub audit_seq: i64,
}

/// A restore asked for at the next start.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoreRequest {
    /// The backup's id.
    pub id: String,
    /// Its folder.
    pub folder: PathBuf,
    /// When the owner asked (ms since the epoch).
    pub requested_at_ms: i64,
}

/// What the restore at the last start did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoreOutcome {
    /// The backup's id.
    pub id: String,
    /// When it ran (ms since the epoch).
    pub at_ms: i64,
    /// Whether the backup is now in place.
    pub restored: bool,
    /// What happened, or why it was not restored.
    pub message: String,
    /// Where the replaced files were kept, when they were moved.
    pub kept_aside: Option<PathBuf>,
}

/// Checks `backup` now (so a bad one is refused while the owner is still
/// looking) and asks for it to be restored when Pincer next starts.
/// Audited; asking again replaces the earlier request.
pub fn restore_at_start(
    trust: &crate::Trust,
    backups: &Backups,
    id: &str,
) -> Result<RestoreRequest> {
    let chosen = backups.find(id)?;
    if let Some(problem) = backups.check(&chosen, &trust.checkpoint_key()).problem {
        return Err(TrustError::InvalidInput(format!(
            "the backup {} cannot be restored: {problem}",
            chosen.id
        )));
    }
    let request = RestoreRequest {
        id: chosen.id.clone(),
        folder: chosen.folder.clone(),
        requested_at_ms: pincer_store::unix_now_ms(),
    };
    write_json(&backups.data_dir().join(PENDING_FILE), &request)?;
    trust.record(
        Actor::Owner,
        Action::BackupRestoreAtStart,
        &chosen.id,
        "requested",
        serde_json::json!({"folder": chosen.folder.display().to_string()}),
    )?;
    Ok(request)
}

/// Takes back the restore asked for at the next start; `false` when none was.
pub fn cancel_restore_at_start(trust: &crate::Trust, data_dir: &Path) -> Result<bool> {
    let Some(request) = pending(data_dir)? else {
        return Ok(false);
    };
    std::fs::remove_file(data_dir.join(PENDING_FILE))
        .map_err(|e| io("taking back the restore at start", e))?;
    trust.record(
        Actor::Owner,
        Action::BackupRestoreAtStart,
        &request.id,
        "canceled",
        serde_json::json!({}),
    )?;
    Ok(true)
}

/// The restore asked for at the next start, if any.
pub fn pending(data_dir: &Path) -> Result<Option<RestoreRequest>> {
    read_json(&data_dir.join(PENDING_FILE))
}

/// What the restore at the last start did, if one ran.
pub fn last_restore(data_dir: &Path) -> Result<Option<RestoreOutcome>> {
    read_json(&data_dir.join(OUTCOME_FILE))
}

/// At start, before the database is opened: runs the restore the owner
/// asked for, once (the request is used up whatever happens), and keeps
/// its outcome. Fails only when the restore stopped after moving the
/// current database aside, so nothing starts on an empty one.
pub fn restore_pending(data_dir: &Path) -> Result<Option<RestoreOutcome>> {
    let Some(request) = pending(data_dir)? else {
        return Ok(None);
    };
    // Another Pincer runs on the folder (a `pincer serve` beside the
    // app): the request waits for a start that holds the folder alone.
    if lock_data_dir(data_dir)?.is_none() {
        return Ok(None);
    }
    let folder = request.folder.parent().map(Path::to_path_buf);
    let backups = Backups::in_folder(data_dir, folder.as_deref());
    let restored = restore(&backups, &request.id);
    std::fs::remove_file(data_dir.join(PENDING_FILE))
        .map_err(|e| io("clearing the restore at start", e))?;
    let outcome = match &restored {
        Ok(done) => RestoreOutcome {
            id: request.id.clone(),
            at_ms: pincer_store::unix_now_ms(),
            restored: true,
            message: format!(
                "restored the backup {}; the files it replaced are in {}",
                done.backup.id,
                done.kept_aside.display()
            ),
            kept_aside: Some(done.kept_aside.clone()),
        },
        Err(error) => RestoreOutcome {
            id: request.id.clone(),
            at_ms: pincer_store::unix_now_ms(),
            restored: false,
            message: format!("the backup {} was not restored: {error}", request.id),
            kept_aside: None,
        },
    };
    write_json(&data_dir.join(OUTCOME_FILE), &outcome)?;
    match restored {
        Err(error) if !data_dir.join(Store::FILE_NAME).exists() => Err(error),
        Ok(done) => {
            tracing::info!(id = %done.backup.id, "restored a backup at start");
            Ok(Some(outcome))
        }
        Err(error) => {
            tracing::error!(%error, "the restore asked for at start did not run");
            Ok(Some(outcome))
        }
    }
}

/// Holds the data folder's serving lock; `None` when a running Pincer holds it.
pub fn lock_data_dir(data_dir: &Path) -> Result<Option<File>> {
    std::fs::create_dir_all(data_dir).map_err(|e| io("creating the data folder", e))?;
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(data_dir.join(SERVING_LOCK))
        .map_err(|e| io("opening the data folder's lock", e))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(source)) => Err(io("locking the data folder", source)),
    }
}

/// Restores the backup `when` names into `data_dir`, which no running
/// Pincer may hold: the backup is checked first (files, SQLite, its audit
/// chain with this install's key); the current database and workspace
/// markdown are moved aside, not deleted; the restore is recorded in the
/// restored audit log and the keychain anchor moved to it.
pub fn restore(backups: &Backups, when: &str) -> Result<Restored> {
    let data_dir = backups.data_dir();
    let Some(_lock) = lock_data_dir(data_dir)? else {
        return Err(TrustError::InvalidInput(format!(
            "Pincer is running on {}; quit it (or stop `pincer serve`), then restore",
            data_dir.display()
        )));
    };
    let chosen = backups.find(when)?;
    let vault = keys::open_vault(data_dir)?;
    let master_key = vault.require(names::MASTER_KEY)?;
    let key = keys::derive(&master_key, b"pincer/audit-checkpoint/v1");
    let check = backups.check(&chosen, &key);
    if let Some(problem) = check.problem {
        return Err(TrustError::InvalidInput(format!(
            "the backup {} was not restored: {problem}; nothing was changed",
            chosen.id
        )));
    }
    let previous_anchor = vault
        .get(names::AUDIT_ANCHOR)?
        .map(|s| s.expose().to_string());
    let aside = data_dir
        .join("replaced")
        .join(backup::stamp(pincer_store::unix_now_ms()));
    let database = data_dir.join(Store::FILE_NAME);
    let needed = chosen.copy.bytes;
    backup::ensure_space(data_dir, needed, "restoring a backup")?;
    std::fs::create_dir_all(&aside).map_err(|e| io("making a folder for the replaced files", e))?;
    for suffix in ["", "-wal", "-shm"] {
        let file = PathBuf::from(format!("{}{suffix}", database.display()));
        if file.exists() {
            let target = aside.join(format!("{}{suffix}", Store::FILE_NAME));
            std::fs::rename(&file, &target)
                .map_err(|e| io("moving the current database aside", e))?;
        }
    }
    let finished = put_in_place(data_dir, &chosen, &aside, &key, &vault, previous_anchor);
    let audit_seq = finished.map_err(|error| {
        TrustError::InvalidInput(format!(
            "restoring {} stopped after the current files were moved aside ({error}); they are in {}; \
             move them back to {} to undo, or run the restore again",
            chosen.id,
            aside.display(),
            data_dir.display()
        ))
    })?;
    Ok(Restored {
        backup: chosen,
        kept_aside: aside,
        audit_seq,
    })
}

/// The restore's second half, once the current files are aside: the
/// workspace files and the database copied in, the restore recorded and
/// signed in the restored log, the keychain anchor moved to that record.
fn put_in_place(
    data_dir: &Path,
    chosen: &Backup,
    aside: &Path,
    key: &[u8],
    vault: &pincer_vault::Vault,
    previous_anchor: Option<String>,
) -> Result<i64> {
    let database = data_dir.join(Store::FILE_NAME);
    for kept in &chosen.copy.files {
        let current = data_dir.join(&kept.path);
        if current.exists() {
            let target = aside.join(&kept.path);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| io("keeping a workspace file aside", e))?;
            }
            std::fs::copy(&current, &target)
                .map_err(|e| io("keeping a workspace file aside", e))?;
        }
        if let Some(parent) = current.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io("restoring a workspace file", e))?;
        }
        std::fs::copy(chosen.folder.join(&kept.path), &current)
            .map_err(|e| io("restoring a workspace file", e))?;
    }
    let partial = data_dir.join(format!("{}.restoring", Store::FILE_NAME));
    std::fs::copy(chosen.folder.join(BACKUP_FILE_NAME), &partial)
        .map_err(|e| io("copying the backup into place", e))?;
    File::open(&partial)
        .and_then(|f| f.sync_all())
        .map_err(|e| io("copying the backup into place", e))?;
    std::fs::rename(&partial, &database).map_err(|e| io("putting the backup in place", e))?;

    let store = Store::open(&database)?;
    let head_before = store.audit_head()?;
    let record = store.audit(pincer_store::AuditEvent {
        actor: Actor::Owner.as_str().into(),
        action: Action::BackupRestore.as_str().into(),
        target: chosen.id.clone(),
        decision: "done".into(),
        details: serde_json::json!({
            "backup_head": head_before.as_ref().map(|(seq, hash)| format!("{seq}:{hash}")),
            "replaced_anchor": previous_anchor,
            "kept_aside": aside.display().to_string(),
        }),
    })?;
    store.audit_checkpoint(key)?;
    if vault.backend() == pincer_vault::VaultBackend::Keychain {
        let anchor = pincer_store::AuditAnchor {
            seq: record.seq,
            hash: record.hash.clone(),
        };
        vault.set(names::AUDIT_ANCHOR, &Secret::new(anchor.encode()))?;
    }
    Ok(record.seq)
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let folder = path.parent().unwrap_or(Path::new("."));
    let mut file =
        tempfile::NamedTempFile::new_in(folder).map_err(|e| io("writing the restore's note", e))?;
    serde_json::to_writer_pretty(file.as_file_mut(), value)
        .map_err(|e| TrustError::InvalidInput(e.to_string()))?;
    file.as_file()
        .sync_all()
        .map_err(|e| io("writing the restore's note", e))?;
    file.persist(path)
        .map_err(|e| io("writing the restore's note", e.error))?;
    Ok(())
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Option<T>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            TrustError::InvalidInput(format!(
                "{} is damaged ({e}); delete it and ask again",
                path.display()
            ))
        }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(io("reading the restore's note", source)),
    }
}
