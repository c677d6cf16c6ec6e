//! The install's keychain namespace, the gateway token (moved into the
//! vault from the foundation's legacy file) and the keys derived from the
//! master key.

use crate::{audit, Action, Actor, Result, TrustError};
use hmac::{Hmac, Mac};
use pincer_store::Store;
use pincer_vault::{names, Secret, Vault, VaultBackend};
use std::path::Path;

/// The file that named an install's keychain namespace. Not secret: it only
/// tells two data folders' secrets apart.
const VAULT_ID_FILE: &str = "vault-id";
/// Where the foundation kept the token before the vault.
pub const LEGACY_TOKEN_FILE: &str = "gateway-token";

/// The keychain namespace of the install in `data_dir`, made on first use.
fn vault_id(data_dir: &Path) -> Result<String> {
    let path = data_dir.join(VAULT_ID_FILE);
    let io = |source| TrustError::Io {
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

/// The vault of the install in `data_dir`.
pub fn open_vault(data_dir: &Path) -> Result<Vault> {
    Ok(Vault::from_env(&vault_id(data_dir)?)?)
}

/// The gateway token: from the vault, moved there from the legacy file when
/// one is found, or made on first run.
pub(crate) fn gateway_token(vault: &Vault, data_dir: &Path, store: &Store) -> Result<Secret> {
    let legacy = data_dir.join(LEGACY_TOKEN_FILE);
    let legacy_text = match std::fs::read_to_string(&legacy) {
        Ok(text) => Some(text.trim().to_string()).filter(|t| !t.is_empty()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
        Err(source) => {
            return Err(TrustError::Io {
                context: format!("reading {}", legacy.display()),
                source,
            })
        }
    };
    let remove_legacy = || {
        std::fs::remove_file(&legacy).map_err(|source| TrustError::Io {
            context: format!("removing {}", legacy.display()),
            source,
        })
    };
    if let Some(token) = vault.get(names::GATEWAY_TOKEN)? {
        if legacy.exists() {
            remove_legacy()?;
            audit::append(
                store,
                Actor::System,
                Action::TokenMigrate,
                LEGACY_TOKEN_FILE,
                "removed",
                serde_json::json!({"reason": "the vault already holds the token"}),
            )?;
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
            audit::append(
                store,
                Actor::System,
                Action::TokenMigrate,
                LEGACY_TOKEN_FILE,
                "moved",
                serde_json::json!({"to": "keychain"}),
            )?;
            Ok(token)
        }
        _ => Ok(vault
            .get_or_create(names::GATEWAY_TOKEN, || Secret::random_hex("pincer-", 32))?
            .0),
    }
}

/// A key for `purpose`, derived from the master key.
pub(crate) fn derive(master_key: &Secret, purpose: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(master_key.expose().as_bytes())
        .expect("any key length");
    mac.update(purpose);
    mac.finalize().into_bytes().into()
}
