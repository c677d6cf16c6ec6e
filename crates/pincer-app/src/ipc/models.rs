//! Models: the loaded one, the catalog, downloads and local files.

use serde::{Deserialize, Serialize};
use specta::Type;

/// The loaded model.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct ActiveModel {
    /// The id answers are labelled with.
    pub id: String,
    /// Where it was loaded from.
    pub path: String,
    /// `gguf` or `safetensors`.
    pub format: String,
    /// Architecture and quantisation, in words.
    pub details: String,
}

/// A catalog model and what it means for this machine.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct CatalogModel {
    /// Catalog id.
    pub id: String,
    /// In words.
    pub description: String,
    /// Download size, bytes.
    pub size_bytes: f64,
    /// Memory needed to run it, bytes.
    pub min_memory_bytes: f64,
    /// `fits`, `needsFreeMemory` or `tooLarge`.
    pub fit: String,
    /// The default model.
    pub is_default: bool,
    /// Where it lies when already downloaded.
    pub local_path: Option<String>,
    /// Its download, when one was started.
    pub download: Option<DownloadView>,
}

/// The state of one download.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct DownloadView {
    /// Catalog id.
    pub id: String,
    /// `running`, `paused`, `done`, `failed` or `canceled`.
    pub state: String,
    /// Bytes on disk.
    pub done_bytes: f64,
    /// Total bytes, once known.
    pub total_bytes: Option<f64>,
    /// Why it failed, and what to do.
    pub error: Option<String>,
}

/// Names a catalog model.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct CatalogRef {
    /// Catalog id.
    pub id: String,
}

/// A local model to load.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct LoadModel {
    /// A `.gguf` file or a Hugging Face model folder.
    pub path: String,
}
