//! The keychain anchor follows the audit log's head.
//!
//! The hash chain and its signed checkpoints live in the database, so
//! whoever can write the file can cut records off its end (and the
//! checkpoints with them) or wipe it, and what is left still verifies. The
//! anchor is the head's `seq:hash` kept outside the database, in the OS
//! keychain: verification fails, naming the missing records, whenever the
//! log no longer reaches it.
//!
//! The bound: every committed record is handed to a background thread that
//! writes the newest head to the keychain (one write per burst, so a burst
//! of records costs one keychain round trip). A record is anchored within
//! one keychain write of being committed; only records committed in the
//! moment before the process dies (a crash, a power cut) can miss it, and
//! a clean exit, a checkpoint, an export and a verification all wait for
//! the anchor to catch up. The anchor only moves forward, and only along
//! the chain it anchors: once the log lost the anchored record it stays
//! put, so verification keeps naming the loss. Two processes writing the
//! anchor in the same instant (`pincer secrets set` beside the server) can
//! still race, as the keychain has no compare-and-swap; the signed
//! checkpoint each one makes at exit covers what that leaves.

use pincer_store::{AuditAnchor, Store};
use pincer_vault::{names, Secret, Vault, VaultBackend};
use std::sync::{Arc, Condvar, Mutex, Weak};

/// Marks `store` damaged when its audit log no longer reaches the record
/// the keychain anchors: records the database had committed are gone (its
/// write-ahead log was lost, or an older copy of the file put in its place).
/// Writes stop and the owner is told to restore, instead of Pincer serving
/// on over the gap.
pub(crate) fn check_nothing_lost(store: &Store, vault: &Vault) {
    if vault.backend() != VaultBackend::Keychain
        || store.condition() != pincer_store::StoreCondition::Healthy
    {
        return;
    }
    let anchor = match vault.get(names::AUDIT_ANCHOR) {
        Ok(Some(text)) => AuditAnchor::decode(text.expose()),
        Ok(None) => None,
        Err(error) => {
            tracing::warn!(%error, "could not read the audit anchor to check the database at start");
            None
        }
    };
    let Some(anchor) = anchor else {
        return;
    };
    match store.audit_extends(anchor.seq, &anchor.hash) {
        Ok(true) => {}
        Ok(false) => {
            let head = store.audit_head().ok().flatten().map_or(0, |(seq, _)| seq);
            store.mark_damaged(&format!(
                "its audit log ends at record {head}, but the OS keychain remembers record {}: records it had saved are gone (a lost write-ahead log, or an older copy of the file)",
                anchor.seq
            ));
        }
        Err(error) => {
            tracing::warn!(%error, "could not check the audit log against its anchor at start")
        }
    }
}

/// Moves the keychain anchor with the head, off the caller's thread.
pub(crate) struct Anchorer {
    vault: Vault,
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Default)]
struct State {
    /// The newest head seen.
    wanted: Option<(i64, String)>,
    /// The newest head the thread has written (or tried to).
    attempted: i64,
    /// Set when the owner is gone: finish what is pending, then end.
    stopped: bool,
    /// Why the last keychain write failed, until one succeeds.
    failed: Option<String>,
    /// Whether the thread runs (no thread without a keychain).
    running: bool,
}

impl Anchorer {
    /// Starts following `store`'s audit head in `vault`'s keychain. With
    /// secrets in the environment instead (no keychain), nothing moves and
    /// verification relies on the signed checkpoints alone, as before.
    pub(crate) fn start(store: &Arc<Store>, vault: &Vault) -> Arc<Self> {
        let anchorer = Arc::new(Self {
            vault: vault.clone(),
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
        });
        if vault.backend() != VaultBackend::Keychain {
            return anchorer;
        }
        anchorer.lock().running = true;
        let observer = anchorer.clone();
        store.set_audit_observer(Arc::new(move |record| {
            observer.want(record.seq, &record.hash);
        }));
        // Catch up with records written while no anchor moved (an older
        // version, or a crash): the chain check below refuses a cut log.
        match store.audit_head() {
            Ok(Some((seq, hash))) => anchorer.want(seq, &hash),
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, "could not read the audit head to anchor it"),
        }
        let store = Arc::downgrade(store);
        let worker = anchorer.clone();
        let spawned = std::thread::Builder::new()
            .name("audit-anchor".into())
            .spawn(move || worker.run(store));
        if let Err(error) = spawned {
            tracing::error!(%error, "could not start the audit anchor; the keychain anchor will not move");
            anchorer.finish();
        }
        anchorer
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn want(&self, seq: i64, hash: &str) {
        let mut state = self.lock();
        if state
            .wanted
            .as_ref()
            .is_none_or(|(wanted, _)| seq > *wanted)
        {
            state.wanted = Some((seq, hash.to_string()));
            self.changed.notify_all();
        }
    }

    /// Waits until the head seen when it was called has been written to
    /// the keychain (records appended meanwhile do not keep it waiting);
    /// the error when the last write failed.
    pub(crate) fn flush(&self) -> Result<(), String> {
        let mut state = self.lock();
        let goal = state.wanted.as_ref().map_or(0, |(seq, _)| *seq);
        while state.running && state.attempted < goal {
            state = self.changed.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        match &state.failed {
            Some(why) => Err(why.clone()),
            None => Ok(()),
        }
    }

    /// Lets the thread end once nothing is pending.
    pub(crate) fn stop(&self) {
        self.lock().stopped = true;
        self.changed.notify_all();
    }

    fn finish(&self) {
        self.lock().running = false;
        self.changed.notify_all();
    }

    /// The anchor the keychain holds now, if any.
    pub(crate) fn stored(&self) -> Result<Option<AuditAnchor>, pincer_vault::VaultError> {
        Ok(self
            .vault
            .get(names::AUDIT_ANCHOR)?
            .and_then(|text| AuditAnchor::decode(text.expose())))
    }

    fn run(&self, store: Weak<Store>) {
        // However the thread ends (a panic included), flush stops waiting.
        struct Finished<'a>(&'a Anchorer);
        impl Drop for Finished<'_> {
            fn drop(&mut self) {
                self.0.finish();
            }
        }
        let _finished = Finished(self);
        let mut warned = false;
        loop {
            let (seq, hash) = {
                let mut state = self.lock();
                loop {
                    match &state.wanted {
                        Some((seq, hash)) if *seq > state.attempted => break (*seq, hash.clone()),
                        _ if state.stopped => return,
                        _ => state = self.changed.wait(state).unwrap_or_else(|e| e.into_inner()),
                    }
                }
            };
            let Some(store) = store.upgrade() else {
                return;
            };
            let failed = match self.advance(&store, AuditAnchor { seq, hash }, &mut warned) {
                Ok(()) => None,
                Err(error) => {
                    tracing::error!(%error, "could not move the audit anchor in the OS keychain");
                    Some(error.to_string())
                }
            };
            drop(store);
            let mut state = self.lock();
            state.attempted = seq;
            state.failed = failed;
            drop(state);
            self.changed.notify_all();
        }
    }

    /// Writes `head` as the anchor when it is newer than the one kept and
    /// the log still extends the one kept.
    fn advance(
        &self,
        store: &Store,
        head: AuditAnchor,
        warned: &mut bool,
    ) -> Result<(), Box<dyn std::error::Error>> {
        if let Some(current) = self.stored()? {
            if current.seq >= head.seq {
                return Ok(());
            }
            if !store.audit_extends(current.seq, &current.hash)? {
                if !*warned {
                    tracing::error!(anchor = current.seq, "the audit log no longer holds the record the keychain anchors; run `pincer audit verify`");
                    *warned = true;
                }
                return Ok(());
            }
        }
        self.vault
            .set(names::AUDIT_ANCHOR, &Secret::new(head.encode()))?;
        Ok(())
    }
}
