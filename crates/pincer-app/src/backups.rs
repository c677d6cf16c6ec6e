//! Backups in the app: a daily copy taken in the background while serving,
//! the Settings pane's backups card (take one now, check one, choose the
//! folder, restore one at the next start), the banner's health, and the
//! maintenance commands `pincer backup …` run beside or instead of a
//! server. The copies themselves are the trust base's
//! (`pincer_trust::backups`).

use crate::ipc::{BackupCheckView, BackupView, BackupsView, HealthView, ProblemView};
use crate::settings::SettingsFile;
use crate::{blocking, Action, Actor, App, Inner, Maintenance, Result};
use pincer_trust::backups::{self, Backup, BackupCheck, Backups, Restored, KEEP};
use pincer_trust::problems::Area;
use std::path::{Path, PathBuf};
use std::sync::Weak;
use std::time::Duration;

/// How old the newest backup may get before the schedule takes another.
pub const BACKUP_EVERY: Duration = Duration::from_secs(24 * 3600);
/// How often the schedule looks.
const LOOK_EVERY: Duration = Duration::from_secs(10 * 60);

/// Takes a backup whenever the newest one is older than [`BACKUP_EVERY`]
/// (and at start when there is none, once there is a conversation to
/// keep), in the background; ends with the app. A failure is kept as the
/// backups problem until a backup succeeds.
pub(crate) fn schedule(host: Weak<Inner>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(LOOK_EVERY);
        loop {
            tick.tick().await;
            let Some(inner) = host.upgrade() else {
                return;
            };
            let trust = inner.trust.clone();
            let backups = Backups::in_folder(
                &inner.data_dir,
                inner.settings.get().backup_folder.as_deref(),
            );
            drop(inner);
            let taking = trust.clone();
            let taken = tokio::task::spawn_blocking(move || take_if_due(&backups, &taking)).await;
            let problems = trust.problems();
            match taken {
                Ok(Ok(Some(backup))) => {
                    tracing::info!(id = %backup.id, "took the daily backup");
                    problems.clear(Area::Backups);
                }
                Ok(Ok(None)) => {}
                Ok(Err(error)) => problems.report(Area::Backups, &error),
                Err(error) => problems.report(Area::Backups, &error),
            }
        }
    });
}

fn take_if_due(backups: &Backups, trust: &pincer_trust::Trust) -> Result<Option<Backup>> {
    let store = trust.store();
    if store.condition() != pincer_store::StoreCondition::Healthy {
        return Ok(None);
    }
    let newest = backups
        .list()?
        .into_iter()
        .filter(|b| !b.copy.reason.starts_with("before migrating"))
        .map(|b| b.copy.created_at_ms)
        .max();
    let due = match newest {
        Some(at_ms) => pincer_store::unix_now_ms() - at_ms >= BACKUP_EVERY.as_millis() as i64,
        // Nothing to keep yet before the first conversation.
        None => !store.recent_sessions(1)?.is_empty(),
    };
    if !due {
        return Ok(None);
    }
    Ok(Some(backups.take(trust, "daily")?))
}

/// The backups of `data_dir`, in the folder its settings name.
pub fn backups_of(data_dir: &Path) -> Result<Backups> {
    let folder = SettingsFile::load(data_dir)?.get().backup_folder;
    Ok(Backups::in_folder(data_dir, folder.as_deref()))
}

/// Restores the backup `when` names into `data_dir` (no Pincer may be
/// running on it); the current files are kept aside.
pub fn restore_backup(data_dir: &Path, when: &str) -> Result<Restored> {
    Ok(backups::restore(&backups_of(data_dir)?, when)?)
}

impl Maintenance {
    /// This data folder's backups.
    pub fn backups(&self) -> Result<Backups> {
        backups_of(self.data_dir())
    }

    /// Takes a backup now (`pincer backup now`), audited.
    pub fn take_backup(&self, reason: &str) -> Result<Backup> {
        Ok(self.backups()?.take(self.trust(), reason)?)
    }

    /// Checks the backup `when` names: files, SQLite's full check, and its
    /// audit chain with this install's key.
    pub fn check_backup(&self, when: &str) -> Result<BackupCheck> {
        let backups = self.backups()?;
        let backup = backups.find(when)?;
        Ok(backups.check(&backup, &self.trust().checkpoint_key()))
    }
}

impl App {
    fn backups(&self) -> Backups {
        Backups::in_folder(
            &self.inner.data_dir,
            self.inner.settings.get().backup_folder.as_deref(),
        )
    }

    /// The backups card.
    pub async fn backups_view(&self) -> Result<BackupsView> {
        let app = self.clone();
        blocking(move || {
            let backups = app.backups();
            let data_dir = &app.inner.data_dir;
            let last = backups::last_restore(data_dir)?;
            Ok(BackupsView {
                folder: backups.folder().display().to_string(),
                default_folder: backups.folder() == backups::default_folder(data_dir),
                backups: backups.list()?.iter().rev().map(backup_view).collect(),
                every_hours: (BACKUP_EVERY.as_secs() / 3600) as u32,
                keep: KEEP as u32,
                restore_at_start: backups::pending(data_dir)?.map(|r| r.id),
                last_restore_ok: last.as_ref().map(|o| o.restored),
                last_restore: last.map(|o| o.message),
            })
        })
        .await
    }

    /// Takes a backup now (the Settings pane's "Back up now"), audited.
    pub async fn take_backup_now(&self) -> Result<BackupsView> {
        let app = self.clone();
        blocking(move || {
            if let pincer_store::StoreCondition::Damaged { cause } = app.store().condition() {
                return Err(crate::AppError::Unavailable(format!(
                    "a damaged database is not backed up over good copies: {cause}"
                )));
            }
            app.backups().take(&app.inner.trust, "manual")?;
            app.inner.trust.problems().clear(Area::Backups);
            Ok(())
        })
        .await?;
        self.backups_view().await
    }

    /// Checks one backup as a restore would.
    pub async fn check_backup(&self, id: String) -> Result<BackupCheckView> {
        let app = self.clone();
        blocking(move || {
            let backups = app.backups();
            let backup = backups.find(&id)?;
            let check = backups.check(&backup, &app.inner.trust.checkpoint_key());
            Ok(BackupCheckView {
                id: backup.id,
                problem: check.problem,
                audit_records: check.audit.map_or(0.0, |a| a.records as f64),
            })
        })
        .await
    }

    /// Checks a backup and asks for it to be restored when Pincer next
    /// starts (a running app cannot replace its own database).
    pub async fn restore_backup_at_start(&self, id: String) -> Result<BackupsView> {
        let app = self.clone();
        blocking(move || {
            backups::restore_at_start(&app.inner.trust, &app.backups(), &id)?;
            Ok(())
        })
        .await?;
        self.backups_view().await
    }

    /// Takes back the restore asked for at the next start.
    pub async fn cancel_restore_at_start(&self) -> Result<BackupsView> {
        let app = self.clone();
        blocking(move || {
            backups::cancel_restore_at_start(&app.inner.trust, &app.inner.data_dir)?;
            Ok(())
        })
        .await?;
        self.backups_view().await
    }

    /// Where new backups go: a folder the owner picked (checked, made and
    /// written to first), or `None` for the data folder's own. Audited.
    pub async fn set_backup_folder(&self, path: Option<String>) -> Result<BackupsView> {
        let app = self.clone();
        blocking(move || {
            let data_dir = &app.inner.data_dir;
            let folder: Option<PathBuf> = match path.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(path) => Some(backups::check_folder(data_dir, Path::new(path))?),
            };
            let chosen = folder.clone();
            app.inner.settings.update(|s| s.backup_folder = chosen)?;
            let shown = folder.map_or_else(
                || backups::default_folder(data_dir).display().to_string(),
                |f| f.display().to_string(),
            );
            app.record(
                Actor::Owner,
                Action::ConfigBackupFolder,
                &shown,
                "done",
                serde_json::json!({}),
            )
        })
        .await?;
        self.backups_view().await
    }

    /// The store's condition and the background failures in force.
    pub fn health(&self) -> HealthView {
        let condition = self.store().condition();
        let cause = match &condition {
            pincer_store::StoreCondition::Healthy => None,
            pincer_store::StoreCondition::Degraded { cause }
            | pincer_store::StoreCondition::Damaged { cause } => Some(cause.clone()),
        };
        HealthView {
            store: condition.as_str().to_string(),
            cause,
            problems: self
                .problems()
                .into_iter()
                .map(|p| ProblemView {
                    area: p.area.as_str().to_string(),
                    message: p.message,
                    at_ms: p.at_ms as f64,
                    times: p.times,
                })
                .collect(),
        }
    }
}

fn backup_view(backup: &Backup) -> BackupView {
    BackupView {
        id: backup.id.clone(),
        reason: backup.copy.reason.clone(),
        created_at_ms: backup.copy.created_at_ms as f64,
        bytes: backup.copy.bytes as f64,
        schema_version: backup.copy.schema_version as u32,
        audit_records: backup
            .copy
            .audit_head
            .as_ref()
            .map_or(0.0, |(seq, _)| *seq as f64),
        files: backup.copy.files.len() as u32,
        folder: backup.folder.display().to_string(),
    }
}
