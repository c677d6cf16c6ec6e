//! The soul files: read, save with history, restore, and the system prompt
//! the agent reads them into on every turn.

use crate::ipc::{SoulChange, SoulDecision, SoulFile, SoulVersionView};
use crate::{blocking, App, AppError, Result};
use pincer_store::{SoulProposal, SoulVersion};
use pincer_workspace::{WorkspaceError, SOUL_FILES};

impl App {
    /// The system prompt built from the accepted soul files. A file changed
    /// on disk by another program is held for the owner and its last
    /// accepted version is used; so is the last version of a file that
    /// cannot be read (not UTF-8, permissions).
    pub async fn soul_prompt(&self) -> Option<String> {
        let app = self.clone();
        let texts = blocking(move || {
            let mut texts = Vec::new();
            for &file in SOUL_FILES {
                texts.push((file, app.accepted_soul_text(file)?.0));
            }
            Ok(texts)
        })
        .await;
        match texts {
            Ok(texts) => pincer_workspace::system_prompt(texts.iter().map(|(f, t)| (*f, t.as_str()))),
            Err(error) => {
                tracing::error!(%error, "cannot read the soul files; answering without them");
                None
            }
        }
    }

    /// The accepted text of `file` and whether the disk differs from it. A
    /// difference is held as a pending `external` change (once per text)
    /// and audited.
    fn accepted_soul_text(&self, file: &str) -> Result<(String, bool)> {
        let (latest, text) = match (self.store().latest_soul_version(file)?, self.workspace().read(file)) {
            (None, Ok(text)) => {
                self.store().record_soul_version(file, &text, "default")?;
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
        let known = self.store().pending_soul_proposals(Some(file))?;
        if !known.iter().any(|p| p.origin == "external" && p.sha256 == sha256) {
            // Only the newest outside text waits; an older one is replaced.
            self.store().supersede_soul_proposals(file, "external")?;
            let change = self.store().propose_soul_change(file, &text, "external", "changed on disk outside Pincer")?;
            self.record(
                "system",
                "soul.changed_outside",
                file,
                "held",
                serde_json::json!({"change": change.id, "sha256": change.sha256, "accepted_sha256": latest.sha256}),
            );
        }
        Ok((latest.content, true))
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
            let version = app.store().latest_soul_version(&file)?.map_or(0, |v| small_id(v.id));
            let pending = app.store().pending_soul_proposals(Some(&file))?.into_iter().map(change_view).collect();
            Ok(SoulFile { file, path: path.display().to_string(), content, version_id: version, changed_outside, pending })
        })
        .await
    }

    /// Every change waiting for the owner, oldest first (files changed on
    /// disk are looked for first).
    pub async fn soul_changes(&self) -> Result<Vec<SoulChange>> {
        let app = self.clone();
        blocking(move || {
            for &file in SOUL_FILES {
                app.accepted_soul_text(file)?;
            }
            Ok(app.store().pending_soul_proposals(None)?.into_iter().map(change_view).collect())
        })
        .await
    }

    /// The agent's way to change a protected file: never a write, always a
    /// proposal the owner accepts or rejects.
    pub async fn propose_soul_edit(&self, file: String, content: String, reason: String) -> Result<SoulChange> {
        let app = self.clone();
        blocking(move || {
            app.workspace().path(&file)?;
            let change = app.store().propose_soul_change(&file, &content, "agent", &reason)?;
            app.record("agent", "soul.propose", &file, "pending", serde_json::json!({"change": change.id, "reason": change.reason}));
            Ok(change_view(change))
        })
        .await
    }

    /// Accepts or rejects a waiting change. Accepting writes it (an agent's)
    /// or keeps it (one made on disk) as a new version; rejecting one made
    /// on disk puts the accepted text back.
    pub async fn decide_soul_change(&self, decision: SoulDecision) -> Result<SoulFile> {
        let app = self.clone();
        let change = blocking(move || Ok(app.store().soul_proposal(i64::from(decision.id))?)).await?;
        if change.status != "pending" {
            return Err(AppError::InvalidInput(format!("change {} was already {}", decision.id, change.status)));
        }
        let file = change.file.clone();
        let disk_sha = {
            let app = self.clone();
            let file = file.clone();
            blocking(move || Ok(app.workspace().read(&file).ok().map(|t| pincer_store::content_sha256(&t)))).await?
        };
        if change.origin == "external" && disk_sha.as_deref() != Some(change.sha256.as_str()) {
            let app = self.clone();
            let id = change.id;
            blocking(move || Ok(app.store().decide_soul_proposal(id, "superseded")?)).await?;
            return Err(AppError::InvalidInput(format!("{file} changed again on disk; reopen it to see the newest change")));
        }
        match (decision.accept, change.origin.as_str()) {
            (true, "external") => {
                let app = self.clone();
                let file = file.clone();
                blocking(move || {
                    let text = app.workspace().read(&file)?;
                    let version = app.store().record_soul_version(&file, &text, "external")?;
                    app.store().decide_soul_proposal(change.id, "accepted")?;
                    app.record("owner", "soul.accept", &file, "accepted", serde_json::json!({"change": change.id, "origin": "external", "version": version.id}));
                    Ok(())
                })
                .await?;
            }
            (true, _) => {
                self.write_soul(file.clone(), change.content.clone(), "agent").await?;
                let app = self.clone();
                blocking(move || Ok(app.store().decide_soul_proposal(change.id, "accepted")?)).await?;
                self.record("owner", "soul.accept", &file, "accepted", serde_json::json!({"change": change.id, "origin": change.origin}));
            }
            (false, origin) => {
                // Decided first: putting the accepted text back supersedes
                // whatever from disk is still pending.
                let app = self.clone();
                blocking(move || Ok(app.store().decide_soul_proposal(change.id, "rejected")?)).await?;
                if origin == "external" {
                    let app = self.clone();
                    let accepted = blocking({
                        let file = file.clone();
                        move || Ok(app.store().latest_soul_version(&file)?)
                    })
                    .await?;
                    if let Some(accepted) = accepted {
                        self.write_soul(file.clone(), accepted.content, "restore").await?;
                    }
                }
                let decision = if origin == "external" { "reverted" } else { "rejected" };
                self.record("owner", "soul.reject", &file, decision, serde_json::json!({"change": change.id, "origin": origin}));
            }
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
            Ok(app.store().soul_history(&file)?.into_iter().map(view).collect())
        })
        .await
    }

    /// Writes an earlier version back to its file, as a new version.
    pub async fn restore_soul_version(&self, version_id: u32) -> Result<SoulVersionView> {
        let store = self.store().clone();
        let old = blocking(move || Ok(store.soul_version(i64::from(version_id))?)).await?;
        self.write_soul(old.file, old.content, "restore").await
    }

    async fn write_soul(&self, file: String, content: String, origin: &'static str) -> Result<SoulVersionView> {
        let app = self.clone();
        blocking(move || {
            app.workspace().write(&file, &content).map_err(|error| match error {
                WorkspaceError::Io { path, source, .. } => AppError::Io {
                    context: format!(
                        "cannot save {} (your text is still in the editor; free disk space or fix the folder's permissions, then save again)",
                        path.display()
                    ),
                    source,
                },
                other => other.into(),
            })?;
            let version = app.store().record_soul_version(&file, &content, origin)?;
            // The owner's text replaces whatever was found on disk.
            app.store().supersede_soul_proposals(&file, "external")?;
            app.record("owner", "soul.save", &file, "done", serde_json::json!({"origin": origin, "version": version.id, "sha256": version.sha256}));
            Ok(view(version))
        })
        .await
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
