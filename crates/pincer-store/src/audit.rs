//! The audit log: an append-only, hash-chained record of what happened.
//!
//! Each record carries the hash of the one before it, and its own hash
//! covers its sequence number and every field. Editing a record breaks its
//! hash; deleting or reordering records breaks the sequence or the chain.
//! [`Store::verify_audit`] walks the chain and names the first bad record.
//! Cutting records off the end leaves a shorter valid chain; the signed
//! checkpoints of `checkpoint.rs` catch that.

use crate::{unix_now_ms, Result, SqliteContext, Store};
use rusqlite::{params, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What to record. `details` must never hold a secret: record names, not values.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Who acted: `owner`, `agent`, `system`, or `client` (a gateway caller).
    pub actor: String,
    /// What was done, dotted: `gateway.auth`, `model.load`, `soul.save`.
    pub action: String,
    /// What it was done to: a path, a model id, a route.
    pub target: String,
    /// The outcome: `allowed`, `denied`, `failed`, `done`.
    pub decision: String,
    /// Anything else worth keeping, as JSON.
    pub details: serde_json::Value,
}

/// Called with each audit record right after it is committed, outside the
/// database lock; installed with [`Store::set_audit_observer`].
pub type AuditObserver = std::sync::Arc<dyn Fn(&AuditRecord) + Send + Sync>;

/// A stored audit record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// Unix milliseconds.
    pub at_ms: i64,
    /// The event.
    #[serde(flatten)]
    pub event: AuditEvent,
    /// The previous record's hash ([`GENESIS`] for the first).
    pub prev_hash: String,
    /// This record's hash.
    pub hash: String,
}

/// How far the chain checks out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditVerification {
    /// Records checked.
    pub records: i64,
    /// The newest record a valid signed checkpoint covers (only from
    /// [`Store::verify_audit_signed`]).
    pub signed_up_to: Option<i64>,
    /// The first record that does not check out, with why; `None` when the
    /// whole chain is intact.
    pub broken_at: Option<AuditBreak>,
}

/// Where and how the chain breaks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditBreak {
    /// The sequence number where it breaks.
    pub seq: i64,
    /// What is wrong there.
    pub reason: String,
}

/// The hash of a record: SHA-256 over the previous hash and a canonical
/// JSON array of the record's fields.
pub fn record_hash(prev_hash: &str, seq: i64, at_ms: i64, event: &AuditEvent) -> String {
    let canonical = serde_json::json!([
        seq,
        at_ms,
        event.actor,
        event.action,
        event.target,
        event.decision,
        event.details.to_string()
    ]);
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(canonical.to_string().as_bytes());
    hex::encode(hasher.finalize())
}

/// A record from a row of `seq, at_ms, actor, action, target, decision,
/// details, prev_hash, hash`.
pub(crate) fn record_from_row(r: &rusqlite::Row) -> rusqlite::Result<AuditRecord> {
    let details: String = r.get(6)?;
    Ok(AuditRecord {
        seq: r.get(0)?,
        at_ms: r.get(1)?,
        event: AuditEvent {
            actor: r.get(2)?,
            action: r.get(3)?,
            target: r.get(4)?,
            decision: r.get(5)?,
            details: serde_json::from_str(&details).unwrap_or(serde_json::Value::String(details)),
        },
        prev_hash: r.get(7)?,
        hash: r.get(8)?,
    })
}

impl Store {
    /// Appends a record to the chain. The write transaction is taken up
    /// front, so two processes appending at once still form one chain.
    pub fn audit(&self, mut event: AuditEvent) -> Result<AuditRecord> {
        event.target = self.scrub("audit", &event.target).into_owned();
        event.details = self.scrub_json("audit", &event.details);
        let mut connection = self.lock();
        let transaction = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .context("starting an audit append")?;
        let last: Option<(i64, String)> = transaction
            .query_row(
                "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .context("reading the audit chain's head")?;
        let (seq, prev_hash) = last.map_or((1, GENESIS.to_string()), |(seq, hash)| (seq + 1, hash));
        let at_ms = unix_now_ms();
        let hash = record_hash(&prev_hash, seq, at_ms, &event);
        transaction
            .execute(
                "INSERT INTO audit_log (seq, at_ms, actor, action, target, decision, details, prev_hash, hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![seq, at_ms, event.actor, event.action, event.target, event.decision, event.details.to_string(), prev_hash, hash],
            )
            .context("appending an audit record")?;
        transaction.commit().context("committing an audit record")?;
        drop(connection);
        let record = AuditRecord {
            seq,
            at_ms,
            event,
            prev_hash,
            hash,
        };
        let observer = self
            .audit_observer
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some(observer) = observer {
            observer(&record);
        }
        Ok(record)
    }

    /// Installs the function told of every audit record appended through
    /// this handle (replacing any earlier one).
    pub fn set_audit_observer(&self, observer: AuditObserver) {
        *self
            .audit_observer
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Some(observer);
    }

    /// The newest record's sequence number and hash, if the log has any.
    pub fn audit_head(&self) -> Result<Option<(i64, String)>> {
        self.lock()
            .query_row(
                "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .context("reading the audit chain's head")
    }

    /// The newest record whose action is one of `actions` (0 when none):
    /// a cheap way for another process's change to be noticed.
    pub fn latest_audit_seq(&self, actions: &[&str]) -> Result<i64> {
        let list = serde_json::to_string(actions).unwrap_or_else(|_| "[]".into());
        self.lock()
            .query_row(
                "SELECT coalesce(max(seq), 0) FROM audit_log WHERE action IN (SELECT value FROM json_each(?1))",
                [list],
                |r| r.get(0),
            )
            .context("reading the audit log")
    }

    /// Records in order, from `after_seq` (exclusive), at most `limit`.
    pub fn audit_records(&self, after_seq: i64, limit: i64) -> Result<Vec<AuditRecord>> {
        let connection = self.lock();
        let mut statement = connection
            .prepare_cached(
                "SELECT seq, at_ms, actor, action, target, decision, details, prev_hash, hash
                 FROM audit_log WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )
            .context("reading the audit log")?;
        let rows = statement
            .query_map(params![after_seq, limit], record_from_row)
            .context("reading the audit log")?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .context("reading the audit log")
    }

    /// Every record, in order (for exports).
    pub fn all_audit_records(&self) -> Result<Vec<AuditRecord>> {
        let mut records: Vec<AuditRecord> = Vec::new();
        loop {
            let page = self.audit_records(records.last().map_or(0, |r| r.seq), 1000)?;
            if page.is_empty() {
                return Ok(records);
            }
            records.extend(page);
        }
    }

    /// Walks the whole chain and names the first record that does not
    /// check out: an edited field, a missing or inserted record, a swap.
    pub fn verify_audit(&self) -> Result<AuditVerification> {
        self.verify_chain_from(1, GENESIS.to_string())
    }

    /// Walks the chain from record `start`, whose `prev_hash` must be `anchor`.
    pub(crate) fn verify_chain_from(
        &self,
        start: i64,
        anchor: String,
    ) -> Result<AuditVerification> {
        let mut expected_seq = start;
        let mut prev_hash = anchor;
        let mut checked = 0;
        loop {
            let page = self.audit_records(expected_seq - 1, 1000)?;
            if page.is_empty() {
                return Ok(AuditVerification {
                    records: checked,
                    broken_at: None,
                    signed_up_to: None,
                });
            }
            for record in page {
                let broken = |reason: String| {
                    Ok(AuditVerification {
                        records: checked,
                        broken_at: Some(AuditBreak {
                            seq: record.seq,
                            reason,
                        }),
                        signed_up_to: None,
                    })
                };
                if record.seq != expected_seq {
                    return broken(format!("expected record {expected_seq} here; records {expected_seq}..{} are missing", record.seq - 1));
                }
                if record.prev_hash != prev_hash {
                    return broken("its link to the record before does not match (a record before it was removed, inserted or swapped)".into());
                }
                // Details are re-serialised the way they were hashed.
                if record_hash(&prev_hash, record.seq, record.at_ms, &record.event) != record.hash {
                    return broken(
                        "its contents do not match its hash (the record was edited)".into(),
                    );
                }
                prev_hash = record.hash;
                expected_seq += 1;
                checked += 1;
            }
        }
    }
}
