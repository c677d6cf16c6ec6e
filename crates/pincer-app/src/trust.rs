//! What the Audit pane and Settings → Security show: the audit log,
//! filtered and verified; the vault's secrets by name; the protected files'
//! integrity.

use crate::ipc::{
    AuditPage, AuditQuery, AuditRecordView, AuditStatus, FileIntegrity, SecretView, SecurityView,
};
use crate::{blocking, App, Result};
use pincer_store::{AuditFilter, AuditRecord};
use pincer_workspace::PROTECTED_FILES;

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
                // A file this workspace does not have (an OpenClaw
                // workspace's TOOLS.md, a finished BOOTSTRAP.md) is not listed.
                let absent = !app.workspace().path(file).is_ok_and(|p| p.exists());
                let waiting = changes.iter().any(|c| c.file == file);
                if absent && !waiting && accepted.as_ref().is_none_or(|v| v.content.is_empty()) {
                    continue;
                }
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
