//! What the Audit pane and Settings → Security show: the audit log,
//! filtered and verified; the vault's secrets by name; the protected files'
//! integrity.

use crate::{blocking, App, Result};
use pincer_store::{AuditFilter, AuditRecord};
use pincer_workspace::PROTECTED_FILES;
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

fn record_view(record: AuditRecord) -> AuditRecordView {
    let e = record.event;
    AuditRecordView {
        seq: u32::try_from(record.seq).unwrap_or(u32::MAX),
        at_ms: record.at_ms as f64,
        actor: e.actor,
        action: e.action,
        target: e.target,
        decision: e.decision,
        details: serde_json::to_string_pretty(&e.details).unwrap_or_default(),
        prev_hash: record.prev_hash,
        hash: record.hash,
    }
}

impl App {
    /// The chain's state, verified now with the install's checkpoint key.
    pub async fn audit_status(&self) -> Result<AuditStatus> {
        let app = self.clone();
        blocking(move || {
            let verification = app.verify_audit()?;
            let small = |n: i64| u32::try_from(n).unwrap_or(u32::MAX);
            Ok(AuditStatus {
                verified: small(verification.records),
                signed_up_to: verification.signed_up_to.map(small),
                broken_at: verification.broken_at.as_ref().map(|b| small(b.seq)),
                reason: verification.broken_at.map(|b| b.reason),
            })
        })
        .await
    }

    /// A page of the audit log for the pane.
    pub async fn audit_query(&self, query: AuditQuery) -> Result<AuditPage> {
        let status = self.audit_status().await?;
        let app = self.clone();
        blocking(move || {
            let filter = AuditFilter {
                actor: query.actor,
                action: query.action,
                decision: query.decision,
                text: query.text,
                from_ms: query.from_ms.map(|v| v as i64),
                to_ms: query.to_ms.map(|v| v as i64),
                before_seq: query.before_seq.map(i64::from),
                limit: query.limit.map(i64::from),
            };
            let records = app
                .store()
                .query_audit(&filter)?
                .into_iter()
                .map(record_view)
                .collect();
            let (actors, actions) = app.store().audit_vocabulary()?;
            Ok(AuditPage {
                records,
                status,
                actors,
                actions,
            })
        })
        .await
    }

    /// The whole log as JSON lines or CSV, signed up to its head and passed
    /// through the leak detector; the export itself is audited.
    pub async fn audit_export(&self, format: String) -> Result<String> {
        let app = self.clone();
        blocking(move || Ok(app.inner.trust.export_audit(&format, "ui")?)).await
    }

    /// Settings → Security: secrets by name, the protected files, the chain.
    pub async fn security_overview(&self) -> Result<SecurityView> {
        let audit = self.audit_status().await?;
        let changes = self.soul_changes().await?;
        let app = self.clone();
        blocking(move || {
            let secrets = app
                .secrets()?
                .into_iter()
                .map(|s| SecretView {
                    name: s.name,
                    purpose: s.purpose,
                })
                .collect();
            let mut files = Vec::new();
            for &file in PROTECTED_FILES {
                let accepted = app.store().latest_soul_version(file)?;
                let pending: Vec<_> = changes.iter().filter(|c| c.file == file).collect();
                let outside = pending.iter().any(|c| c.origin == "external");
                files.push(FileIntegrity {
                    file: file.to_string(),
                    sha256: accepted.map(|v| v.sha256).unwrap_or_default(),
                    state: if outside {
                        "changed outside".into()
                    } else {
                        "intact".into()
                    },
                    pending: pending.len() as u32,
                    sealed: app.workspace().is_sealed_on_disk(file),
                });
            }
            let vault = match app.vault_backend() {
                pincer_vault::VaultBackend::Keychain => "OS keychain",
                pincer_vault::VaultBackend::Environment => "environment (PINCER_VAULT=env)",
            };
            Ok(SecurityView {
                vault: vault.into(),
                secrets,
                files,
                sealed: app.soul_sealed(),
                audit,
            })
        })
        .await
    }
}
