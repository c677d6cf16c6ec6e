//! The folders the owner grants to the agent's tools beyond the workspace:
//! kept in `settings.json`, granted again at every start, shown in the
//! Tools & Skills pane, each grant and revocation audited. A folder that
//! holds Pincer's own data (the database, the settings, the tool rules) is
//! never granted: a tool that could write there could grant itself more.

use crate::ipc::{FolderView, GrantFolder};
use crate::settings::{GrantedFolder, Settings};
use crate::{blocking, Action, Actor, App, AppError, Result};
use pincer_agent::Toolbox;
use std::path::{Path, PathBuf};

impl App {
    /// Grants a folder (or changes it to read only / writable); audited.
    pub async fn grant_folder(&self, request: GrantFolder) -> Result<Vec<FolderView>> {
        let app = self.clone();
        blocking(move || {
            let folder = grantable(&app.inner.data_dir, app.inner.agent.toolbox(), &request.path)?;
            app.inner
                .agent
                .toolbox()
                .grant(&folder, request.writable)
                .map_err(|e| AppError::InvalidInput(e.to_string()))?;
            let writable = request.writable;
            let kept = folder.clone();
            app.inner.settings.update(move |s| {
                match s.granted_folders.iter_mut().find(|g| g.path == kept) {
                    Some(granted) => granted.writable = writable,
                    None => s.granted_folders.push(GrantedFolder { path: kept, writable }),
                }
            })?;
            let access = if writable { "read and write" } else { "read only" };
            app.record(
                Actor::Owner,
                Action::ToolFolder,
                &folder.display().to_string(),
                "granted",
                serde_json::json!({"access": access}),
            )?;
            Ok(folder_views(&app.inner.data_dir, app.inner.agent.toolbox(), &app.inner.settings.get()))
        })
        .await
    }

    /// Takes a granted folder back at once; audited.
    pub async fn revoke_folder(&self, path: String) -> Result<Vec<FolderView>> {
        let app = self.clone();
        blocking(move || {
            let asked = PathBuf::from(path.trim());
            let listed = app.inner.settings.get().granted_folders;
            let known = listed
                .iter()
                .find(|g| g.path == asked || asked.canonicalize().is_ok_and(|a| a == g.path))
                .map(|g| g.path.clone());
            let revoked = app
                .inner
                .agent
                .toolbox()
                .revoke(known.as_deref().unwrap_or(&asked))
                .map_err(|e| AppError::InvalidInput(e.to_string()))?;
            let Some(known) = known.or(revoked.then(|| asked.clone())) else {
                return Err(AppError::InvalidInput(format!(
                    "{} is not a granted folder; the Tools & Skills pane lists them",
                    asked.display()
                )));
            };
            let gone = known.clone();
            app.inner.settings.update(move |s| s.granted_folders.retain(|g| g.path != gone))?;
            app.record(
                Actor::Owner,
                Action::ToolFolder,
                &known.display().to_string(),
                "revoked",
                serde_json::json!({}),
            )?;
            Ok(folder_views(&app.inner.data_dir, app.inner.agent.toolbox(), &app.inner.settings.get()))
        })
        .await
    }
}

/// Grants the folders kept in the settings at start, checked as a new
/// grant is (a hand-edited file cannot grant Pincer's own data); one that
/// cannot be granted now is skipped with a warning (the pane says why).
pub(crate) fn grant_saved(data_dir: &Path, toolbox: &Toolbox, settings: &Settings) {
    for granted in &settings.granted_folders {
        let checked = grantable(data_dir, toolbox, &granted.path.to_string_lossy());
        let result = checked.and_then(|folder| {
            toolbox
                .grant(&folder, granted.writable)
                .map_err(|e| AppError::InvalidInput(e.to_string()))
        });
        if let Err(error) = result {
            tracing::warn!(folder = %granted.path.display(), %error, "a granted folder is skipped");
        }
    }
}

/// The workspace and the granted folders as the pane shows them.
pub(crate) fn folder_views(data_dir: &Path, toolbox: &Toolbox, settings: &Settings) -> Vec<FolderView> {
    let places = toolbox.places();
    let mut views = vec![FolderView {
        path: toolbox.workspace().display().to_string(),
        writable: true,
        workspace: true,
        problem: None,
    }];
    for granted in &settings.granted_folders {
        let reached = places.list().iter().any(|p| p.root == granted.path);
        views.push(FolderView {
            path: granted.path.display().to_string(),
            writable: granted.writable,
            workspace: false,
            problem: (!reached).then(|| match grantable(data_dir, toolbox, &granted.path.to_string_lossy()) {
                Err(why) => format!("skipped: {why}"),
                Ok(_) => "cannot be reached now; tools skip it until it is back or revoked".into(),
            }),
        });
    }
    views
}

/// The folder `asked` names, resolved, if it may be granted: an existing
/// folder, given in full, neither inside Pincer's data folder (the
/// workspace is granted already) nor holding it.
fn grantable(data_dir: &Path, toolbox: &Toolbox, asked: &str) -> Result<PathBuf> {
    let asked = asked.trim();
    let path = Path::new(asked);
    if !path.is_absolute() {
        return Err(AppError::InvalidInput(format!(
            "`{asked}` is not a full path; give the folder's full path (for example /home/you/Documents)"
        )));
    }
    let folder = path.canonicalize().map_err(|error| {
        AppError::InvalidInput(format!("{asked} cannot be granted ({error}); grant a folder that exists"))
    })?;
    if !folder.is_dir() {
        return Err(AppError::InvalidInput(format!(
            "{} is not a folder; grant the folder that holds it",
            folder.display()
        )));
    }
    let data = data_dir.canonicalize().unwrap_or_else(|_| data_dir.to_path_buf());
    if folder.starts_with(toolbox.workspace()) {
        return Err(AppError::InvalidInput(format!(
            "{} is inside the workspace, which tools reach already",
            folder.display()
        )));
    }
    if data.starts_with(&folder) || folder.starts_with(&data) {
        return Err(AppError::InvalidInput(format!(
            "{} holds Pincer's own data ({}: the database, settings and tool rules), which tools may never reach; \
             grant a folder beside it instead",
            folder.display(),
            data.display()
        )));
    }
    Ok(folder)
}
