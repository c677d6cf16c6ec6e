//! The settings pane.

use serde::{Deserialize, Serialize};
use specta::Type;

/// Settings shown in the settings pane.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SettingsView {
    /// The data folder (set by `--data-dir` / `PINCER_DATA_DIR`).
    pub data_dir: String,
    /// The workspace folder with the soul files.
    pub workspace_dir: String,
    /// Whether the OpenAI-compatible gateway should run.
    pub gateway_enabled: bool,
    /// Its port on loopback.
    pub gateway_port: u16,
    /// Where it listens now (`None` when off or failed).
    pub gateway_address: Option<String>,
    /// Why it is not running, when it should be.
    pub gateway_error: Option<String>,
}

/// A change to the gateway settings.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct GatewaySettings {
    /// Run the gateway.
    pub enabled: bool,
    /// Its port (1024–65535).
    pub port: u16,
}
