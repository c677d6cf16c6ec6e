//! The store and the trust base without the services (no model, no
//! memory), for CLI commands run beside a server or instead of one.

use crate::Result;
use pincer_store::Store;
use pincer_trust::{Action, Actor, Protected, Trust};
use pincer_vault::{names, Secret, SecretInfo, VaultBackend};
use std::path::Path;
use std::sync::Arc;

/// The store and the vault without the services (no model, no memory),
/// for CLI commands run beside a server or instead of one.
pub struct Maintenance {
    data_dir: std::path::PathBuf,
    trust: Arc<Trust>,
}

impl std::fmt::Debug for Maintenance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Maintenance")
            .field("store", self.trust.store())
            .finish_non_exhaustive()
    }
}

impl Maintenance {
    /// Opens the database and the vault of `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Self> {
        let store = Arc::new(Store::open_in(data_dir)?);
        let trust = Trust::open(data_dir, &store)?;
        Ok(Self {
            data_dir: data_dir.to_path_buf(),
            trust,
        })
    }

    /// Memory's view of the protected files (`pincer memory` indexes
    /// `MEMORY.md` only as the owner accepted it). Opens the workspace,
    /// which the other maintenance commands never touch.
    pub fn memory_guard(&self) -> Result<Arc<dyn pincer_memory::ProtectedFiles>> {
        let sealed = crate::settings::SettingsFile::load(&self.data_dir)?
            .get()
            .seal_protected_files;
        let workspace = self.data_dir.join("workspace");
        let protected = Protected::open(&workspace, self.trust.clone(), sealed)?;
        Ok(pincer_memory::protected_files(&protected))
    }

    /// The data folder.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The trust base.
    pub(crate) fn trust(&self) -> &Arc<Trust> {
        &self.trust
    }

    /// The database.
    pub fn store(&self) -> &Arc<Store> {
        self.trust.store()
    }

    /// The learning records (`pincer data`), changes audited as the CLI's.
    pub fn training_data(&self) -> Result<crate::TrainingData> {
        let samples = crate::settings::SettingsFile::load(&self.data_dir)?
            .get()
            .learning
            .samples();
        Ok(crate::TrainingData::new(
            self.trust.store().clone(),
            self.trust.clone(),
            "cli",
            samples,
        ))
    }

    fn record(
        &self,
        action: Action,
        target: &str,
        decision: &str,
        details: serde_json::Value,
    ) -> Result<()> {
        self.trust
            .record(Actor::Owner, action, target, decision, details)?;
        Ok(())
    }

    /// The gateway token (for `pincer token`).
    pub fn gateway_token(&self) -> Result<Secret> {
        self.record(
            Action::SecretUse,
            names::GATEWAY_TOKEN,
            "revealed",
            serde_json::json!({"by": "cli"}),
        )?;
        Ok(self.trust.token())
    }

    /// Which backend holds the secrets.
    pub fn vault_backend(&self) -> VaultBackend {
        self.trust.vault().backend()
    }

    /// The secrets by name and use, never values.
    pub fn secrets(&self) -> Result<Vec<SecretInfo>> {
        Ok(self.trust.vault().list()?)
    }

    /// Stores `value` as `name`, auditing it by name.
    pub fn set_secret(&self, name: &str, value: &Secret) -> Result<()> {
        Ok(self.trust.set_secret(name, value)?)
    }

    /// Removes `name`; `false` when it was absent.
    pub fn delete_secret(&self, name: &str) -> Result<bool> {
        Ok(self.trust.delete_secret(name)?)
    }

    /// Verifies the chain, its signed checkpoints and the keychain anchor.
    pub fn verify_audit(&self) -> Result<pincer_store::AuditVerification> {
        Ok(self.trust.verify()?)
    }

    /// Signs the chain's head now.
    pub fn checkpoint_audit(&self) -> Result<()> {
        Ok(self.trust.checkpoint()?)
    }

    /// Deletes records older than `before_ms` (retention) and audits that.
    pub fn prune_audit(&self, before_ms: i64) -> Result<pincer_store::AuditPrune> {
        Ok(self.trust.prune_audit(before_ms)?)
    }

    /// The whole audit log as `jsonl` or `csv`, signed up to its head,
    /// through the leak detector; the export itself is audited.
    pub fn export_audit(&self, format: &str) -> Result<String> {
        Ok(self.trust.export_audit(format, "cli")?)
    }
}
