//! Settings kept by the app itself (the gateway switch and port, the last
//! model), in `settings.json` in the data folder. UI preferences such as the
//! theme live with the UI (`tauri-plugin-store`, or the browser's storage).

use crate::ipc::{AppMode, GatewaySettings, SettingsView};
use crate::{blocking, Action, Actor, App, AppError, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use tokio::sync::watch;

/// The port the gateway binds by default.
pub const DEFAULT_GATEWAY_PORT: u16 = 18789;

/// The app's own settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Settings {
    /// Run the OpenAI-compatible gateway (desktop app).
    pub gateway_enabled: bool,
    /// Its loopback port.
    pub gateway_port: u16,
    /// The model file or folder loaded last, loaded again at start.
    pub last_model: Option<PathBuf>,
    /// Keep the protected files and their history sealed at rest.
    pub seal_protected_files: bool,
    /// Where new backups go (`None`: the data folder's `backups`).
    pub backup_folder: Option<PathBuf>,
    /// Folders beyond the workspace the owner lets the agent's file tools
    /// (and commands) reach, in the order granted.
    pub granted_folders: Vec<GrantedFolder>,
    /// The learning loop's settings (`judgeSamples`, `judgeModel`,
    /// `training`, `trainer`), at the top level of the file.
    #[serde(flatten)]
    pub learning: pincer_learning::LearningSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            gateway_enabled: true,
            gateway_port: DEFAULT_GATEWAY_PORT,
            last_model: None,
            seal_protected_files: false,
            backup_folder: None,
            granted_folders: Vec::new(),
            learning: Default::default(),
        }
    }
}

/// A folder the owner granted to the agent's tools.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GrantedFolder {
    /// The folder, resolved when it was granted.
    pub path: PathBuf,
    /// Whether tools may write there (else read only).
    #[serde(default)]
    pub writable: bool,
}

/// Where the gateway listens now, as the shell that runs it reports.
#[derive(Clone, Debug, Default)]
pub(crate) struct GatewayStatus {
    pub(crate) address: Option<String>,
    pub(crate) error: Option<String>,
}

#[derive(Debug)]
pub(crate) struct SettingsFile {
    path: PathBuf,
    lock: Mutex<()>,
    current: watch::Sender<Settings>,
}

impl SettingsFile {
    /// Reads `settings.json`; a damaged file is kept aside (never lost) and
    /// the defaults are used, with a warning.
    pub(crate) fn load(data_dir: &Path) -> Result<Self> {
        let path = data_dir.join("settings.json");
        let settings = match std::fs::read(&path) {
            Ok(bytes) => match serde_json::from_slice::<Settings>(&bytes) {
                Ok(_) if pincer_trust::inline_secret(&bytes).is_some() => {
                    let (field, name) = pincer_trust::inline_secret(&bytes).unwrap_or_default();
                    return Err(AppError::InvalidInput(format!(
                        "{}: `{field}` holds a secret inline; config files never hold secrets. Move it into the OS keychain \
                         with `pincer secrets set {name}` (it reads the value from a hidden prompt), then delete `{field}` from the file",
                        path.display()
                    )));
                }
                Ok(settings) => settings,
                Err(error) => {
                    let aside =
                        path.with_extension(format!("json.damaged-{}", pincer_store::unix_now()));
                    tracing::warn!(%error, "{} is damaged; keeping it as {} and using defaults", path.display(), aside.display());
                    std::fs::rename(&path, &aside).map_err(|source| AppError::Io {
                        context: format!("moving aside {}", path.display()),
                        source,
                    })?;
                    Settings::default()
                }
            },
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Settings::default(),
            Err(source) => {
                return Err(AppError::Io {
                    context: format!("reading {}", path.display()),
                    source,
                })
            }
        };
        Ok(Self {
            path,
            lock: Mutex::new(()),
            current: watch::Sender::new(settings),
        })
    }

    pub(crate) fn get(&self) -> Settings {
        self.current.borrow().clone()
    }

    /// Applies `change` and saves atomically; on failure nothing changes.
    pub(crate) fn update(&self, change: impl FnOnce(&mut Settings)) -> Result<Settings> {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut next = self.get();
        change(&mut next);
        let io = |source| AppError::Io {
            context: format!("saving {}", self.path.display()),
            source,
        };
        let temporary = self.path.with_extension("json.saving");
        let bytes =
            serde_json::to_vec_pretty(&next).map_err(|e| AppError::InvalidInput(e.to_string()))?;
        std::fs::write(&temporary, bytes).map_err(io)?;
        std::fs::rename(&temporary, &self.path).map_err(io)?;
        self.current.send_replace(next.clone());
        Ok(next)
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<Settings> {
        self.current.subscribe()
    }
}

impl App {
    /// The app's settings now.
    pub fn settings(&self) -> Settings {
        self.inner.settings.get()
    }

    /// Follows settings changes (the desktop shell starts and stops the
    /// gateway from this).
    pub fn watch_settings(&self) -> watch::Receiver<Settings> {
        self.inner.settings.subscribe()
    }

    /// The settings pane's view.
    pub fn settings_view(&self) -> SettingsView {
        let settings = self.settings();
        let status = self
            .inner
            .gateway_status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        SettingsView {
            data_dir: self.data_dir().display().to_string(),
            workspace_dir: self.workspace().dir().display().to_string(),
            gateway_enabled: settings.gateway_enabled,
            gateway_port: settings.gateway_port,
            gateway_address: status.address,
            gateway_error: status.error,
        }
    }

    /// Changes the gateway switch and port. In web mode the gateway carries
    /// the UI itself, so it cannot be switched off from there.
    pub async fn update_gateway(&self, change: GatewaySettings) -> Result<SettingsView> {
        if change.port < 1024 {
            return Err(AppError::InvalidInput(format!(
                "port {} is reserved for the system; choose one from 1024 to 65535",
                change.port
            )));
        }
        if self.mode() == AppMode::Web && !change.enabled {
            return Err(AppError::Unavailable(
                "this page is served by the gateway, so it cannot switch it off; stop `pincer serve` instead".into(),
            ));
        }
        let app = self.clone();
        blocking(move || {
            app.inner.settings.update(|s| {
                s.gateway_enabled = change.enabled;
                s.gateway_port = change.port;
            })
        })
        .await?;
        self.record(
            Actor::Owner,
            Action::ConfigGateway,
            "settings.json",
            "done",
            serde_json::json!({"enabled": change.enabled, "port": change.port}),
        )?;
        Ok(self.settings_view())
    }

    /// Records where the gateway listens (or why it could not start), for the settings pane.
    pub fn set_gateway_status(&self, address: Option<String>, error: Option<String>) {
        *self
            .inner
            .gateway_status
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = GatewayStatus { address, error };
    }

    pub(crate) fn remember_model(&self, path: &Path) {
        let path = path.to_path_buf();
        if let Err(error) = self.inner.settings.update(|s| s.last_model = Some(path)) {
            tracing::warn!(%error, "cannot remember the loaded model");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Settings;

    #[test]
    fn the_learning_settings_stay_at_the_top_level_of_the_file() {
        let settings: Settings = serde_json::from_str(
            r#"{"gatewayPort": 9000, "judgeSamples": 5, "trainer": {"rank": 8}}"#,
        )
        .unwrap();
        assert_eq!(settings.gateway_port, 9000);
        assert_eq!(settings.learning.judge_samples, 5);
        assert_eq!(settings.learning.trainer.rank, Some(8));
        let written = serde_json::to_value(&settings).unwrap();
        assert_eq!(written["judgeSamples"], 5);
        assert_eq!(written["trainer"]["rank"], 8);
        assert!(written.get("learning").is_none(), "{written}");
    }
}
