//! The owner's backups: the database copied online with the workspace's
//! markdown beside it, kept in `<data dir>/backups` or a folder the owner
//! picks, and checked (files, SQLite, the audit chain with this install's
//! key) before they are trusted. Restoring one is `restore.rs`.

use crate::{Action, Actor, Result, Trust, TrustError};
use pincer_store::backup::{self, BACKUP_FILE_NAME};
use pincer_store::{AuditVerification, BackupCopy, CheckDepth, Integrity, Store};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// How many backups of each kind (taken, migrations) are kept by default.
pub const KEEP: usize = 7;

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

/// The backups of one data folder.
#[derive(Clone, Debug)]
pub struct Backups {
    data_dir: PathBuf,
    folder: PathBuf,
}

impl Backups {
    /// The backups of `data_dir`, kept in its `backups` folder.
    pub fn new(data_dir: &Path) -> Self {
        Self::in_folder(data_dir, None)
    }

    /// The backups of `data_dir`, new ones kept in `folder` (the owner's
    /// choice) or, when `None`, in the data folder's `backups`.
    pub fn in_folder(data_dir: &Path, folder: Option<&Path>) -> Self {
        Self {
            data_dir: data_dir.to_path_buf(),
            folder: folder.map_or_else(|| default_folder(data_dir), Path::to_path_buf),
        }
    }

    /// Where new backups go.
    pub fn folder(&self) -> PathBuf {
        self.folder.clone()
    }

    /// The data folder they are backups of.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Where backups are looked for: the chosen folder, then the data
    /// folder's own (copies taken before a migration always go there, and
    /// earlier backups stay restorable after the owner moves the folder).
    fn folders(&self) -> Vec<PathBuf> {
        let own = default_folder(&self.data_dir);
        if own == self.folder {
            vec![own]
        } else {
            vec![self.folder.clone(), own]
        }
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
        )?;
        self.prune(reason, KEEP)?;
        Ok(Backup { id, folder, copy })
    }

    /// Every finished backup in [`Backups::folders`], oldest first (a
    /// folder without a manifest is one that was cut short, and is skipped).
    pub fn list(&self) -> Result<Vec<Backup>> {
        let mut found = Vec::new();
        for folder in self.folders() {
            let entries = match std::fs::read_dir(&folder) {
                Ok(entries) => entries,
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => {
                    let context = format!("reading the backups folder {}", folder.display());
                    return Err(io(&context, source));
                }
            };
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
        }
        found.sort_by(|a, b| a.id.cmp(&b.id));
        found.dedup_by(|a, b| a.id == b.id);
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
            .tempdir_in(backup.folder.parent().unwrap_or(&self.folder))
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
            .filter(|b| kind_of(&b.copy.reason) == kind && b.folder.starts_with(&self.folder))
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

/// The data folder's own backups folder.
pub fn default_folder(data_dir: &Path) -> PathBuf {
    data_dir.join("backups")
}

/// Checks a folder the owner picked for backups and makes it: an absolute
/// path, outside the workspace (its markdown is what gets copied), that
/// this user can write. Returns it as it will be used.
pub fn check_folder(data_dir: &Path, folder: &Path) -> Result<PathBuf> {
    if !folder.is_absolute() {
        return Err(TrustError::InvalidInput(format!(
            "the backup folder must be a full path (starting at the root), not {}",
            folder.display()
        )));
    }
    std::fs::create_dir_all(folder).map_err(|source| TrustError::Io {
        context: format!(
            "cannot make the backup folder {} (check the disk is mounted and you may write there)",
            folder.display()
        ),
        source,
    })?;
    let folder = folder
        .canonicalize()
        .map_err(|e| io("reading the backup folder's path", e))?;
    let workspace = data_dir.join("workspace");
    if workspace
        .canonicalize()
        .is_ok_and(|workspace| folder.starts_with(workspace))
    {
        return Err(TrustError::InvalidInput(format!(
            "{} is inside the workspace, whose files every backup copies; pick a folder outside it",
            folder.display()
        )));
    }
    tempfile::Builder::new()
        .prefix(".pincer-write-test-")
        .tempfile_in(&folder)
        .map_err(|source| TrustError::Io {
            context: format!("cannot write in the backup folder {}", folder.display()),
            source,
        })?;
    Ok(folder)
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

pub(crate) fn io(context: &str, source: std::io::Error) -> TrustError {
    TrustError::Io {
        context: context.to_string(),
        source,
    }
}
