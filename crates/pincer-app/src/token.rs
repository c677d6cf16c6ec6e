//! The gateway's bearer token: random per install, kept in a `0600` file
//! until the vault moves it into the OS keychain.

use crate::{AppError, Result};
use rand::RngCore;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A bearer token. `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken(String);

impl std::fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiToken(<redacted>)")
    }
}

impl ApiToken {
    /// The file inside the data folder.
    pub const FILE_NAME: &'static str = "gateway-token";

    /// Where the token of `data_dir` is kept.
    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join(Self::FILE_NAME)
    }

    /// Reads the install's token, creating it on first run.
    pub fn load_or_create(data_dir: &Path) -> Result<Self> {
        let path = Self::path(data_dir);
        match std::fs::read_to_string(&path) {
            Ok(text) if !text.trim().is_empty() => return Ok(Self(text.trim().to_string())),
            Ok(_) => tracing::warn!("{} is empty; writing a new token", path.display()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(AppError::Io { context: format!("reading {}", path.display()), source }),
        }
        let token = Self::generate();
        token.write(&path)?;
        Ok(token)
    }

    /// Replaces the install's token with a new random one; the old one stops
    /// working at once for every client.
    pub fn rotate(data_dir: &Path) -> Result<Self> {
        let token = Self::generate();
        token.write(&Self::path(data_dir))?;
        Ok(token)
    }

    fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Self(format!("pincer-{}", hex::encode(bytes)))
    }

    /// The token text, for the `Authorization` header.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Compares in time independent of where the inputs differ.
    pub fn matches(&self, presented: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), presented.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
    }

    fn write(&self, path: &Path) -> Result<()> {
        let io = |source| AppError::Io { context: format!("writing {}", path.display()), source };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        // Written to a temporary file and renamed, so a crash never leaves a
        // half-written token behind.
        let temporary = path.with_extension("tmp");
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&temporary).map_err(io)?;
        file.write_all(self.0.as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&temporary, path).map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_created_once_private_and_stable() {
        let dir = tempfile::tempdir().expect("temp dir");
        let first = ApiToken::load_or_create(dir.path()).expect("create");
        let second = ApiToken::load_or_create(dir.path()).expect("reload");
        assert_eq!(first, second, "a second run must reuse the install's token");
        assert!(first.expose().len() > 60, "the token carries 256 random bits");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(ApiToken::path(dir.path())).expect("stat").permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "only the owner may read the token");
        }
        assert!(first.matches(first.expose()));
        assert!(!first.matches("pincer-wrong"));
        assert_eq!(format!("{first:?}"), "ApiToken(<redacted>)");
    }
}
