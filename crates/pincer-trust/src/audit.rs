//! The audit writer: typed records appended to the store's hash chain, a
//! signed checkpoint every [`CHECKPOINT_EVERY`] records, verification
//! against the keychain anchor, exports through the leak detector, and
//! retention.

use crate::problems::{Area, Problems};
use crate::{Action, Actor, Result, Trust, TrustError, MANAGED};
use pincer_guard::{LeakDetector, LeakPolicy, Sink};
use pincer_store::{AuditEvent, AuditPrune, AuditRecord, AuditVerification, Store};
use pincer_vault::{names, Secret};

/// A signed checkpoint every this many audit records.
pub const CHECKPOINT_EVERY: i64 = 64;

/// Appends one record straight to `store`.
pub(crate) fn append(
    store: &Store,
    actor: Actor,
    action: Action,
    target: &str,
    decision: &str,
    details: serde_json::Value,
) -> pincer_store::Result<AuditRecord> {
    store.audit(AuditEvent {
        actor: actor.as_str().into(),
        action: action.as_str().into(),
        target: target.into(),
        decision: decision.into(),
        details,
    })
}

/// The audit record of the newest change to the vault's secrets (0: none).
pub(crate) fn last_secret_change(store: &Store) -> Result<i64> {
    Ok(store.latest_audit_seq(&[Action::SecretSet.as_str(), Action::SecretDelete.as_str()])?)
}

impl Trust {
    /// Appends an event to the audit chain; every [`CHECKPOINT_EVERY`]
    /// records the head is signed, and the keychain anchor follows the head.
    /// `details` names things, never secret values. Log lines redacted
    /// since the last record are audited too (the log writer cannot reach
    /// the database). A failed append is returned to whoever acted (and
    /// kept as the audit problem until an append succeeds): an action
    /// that cannot be recorded is not reported done.
    pub fn record(
        &self,
        actor: Actor,
        action: Action,
        target: &str,
        decision: &str,
        details: serde_json::Value,
    ) -> Result<AuditRecord> {
        let appended = append(&self.store, actor, action, target, decision, details);
        self.problems.track(Area::Audit, &appended);
        let record = appended?;
        if record.seq % CHECKPOINT_EVERY == 0 {
            let signed = self.store.audit_checkpoint(&self.checkpoint_key());
            self.problems.track(Area::Audit, &signed);
        }
        self.audit_redacted_log_lines();
        Ok(record)
    }

    /// [`Trust::record`] for work nobody waits on (a request refused at
    /// the gateway, a background step): a failure is kept as the audit
    /// problem, which the app's banner and `/health` show.
    pub fn note(
        &self,
        actor: Actor,
        action: Action,
        target: &str,
        decision: &str,
        details: serde_json::Value,
    ) {
        // The failure is already kept as the audit problem by `record`.
        let _kept_as_a_problem = self.record(actor, action, target, decision, details);
    }

    /// Audits the log lines the log writer redacted since the last record.
    fn audit_redacted_log_lines(&self) {
        for (sink, found) in pincer_guard::for_logs().take_unaudited() {
            let sink = format!("{sink:?}").to_lowercase();
            let appended = append(
                &self.store,
                Actor::Guard,
                Action::LeakRedacted,
                &sink,
                "redacted",
                serde_json::json!({ "found": found }),
            );
            self.problems.track(Area::Audit, &appended);
        }
    }

    /// Background work that failed and has not yet succeeded again.
    pub fn problems(&self) -> &Problems {
        &self.problems
    }

    /// Signs the chain's head now and waits until the keychain anchors it
    /// (at shutdown and before an export), so no record is left unsigned.
    pub fn checkpoint(&self) -> Result<()> {
        self.store.audit_checkpoint(&self.checkpoint_key())?;
        self.anchor.flush().map_err(TrustError::Anchor)
    }

    /// Verifies the chain, its signed checkpoints and the keychain's anchor
    /// (after the anchor has caught up with this process's records).
    pub fn verify(&self) -> Result<AuditVerification> {
        if let Err(error) = self.anchor.flush() {
            tracing::warn!(%error, "verifying against an anchor that lags the log");
        }
        Ok(self
            .store
            .verify_audit_anchored(&self.checkpoint_key(), self.anchor.stored()?.as_ref())?)
    }

    /// Deletes records older than `before_ms` (retention) and audits that.
    pub fn prune_audit(&self, before_ms: i64) -> Result<AuditPrune> {
        self.checkpoint()?;
        let pruned = self.store.prune_audit(before_ms, &self.checkpoint_key())?;
        self.record(
            Actor::Owner,
            Action::AuditPrune,
            "audit log",
            "done",
            serde_json::json!({"removed": pruned.removed, "first_kept": pruned.first_kept, "before_ms": before_ms}),
        )?;
        Ok(pruned)
    }

    /// The whole audit log as `jsonl` or `csv`: signed up to its head first,
    /// the export itself audited (`by` says who asked: `ui`, `cli`), the
    /// text passed through the leak detector (hits audited by name).
    pub fn export_audit(&self, format: &str, by: &str) -> Result<String> {
        self.checkpoint()?;
        let records = self.store.all_audit_records()?;
        let text = export_text(&records, format)?;
        self.record(
            Actor::Owner,
            Action::AuditExport,
            format,
            "done",
            serde_json::json!({"records": records.len(), "by": by}),
        )?;
        let checked = self.detector.current().check(Sink::Export, &text);
        if !checked.leaks.is_empty() {
            let found: Vec<&str> = checked.leaks.iter().map(|l| l.kind.label()).collect();
            self.record(
                Actor::Guard,
                Action::LeakRedacted,
                "export",
                "redacted",
                serde_json::json!({"found": found}),
            )?;
        }
        Ok(checked.text.map(|t| t.into_owned()).unwrap_or_default())
    }

    /// Rebuilds the detector from every secret in the vault.
    pub fn refresh_detector(&self) -> Result<()> {
        let mut secrets: Vec<(String, Secret)> = Vec::new();
        // The managed secrets are held already; the rest are read once.
        for info in self
            .vault
            .list()?
            .into_iter()
            .filter(|info| !MANAGED.contains(&info.name.as_str()))
        {
            if let Some(value) = self.vault.get(&info.name)? {
                secrets.push((info.name, value));
            }
        }
        secrets.push((names::GATEWAY_TOKEN.into(), self.token()));
        secrets.push((names::MASTER_KEY.into(), self.master_key.clone()));
        let build = || {
            LeakDetector::new(
                secrets.iter().map(|(n, s)| (n.as_str(), s)),
                LeakPolicy::default(),
            )
        };
        self.detector.replace(build());
        pincer_guard::for_logs().replace(build());
        Ok(())
    }

    /// Rebuilds the detector when a secret was set or deleted since it was
    /// built, by this process or another (`pincer secrets set` beside a
    /// running server): one indexed query, then the keychain only on change.
    pub fn refresh_if_secrets_changed(&self) -> Result<()> {
        let latest = last_secret_change(&self.store)?;
        let mut seen = self.secrets_seen.lock().unwrap_or_else(|e| e.into_inner());
        if latest > *seen {
            self.refresh_detector()?;
            *seen = latest;
        }
        Ok(())
    }
}

/// The audit records as JSON lines or CSV (with their hashes, so the export
/// can be checked on its own).
pub(crate) fn export_text(records: &[AuditRecord], format: &str) -> Result<String> {
    let mut out = String::new();
    match format {
        "jsonl" => {
            for record in records {
                out.push_str(
                    &serde_json::to_string(record)
                        .map_err(|e| TrustError::InvalidInput(e.to_string()))?,
                );
                out.push('\n');
            }
        }
        "csv" => {
            out.push_str("seq,at_ms,actor,action,target,decision,details,prev_hash,hash\n");
            for r in records {
                let e = &r.event;
                let fields = [
                    e.actor.clone(),
                    e.action.clone(),
                    e.target.clone(),
                    e.decision.clone(),
                    e.details.to_string(),
                ];
                let quoted: Vec<String> = fields
                    .iter()
                    .map(|f| format!("\"{}\"", f.replace('"', "\"\"")))
                    .collect();
                out.push_str(&format!(
                    "{},{},{},{},{}\n",
                    r.seq,
                    r.at_ms,
                    quoted.join(","),
                    r.prev_hash,
                    r.hash
                ));
            }
        }
        other => {
            return Err(TrustError::InvalidInput(format!(
                "unknown export format {other:?}; use jsonl or csv"
            )))
        }
    }
    Ok(out)
}
