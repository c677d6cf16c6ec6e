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
    /// Samples the judge takes per turn (1–9; a majority decides).
    pub judge_samples: u8,
    /// A local model (.gguf file or folder) that judges turns instead of the
    /// serving model; loaded beside it on the judge's first turn.
    pub judge_model: Option<PathBuf>,
    /// "Train tonight while charging": armed or not, the window and thresholds.
    pub training: crate::training_status::TrainingSchedule,
    /// The trainer's settings the owner changed (the rest keep defaults).
    pub trainer: TrainerSettings,
}

/// The trainer's settings an owner may change in `settings.json`, e.g.
/// `"trainer": {"rank": 8, "alpha": 16, "learningRate": 0.0002, "epochs": 3}`.
/// A field left out keeps its default; a bad value stops the next round
/// with a message naming it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TrainerSettings {
    /// LoRA rank, 1–256 (default 16).
    pub rank: Option<usize>,
    /// LoRA alpha: the update is scaled by alpha / rank (default 32).
    pub alpha: Option<f64>,
    /// AdamW's learning rate, above 0 and below 0.1 (default 1e-4).
    pub learning_rate: Option<f64>,
    /// Passes over a round's turns, 1–20 (default 2).
    pub epochs: Option<usize>,
}

impl TrainerSettings {
    /// `options` with these settings applied, or which one is wrong.
    pub(crate) fn apply(&self, mut options: crate::TrainOptions) -> Result<crate::TrainOptions> {
        let bad = |field: &str, value: String, allowed: &str| {
            Err(AppError::InvalidInput(format!(
                "settings.json: trainer.{field} is {value}; it must be {allowed}. Fix it in the data folder's settings.json"
            )))
        };
        if let Some(rank) = self.rank {
            if !(1..=256).contains(&rank) {
                return bad("rank", rank.to_string(), "between 1 and 256");
            }
            options.settings.lora.rank = rank;
        }
        if let Some(alpha) = self.alpha {
            if !(alpha.is_finite() && alpha > 0.0) {
                return bad("alpha", alpha.to_string(), "a positive number");
            }
            options.settings.lora.alpha = alpha;
        }
        if let Some(rate) = self.learning_rate {
            if !(rate > 0.0 && rate < 0.1) {
                return bad("learningRate", rate.to_string(), "above 0 and below 0.1");
            }
            options.settings.optimizer.learning_rate = rate;
        }
        if let Some(epochs) = self.epochs {
            if !(1..=20).contains(&epochs) {
                return bad("epochs", epochs.to_string(), "between 1 and 20");
            }
            options.settings.epochs = epochs;
        }
        Ok(options)
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            gateway_enabled: true,
            gateway_port: DEFAULT_GATEWAY_PORT,
            last_model: None,
            seal_protected_files: false,
            judge_samples: pincer_training::judge::DEFAULT_SAMPLES as u8,
            judge_model: None,
            training: Default::default(),
            trainer: TrainerSettings::default(),
        }
    }
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
                Ok(_) if inline_secret(&bytes).is_some() => {
                    let (field, name) = inline_secret(&bytes).unwrap_or_default();
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
        );
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

/// The first field of a config file that holds a secret: by its name
/// (`api_key`, `token`, `password`, …) with a non-empty value, or by a value
/// shaped like a credential. Returns the field's path and the vault name to
/// move it to.
pub(crate) fn inline_secret(bytes: &[u8]) -> Option<(String, String)> {
    fn walk(
        value: &serde_json::Value,
        at: &str,
        detector: &pincer_guard::LeakDetector,
    ) -> Option<(String, String)> {
        match value {
            serde_json::Value::Object(map) => map.iter().find_map(|(key, value)| {
                let path = if at.is_empty() {
                    key.clone()
                } else {
                    format!("{at}.{key}")
                };
                let lower = key.to_ascii_lowercase();
                let secret_name = [
                    "api_key",
                    "apikey",
                    "token",
                    "password",
                    "secret",
                    "private_key",
                ]
                .iter()
                .any(|n| lower.contains(n));
                if secret_name && value.as_str().is_some_and(|v| !v.trim().is_empty()) {
                    let provider = lower
                        .split(['_', '-'])
                        .next()
                        .filter(|p| !p.is_empty() && *p != "api")
                        .unwrap_or("name");
                    return Some((path, format!("provider/{provider}")));
                }
                walk(value, &path, detector)
            }),
            serde_json::Value::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, v)| walk(v, &format!("{at}[{i}]"), detector)),
            serde_json::Value::String(text) => detector.scan(text).first().map(|leak| {
                (
                    at.to_string(),
                    format!("provider/{}", leak.kind.label().trim_end_matches("-key")),
                )
            }),
            _ => None,
        }
    }
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    walk(&value, "", &pincer_guard::LeakDetector::shapes_only())
}

#[cfg(test)]
mod tests {
    use super::{inline_secret, Settings};

    #[test]
    fn the_owners_trainer_settings_apply_and_bad_ones_are_named() {
        let settings: Settings = serde_json::from_str(
            r#"{"trainer": {"rank": 8, "alpha": 16, "learningRate": 0.0005, "epochs": 3}}"#,
        )
        .unwrap();
        let options = settings.trainer.apply(Default::default()).unwrap();
        assert_eq!(options.settings.lora.rank, 8);
        assert_eq!(options.settings.lora.alpha, 16.0);
        assert_eq!(options.settings.optimizer.learning_rate, 0.0005);
        assert_eq!(options.settings.epochs, 3);
        let defaults = Settings::default()
            .trainer
            .apply(Default::default())
            .unwrap();
        assert_eq!(
            defaults.settings.lora.rank, 16,
            "unset fields keep their defaults"
        );
        for (json, named) in [
            (r#"{"rank": 0}"#, "trainer.rank is 0"),
            (r#"{"learningRate": 2.0}"#, "trainer.learningRate is 2"),
            (r#"{"alpha": -1}"#, "trainer.alpha is -1"),
            (r#"{"epochs": 99}"#, "trainer.epochs is 99"),
        ] {
            let settings: Settings =
                serde_json::from_str(&format!(r#"{{"trainer": {json}}}"#)).unwrap();
            let error = settings
                .trainer
                .apply(Default::default())
                .unwrap_err()
                .to_string();
            assert!(error.contains(named), "{error}");
        }
    }

    #[test]
    fn config_files_with_inline_secrets_are_named() {
        let by_name = br#"{"theme": "dark", "openai_api_key": "abc123"}"#;
        assert_eq!(
            inline_secret(by_name),
            Some(("openai_api_key".into(), "provider/openai".into()))
        );
        let by_shape =
            br#"{"providers": [{"name": "x", "key": "sk-proj-abcdefghijklmnopqrstuvwx"}]}"#;
        assert_eq!(
            inline_secret(by_shape),
            Some(("providers[0].key".into(), "provider/openai".into()))
        );
        assert_eq!(
            inline_secret(br#"{"gateway_enabled": true, "gateway_port": 18789, "token_note": ""}"#),
            None
        );
    }
}
