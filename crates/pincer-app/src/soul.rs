//! The soul files: read, save with history, restore, and the system prompt
//! the agent reads them into on every turn.

use crate::ipc::{SoulFile, SoulVersionView};
use crate::{blocking, App, AppError, Result};
use pincer_store::SoulVersion;
use pincer_workspace::{WorkspaceError, SOUL_FILES};

impl App {
    /// The system prompt built from the saved soul files. A file that cannot
    /// be read (not UTF-8, permissions) falls back to its last saved version,
    /// so a damaged file never silently drops the agent's rules.
    pub async fn soul_prompt(&self) -> Option<String> {
        let app = self.clone();
        let texts = blocking(move || {
            let mut texts = Vec::new();
            for &file in SOUL_FILES {
                let text = match app.workspace().read(file) {
                    Ok(text) => text,
                    Err(error) => {
                        tracing::warn!(%error, "using the last saved version of {file}");
                        app.store().latest_soul_version(file)?.map(|v| v.content).unwrap_or_default()
                    }
                };
                texts.push((file, text));
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

    /// Opens a soul file for editing. A text changed outside Pincer since its
    /// last save is recorded as a version of origin `external` first.
    pub async fn read_soul_file(&self, file: String) -> Result<SoulFile> {
        let app = self.clone();
        blocking(move || {
            let path = app.workspace().path(&file)?;
            let content = app.workspace().read(&file)?;
            let latest = app.store().latest_soul_version(&file)?;
            let changed_outside = latest.as_ref().is_some_and(|v| v.content != content);
            let origin = if latest.is_none() { "default" } else { "external" };
            let version = app.store().record_soul_version(&file, &content, origin)?;
            if changed_outside {
                app.record("system", "soul.changed_outside", &file, "detected", serde_json::json!({"version": version.id, "sha256": version.sha256}));
            }
            Ok(SoulFile {
                file,
                path: path.display().to_string(),
                content,
                version_id: small_id(version.id),
                changed_outside,
            })
        })
        .await
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
            app.record("owner", "soul.save", &file, "done", serde_json::json!({"origin": origin, "version": version.id, "sha256": version.sha256}));
            Ok(view(version))
        })
        .await
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
