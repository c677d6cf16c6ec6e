//! The trust base every capability can see: the vault's keys (gateway
//! token, master key and what is derived from it), the audit log as a typed
//! API ([`Action`], [`Actor`]) with signed checkpoints and a keychain anchor
//! that follows its head, the protected workspace files, the outbound leak
//! check, the token handed to clients (pairing codes), the inline-secret
//! check for config files and the redacting log writer. Nothing here knows
//! the app that composes it.
#![deny(missing_docs)]

mod action;
mod anchor;
mod audit;
mod backup_copies;
/// The owner's backups: taking, listing and checking them
/// (`backup_copies.rs`) and restoring one (`restore.rs`).
pub mod backups {
    pub use crate::backup_copies::*;
    pub use crate::restore::{
        cancel_restore_at_start, last_restore, lock_data_dir, pending, restore, restore_at_start,
        restore_pending, RestoreOutcome, RestoreRequest, Restored, SERVING_LOCK,
    };
}
mod config;
mod keys;
pub mod logging;
mod outbound;
mod pairing;
pub mod problems;
mod protected;
mod redactor;
pub mod refusals;
mod restore;

pub use action::{Action, Actor};
pub use config::inline_secret;
pub use keys::{open_vault, LEGACY_TOKEN_FILE};
pub use protected::Protected;

use pincer_guard::SharedDetector;
use pincer_store::{Store, StoreError};
use pincer_vault::{names, Secret, Vault, VaultError};
use pincer_workspace::WorkspaceError;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

/// Everything the trust base can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrustError {
    /// From the database.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// From the OS keychain.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// From the workspace's protected files.
    #[error(transparent)]
    Workspace(#[from] WorkspaceError),
    /// A value the caller sent is out of range.
    #[error("{0}")]
    InvalidInput(String),
    /// Local file trouble.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The keychain anchor of the audit log could not be moved.
    #[error("could not move the audit log's anchor in the OS keychain ({0}); check that the keychain is unlocked, then run `pincer audit verify`")]
    Anchor(String),
    /// A request to another host carried a secret and was not sent.
    #[error("blocked a request to {destination}: it carried {found}; nothing was sent")]
    LeakBlocked {
        /// Where it was going (host and path, without the query).
        destination: String,
        /// What was found, by name.
        found: String,
    },
}

/// The trust base's result type.
pub type Result<T> = std::result::Result<T, TrustError>;

/// Secrets Pincer manages itself; `pincer secrets` may not replace them.
const MANAGED: [&str; 3] = [names::GATEWAY_TOKEN, names::MASTER_KEY, names::AUDIT_ANCHOR];

/// The vault, the keys derived from it, the leak detector and the audit
/// writer of one install. Open it once per process and share it.
pub struct Trust {
    store: Arc<Store>,
    vault: Vault,
    token: RwLock<Secret>,
    master_key: Secret,
    detector: Arc<SharedDetector>,
    anchor: Arc<anchor::Anchorer>,
    /// The newest `secret.set`/`secret.delete` record the detector knows.
    secrets_seen: Mutex<i64>,
    pairing: pairing::Pairing,
    problems: problems::Problems,
}

impl std::fmt::Debug for Trust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trust")
            .field("vault", &self.vault)
            .finish_non_exhaustive()
    }
}

impl Trust {
    /// Opens the vault of `data_dir`, loads (or makes) the token and master
    /// key, installs the leak detector in `store` and the log writer, and
    /// starts moving the keychain anchor with the audit log's head.
    pub fn open(data_dir: &Path, store: &Arc<Store>) -> Result<Arc<Self>> {
        let vault = open_vault(data_dir)?;
        let token = keys::gateway_token(&vault, data_dir, store)?;
        let (master_key, created) =
            vault.get_or_create(names::MASTER_KEY, || Secret::random_hex("", 32))?;
        let secrets_seen = Mutex::new(audit::last_secret_change(store)?);
        if !store.created_now() {
            anchor::check_nothing_lost(store, &vault);
        }
        // Started once nothing can fail: it anchors what came before too.
        let anchor = anchor::Anchorer::start(store, &vault);
        let trust = Arc::new(Self {
            store: store.clone(),
            vault,
            token: RwLock::new(token),
            master_key,
            detector: Arc::new(SharedDetector::default()),
            anchor,
            secrets_seen,
            pairing: Default::default(),
            problems: Default::default(),
        });
        if created {
            trust.record(
                Actor::System,
                Action::SecretCreate,
                names::MASTER_KEY,
                "done",
                serde_json::json!({}),
            )?;
        }
        trust.refresh_detector()?;
        store.set_redactor(Arc::new(redactor::StoreRedactor(trust.detector.clone())));
        Ok(trust)
    }

    /// The database this trust base audits into.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// The vault.
    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    /// The leak detector, rebuilt whenever the vault's secrets change.
    pub fn detector(&self) -> &SharedDetector {
        &self.detector
    }

    /// The gateway token.
    pub fn token(&self) -> Secret {
        self.token.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Replaces the gateway token; the old one stops working at once.
    pub fn rotate_token(&self) -> Result<Secret> {
        let token = Secret::random_hex("pincer-", 32);
        self.vault.set(names::GATEWAY_TOKEN, &token)?;
        *self.token.write().unwrap_or_else(|e| e.into_inner()) = token.clone();
        self.refresh_detector()?;
        self.record(
            Actor::Owner,
            Action::TokenRotate,
            names::GATEWAY_TOKEN,
            "done",
            serde_json::json!({}),
        )?;
        Ok(token)
    }

    /// The key that signs audit checkpoints, derived from the master key so
    /// it is never stored anywhere itself.
    pub fn checkpoint_key(&self) -> [u8; 32] {
        keys::derive(&self.master_key, b"pincer/audit-checkpoint/v1")
    }

    /// The key that seals protected files, derived like the checkpoint key.
    pub fn seal_key(&self) -> [u8; 32] {
        keys::derive(&self.master_key, b"pincer/seal/v1")
    }

    /// Stores `value` as `name` for the owner, auditing it by name.
    pub fn set_secret(&self, name: &str, value: &Secret) -> Result<()> {
        check_owner_may_change(name)?;
        self.vault.set(name, value)?;
        self.refresh_detector()?;
        self.record(
            Actor::Owner,
            Action::SecretSet,
            name,
            "done",
            serde_json::json!({}),
        )?;
        Ok(())
    }

    /// Removes the owner's secret `name`; `false` when it was absent.
    pub fn delete_secret(&self, name: &str) -> Result<bool> {
        check_owner_may_change(name)?;
        let removed = self.vault.delete(name)?;
        self.record(
            Actor::Owner,
            Action::SecretDelete,
            name,
            if removed { "done" } else { "absent" },
            serde_json::json!({}),
        )?;
        Ok(removed)
    }
}

impl Drop for Trust {
    fn drop(&mut self) {
        // A short-lived process (`pincer secrets set`) must not exit with
        // its records unanchored.
        if let Err(error) = self.anchor.flush() {
            tracing::error!(%error, "the audit log's newest records are not anchored in the OS keychain");
        }
        self.anchor.stop();
    }
}

/// Refuses names Pincer manages itself.
pub fn check_owner_may_change(name: &str) -> Result<()> {
    names::validate(name)?;
    if MANAGED.contains(&name) {
        let how = if name == names::GATEWAY_TOKEN {
            "rotate it in Settings → Gateway"
        } else {
            "Pincer makes and keeps it"
        };
        return Err(TrustError::InvalidInput(format!(
            "'{name}' is managed by Pincer; {how}"
        )));
    }
    Ok(())
}
