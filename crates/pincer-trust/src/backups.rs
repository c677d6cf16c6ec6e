//! The owner's backups: the database copied online with the workspace's
//! markdown beside it, kept in `<data dir>/backups`, checked before they are
//! trusted, and restored only after their audit chain verifies with this
//! install's key. A restore keeps what it replaces and records itself in
//! the restored audit log; the keychain anchor then follows the restored
//! chain, so verification names the restore instead of a loss.

use crate::{keys, Action, Actor, Result, Trust, TrustError};
use pincer_store::backup::{self, BACKUP_FILE_NAME};
use pincer_store::{AuditVerification, BackupCopy, CheckDepth, Integrity, Store};
use pincer_vault::{names, Secret};
use serde::Serialize;
use std::fs::File;
use std::path::{Path, PathBuf};

/// How many backups of each kind (taken, migrations) are kept by default.
pub const KEEP: usize = 7;
/// The lock a running Pincer holds on its data folder; a restore needs it.
pub const SERVING_LOCK: &str = "pincer.lock";

/// One backup folder.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Backup {
    /// Its folder's name: when it was taken, then why (`…-daily`).
    pub id: String,
    /// The folder.
    pub folder: PathBuf,
    /// Its manifest.
    pub copy: BackupCopy,
}

/// What checking a backup found; `problem` is `None` when it can be restored.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupCheck {
    /// The backup.
    pub backup: Backup,
    /// SQLite's full check of the copy.
    pub integrity: Option<Integrity>,
    /// The copy's audit chain, verified with this install's key.
    pub audit: Option<AuditVerification>,
    /// Why it cannot be restored, if it cannot.
    pub problem: Option<String>,
}

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

/// The backups of one data folder.
#[derive(Clone, Debug)]
pub struct Backups {
    data_dir: PathBuf,
}

impl Backups {
    /// The backups of `data_dir` (kept in its `backups` folder).
    pub fn new(data_dir: &Path) -> Self {
        Self {
            data_dir: data_dir.to_path_buf(),
        }
    }

    /// Where the backups are.
    pub fn folder(&self) -> PathBuf {
        self.data_dir.join("backups")
    }

    /// Takes a backup of `store` and the workspace's markdown now, without
    /// holding the store's connection (a turn goes on meanwhile), then keeps
    /// the newest [`KEEP`] of its kind. Audited.
    pub fn take(&self, trust: &Trust, reason: &str) -> Result<Backup> {
        let id = format!(
            "{}-{}",
            backup::stamp(pincer_store::unix_now_ms()),
            slug(reason)
        );
        let folder = self.folder().join(&id);
        let files = self.workspace_files();
        let copy = backup::copy_with_files(trust.store().path(), &folder, reason, &files)?;
        trust.record(
            Actor::System,
            Action::BackupTake,
            &id,
            "done",
            serde_json::json!({"reason": reason, "bytes": copy.bytes, "files": copy.files.len(), "took_ms": copy.took_ms}),
        );
        self.prune(reason, KEEP)?;
        Ok(Backup { id, folder, copy })
    }

    /// Every finished backup, oldest first (a folder without a manifest is
    /// one that was cut short, and is skipped).
    pub fn list(&self) -> Result<Vec<Backup>> {
        let entries = match std::fs::read_dir(self.folder()) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(io("reading the backups folder", source)),
        };
        let mut found = Vec::new();
        for entry in entries.flatten() {
            let folder = entry.path();
            if !folder.join(backup::MANIFEST_FILE_NAME).exists() {
                continue;
            }
            let copy = backup::read_manifest(&folder)?;
            found.push(Backup {
                id: entry.file_name().to_string_lossy().into_owned(),
                folder,
                copy,
            });
        }
        found.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(found)
    }

    /// The backup `when` names: `latest`, or its id (or the start of it).
    pub fn find(&self, when: &str) -> Result<Backup> {
        let all = self.list()?;
        let found = if when == "latest" {
            all.last().cloned()
        } else {
            let matching: Vec<_> = all.iter().filter(|b| b.id.starts_with(when)).collect();
            if matching.len() > 1 {
                return Err(TrustError::InvalidInput(format!(
                    "'{when}' names {} backups; give more of the id (`pincer backup list`)",
                    matching.len()
                )));
            }
            matching.first().map(|b| (*b).clone())
        };
        found.ok_or_else(|| {
            TrustError::InvalidInput(if all.is_empty() {
                format!(
                    "there are no backups in {} yet; take one with `pincer backup now`",
                    self.folder().display()
                )
            } else {
                format!(
                    "no backup '{when}'; `pincer backup list` shows the {} there are",
                    all.len()
                )
            })
        })
    }

    /// Checks `backup`: its files against the manifest, SQLite's full check
    /// and its audit chain with `key`, on a scratch copy (the backup itself
    /// is never opened for writing).
    pub fn check(&self, backup: &Backup, key: &[u8]) -> BackupCheck {
        let mut check = BackupCheck {
            backup: backup.clone(),
            integrity: None,
            audit: None,
            problem: None,
        };
        if let Err(error) = backup::check_files(&backup.folder) {
            check.problem = Some(error.to_string());
            return check;
        }
        let scratch = match tempfile::Builder::new()
            .prefix(".verify-")
            .tempdir_in(self.folder())
        {
            Ok(dir) => dir,
            Err(source) => {
                check.problem =
                    Some(io("making a scratch folder to check a backup", source).to_string());
                return check;
            }
        };
        let copy = scratch.path().join(BACKUP_FILE_NAME);
        if let Err(error) = std::fs::copy(backup.folder.join(BACKUP_FILE_NAME), &copy) {
            check.problem = Some(format!("it could not be copied to be checked: {error}"));
            return check;
        }
        let store = match Store::open(&copy) {
            Ok(store) => store,
            Err(error) => {
                check.problem = Some(format!("it does not open: {error}"));
                return check;
            }
        };
        match store.check_integrity(CheckDepth::Full) {
            Ok(found) => {
                if let Some(problem) = found.problem() {
                    check.problem = Some(format!("it is damaged: {problem}"));
                }
                check.integrity = Some(found);
            }
            Err(error) => check.problem = Some(format!("it is damaged: {error}")),
        }
        if check.problem.is_some() {
            return check;
        }
        match store.verify_audit_signed(key) {
            Ok(verification) => {
                if let Some(broken) = &verification.broken_at {
                    check.problem = Some(format!(
                        "its audit chain breaks at record {}: {}",
                        broken.seq, broken.reason
                    ));
                }
                check.audit = Some(verification);
            }
            Err(error) => check.problem = Some(format!("its audit chain does not read: {error}")),
        }
        check
    }

    /// Removes all but the newest `keep` backups taken for the same kind of
    /// reason as `reason` (scheduled and manual ones together; copies before
    /// migrations apart).
    pub fn prune(&self, reason: &str, keep: usize) -> Result<Vec<String>> {
        let kind = kind_of(reason);
        let same: Vec<Backup> = self
            .list()?
            .into_iter()
            .filter(|b| kind_of(&b.copy.reason) == kind)
            .collect();
        let mut removed = Vec::new();
        for old in same.iter().take(same.len().saturating_sub(keep)) {
            std::fs::remove_dir_all(&old.folder).map_err(|e| io("removing an old backup", e))?;
            removed.push(old.id.clone());
        }
        Ok(removed)
    }

    /// The workspace's markdown, as (file, path inside a backup).
    fn workspace_files(&self) -> Vec<(PathBuf, String)> {
        let workspace = self.data_dir.join("workspace");
        walkdir::WalkDir::new(&workspace)
            .into_iter()
            .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'))
            .flatten()
            .filter(|e| e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "md"))
            .filter_map(|e| {
                let relative = e.path().strip_prefix(&self.data_dir).ok()?;
                Some((
                    e.path().to_path_buf(),
                    relative.to_string_lossy().replace('\\', "/"),
                ))
            })
            .collect()
    }
}

fn kind_of(reason: &str) -> &'static str {
    if reason.starts_with("before migrating") {
        "migration"
    } else {
        "taken"
    }
}

fn slug(reason: &str) -> String {
    let slug: String = reason
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    slug.split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-")
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
pub fn restore(data_dir: &Path, when: &str) -> Result<Restored> {
    let Some(_lock) = lock_data_dir(data_dir)? else {
        return Err(TrustError::InvalidInput(format!(
            "Pincer is running on {}; quit it (or stop `pincer serve`), then restore",
            data_dir.display()
        )));
    };
    let backups = Backups::new(data_dir);
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

fn io(context: &str, source: std::io::Error) -> TrustError {
    TrustError::Io {
        context: context.to_string(),
        source,
    }
}
