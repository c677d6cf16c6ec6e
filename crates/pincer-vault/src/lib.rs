//! Pincer's secrets live only in the OS keychain (macOS Keychain, Windows
//! Credential Manager, the Secret Service on Linux), never in a file.
//!
//! A [`Vault`] is one install's namespace in the keychain: items carry the
//! attributes `service = pincer:<namespace>` and `username = <name>`, so two
//! data folders on one machine never share a token. On a headless server
//! without a keychain the owner can opt into [`VaultBackend::Environment`]
//! (`PINCER_VAULT=env`), which reads `PINCER_SECRET_<NAME>` variables and
//! stores nothing; there is no plaintext-file fallback.
#![deny(missing_docs)]

pub mod names;
mod secret;

pub use secret::Secret;

use std::collections::HashMap;

/// What the vault can fail with; every message says what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VaultError {
    /// No keychain service answered (no D-Bus session, no Secret Service).
    #[error(
        "the OS keychain is not reachable ({cause}). On a desktop, log in to a session with a keyring \
         (GNOME Keyring or KWallet) and unlock it. On a headless server, run Pincer inside a keyring session \
         (README, \"Headless servers\") or set PINCER_VAULT=env and pass each secret as PINCER_SECRET_<NAME>. \
         Pincer never falls back to a plaintext file"
    )]
    Unreachable {
        /// What the platform said.
        cause: String,
    },
    /// The keychain is locked, or the owner or a policy denied access.
    #[error("the OS keychain refused access to '{name}' ({cause}); unlock your login keyring or approve the prompt, then try again")]
    Locked {
        /// The secret asked for.
        name: String,
        /// What the platform said.
        cause: String,
    },
    /// The keychain failed in another way.
    #[error("the OS keychain failed on '{name}': {cause}")]
    Platform {
        /// The secret asked for.
        name: String,
        /// What the platform said.
        cause: String,
    },
    /// A secret that must exist does not.
    #[error("no secret '{name}' in the vault; {help}")]
    Missing {
        /// The secret asked for.
        name: String,
        /// How to add it.
        help: String,
    },
    /// The environment backend cannot store anything.
    #[error(
        "PINCER_VAULT=env reads secrets from the environment and cannot store '{name}'; set {var} where Pincer is \
         started (a systemd credential or your service manager's secret store), or use the OS keychain"
    )]
    ReadOnly {
        /// The secret.
        name: String,
        /// The variable that would carry it.
        var: String,
    },
    /// A name outside the allowed alphabet.
    #[error("'{0}' is not a secret name: use 1–64 characters of a-z, 0-9, '-', '_', '.', '/' (e.g. provider/openai)")]
    InvalidName(String),
    /// `PINCER_VAULT` holds something else.
    #[error("PINCER_VAULT={0:?} is not a vault; use 'keychain' (the default) or 'env'")]
    UnknownBackend(String),
}

/// The vault's result type.
pub type Result<T> = std::result::Result<T, VaultError>;

/// Where secrets are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VaultBackend {
    /// The platform's keychain (the default).
    Keychain,
    /// Read-only `PINCER_SECRET_<NAME>` environment variables, for headless
    /// servers that have no keychain.
    Environment,
}

/// A secret's name and what it is for; never its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretInfo {
    /// e.g. `gateway-token`, `provider/openai`.
    pub name: String,
    /// Where Pincer uses it.
    pub purpose: String,
}

/// One install's secrets.
#[derive(Clone, Debug)]
pub struct Vault {
    service: String,
    backend: VaultBackend,
}

impl Vault {
    /// The vault `PINCER_VAULT` names (`keychain` when unset) for the
    /// install `namespace`.
    pub fn from_env(namespace: &str) -> Result<Self> {
        match std::env::var("PINCER_VAULT").ok().as_deref().map(str::trim) {
            None | Some("") | Some("keychain") => Self::keychain(namespace),
            Some("env") => Ok(Self::environment(namespace)),
            Some(other) => Err(VaultError::UnknownBackend(other.to_string())),
        }
    }

    /// The OS keychain; fails at once, with what to do, when none answers.
    pub fn keychain(namespace: &str) -> Result<Self> {
        if let Err(error) = keyring::Entry::store_status() {
            return Err(VaultError::Unreachable {
                cause: error.to_string(),
            });
        }
        let vault = Self {
            service: format!("pincer:{namespace}"),
            backend: VaultBackend::Keychain,
        };
        // A search touches the service, so a missing daemon shows here and
        // not at the first secret.
        vault.search()?;
        Ok(vault)
    }

    /// Secrets from `PINCER_SECRET_<NAME>` variables, read-only.
    pub fn environment(namespace: &str) -> Self {
        Self {
            service: format!("pincer:{namespace}"),
            backend: VaultBackend::Environment,
        }
    }

    /// Which backend holds the secrets.
    pub fn backend(&self) -> VaultBackend {
        self.backend
    }

    /// The secret `name`, or `None` when it was never set.
    pub fn get(&self, name: &str) -> Result<Option<Secret>> {
        names::validate(name)?;
        match self.backend {
            VaultBackend::Environment => Ok(std::env::var(names::env_var(name))
                .ok()
                .filter(|v| !v.is_empty())
                .map(Secret::new)),
            VaultBackend::Keychain => match retried(|| self.entry(name)?.get_password()) {
                Ok(value) => Ok(Some(Secret::new(value))),
                Err(keyring_core::Error::NoEntry) => Ok(None),
                Err(error) => Err(self.platform_error(name, error)),
            },
        }
    }

    /// The secret `name`, or an error saying how to add it.
    pub fn require(&self, name: &str) -> Result<Secret> {
        self.get(name)?.ok_or_else(|| VaultError::Missing {
            name: name.to_string(),
            help: match self.backend {
                VaultBackend::Keychain => format!("add it with `pincer secrets set {name}`"),
                VaultBackend::Environment => {
                    format!("set {} where Pincer is started", names::env_var(name))
                }
            },
        })
    }

    /// Stores `value` as `name`, replacing any earlier value.
    pub fn set(&self, name: &str, value: &Secret) -> Result<()> {
        names::validate(name)?;
        match self.backend {
            VaultBackend::Environment => Err(VaultError::ReadOnly {
                name: name.into(),
                var: names::env_var(name),
            }),
            VaultBackend::Keychain => retried(|| self.entry(name)?.set_password(value.expose()))
                .map_err(|error| self.platform_error(name, error)),
        }
    }

    /// Removes `name`; `false` when there was nothing to remove.
    pub fn delete(&self, name: &str) -> Result<bool> {
        names::validate(name)?;
        match self.backend {
            VaultBackend::Environment => Err(VaultError::ReadOnly {
                name: name.into(),
                var: names::env_var(name),
            }),
            VaultBackend::Keychain => match retried(|| self.entry(name)?.delete_credential()) {
                Ok(()) => Ok(true),
                Err(keyring_core::Error::NoEntry) => Ok(false),
                Err(error) => Err(self.platform_error(name, error)),
            },
        }
    }

    /// The secret `name`, created by `create` and stored when absent; the
    /// flag says whether it was created now.
    pub fn get_or_create(
        &self,
        name: &str,
        create: impl FnOnce() -> Secret,
    ) -> Result<(Secret, bool)> {
        if let Some(secret) = self.get(name)? {
            return Ok((secret, false));
        }
        if self.backend == VaultBackend::Environment {
            return Err(self.require(name).expect_err("absent"));
        }
        let secret = create();
        self.set(name, &secret)?;
        Ok((secret, true))
    }

    /// The names this install keeps, sorted, with what each is for.
    pub fn list(&self) -> Result<Vec<SecretInfo>> {
        let mut names = match self.backend {
            VaultBackend::Keychain => self.search()?,
            VaultBackend::Environment => {
                let known = [names::GATEWAY_TOKEN, names::MASTER_KEY];
                known
                    .iter()
                    .filter(|name| std::env::var_os(names::env_var(name)).is_some())
                    .map(|n| n.to_string())
                    .collect()
            }
        };
        names.sort();
        names.dedup();
        Ok(names
            .into_iter()
            .map(|name| SecretInfo {
                purpose: names::purpose(&name),
                name,
            })
            .collect())
    }

    fn search(&self) -> Result<Vec<String>> {
        let spec = HashMap::from([("service", self.service.as_str())]);
        let entries =
            retried(|| keyring_core::Entry::search(&spec)).map_err(|error| match error {
                keyring_core::Error::NoStorageAccess(cause) => VaultError::Locked {
                    name: "(list)".into(),
                    cause: cause.to_string(),
                },
                other => VaultError::Unreachable {
                    cause: other.to_string(),
                },
            })?;
        Ok(entries
            .iter()
            .filter_map(|entry| entry.get_specifiers())
            .map(|(_, user)| user)
            .collect())
    }

    fn entry(&self, name: &str) -> keyring_core::Result<keyring_core::Entry> {
        let label = format!(
            "Pincer {}: {name}",
            self.service.trim_start_matches("pincer:")
        );
        let modifiers = HashMap::from([("label", label.as_str())]);
        keyring_core::Entry::new_with_modifiers(&self.service, name, &modifiers)
    }

    fn platform_error(&self, name: &str, error: keyring_core::Error) -> VaultError {
        let name = name.to_string();
        match error {
            keyring_core::Error::NoStorageAccess(cause) => VaultError::Locked {
                name,
                cause: cause.to_string(),
            },
            keyring_core::Error::NoDefaultStore => VaultError::Unreachable {
                cause: error.to_string(),
            },
            other => VaultError::Platform {
                name,
                cause: other.to_string(),
            },
        }
    }
}

/// Runs one keychain call, and once more when the keychain's daemon failed
/// mid-call. GNOME Keyring has known crashes (a client that vanishes while
/// its request is handled); the session bus starts it again on the next
/// call, so one retry turns a daemon restart into a pause instead of a
/// refused secret. A locked keychain or a missing item is not retried.
fn retried<T>(call: impl Fn() -> keyring_core::Result<T>) -> keyring_core::Result<T> {
    match call() {
        Err(keyring_core::Error::PlatformFailure(cause)) => {
            tracing::warn!(%cause, "the OS keychain failed mid-call; trying once more");
            call()
        }
        other => other,
    }
}
