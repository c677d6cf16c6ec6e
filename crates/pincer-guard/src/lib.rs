//! Long because the detector's types, its one scan, redaction and the
//! per-destination policy read best together; the disguised forms and the
//! credential shapes are apart, in `forms.rs` and `patterns.rs`.
//!
//! Leak detection: finds the vault's secrets (as stored and disguised) and
//! common credential shapes in text about to leave the process (a request
//! to another host, a database row, a log line, an export) and blocks,
//! redacts or warns according to a per-destination rule.
#![deny(missing_docs)]

mod forms;
mod patterns;

pub use forms::Form;

use aho_corasick::AhoCorasick;
use pincer_vault::Secret;
use std::borrow::Cow;
use std::ops::Range;
use zeroize::Zeroizing;

/// Where text is going; each destination has its own rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Sink {
    /// An HTTP request to another host.
    Outbound,
    /// A row in the database (messages, memory, audit, soul history).
    Storage,
    /// A log line.
    Log,
    /// A file the owner exports.
    Export,
}

/// What happens to text that carries a secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LeakAction {
    /// The text must not go at all.
    Block,
    /// The secret is replaced by `[REDACTED:<what>]`.
    Redact,
    /// The text goes unchanged and the hit is reported.
    Warn,
}

/// The rule per destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeakPolicy {
    /// Requests to other hosts.
    pub outbound: LeakAction,
    /// Database rows.
    pub storage: LeakAction,
    /// Log lines.
    pub log: LeakAction,
    /// Exports.
    pub export: LeakAction,
}

impl Default for LeakPolicy {
    /// Nothing secret goes to another host; everything kept or shown is
    /// redacted.
    fn default() -> Self {
        Self {
            outbound: LeakAction::Block,
            storage: LeakAction::Redact,
            log: LeakAction::Redact,
            export: LeakAction::Redact,
        }
    }
}

impl LeakPolicy {
    /// The rule for `sink`.
    pub fn action(&self, sink: Sink) -> LeakAction {
        match sink {
            Sink::Outbound => self.outbound,
            Sink::Storage => self.storage,
            Sink::Log => self.log,
            Sink::Export => self.export,
        }
    }
}

/// What was found: a vault secret (by name, never value) or a credential shape.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum LeakKind {
    /// A secret the vault holds.
    VaultSecret {
        /// Its name.
        name: String,
        /// How it was disguised.
        form: Form,
    },
    /// A credential of a known shape (e.g. `openai-key`).
    Credential {
        /// The shape's name.
        shape: String,
    },
}

impl LeakKind {
    /// The label a redaction shows.
    pub fn label(&self) -> &str {
        match self {
            Self::VaultSecret { name, .. } => name,
            Self::Credential { shape } => shape,
        }
    }
}

/// One hit: what, and where in the scanned text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leak {
    /// What was found.
    pub kind: LeakKind,
    /// Its byte range.
    pub span: Range<usize>,
}

/// The outcome of [`LeakDetector::check`].
#[derive(Debug)]
pub struct Checked<'a> {
    /// The text to send (redacted when the rule says so); `None` when blocked.
    pub text: Option<Cow<'a, str>>,
    /// What was found.
    pub leaks: Vec<Leak>,
    /// The rule that was applied.
    pub action: LeakAction,
}

struct VaultSecret {
    name: String,
    forms: Vec<Form>,
    skeleton: Zeroizing<String>,
}

/// Finds secrets in text. Built from the vault's secrets; cheap to scan
/// with (one Aho-Corasick pass for the vault, one regex set for shapes).
pub struct LeakDetector {
    secrets: Vec<VaultSecret>,
    literal: Option<AhoCorasick>,
    literal_owner: Vec<(usize, usize)>,
    skeletons: Option<AhoCorasick>,
    policy: LeakPolicy,
}

impl std::fmt::Debug for LeakDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.secrets.iter().map(|s| s.name.as_str()).collect();
        f.debug_struct("LeakDetector")
            .field("secrets", &names)
            .field("policy", &self.policy)
            .finish()
    }
}

/// Secrets shorter than this are not matched by their letters alone (a
/// four-letter PIN would match everywhere).
const MIN_SKELETON: usize = 12;

impl LeakDetector {
    /// A detector for `secrets` (name, value) and the common credential
    /// shapes, applying `policy`.
    pub fn new<'s>(
        secrets: impl IntoIterator<Item = (&'s str, &'s Secret)>,
        policy: LeakPolicy,
    ) -> Self {
        let mut vault = Vec::new();
        let mut literals: Vec<Zeroizing<String>> = Vec::new();
        let mut literal_owner = Vec::new();
        let mut skeletons: Vec<Zeroizing<String>> = Vec::new();
        for (name, secret) in secrets {
            if secret.expose().is_empty() {
                continue;
            }
            let index = vault.len();
            let mut kinds = Vec::new();
            for (form, text) in forms::literal_forms(secret.expose()) {
                literal_owner.push((index, kinds.len()));
                kinds.push(form);
                literals.push(text);
            }
            let skeleton = forms::skeleton(secret.expose());
            vault.push(VaultSecret {
                name: name.to_string(),
                forms: kinds,
                skeleton,
            });
        }
        for secret in &vault {
            skeletons.push(secret.skeleton.clone());
        }
        let build = |patterns: &[Zeroizing<String>]| {
            (!patterns.is_empty()).then(|| {
                AhoCorasick::builder()
                    .match_kind(aho_corasick::MatchKind::LeftmostLongest)
                    .build(patterns.iter().map(|p| p.as_bytes()))
                    .expect("literal patterns build")
            })
        };
        let long_skeletons: Vec<Zeroizing<String>> = skeletons
            .iter()
            .map(|s| {
                if s.len() >= MIN_SKELETON {
                    s.clone()
                } else {
                    Zeroizing::new("\u{0}".repeat(2))
                }
            })
            .collect();
        Self {
            literal: build(&literals),
            literal_owner,
            skeletons: build(&long_skeletons),
            secrets: vault,
            policy,
        }
    }

    /// A detector for credential shapes only.
    pub fn shapes_only() -> Self {
        Self::new([], LeakPolicy::default())
    }

    /// The rule this detector applies.
    pub fn policy(&self) -> LeakPolicy {
        self.policy
    }

    /// Every secret in `text`, in order, overlapping hits merged (a vault
    /// hit wins over a shape covering the same bytes).
    pub fn scan(&self, text: &str) -> Vec<Leak> {
        let mut leaks = Vec::new();
        if let Some(literal) = &self.literal {
            for hit in literal.find_iter(text) {
                let (secret, form) = self.literal_owner[hit.pattern().as_usize()];
                let secret = &self.secrets[secret];
                leaks.push(Leak {
                    kind: LeakKind::VaultSecret {
                        name: secret.name.clone(),
                        form: secret.forms[form],
                    },
                    span: hit.range(),
                });
            }
        }
        if let Some(skeletons) = &self.skeletons {
            let (skeleton, positions) = forms::skeleton_with_positions(text);
            for hit in skeletons.find_iter(&skeleton) {
                let span = positions[hit.start()].0..positions[hit.end() - 1].1;
                if !leaks
                    .iter()
                    .any(|leak| leak.span.start <= span.start && span.end <= leak.span.end)
                {
                    let name = self.secrets[hit.pattern().as_usize()].name.clone();
                    leaks.push(Leak {
                        kind: LeakKind::VaultSecret {
                            name,
                            form: Form::Separated,
                        },
                        span,
                    });
                }
            }
        }
        for shape in patterns::SHAPES.iter() {
            for hit in shape.regex.find_iter(text) {
                leaks.push(Leak {
                    kind: LeakKind::Credential {
                        shape: shape.kind.to_string(),
                    },
                    span: hit.range(),
                });
            }
        }
        merge(leaks)
    }

    /// `text` with every hit replaced by `[REDACTED:<what>]`, borrowed
    /// unchanged when nothing was found.
    pub fn redact<'a>(&self, text: &'a str) -> (Cow<'a, str>, Vec<Leak>) {
        let leaks = self.scan(text);
        if leaks.is_empty() {
            return (Cow::Borrowed(text), leaks);
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for leak in &leaks {
            out.push_str(&text[at..leak.span.start]);
            out.push_str("[REDACTED:");
            out.push_str(leak.kind.label());
            out.push(']');
            at = leak.span.end;
        }
        out.push_str(&text[at..]);
        (Cow::Owned(out), leaks)
    }

    /// Applies the rule for `sink` to `text`.
    pub fn check<'a>(&self, sink: Sink, text: &'a str) -> Checked<'a> {
        let action = self.policy.action(sink);
        match action {
            LeakAction::Redact => {
                let (text, leaks) = self.redact(text);
                Checked {
                    text: Some(text),
                    leaks,
                    action,
                }
            }
            LeakAction::Block => {
                let leaks = self.scan(text);
                let text = leaks.is_empty().then_some(Cow::Borrowed(text));
                Checked {
                    text,
                    leaks,
                    action,
                }
            }
            LeakAction::Warn => Checked {
                leaks: self.scan(text),
                text: Some(Cow::Borrowed(text)),
                action,
            },
        }
    }
}

/// Sorts hits and merges overlaps, keeping the first (vault hits come first).
fn merge(mut leaks: Vec<Leak>) -> Vec<Leak> {
    leaks.sort_by_key(|leak| (leak.span.start, std::cmp::Reverse(leak.span.end)));
    let mut merged: Vec<Leak> = Vec::with_capacity(leaks.len());
    for leak in leaks {
        match merged.last_mut() {
            Some(last) if leak.span.start < last.span.end => {
                let vault_wins = matches!(leak.kind, LeakKind::VaultSecret { .. })
                    && matches!(last.kind, LeakKind::Credential { .. });
                last.span.end = last.span.end.max(leak.span.end);
                if vault_wins {
                    last.kind = leak.kind;
                }
            }
            _ => merged.push(leak),
        }
    }
    merged
}

#[cfg(test)]
mod tests;

/// A detector that can be swapped while in use (the vault's secrets change
/// when a token rotates), and the hits found where nothing can audit them
/// at once (a log line), waiting for the app to record them.
#[derive(Debug)]
pub struct SharedDetector {
    current: std::sync::RwLock<std::sync::Arc<LeakDetector>>,
    unaudited: std::sync::Mutex<Vec<(Sink, Vec<String>)>>,
}

impl Default for SharedDetector {
    fn default() -> Self {
        Self::new(LeakDetector::shapes_only())
    }
}

impl SharedDetector {
    /// Starts with `detector`.
    pub fn new(detector: LeakDetector) -> Self {
        Self {
            current: std::sync::RwLock::new(std::sync::Arc::new(detector)),
            unaudited: Default::default(),
        }
    }

    /// The detector in use now.
    pub fn current(&self) -> std::sync::Arc<LeakDetector> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Replaces the detector for every later check.
    pub fn replace(&self, detector: LeakDetector) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = std::sync::Arc::new(detector);
    }

    /// Notes hits to audit later.
    pub fn note_unaudited(&self, sink: Sink, leaks: &[Leak]) {
        let labels = leaks
            .iter()
            .map(|leak| leak.kind.label().to_string())
            .collect();
        self.unaudited
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((sink, labels));
    }

    /// Takes the hits noted since the last call.
    pub fn take_unaudited(&self) -> Vec<(Sink, Vec<String>)> {
        std::mem::take(&mut *self.unaudited.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// The process's detector for log lines: log writers are set up before the
/// app opens the vault, which then installs its secrets here.
pub fn for_logs() -> &'static SharedDetector {
    static LOGS: std::sync::LazyLock<SharedDetector> =
        std::sync::LazyLock::new(SharedDetector::default);
    &LOGS
}
