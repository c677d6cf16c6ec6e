//! The protected workspace files (the soul files and `MEMORY.md`): which
//! text of each the agent may use, changes found on disk held for the
//! owner, saves recorded as versions, and sealed mode.

use crate::{Action, Actor, Result, Trust, TrustError};
use pincer_seal::Sealer;
use pincer_store::SoulVersion;
use pincer_workspace::{Workspace, WorkspaceError, MEMORY_FILE, PROTECTED_FILES};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// The protected files of one workspace.
#[derive(Debug)]
pub struct Protected {
    workspace: Workspace,
    trust: Arc<Trust>,
    /// Held while a file is compared with its accepted version or saved, so
    /// a save is never seen half done (written, not yet recorded) as a
    /// change from outside.
    lock: Mutex<()>,
}

impl Protected {
    /// Opens the workspace in `dir` with sealed mode on or off. A file
    /// without a recorded version (a new install, or a file this version
    /// protects for the first time) has its text on disk recorded as its
    /// first accepted version. Over a damaged database nothing is written.
    pub fn open(dir: &Path, trust: Arc<Trust>, sealed: bool) -> Result<Arc<Self>> {
        let (workspace, _created) = Workspace::open(dir)?;
        let protected = Arc::new(Self {
            workspace,
            trust,
            lock: Mutex::new(()),
        });
        protected.install_sealing(sealed);
        // A damaged database takes no writes: the app still opens, read
        // only, so the owner sees the damage and can restore a backup.
        if matches!(
            protected.trust.store().condition(),
            pincer_store::StoreCondition::Damaged { .. }
        ) {
            return Ok(protected);
        }
        for &file in PROTECTED_FILES {
            if protected.trust.store().latest_soul_version(file)?.is_none() {
                let text = protected.workspace.read(file)?;
                protected
                    .trust
                    .store()
                    .record_soul_version(file, &text, "default")?;
            }
        }
        protected.apply_sealing(sealed)?;
        Ok(protected)
    }

    /// The workspace folder.
    pub fn workspace(&self) -> &Workspace {
        &self.workspace
    }

    fn guard(&self) -> std::sync::MutexGuard<'_, ()> {
        self.lock.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The accepted text of `file` and whether the disk differs from it. A
    /// difference is held as a pending `external` change (once per text)
    /// and audited; a file that cannot be read (not UTF-8, sealed by someone
    /// else) falls back to the accepted text.
    pub fn accepted_text(&self, file: &str) -> Result<(String, bool)> {
        let _held = self.guard();
        let (latest, text) = match (
            self.trust.store().latest_soul_version(file)?,
            self.workspace.read(file),
        ) {
            (None, Ok(text)) => {
                self.trust
                    .store()
                    .record_soul_version(file, &text, "default")?;
                return Ok((text, false));
            }
            (None, Err(error)) => return Err(error.into()),
            (Some(latest), Err(error)) => {
                tracing::warn!(%error, "using the last accepted version of {file}");
                return Ok((latest.content, false));
            }
            (Some(latest), Ok(text)) => (latest, text),
        };
        let sha256 = pincer_store::content_sha256(&text);
        if sha256 == latest.sha256 {
            return Ok((text, false));
        }
        let known = self.trust.store().pending_soul_proposals(Some(file))?;
        if !known
            .iter()
            .any(|p| p.origin == "external" && p.sha256 == sha256)
        {
            // Only the newest outside text waits; an older one is replaced.
            self.trust
                .store()
                .supersede_soul_proposals(file, "external")?;
            let change = self.trust.store().propose_soul_change(
                file,
                &text,
                "external",
                "changed on disk outside Pincer",
            )?;
            self.trust.record(
                Actor::System,
                Action::SoulChangedOutside,
                file,
                "held",
                serde_json::json!({"change": change.id, "sha256": change.sha256, "accepted_sha256": latest.sha256}),
            )?;
        }
        Ok((latest.content, true))
    }

    /// Saves `content` as `file` (atomically, sealed in sealed mode) and
    /// records it as the accepted version. When the save fails nothing is
    /// recorded and the file on disk is unchanged.
    pub fn save(&self, file: &str, content: &str, origin: &str) -> Result<SoulVersion> {
        let _held = self.guard();
        self.workspace.write(file, content).map_err(|error| match error {
            WorkspaceError::Io { path, source, .. } => TrustError::Io {
                context: format!(
                    "cannot save {} (your text is still in the editor; free disk space or fix the folder's permissions, then save again)",
                    path.display()
                ),
                source,
            },
            other => other.into(),
        })?;
        let version = self
            .trust
            .store()
            .record_soul_version(file, content, origin)?;
        // The owner's text replaces whatever was found on disk.
        self.trust
            .store()
            .supersede_soul_proposals(file, "external")?;
        self.trust.record(
            Actor::Owner,
            Action::SoulSave,
            file,
            "done",
            serde_json::json!({"origin": origin, "version": version.id, "sha256": version.sha256}),
        )?;
        Ok(version)
    }

    /// Accepts the text on disk as `file`'s new version (an outside change
    /// the owner approved), re-sealing it in sealed mode.
    pub fn accept_disk_text(&self, file: &str) -> Result<SoulVersion> {
        let _held = self.guard();
        let text = self.workspace.read(file)?;
        let version = self
            .trust
            .store()
            .record_soul_version(file, &text, "external")?;
        if self.workspace.seals_saves() && !self.workspace.is_sealed_on_disk(file) {
            self.workspace.write(file, &text)?;
        }
        Ok(version)
    }

    /// Whether saves are sealed.
    pub fn sealed(&self) -> bool {
        self.workspace.seals_saves()
    }

    /// Turns sealed mode on or off: the history in the database and every
    /// file whose disk text is its accepted version are rewritten. A file
    /// with a change pending is left as it is for the owner to decide.
    pub fn set_sealed(&self, on: bool) -> Result<usize> {
        self.install_sealing(on);
        let rewritten = self.apply_sealing(on)?;
        let action = if on {
            Action::SoulSeal
        } else {
            Action::SoulUnseal
        };
        self.trust.record(
            Actor::Owner,
            action,
            "protected files",
            "done",
            serde_json::json!({"rewritten": rewritten}),
        )?;
        Ok(rewritten)
    }

    /// Gives the workspace and the store the key (always: what was sealed
    /// must still open) and whether they seal what they write.
    fn install_sealing(&self, on: bool) {
        let sealer = Sealer::new(self.trust.seal_key());
        self.workspace.set_sealing(Some(sealer.clone()), on);
        self.trust.store().set_sealing(Some(sealer), on);
    }

    /// Brings the history and the files in line with the mode. Idempotent,
    /// so it also finishes a switch a killed process left half done.
    fn apply_sealing(&self, on: bool) -> Result<usize> {
        let _held = self.guard();
        let mut rewritten = self.trust.store().reseal_soul_history(on)?;
        for &file in PROTECTED_FILES {
            let Ok(text) = self.workspace.read(file) else {
                continue;
            };
            let present = self.workspace.path(file)?.exists();
            let accepted = self.trust.store().latest_soul_version(file)?;
            let matches = accepted.is_some_and(|v| v.sha256 == pincer_store::content_sha256(&text));
            if present && matches && self.workspace.is_sealed_on_disk(file) != on {
                self.workspace.write(file, &text)?;
                rewritten += 1;
            }
        }
        Ok(rewritten)
    }

    /// Whether `path` is this workspace's `MEMORY.md`.
    pub fn is_memory_file(&self, path: &Path) -> bool {
        let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        path.file_name().is_some_and(|n| n == MEMORY_FILE)
            && path
                .parent()
                .is_some_and(|parent| canonical(parent) == canonical(self.workspace.dir()))
    }
}
