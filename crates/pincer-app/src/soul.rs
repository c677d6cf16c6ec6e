//! The protected files as the app's commands see them: read, save with
//! history, restore, changes waiting for the owner, and sealed mode (the
//! system prompt they go into is built by pincer-agent's `prompt.rs`).

use crate::ipc::{SoulChange, SoulDecision, SoulFile, SoulVersionView};
use crate::{blocking, Action, Actor, App, AppError, Result};
use pincer_store::{SoulProposal, SoulVersion};
use pincer_workspace::{MEMORY_FILE, PROTECTED_FILES};

impl App {
    /// The accepted text of `file` and whether the disk differs from it
    /// (a difference is held for the owner).
    fn accepted_soul_text(&self, file: &str) -> Result<(String, bool)> {
        Ok(self.inner.protected.accepted_text(file)?)
    }

    /// Opens a soul file for editing: its accepted text, and any change
    /// waiting for the owner (one made on disk is found here too).
    pub async fn read_soul_file(&self, file: String) -> Result<SoulFile> {
        let app = self.clone();
        blocking(move || {
            let path = app.workspace().path(&file)?;
            // A file that cannot be read is an error here (the editor must not
            // pretend), while answers fall back to the accepted version.
            app.workspace().read(&file)?;
            let (content, changed_outside) = app.accepted_soul_text(&file)?;
            let version = app
                .store()
                .latest_soul_version(&file)?
                .map_or(0, |v| small_id(v.id));
            let pending = app
                .store()
                .pending_soul_proposals(Some(&file))?
                .into_iter()
                .map(change_view)
                .collect();
            Ok(SoulFile {
                file,
                path: path.display().to_string(),
                content,
                version_id: version,
                changed_outside,
                pending,
            })
        })
        .await
    }

    /// Every change waiting for the owner, oldest first (files changed on
    /// disk are looked for first).
    pub async fn soul_changes(&self) -> Result<Vec<SoulChange>> {
        let app = self.clone();
        blocking(move || {
            for &file in PROTECTED_FILES {
                app.accepted_soul_text(file)?;
            }
            Ok(app
                .store()
                .pending_soul_proposals(None)?
                .into_iter()
                .map(change_view)
                .collect())
        })
        .await
    }

    /// The agent's way to change a protected file: never a write, always a
    /// proposal the owner accepts or rejects.
    pub async fn propose_soul_edit(
        &self,
        file: String,
        content: String,
        reason: String,
    ) -> Result<SoulChange> {
        let app = self.clone();
        blocking(move || {
            app.workspace().path(&file)?;
            let change = app
                .store()
                .propose_soul_change(&file, &content, "agent", &reason)?;
            app.record(
                Actor::Agent,
                Action::SoulPropose,
                &file,
                "pending",
                serde_json::json!({"change": change.id, "reason": change.reason}),
            )?;
            Ok(change_view(change))
        })
        .await
    }

    /// Accepts or rejects a waiting change. Accepting writes it (an agent's)
    /// or keeps it (one made on disk) as a new version; rejecting one made
    /// on disk puts the accepted text back.
    pub async fn decide_soul_change(&self, decision: SoulDecision) -> Result<SoulFile> {
        let app = self.clone();
        let change =
            blocking(move || Ok(app.store().soul_proposal(i64::from(decision.id))?)).await?;
        if change.status != "pending" {
            return Err(AppError::InvalidInput(format!(
                "change {} was already {}",
                decision.id, change.status
            )));
        }
        let file = change.file.clone();
        let disk_sha = {
            let app = self.clone();
            let file = file.clone();
            blocking(move || {
                Ok(app
                    .workspace()
                    .read(&file)
                    .ok()
                    .map(|t| pincer_store::content_sha256(&t)))
            })
            .await?
        };
        if change.origin == "external" && disk_sha.as_deref() != Some(change.sha256.as_str()) {
            let app = self.clone();
            let id = change.id;
            blocking(move || Ok(app.store().decide_soul_proposal(id, "superseded")?)).await?;
            return Err(AppError::InvalidInput(format!(
                "{file} changed again on disk; reopen it to see the newest change"
            )));
        }
        match (decision.accept, change.origin.as_str()) {
            (true, "external") => {
                let app = self.clone();
                let file = file.clone();
                blocking(move || {
                    let version = app.inner.protected.accept_disk_text(&file)?;
                    app.store().decide_soul_proposal(change.id, "accepted")?;
                    app.record(Actor::Owner, Action::SoulAccept, &file, "accepted", serde_json::json!({"change": change.id, "origin": "external", "version": version.id}))?;
                    Ok(())
                })
                .await?;
            }
            (true, _) => {
                self.write_soul(file.clone(), change.content.clone(), "agent")
                    .await?;
                let app = self.clone();
                blocking(move || Ok(app.store().decide_soul_proposal(change.id, "accepted")?))
                    .await?;
                self.record(
                    Actor::Owner,
                    Action::SoulAccept,
                    &file,
                    "accepted",
                    serde_json::json!({"change": change.id, "origin": change.origin}),
                )?;
            }
            (false, origin) => {
                // Decided first: putting the accepted text back supersedes
                // whatever from disk is still pending.
                let app = self.clone();
                blocking(move || Ok(app.store().decide_soul_proposal(change.id, "rejected")?))
                    .await?;
                if origin == "external" {
                    let app = self.clone();
                    let accepted = blocking({
                        let file = file.clone();
                        move || Ok(app.store().latest_soul_version(&file)?)
                    })
                    .await?;
                    if let Some(accepted) = accepted {
                        self.write_soul(file.clone(), accepted.content, "restore")
                            .await?;
                    }
                }
                let decision = if origin == "external" {
                    "reverted"
                } else {
                    "rejected"
                };
                self.record(
                    Actor::Owner,
                    Action::SoulReject,
                    &file,
                    decision,
                    serde_json::json!({"change": change.id, "origin": origin}),
                )?;
            }
        }
        if file == MEMORY_FILE {
            self.reindex_memory_file().await;
        }
        self.read_soul_file(file).await
    }

    /// Saves a soul file (atomically) and records the new version. When the
    /// save fails nothing is recorded and the file on disk is unchanged.
    pub async fn save_soul_file(&self, file: String, content: String) -> Result<SoulVersionView> {
        self.write_soul(file, content, "owner").await
    }

    /// Every saved version of a soul file, newest first.
    pub async fn soul_history(&self, file: String) -> Result<Vec<SoulVersionView>> {
        let app = self.clone();
        blocking(move || {
            app.workspace().path(&file)?;
            Ok(app
                .store()
                .soul_history(&file)?
                .into_iter()
                .map(view)
                .collect())
        })
        .await
    }

    /// Writes an earlier version back to its file, as a new version.
    pub async fn restore_soul_version(&self, version_id: u32) -> Result<SoulVersionView> {
        let store = self.store().clone();
        let old = blocking(move || Ok(store.soul_version(i64::from(version_id))?)).await?;
        self.write_soul(old.file, old.content, "restore").await
    }

    async fn write_soul(
        &self,
        file: String,
        content: String,
        origin: &'static str,
    ) -> Result<SoulVersionView> {
        let app = self.clone();
        let saved =
            blocking(move || Ok(view(app.inner.protected.save(&file, &content, origin)?))).await?;
        if saved.file == MEMORY_FILE {
            self.reindex_memory_file().await;
        }
        Ok(saved)
    }

    /// Whether the protected files are sealed at rest.
    pub fn soul_sealed(&self) -> bool {
        self.inner.protected.sealed()
    }

    /// Turns sealed mode on or off (saved in settings, so it holds after a
    /// restart): every protected file and its history is rewritten sealed
    /// or plain, and `MEMORY.md` leaves or rejoins the memory index.
    pub async fn set_soul_sealed(&self, on: bool) -> Result<bool> {
        if on && self.vault_backend() != pincer_vault::VaultBackend::Keychain {
            return Err(AppError::Unavailable(
                "sealed mode needs the OS keychain (the key must not sit where the files are); start Pincer without PINCER_VAULT=env".into(),
            ));
        }
        self.inner
            .settings
            .update(|settings| settings.seal_protected_files = on)?;
        let app = self.clone();
        blocking(move || Ok(app.inner.protected.set_sealed(on)?)).await?;
        self.reindex_memory_file().await;
        let app = self.clone();
        blocking(move || Ok(app.store().flush_wal()?)).await?;
        Ok(on)
    }
}

fn change_view(change: SoulProposal) -> SoulChange {
    SoulChange {
        id: small_id(change.id),
        file: change.file,
        origin: change.origin,
        reason: change.reason,
        content: change.content,
        created_at: change.created_at as f64,
    }
}

fn view(version: SoulVersion) -> SoulVersionView {
    SoulVersionView {
        id: small_id(version.id),
        file: version.file,
        origin: version.origin,
        saved_at: version.saved_at as f64,
        sha256: version.sha256,
        content: version.content,
    }
}

/// Row ids as IPC numbers; soul versions never approach 2^32.
fn small_id(id: i64) -> u32 {
    u32::try_from(id).unwrap_or(u32::MAX)
}
