//! A secret value that never prints and is wiped from memory when dropped.

use zeroize::{Zeroize, ZeroizeOnDrop};

/// A secret's text. `Debug` and `Display` print `<redacted>`; the bytes are
/// overwritten when the value is dropped. Read it with [`Secret::expose`]
/// only where it is used.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value. Prefer passing owned strings, so no copy lingers.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// `bytes` random bytes as lowercase hex, behind `prefix`.
    pub fn random_hex(prefix: &str, bytes: usize) -> Self {
        let mut raw = vec![0u8; bytes];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut raw);
        let secret = Self(format!("{prefix}{}", hex::encode(&raw)));
        raw.zeroize();
        secret
    }

    /// The value, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Compares with `presented` in time that does not depend on where the
    /// two differ (only on their lengths).
    pub fn matches(&self, presented: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), presented.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_and_compares_exactly() {
        let secret = Secret::new("pincer-canary-123");
        assert_eq!(
            format!("{secret:?} {secret}"),
            "Secret(<redacted>) <redacted>"
        );
        assert!(secret.matches("pincer-canary-123"));
        assert!(!secret.matches("pincer-canary-124"));
        assert!(!secret.matches("pincer-canary-12"));
        let random = Secret::random_hex("k-", 32);
        assert_eq!(random.expose().len(), 2 + 64);
        assert_ne!(random, Secret::random_hex("k-", 32));
    }
}
