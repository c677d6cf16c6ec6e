//! The Audit pane and Settings → Security: filtered pages of the log, the
//! chain's state, exports, the vault's secrets by name, the protected
//! files' integrity and sealed mode.

use serde::{Deserialize, Serialize};
use specta::Type;

/// Which audit records to show. Empty fields do not filter.
#[derive(Clone, Debug, Default, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase", default)]
pub struct AuditQuery {
    /// Exactly this actor (`owner`, `agent`, `system`, `client`, `guard`).
    pub actor: Option<String>,
    /// Actions starting with this (`gateway.`).
    pub action: Option<String>,
    /// Exactly this outcome (`done`, `denied`, `held`, …).
    pub decision: Option<String>,
    /// Text in the action, target or details.
    pub text: Option<String>,
    /// From (unix ms).
    pub from_ms: Option<f64>,
    /// Until (unix ms).
    pub to_ms: Option<f64>,
    /// Older than this record (the next page).
    pub before_seq: Option<u32>,
    /// At most this many (default 100).
    pub limit: Option<u32>,
}

/// One audit record as the pane shows it.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecordView {
    /// Position in the chain.
    pub seq: u32,
    /// Unix ms.
    pub at_ms: f64,
    /// Who acted.
    pub actor: String,
    /// What was done.
    pub action: String,
    /// To what.
    pub target: String,
    /// The outcome.
    pub decision: String,
    /// Details, as pretty JSON.
    pub details: String,
    /// The previous record's hash.
    pub prev_hash: String,
    /// This record's hash.
    pub hash: String,
}

/// How far the chain verifies.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct AuditStatus {
    /// Records that verified.
    pub verified: u32,
    /// The newest record a signed checkpoint covers.
    pub signed_up_to: Option<u32>,
    /// The first record that does not check out.
    pub broken_at: Option<u32>,
    /// Why it does not.
    pub reason: Option<String>,
}

/// A page of the audit log with the chain's state.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct AuditPage {
    /// Matching records, newest first.
    pub records: Vec<AuditRecordView>,
    /// The chain's state.
    pub status: AuditStatus,
    /// Actors that occur, for the filter.
    pub actors: Vec<String>,
    /// Actions that occur, for the filter.
    pub actions: Vec<String>,
}

/// An export request.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct AuditExportRequest {
    /// `jsonl` or `csv`.
    pub format: String,
}

/// A secret by name and use.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SecretView {
    /// Its name.
    pub name: String,
    /// Where Pincer uses it.
    pub purpose: String,
}

/// A protected file's state.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct FileIntegrity {
    /// The file.
    pub file: String,
    /// SHA-256 of its accepted version.
    pub sha256: String,
    /// `intact`, or `changed outside` (held for the owner).
    pub state: String,
    /// Changes waiting for the owner.
    pub pending: u32,
    /// Whether the file on disk is sealed.
    pub sealed: bool,
}

/// Sealed mode on or off.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SealRequest {
    /// `true` seals the protected files and their history.
    pub on: bool,
}

/// Settings → Security.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SecurityView {
    /// Where secrets are kept (`OS keychain` or `environment`).
    pub vault: String,
    /// The secrets, by name.
    pub secrets: Vec<SecretView>,
    /// The protected files.
    pub files: Vec<FileIntegrity>,
    /// Whether they are kept sealed at rest.
    pub sealed: bool,
    /// The audit chain.
    pub audit: AuditStatus,
}
