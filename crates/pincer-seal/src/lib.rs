//! Sealed text: the soul files and their history kept encrypted at rest, so
//! a process that can read Pincer's files but not the OS keychain learns
//! nothing from them.
//!
//! A sealed text is one line of ASCII, `pincer-sealed:v1:` and the base64
//! of a random 24-byte nonce followed by the XChaCha20-Poly1305 ciphertext.
//! It stays text, so the workspace's atomic saves, the watcher and the
//! database's TEXT columns carry it unchanged; the tag makes any edit to it
//! fail to open rather than decrypt to something else. The file's name is
//! bound in as associated data, so a sealed `USER.md` copied over `SOUL.md`
//! does not open either.
#![deny(missing_docs)]

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use std::borrow::Cow;
use zeroize::Zeroizing;

/// What every sealed text starts with.
pub const SEALED_PREFIX: &str = "pincer-sealed:v1:";

const NONCE_BYTES: usize = 24;

/// What can go wrong opening a sealed text.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum SealError {
    /// The text starts like a sealed text but is not valid base64 or is too short.
    #[error("the sealed text is damaged (not a whole sealed text); restore an earlier version")]
    Malformed,
    /// Authentication failed: edited, sealed under another name, or with another key.
    #[error("the sealed text does not open with this install's key: it was changed outside Pincer, or sealed by another install; restore an earlier version")]
    WrongKeyOrTampered,
    /// The plaintext inside is not UTF-8 (sealed by something other than Pincer).
    #[error("the sealed text does not hold UTF-8 text")]
    NotText,
    /// Sealed text met with no key loaded.
    #[error("no key to open it is loaded")]
    NoKey,
}

/// Whether `text` is a sealed text (as opposed to plain text).
pub fn is_sealed(text: &str) -> bool {
    text.starts_with(SEALED_PREFIX)
}

/// Seals and opens texts with one 32-byte key. The key is zeroised on drop
/// and never printed.
#[derive(Clone)]
pub struct Sealer {
    key: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(<key redacted>)")
    }
}

impl Sealer {
    /// A sealer with `key` (derive it from a keychain secret; never store it).
    pub fn new(key: [u8; 32]) -> Self {
        Self {
            key: Zeroizing::new(key),
        }
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(self.key.as_ref().into())
    }

    /// Seals `plain` under `name` (the file it belongs to).
    pub fn seal(&self, name: &str, plain: &str) -> String {
        let mut nonce = [0u8; NONCE_BYTES];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = self
            .cipher()
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plain.as_bytes(),
                    aad: name.as_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 encrypts any length a file can have");
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        format!(
            "{SEALED_PREFIX}{}\n",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        )
    }

    /// Opens a text sealed under `name`.
    pub fn open(&self, name: &str, sealed: &str) -> Result<String, SealError> {
        let body = sealed
            .strip_prefix(SEALED_PREFIX)
            .ok_or(SealError::Malformed)?
            .trim_end();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|_| SealError::Malformed)?;
        if bytes.len() < NONCE_BYTES + 16 {
            return Err(SealError::Malformed);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
        let plain = self
            .cipher()
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: name.as_bytes(),
                },
            )
            .map_err(|_| SealError::WrongKeyOrTampered)?;
        String::from_utf8(plain).map_err(|_| SealError::NotText)
    }
}

/// Sealed mode as a store of text applies it: the key that opens sealed
/// text (kept while saving plain, so text sealed earlier still reads) and
/// whether new text is sealed. The workspace and the database each hold one.
#[derive(Clone, Debug, Default)]
pub struct Sealing {
    sealer: Option<Sealer>,
    seal_new: bool,
}

impl Sealing {
    /// `seal_new` only takes effect with a key.
    pub fn new(sealer: Option<Sealer>, seal_new: bool) -> Self {
        Self {
            seal_new: seal_new && sealer.is_some(),
            sealer,
        }
    }

    /// Whether new text is sealed.
    pub fn seals(&self) -> bool {
        self.seal_new
    }

    /// `plain` as it is to be written under `name`: sealed when sealing.
    pub fn seal<'a>(&self, name: &str, plain: &'a str) -> Cow<'a, str> {
        match &self.sealer {
            Some(sealer) if self.seal_new => Cow::Owned(sealer.seal(name, plain)),
            _ => Cow::Borrowed(plain),
        }
    }

    /// `text` as read under `name`: opened when sealed, unchanged when plain.
    pub fn open(&self, name: &str, text: String) -> Result<String, SealError> {
        if !is_sealed(&text) {
            return Ok(text);
        }
        self.sealer
            .as_ref()
            .ok_or(SealError::NoKey)?
            .open(name, &text)
    }

    /// `text` rewritten sealed (`seal`) or plain; `None` when it already is.
    pub fn convert(&self, name: &str, text: &str, seal: bool) -> Result<Option<String>, SealError> {
        let sealer = self.sealer.as_ref().ok_or(SealError::NoKey)?;
        match (is_sealed(text), seal) {
            (true, true) | (false, false) => Ok(None),
            (false, true) => Ok(Some(sealer.seal(name, text))),
            (true, false) => sealer.open(name, text).map(Some),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_text_opens_only_with_its_key_and_name() {
        let sealer = Sealer::new([7; 32]);
        let sealed = sealer.seal("SOUL.md", "Be kind. The owner's dog is Rex.");
        assert!(is_sealed(&sealed));
        assert!(!sealed.contains("Rex") && sealed.is_ascii());
        assert_eq!(
            sealer.open("SOUL.md", &sealed).unwrap(),
            "Be kind. The owner's dog is Rex."
        );
        // Two seals of one text differ (random nonce), so equal files do not show.
        assert_ne!(
            sealed,
            sealer.seal("SOUL.md", "Be kind. The owner's dog is Rex.")
        );
        assert_eq!(
            sealer.open("USER.md", &sealed),
            Err(SealError::WrongKeyOrTampered)
        );
        assert_eq!(
            Sealer::new([8; 32]).open("SOUL.md", &sealed),
            Err(SealError::WrongKeyOrTampered)
        );
    }

    #[test]
    fn any_edit_to_a_sealed_text_is_refused() {
        let sealer = Sealer::new([1; 32]);
        let sealed = sealer.seal("MEMORY.md", "");
        let body = sealed.trim_end().strip_prefix(SEALED_PREFIX).unwrap();
        let mut bytes = base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap();
        for i in [0, NONCE_BYTES, bytes.len() - 1] {
            bytes[i] ^= 1;
            let edited = format!(
                "{SEALED_PREFIX}{}",
                base64::engine::general_purpose::STANDARD.encode(&bytes)
            );
            assert_eq!(
                sealer.open("MEMORY.md", &edited),
                Err(SealError::WrongKeyOrTampered),
                "byte {i}"
            );
            bytes[i] ^= 1;
        }
        assert_eq!(
            sealer.open("MEMORY.md", &sealed[..sealed.len() / 2]),
            Err(SealError::Malformed)
        );
        assert_eq!(
            sealer.open("MEMORY.md", "pincer-sealed:v1:AAAA"),
            Err(SealError::Malformed)
        );
        assert!(format!("{sealer:?}").contains("redacted"));
    }

    #[test]
    fn sealing_seals_new_text_only_when_on_and_always_opens_with_its_key() {
        let on = Sealing::new(Some(Sealer::new([5; 32])), true);
        let sealed = on.seal("SOUL.md", "text").into_owned();
        assert!(on.seals() && is_sealed(&sealed));
        let off = Sealing::new(Some(Sealer::new([5; 32])), false);
        assert_eq!(off.seal("SOUL.md", "text"), "text");
        assert_eq!(
            off.open("SOUL.md", sealed.clone()).unwrap(),
            "text",
            "sealed earlier, still read"
        );
        assert_eq!(
            off.convert("SOUL.md", &sealed, false).unwrap().as_deref(),
            Some("text")
        );
        assert_eq!(off.convert("SOUL.md", "text", false).unwrap(), None);
        let keyless = Sealing::new(None, true);
        assert!(!keyless.seals());
        assert_eq!(keyless.open("SOUL.md", sealed), Err(SealError::NoKey));
        assert_eq!(keyless.open("SOUL.md", "plain".into()).unwrap(), "plain");
    }
}
