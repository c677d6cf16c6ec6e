//! The soul files: the editor's files, their history, and the changes
//! that wait for the owner.

use serde::{Deserialize, Serialize};
use specta::Type;

/// Names a soul file (`SOUL.md`, `IDENTITY.md`, `USER.md`, `AGENTS.md`).
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SoulFileRef {
    /// The file name.
    pub file: String,
}

/// A soul file as the editor opens it.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SoulFile {
    /// The file name.
    pub file: String,
    /// Where it lives on disk.
    pub path: String,
    /// Its text.
    pub content: String,
    /// The version this text is.
    pub version_id: u32,
    /// Set when the file on disk differs from its last accepted version
    /// (changed by another program): `content` is still the accepted text,
    /// and the change waits in `pending` for the owner.
    pub changed_outside: bool,
    /// Changes to this file waiting for the owner (from disk or the agent).
    pub pending: Vec<SoulChange>,
}

/// A change to a protected file that waits for the owner: the agent never
/// writes these files directly, and a change made by another program is
/// not used until accepted.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SoulChange {
    /// Its id.
    pub id: u32,
    /// The file.
    pub file: String,
    /// `external` (found on disk) or `agent` (proposed by the agent).
    pub origin: String,
    /// Why, in the proposer's words.
    pub reason: String,
    /// The proposed full text.
    pub content: String,
    /// Unix seconds.
    pub created_at: f64,
}

/// The owner's answer to a [`SoulChange`].
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SoulDecision {
    /// The change.
    pub id: u32,
    /// Accept (write and use it) or reject (for a change on disk: put the
    /// accepted text back).
    pub accept: bool,
}

/// Text to save into a soul file.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SaveSoulFile {
    /// The file name.
    pub file: String,
    /// The full new text.
    pub content: String,
}

/// One entry of a soul file's history.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SoulVersionView {
    /// Version id (increasing).
    pub id: u32,
    /// The file name.
    pub file: String,
    /// `owner`, `restore`, `external` or `default`.
    pub origin: String,
    /// Unix seconds.
    pub saved_at: f64,
    /// SHA-256 of the text.
    pub sha256: String,
    /// The text.
    pub content: String,
}

/// Names one soul version.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SoulVersionRef {
    /// The version id.
    pub version_id: u32,
}
