//! Signed checkpoints of the audit chain, and retention that keeps it
//! verifiable.
//!
//! The hash chain alone shows an edit, a deletion in the middle or a swap,
//! but not records cut off the end, nor a chain re-hashed from scratch by
//! someone who can write the database. A checkpoint is an HMAC-SHA256, with
//! a key from the OS keychain, over a record's sequence number and hash:
//! a truncated log ends before a signed checkpoint, and a re-hashed record
//! differs from the hash its checkpoint signed. Pruning old records keeps
//! the checkpoint just before the cut, which anchors the first kept record.

use crate::audit::{AuditBreak, AuditVerification, GENESIS};
use crate::{unix_now_ms, Result, SqliteContext, Store};
use hmac::{Hmac, Mac};
use rusqlite::{params, OptionalExtension};
use sha2::Sha256;
use std::collections::BTreeMap;

/// A record's hash, signed.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AuditCheckpoint {
    /// The record signed.
    pub seq: i64,
    /// Its hash.
    pub hash: String,
    /// When the checkpoint was made (unix ms).
    pub at_ms: i64,
    /// HMAC-SHA256 over `seq:hash`, hex.
    pub mac: String,
}

fn mac(key: &[u8], seq: i64, hash: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(format!("pincer-audit-checkpoint:{seq}:{hash}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn mac_matches(key: &[u8], checkpoint: &AuditCheckpoint) -> bool {
    let Ok(expected) = hex::decode(&checkpoint.mac) else {
        return false;
    };
    let mut mac_state = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac_state.update(
        format!(
            "pincer-audit-checkpoint:{}:{}",
            checkpoint.seq, checkpoint.hash
        )
        .as_bytes(),
    );
    mac_state.verify_slice(&expected).is_ok()
}

/// The chain's head as remembered outside the database (the trust base
/// keeps it in the OS keychain and moves it with every record): a log cut
/// at its end, emptied or rolled back wholesale, checkpoints and all, no
/// longer reaches it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditAnchor {
    /// The record.
    pub seq: i64,
    /// Its hash.
    pub hash: String,
}

impl AuditAnchor {
    /// `seq:hash`, as kept in the keychain.
    pub fn encode(&self) -> String {
        format!("{}:{}", self.seq, self.hash)
    }

    /// Reads [`AuditAnchor::encode`]'s form; `None` when it is not one.
    pub fn decode(text: &str) -> Option<Self> {
        let (seq, hash) = text.trim().split_once(':')?;
        let valid = hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit());
        Some(Self {
            seq: seq.parse().ok().filter(|s| *s > 0)?,
            hash: hash.to_string(),
        })
        .filter(|_| valid)
    }
}

/// What [`Store::prune_audit`] removed.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AuditPrune {
    /// Records deleted.
    pub removed: i64,
    /// The first record kept (0 when the log is empty).
    pub first_kept: i64,
}

impl Store {
    /// Signs the chain's newest record, unless it is already signed.
    /// Returns the checkpoint made, if any.
    pub fn audit_checkpoint(&self, key: &[u8]) -> Result<Option<AuditCheckpoint>> {
        let connection = self.lock();
        let head: Option<(i64, String)> = connection
            .query_row(
                "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .context("reading the audit chain's head")?;
        let Some((seq, hash)) = head else {
            return Ok(None);
        };
        let checkpoint = AuditCheckpoint {
            seq,
            mac: mac(key, seq, &hash),
            hash,
            at_ms: unix_now_ms(),
        };
        let inserted = connection
            .execute(
                "INSERT INTO audit_checkpoints (seq, hash, at_ms, mac) VALUES (?1, ?2, ?3, ?4) ON CONFLICT(seq) DO NOTHING",
                params![checkpoint.seq, checkpoint.hash, checkpoint.at_ms, checkpoint.mac],
            )
            .context("writing an audit checkpoint")?;
        Ok((inserted == 1).then_some(checkpoint))
    }

    /// Every checkpoint, oldest first.
    pub fn audit_checkpoints(&self) -> Result<Vec<AuditCheckpoint>> {
        let connection = self.lock();
        let mut statement = connection
            .prepare_cached("SELECT seq, hash, at_ms, mac FROM audit_checkpoints ORDER BY seq")
            .context("reading audit checkpoints")?;
        let rows = statement
            .query_map([], |r| {
                Ok(AuditCheckpoint {
                    seq: r.get(0)?,
                    hash: r.get(1)?,
                    at_ms: r.get(2)?,
                    mac: r.get(3)?,
                })
            })
            .context("reading audit checkpoints")?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .context("reading audit checkpoints")
    }

    /// The newest checkpoint, the one to anchor outside the database.
    pub fn latest_audit_checkpoint(&self) -> Result<Option<AuditCheckpoint>> {
        self.lock()
            .query_row(
                "SELECT seq, hash, at_ms, mac FROM audit_checkpoints ORDER BY seq DESC LIMIT 1",
                [],
                |r| {
                    Ok(AuditCheckpoint {
                        seq: r.get(0)?,
                        hash: r.get(1)?,
                        at_ms: r.get(2)?,
                        mac: r.get(3)?,
                    })
                },
            )
            .optional()
            .context("reading the newest audit checkpoint")
    }

    /// [`Store::verify_audit_signed`], then the anchor kept outside the
    /// database: records it remembers must still be there with its hash, so
    /// a log deleted or replaced whole (checkpoints included) is found too.
    pub fn verify_audit_anchored(
        &self,
        key: &[u8],
        anchor: Option<&AuditAnchor>,
    ) -> Result<AuditVerification> {
        let verification = self.verify_audit_signed(key)?;
        let Some(anchor) = anchor.filter(|_| verification.broken_at.is_none()) else {
            return Ok(verification);
        };
        let first: Option<i64> = self
            .lock()
            .query_row("SELECT min(seq) FROM audit_log", [], |r| r.get(0))
            .context("reading the audit log")?;
        let last = first.map_or(0, |first| first - 1 + verification.records);
        let reason = if anchor.seq > last {
            if last == 0 {
                format!("the audit log is empty, but the OS keychain remembers record {}: the log was deleted ({} records missing)", anchor.seq, anchor.seq)
            } else {
                format!(
                    "the log ends at record {last}, but the OS keychain remembers record {}: records {}..{} were deleted (the newest {} records are missing)",
                    anchor.seq,
                    last + 1,
                    anchor.seq,
                    anchor.seq - last
                )
            }
        } else {
            match self.audit_hash(anchor.seq)? {
                Some(hash) if hash != anchor.hash => {
                    "it differs from the hash the OS keychain remembers for it (the log was replaced or re-hashed)".to_string()
                }
                // Intact, or pruned away (retention keeps the anchored record, so
                // only an anchor older than a prune points before the log).
                _ => return Ok(verification),
            }
        };
        let seq = if anchor.seq > last {
            last + 1
        } else {
            anchor.seq
        };
        Ok(AuditVerification {
            records: verification.records,
            broken_at: Some(AuditBreak { seq, reason }),
            signed_up_to: None,
        })
    }

    /// Verifies the chain and its signed checkpoints with `key`: an edited,
    /// missing, inserted or swapped record, a re-hashed chain, a forged
    /// checkpoint and records cut off the end are all named.
    pub fn verify_audit_signed(&self, key: &[u8]) -> Result<AuditVerification> {
        let checkpoints = self.audit_checkpoints()?;
        let broken = |records, seq, reason: String| {
            Ok(AuditVerification {
                records,
                broken_at: Some(AuditBreak { seq, reason }),
                signed_up_to: None,
            })
        };
        for checkpoint in &checkpoints {
            if !mac_matches(key, checkpoint) {
                return broken(0, checkpoint.seq, "its signed checkpoint does not carry this install's signature (forged, or the key changed)".into());
            }
        }
        let signed: BTreeMap<i64, &AuditCheckpoint> =
            checkpoints.iter().map(|c| (c.seq, c)).collect();
        let first: Option<i64> = self
            .lock()
            .query_row("SELECT min(seq) FROM audit_log", [], |r| r.get(0))
            .context("reading the audit log")?;
        let start = first.unwrap_or(1);
        let anchor = if start > 1 {
            match signed.get(&(start - 1)) {
                Some(checkpoint) => checkpoint.hash.clone(),
                None => {
                    return broken(
                        0,
                        start,
                        format!(
                            "records 1..{} are missing and no signed checkpoint anchors the cut",
                            start - 1
                        ),
                    );
                }
            }
        } else {
            GENESIS.to_string()
        };
        let mut verification = self.verify_chain_from(start, anchor)?;
        if verification.broken_at.is_some() {
            return Ok(verification);
        }
        let last = start - 1 + verification.records;
        // A checkpoint's record must still be there with the hash it signed.
        for (seq, checkpoint) in signed.range(start..) {
            match self.audit_hash(*seq)? {
                Some(hash) if hash == checkpoint.hash => {}
                Some(_) => return broken(verification.records, *seq, "it differs from the hash its signed checkpoint holds (the chain was re-hashed after an edit)".into()),
                None => {
                    return broken(
                        verification.records,
                        last + 1,
                        format!("the log ends at record {last}, but a signed checkpoint covers record {seq}: records {}..{seq} were cut off", last + 1),
                    )
                }
            }
        }
        verification.signed_up_to = signed
            .keys()
            .next_back()
            .copied()
            .filter(|&seq| seq >= start);
        Ok(verification)
    }

    /// Whether the log still extends the record `seq` with `hash`: it is
    /// there with that hash, or retention pruned it (it is older than the
    /// first record kept). Cheap enough to ask at every checkpoint.
    pub fn audit_extends(&self, seq: i64, hash: &str) -> Result<bool> {
        if let Some(found) = self.audit_hash(seq)? {
            return Ok(found == hash);
        }
        let first: Option<i64> = self
            .lock()
            .query_row("SELECT min(seq) FROM audit_log", [], |r| r.get(0))
            .context("reading the audit log")?;
        Ok(first.is_some_and(|first| seq < first))
    }

    fn audit_hash(&self, seq: i64) -> Result<Option<String>> {
        self.lock()
            .query_row("SELECT hash FROM audit_log WHERE seq = ?1", [seq], |r| {
                r.get(0)
            })
            .optional()
            .context("reading the audit log")
    }

    /// Deletes records older than `before_ms`, cutting only just after a
    /// signed checkpoint so the rest still verifies; the newest signed record
    /// is never removed. A checkpoint is made first so recent records can go.
    pub fn prune_audit(&self, before_ms: i64, key: &[u8]) -> Result<AuditPrune> {
        self.audit_checkpoint(key)?;
        let mut connection = self.lock();
        let transaction = connection
            .transaction()
            .context("starting an audit prune")?;
        // The newest checkpointed record that is older than the cut-off:
        // it and everything before it go, except its checkpoint.
        let cut: Option<i64> = transaction
            .query_row(
                "SELECT max(c.seq) FROM audit_checkpoints c JOIN audit_log a ON a.seq = c.seq
                 WHERE a.at_ms < ?1 AND c.seq < (SELECT max(seq) FROM audit_log)",
                [before_ms],
                |r| r.get(0),
            )
            .context("finding where to cut the audit log")?;
        let removed = match cut {
            Some(cut) => {
                let removed = transaction
                    .execute("DELETE FROM audit_log WHERE seq <= ?1", [cut])
                    .context("pruning the audit log")?;
                transaction
                    .execute("DELETE FROM audit_checkpoints WHERE seq < ?1", [cut])
                    .context("pruning checkpoints")?;
                removed as i64
            }
            None => 0,
        };
        let first_kept: Option<i64> = transaction
            .query_row("SELECT min(seq) FROM audit_log", [], |r| r.get(0))
            .context("reading the audit log")?;
        transaction.commit().context("committing an audit prune")?;
        Ok(AuditPrune {
            removed,
            first_kept: first_kept.unwrap_or(0),
        })
    }
}
