//! Backups in the app: a daily copy taken in the background while serving,
//! and the maintenance commands `pincer backup …` run beside or instead of
//! a server. The copies themselves are the trust base's (`pincer_trust::backups`).

use crate::{Inner, Maintenance, Result};
use pincer_trust::backups::{Backup, BackupCheck, Backups, Restored};
use std::path::Path;
use std::sync::Weak;
use std::time::Duration;

/// How old the newest backup may get before the schedule takes another.
pub const BACKUP_EVERY: Duration = Duration::from_secs(24 * 3600);
/// How often the schedule looks.
const LOOK_EVERY: Duration = Duration::from_secs(10 * 60);

/// Takes a backup whenever the newest one is older than [`BACKUP_EVERY`]
/// (and at start when there is none, once there is a conversation to
/// keep), in the background; ends with the app.
pub(crate) fn schedule(host: Weak<Inner>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(LOOK_EVERY);
        loop {
            tick.tick().await;
            let Some(inner) = host.upgrade() else {
                return;
            };
            let trust = inner.trust.clone();
            let backups = Backups::new(&inner.data_dir);
            drop(inner);
            let taken = tokio::task::spawn_blocking(move || take_if_due(&backups, &trust)).await;
            match taken {
                Ok(Ok(Some(backup))) => tracing::info!(id = %backup.id, "took the daily backup"),
                Ok(Ok(None)) => {}
                Ok(Err(error)) => tracing::error!(%error, "the daily backup failed"),
                Err(error) => tracing::error!(%error, "the daily backup stopped"),
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

impl Maintenance {
    /// This data folder's backups.
    pub fn backups(&self) -> Backups {
        Backups::new(self.data_dir())
    }

    /// Takes a backup now (`pincer backup now`), audited.
    pub fn take_backup(&self, reason: &str) -> Result<Backup> {
        Ok(self.backups().take(self.trust(), reason)?)
    }

    /// Checks the backup `when` names: files, SQLite's full check, and its
    /// audit chain with this install's key.
    pub fn check_backup(&self, when: &str) -> Result<BackupCheck> {
        let backups = self.backups();
        let backup = backups.find(when)?;
        Ok(backups.check(&backup, &self.trust().checkpoint_key()))
    }
}

/// Restores the backup `when` names into `data_dir` (no Pincer may be
/// running on it); the current files are kept aside.
pub fn restore_backup(data_dir: &Path, when: &str) -> Result<Restored> {
    Ok(pincer_trust::backups::restore(data_dir, when)?)
}
