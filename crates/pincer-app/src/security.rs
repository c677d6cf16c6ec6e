//! The app's secrets and leak guard: the vault (OS keychain) holding the
//! gateway token and the master key, the legacy token file moved into it,
//! and the leak detector installed in the store and the log writer.

use crate::{AppError, Result};
use hmac::{Hmac, Mac};
use pincer_guard::{LeakDetector, LeakPolicy, SharedDetector, Sink};
use pincer_store::{AuditAnchor, AuditEvent, AuditVerification, Redactor, Store};
use pincer_vault::{names, Secret, SecretInfo, Vault, VaultBackend};
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

/// The file that named an install's keychain namespace. Not secret: it only
/// tells two data folders' secrets apart.
const VAULT_ID_FILE: &str = "vault-id";
/// Where the foundation kept the token before the vault.
pub const LEGACY_TOKEN_FILE: &str = "gateway-token";

/// Secrets Pincer manages itself; `pincer secrets` may not replace them.
const MANAGED: [&str; 3] = [names::GATEWAY_TOKEN, names::MASTER_KEY, names::AUDIT_ANCHOR];

/// A signed checkpoint every this many audit records.
const AUDIT_CHECKPOINT_EVERY: i64 = 64;

/// The vault and what is derived from it.
pub(crate) struct Security {
    vault: Vault,
    token: RwLock<Secret>,
    master_key: Secret,
    detector: Arc<SharedDetector>,
    /// The record last anchored in the keychain by this process.
    anchored: Mutex<Option<i64>>,
    /// The newest `secret.set`/`secret.delete` record the detector knows.
    secrets_seen: Mutex<i64>,
}

impl std::fmt::Debug for Security {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Security")
            .field("vault", &self.vault)
            .finish_non_exhaustive()
    }
}

/// The keychain namespace of the install in `data_dir`, made on first use.
fn vault_id(data_dir: &Path) -> Result<String> {
    let path = data_dir.join(VAULT_ID_FILE);
    let io = |source| AppError::Io {
        context: format!("reading {}", path.display()),
        source,
    };
    match std::fs::read_to_string(&path) {
        Ok(id) if !id.trim().is_empty() => return Ok(id.trim().to_string()),
        Ok(_) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(io(error)),
    }
    std::fs::create_dir_all(data_dir).map_err(io)?;
    let id = Secret::random_hex("", 8).expose().to_string();
    // Written whole or not at all: a lost id would orphan the secrets.
    let temporary = path.with_extension("tmp");
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::File::create(&temporary)?;
        std::io::Write::write_all(&mut file, id.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&temporary, &path)
    };
    write().map_err(io)?;
    Ok(id)
}

/// The audit record of the newest change to the vault's secrets (0: none).
fn last_secret_change(store: &Store) -> Result<i64> {
    Ok(store.latest_audit_seq(&["secret.set", "secret.delete"])?)
}

/// The vault of the install in `data_dir`.
pub fn open_vault(data_dir: &Path) -> Result<Vault> {
    Ok(Vault::from_env(&vault_id(data_dir)?)?)
}

fn audit(store: &Store, action: &str, target: &str, decision: &str, details: serde_json::Value) {
    audit_as(store, "system", action, target, decision, details);
}

fn audit_as(
    store: &Store,
    actor: &str,
    action: &str,
    target: &str,
    decision: &str,
    details: serde_json::Value,
) {
    let event = AuditEvent {
        actor: actor.into(),
        action: action.into(),
        target: target.into(),
        decision: decision.into(),
        details,
    };
    if let Err(error) = store.audit(event) {
        tracing::error!(%error, action, "could not append to the audit log");
    }
}

/// The gateway token: from the vault, moved there from the legacy file when
/// one is found, or made on first run.
pub(crate) fn gateway_token(vault: &Vault, data_dir: &Path, store: &Store) -> Result<Secret> {
    let legacy = data_dir.join(LEGACY_TOKEN_FILE);
    let legacy_text = match std::fs::read_to_string(&legacy) {
        Ok(text) => Some(text.trim().to_string()).filter(|t| !t.is_empty()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
        Err(source) => {
            return Err(AppError::Io {
                context: format!("reading {}", legacy.display()),
                source,
            })
        }
    };
    let remove_legacy = || {
        std::fs::remove_file(&legacy).map_err(|source| AppError::Io {
            context: format!("removing {}", legacy.display()),
            source,
        })
    };
    if let Some(token) = vault.get(names::GATEWAY_TOKEN)? {
        if legacy.exists() {
            remove_legacy()?;
            audit(
                store,
                "token.migrate",
                LEGACY_TOKEN_FILE,
                "removed",
                serde_json::json!({"reason": "the vault already holds the token"}),
            );
        }
        return Ok(token);
    }
    match legacy_text {
        Some(text) if vault.backend() == VaultBackend::Keychain => {
            let token = Secret::new(text);
            vault.set(names::GATEWAY_TOKEN, &token)?;
            remove_legacy()?;
            tracing::info!(
                "moved the gateway token from {} into the OS keychain",
                legacy.display()
            );
            audit(
                store,
                "token.migrate",
                LEGACY_TOKEN_FILE,
                "moved",
                serde_json::json!({"to": "keychain"}),
            );
            Ok(token)
        }
        _ => Ok(vault
            .get_or_create(names::GATEWAY_TOKEN, || Secret::random_hex("pincer-", 32))?
            .0),
    }
}

impl Security {
    /// Opens the vault of `data_dir`, loads (or makes) the token and master
    /// key, and installs the leak detector in `store` and the log writer.
    pub(crate) fn open(data_dir: &Path, store: &Arc<Store>) -> Result<Self> {
        let vault = open_vault(data_dir)?;
        let token = gateway_token(&vault, data_dir, store)?;
        let (master_key, created) =
            vault.get_or_create(names::MASTER_KEY, || Secret::random_hex("", 32))?;
        if created {
            audit(
                store,
                "secret.create",
                names::MASTER_KEY,
                "done",
                serde_json::json!({}),
            );
        }
        let security = Self {
            vault,
            token: RwLock::new(token),
            master_key,
            detector: Arc::new(SharedDetector::default()),
            anchored: Mutex::new(None),
            secrets_seen: Mutex::new(last_secret_change(store)?),
        };
        security.refresh_detector()?;
        store.set_redactor(Arc::new(StoreRedactor(security.detector.clone())));
        Ok(security)
    }

    /// Rebuilds the detector from every secret in the vault.
    pub(crate) fn refresh_detector(&self) -> Result<()> {
        let mut secrets: Vec<(String, Secret)> = Vec::new();
        // The two managed secrets are held already; the rest are read once.
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
        secrets.push((
            names::GATEWAY_TOKEN.into(),
            self.token.read().unwrap_or_else(|e| e.into_inner()).clone(),
        ));
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
    pub(crate) fn refresh_if_secrets_changed(&self, store: &Store) -> Result<()> {
        let latest = last_secret_change(store)?;
        let mut seen = self.secrets_seen.lock().unwrap_or_else(|e| e.into_inner());
        if latest > *seen {
            self.refresh_detector()?;
            *seen = latest;
        }
        Ok(())
    }

    pub(crate) fn token(&self) -> Secret {
        self.token.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn rotate_token(&self) -> Result<Secret> {
        let token = Secret::random_hex("pincer-", 32);
        self.vault.set(names::GATEWAY_TOKEN, &token)?;
        *self.token.write().unwrap_or_else(|e| e.into_inner()) = token.clone();
        self.refresh_detector()?;
        Ok(token)
    }

    pub(crate) fn vault(&self) -> &Vault {
        &self.vault
    }

    pub(crate) fn detector(&self) -> &SharedDetector {
        &self.detector
    }

    /// The key that signs audit checkpoints, derived from the master key so
    /// it is never stored anywhere itself.
    /// The whole audit log as `jsonl` or `csv`: signed up to its head first,
    /// the export itself audited, the text passed through the leak detector
    /// (hits audited by name).
    pub(crate) fn export_audit(&self, store: &Store, format: &str, by: &str) -> Result<String> {
        self.checkpoint(store)?;
        let records = store.all_audit_records()?;
        let text = export_text(&records, format)?;
        audit_as(
            store,
            "owner",
            "audit.export",
            format,
            "done",
            serde_json::json!({"records": records.len(), "by": by}),
        );
        let checked = self.detector.current().check(Sink::Export, &text);
        if !checked.leaks.is_empty() {
            let found: Vec<&str> = checked.leaks.iter().map(|l| l.kind.label()).collect();
            audit_as(
                store,
                "guard",
                "leak.redacted",
                "export",
                "redacted",
                serde_json::json!({"found": found}),
            );
        }
        Ok(checked.text.map(|t| t.into_owned()).unwrap_or_default())
    }

    pub(crate) fn checkpoint_key(&self) -> [u8; 32] {
        self.derived_key(b"pincer/audit-checkpoint/v1")
    }

    /// The key that seals protected files, derived like the checkpoint key.
    pub(crate) fn seal_key(&self) -> [u8; 32] {
        self.derived_key(b"pincer/seal/v1")
    }

    fn derived_key(&self, purpose: &[u8]) -> [u8; 32] {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(self.master_key.expose().as_bytes())
            .expect("any key length");
        mac.update(purpose);
        mac.finalize().into_bytes().into()
    }

    /// Appends an audit record; every [`AUDIT_CHECKPOINT_EVERY`] records the
    /// head is signed and anchored. Log lines redacted since the last record
    /// are audited too (the log writer cannot reach the database). Auditing
    /// never fails the action it records: a failure is logged.
    pub(crate) fn audit(
        &self,
        store: &Store,
        actor: &str,
        action: &str,
        target: &str,
        decision: &str,
        details: serde_json::Value,
    ) {
        let event = AuditEvent {
            actor: actor.into(),
            action: action.into(),
            target: target.into(),
            decision: decision.into(),
            details,
        };
        match store.audit(event) {
            Ok(record) if record.seq % AUDIT_CHECKPOINT_EVERY == 0 => {
                if let Err(error) = self.checkpoint(store) {
                    tracing::error!(%error, "could not sign an audit checkpoint");
                }
            }
            Ok(_) => {}
            Err(error) => tracing::error!(%error, action, "could not append to the audit log"),
        }
        for (sink, found) in pincer_guard::for_logs().take_unaudited() {
            let sink = format!("{sink:?}").to_lowercase();
            audit_as(
                store,
                "guard",
                "leak.redacted",
                &sink,
                "redacted",
                serde_json::json!({ "found": found }),
            );
        }
    }

    /// Signs the chain's head and remembers it in the keychain, so a log
    /// deleted or replaced whole (checkpoints included) no longer matches.
    /// The anchor only moves along the chain it anchors: once the database
    /// lost its record, it stays put and verification keeps saying so.
    pub(crate) fn checkpoint(&self, store: &Store) -> Result<()> {
        store.audit_checkpoint(&self.checkpoint_key())?;
        let Some(head) = store.latest_audit_checkpoint()? else {
            return Ok(());
        };
        let mut anchored = self.anchored.lock().unwrap_or_else(|e| e.into_inner());
        if *anchored == Some(head.seq) || self.vault.backend() != VaultBackend::Keychain {
            return Ok(());
        }
        if let Some(current) = self.anchor()? {
            if !store.audit_extends(current.seq, &current.hash)? {
                tracing::error!(anchor = current.seq, "the audit log no longer holds the record the keychain anchors; run `pincer audit verify`");
                return Ok(());
            }
        }
        let anchor = AuditAnchor {
            seq: head.seq,
            hash: head.hash,
        };
        self.vault
            .set(names::AUDIT_ANCHOR, &Secret::new(anchor.encode()))?;
        *anchored = Some(anchor.seq);
        Ok(())
    }

    /// The anchor kept in the keychain, if any.
    fn anchor(&self) -> Result<Option<AuditAnchor>> {
        Ok(self
            .vault
            .get(names::AUDIT_ANCHOR)?
            .and_then(|text| AuditAnchor::decode(text.expose())))
    }

    /// Verifies the chain, its signed checkpoints and the keychain's anchor.
    pub(crate) fn verify(&self, store: &Store) -> Result<AuditVerification> {
        Ok(store.verify_audit_anchored(&self.checkpoint_key(), self.anchor()?.as_ref())?)
    }
}

/// Refuses names Pincer manages itself.
pub(crate) fn check_owner_may_change(name: &str) -> Result<()> {
    names::validate(name)?;
    if MANAGED.contains(&name) {
        let how = if name == names::GATEWAY_TOKEN {
            "rotate it in Settings → Gateway"
        } else {
            "Pincer makes and keeps it"
        };
        return Err(AppError::InvalidInput(format!(
            "'{name}' is managed by Pincer; {how}"
        )));
    }
    Ok(())
}

/// The store and the vault without the services (no model, no memory),
/// for CLI commands run beside a server or instead of one.
pub struct Maintenance {
    data_dir: std::path::PathBuf,
    store: Arc<Store>,
    security: Arc<Security>,
}

impl std::fmt::Debug for Maintenance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Maintenance")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl Maintenance {
    /// Opens the database and the vault of `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Self> {
        let store = Arc::new(Store::open_in(data_dir)?);
        let security = Arc::new(Security::open(data_dir, &store)?);
        Ok(Self {
            data_dir: data_dir.to_path_buf(),
            store,
            security,
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
        Ok(crate::protected::Protected::open(
            self.store.clone(),
            &workspace,
            self.security.clone(),
            sealed,
        )?
        .memory_guard())
    }

    /// The database.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// The learning records (`pincer data`), changes audited as the CLI's.
    pub fn training_data(&self) -> Result<crate::TrainingData> {
        let samples = crate::settings::SettingsFile::load(&self.data_dir)?
            .get()
            .judge_samples
            .clamp(1, 9);
        Ok(crate::TrainingData::new(
            self.store.clone(),
            self.security.clone(),
            "cli",
            u32::from(samples),
            Default::default(),
        ))
    }

    fn record(&self, action: &str, target: &str, decision: &str, details: serde_json::Value) {
        self.security
            .audit(&self.store, "owner", action, target, decision, details);
    }

    /// The gateway token (for `pincer token`).
    pub fn gateway_token(&self) -> Secret {
        self.record(
            "secret.use",
            names::GATEWAY_TOKEN,
            "revealed",
            serde_json::json!({"by": "cli"}),
        );
        self.security.token()
    }

    /// Which backend holds the secrets.
    pub fn vault_backend(&self) -> VaultBackend {
        self.security.vault().backend()
    }

    /// The secrets by name and use, never values.
    pub fn secrets(&self) -> Result<Vec<SecretInfo>> {
        Ok(self.security.vault().list()?)
    }

    /// Stores `value` as `name`, auditing it by name.
    pub fn set_secret(&self, name: &str, value: &Secret) -> Result<()> {
        check_owner_may_change(name)?;
        self.security.vault().set(name, value)?;
        self.security.refresh_detector()?;
        self.record("secret.set", name, "done", serde_json::json!({}));
        Ok(())
    }

    /// Removes `name`; `false` when it was absent.
    pub fn delete_secret(&self, name: &str) -> Result<bool> {
        check_owner_may_change(name)?;
        let removed = self.security.vault().delete(name)?;
        self.record(
            "secret.delete",
            name,
            if removed { "done" } else { "absent" },
            serde_json::json!({}),
        );
        Ok(removed)
    }

    /// Verifies the chain and its signed checkpoints.
    pub fn verify_audit(&self) -> Result<pincer_store::AuditVerification> {
        self.security.verify(&self.store)
    }

    /// Signs the chain's head now.
    pub fn checkpoint_audit(&self) -> Result<()> {
        self.security.checkpoint(&self.store)
    }

    /// Deletes records older than `before_ms` (retention) and audits that.
    pub fn prune_audit(&self, before_ms: i64) -> Result<pincer_store::AuditPrune> {
        self.security.checkpoint(&self.store)?;
        let pruned = self
            .store
            .prune_audit(before_ms, &self.security.checkpoint_key())?;
        self.record("audit.prune", "audit log", "done", serde_json::json!({"removed": pruned.removed, "first_kept": pruned.first_kept, "before_ms": before_ms}));
        Ok(pruned)
    }

    /// The whole audit log as `jsonl` or `csv` (see [`Security::export_audit`]).
    pub fn export_audit(&self, format: &str) -> Result<String> {
        self.security.export_audit(&self.store, format, "cli")
    }
}

/// The database writes through this: secrets become `[REDACTED:<name>]`.
struct StoreRedactor(Arc<SharedDetector>);

impl Redactor for StoreRedactor {
    fn redact(&self, text: &str) -> Option<(String, Vec<String>)> {
        let detector = self.0.current();
        let checked = detector.check(Sink::Storage, text);
        if checked.leaks.is_empty() {
            return None;
        }
        let labels = checked
            .leaks
            .iter()
            .map(|leak| leak.kind.label().to_string())
            .collect();
        let text = checked
            .text
            .map(|t| t.into_owned())
            .unwrap_or_else(|| "[WITHHELD: it carried a secret]".into());
        Some((text, labels))
    }
}

/// The audit records as JSON lines or CSV (with their hashes, so the export
/// can be checked on its own).
pub(crate) fn export_text(records: &[pincer_store::AuditRecord], format: &str) -> Result<String> {
    let mut out = String::new();
    match format {
        "jsonl" => {
            for record in records {
                out.push_str(
                    &serde_json::to_string(record)
                        .map_err(|e| AppError::InvalidInput(e.to_string()))?,
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
            return Err(AppError::InvalidInput(format!(
                "unknown export format {other:?}; use jsonl or csv"
            )))
        }
    }
    Ok(out)
}
