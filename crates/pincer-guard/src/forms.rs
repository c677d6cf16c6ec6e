//! The forms a secret can be disguised in: the ways a model, a script or an
//! attacker would re-encode it to slip it past an exact match.

use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine;
use zeroize::Zeroizing;

/// Shortest encoded fragment worth matching; shorter ones would match by
/// chance in ordinary text.
const MIN_FRAGMENT: usize = 12;

/// How a secret was disguised when found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Form {
    /// As stored.
    Exact,
    /// Base64 (standard or URL-safe, at any byte alignment).
    Base64,
    /// Hexadecimal bytes.
    Hex,
    /// Percent-encoded.
    UrlEncoded,
    /// Written backwards.
    Reversed,
    /// Split by spaces, dots, dashes or other separators, or in another case.
    Separated,
}

/// Every literal form of `secret`, each with how it was made.
pub(crate) fn literal_forms(secret: &str) -> Vec<(Form, Zeroizing<String>)> {
    let bytes = secret.as_bytes();
    let mut forms = vec![(Form::Exact, Zeroizing::new(secret.to_string()))];
    forms.push((
        Form::Reversed,
        Zeroizing::new(secret.chars().rev().collect()),
    ));
    forms.push((Form::Hex, Zeroizing::new(hex::encode(bytes))));
    forms.push((Form::Hex, Zeroizing::new(hex::encode_upper(bytes))));
    let encoded: String = bytes
        .iter()
        .map(|&b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    forms.push((Form::UrlEncoded, Zeroizing::new(encoded)));
    // Base64 of the secret inside longer data starts at one of three byte
    // alignments; the characters that mix with neighbouring bytes are
    // dropped, and the stable middle is what gets matched.
    for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
        for offset in 0..3usize {
            let mut padded = Zeroizing::new(vec![0u8; offset]);
            padded.extend_from_slice(bytes);
            let text = Zeroizing::new(engine.encode(&*padded));
            let skip = [0, 2, 3][offset];
            let end = text.len().saturating_sub(3);
            if end > skip && end - skip >= MIN_FRAGMENT {
                forms.push((Form::Base64, Zeroizing::new(text[skip..end].to_string())));
            }
        }
    }
    forms.retain(|(form, text)| {
        *form == Form::Exact || (text.len() >= MIN_FRAGMENT && **text != secret)
    });
    forms.dedup_by(|a, b| a.1 == b.1);
    forms
}

/// The letters and digits of `text`, lowercased: what is left of a secret
/// that was split up by separators or re-cased.
pub(crate) fn skeleton(text: &str) -> Zeroizing<String> {
    Zeroizing::new(
        text.chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect(),
    )
}

/// [`skeleton`] of `text` with, for each kept character, its byte range in
/// `text`, so a match can be mapped back for redaction.
pub(crate) fn skeleton_with_positions(text: &str) -> (String, Vec<(usize, usize)>) {
    let mut skeleton = String::new();
    let mut positions = Vec::new();
    for (at, c) in text.char_indices() {
        if c.is_ascii_alphanumeric() {
            skeleton.push(c.to_ascii_lowercase());
            positions.push((at, at + c.len_utf8()));
        }
    }
    (skeleton, positions)
}
