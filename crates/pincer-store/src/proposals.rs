//! Changes to protected soul files that wait for the owner: edits the agent
//! proposes, and edits made on disk by another program. Neither reaches the
//! agent's prompt until the owner accepts it.

use crate::soul::content_sha256;
use crate::{unix_now, Result, SqliteContext, Store, StoreError};
use rusqlite::{params, OptionalExtension, Row};
use serde::{Deserialize, Serialize};

/// A change waiting for (or decided by) the owner.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SoulProposal {
    /// Row id.
    pub id: i64,
    /// The file, e.g. `SOUL.md`.
    pub file: String,
    /// The proposed full text (scrubbed of secrets).
    pub content: String,
    /// SHA-256 of the text as proposed (before scrubbing).
    pub sha256: String,
    /// `agent` (proposed by the agent) or `external` (found on disk).
    pub origin: String,
    /// Why, in the proposer's words.
    pub reason: String,
    /// Unix seconds.
    pub created_at: i64,
    /// `pending`, `accepted`, `rejected` or `superseded`.
    pub status: String,
}

const COLUMNS: &str = "id, file, content, sha256, origin, reason, created_at, status";
const TABLE: &str = "soul_proposals";
/// The reason is sealed under its own associated data.
const REASON: &str = "soul_proposals.reason";

fn from_row(row: &Row) -> rusqlite::Result<SoulProposal> {
    Ok(SoulProposal {
        id: row.get(0)?,
        file: row.get(1)?,
        content: row.get(2)?,
        sha256: row.get(3)?,
        origin: row.get(4)?,
        reason: row.get(5)?,
        created_at: row.get(6)?,
        status: row.get(7)?,
    })
}

impl Store {
    /// Records a pending change to `file`; the same text already pending is
    /// returned instead of a second copy.
    pub fn propose_soul_change(
        &self,
        file: &str,
        content: &str,
        origin: &str,
        reason: &str,
    ) -> Result<SoulProposal> {
        let sha256 = content_sha256(content);
        let existing = self
            .lock()
            .query_row(
                &format!("SELECT {COLUMNS} FROM soul_proposals WHERE file = ?1 AND sha256 = ?2 AND status = 'pending'"),
                params![file, sha256],
                from_row,
            )
            .optional()
            .context("looking for the same pending change")?;
        if let Some(existing) = existing {
            return self.opened_proposal(existing);
        }
        let content = self.seal_text(TABLE, file, &self.scrub("soul proposals", content));
        let reason = self.seal_text(REASON, file, &self.scrub("soul proposals", reason));
        let proposal = self.write_row(
            &format!(
                "INSERT INTO soul_proposals (file, content, sha256, origin, reason, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING {COLUMNS}"
            ),
            params![file, content, sha256, origin, reason, unix_now()],
            from_row,
            "recording a proposed change",
        )?;
        self.opened_proposal(proposal)
    }

    /// A change read from the table, its text opened when sealed.
    fn opened_proposal(&self, mut proposal: SoulProposal) -> Result<SoulProposal> {
        proposal.content =
            self.open_text(TABLE, &proposal.file, std::mem::take(&mut proposal.content))?;
        proposal.reason =
            self.open_text(REASON, &proposal.file, std::mem::take(&mut proposal.reason))?;
        Ok(proposal)
    }

    /// Pending changes, oldest first; of one file when `file` is given.
    pub fn pending_soul_proposals(&self, file: Option<&str>) -> Result<Vec<SoulProposal>> {
        let connection = self.lock();
        let mut statement = connection
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM soul_proposals WHERE status = 'pending' AND (?1 IS NULL OR file = ?1) ORDER BY id"
            ))
            .context("listing pending changes")?;
        let rows = statement
            .query_map([file], from_row)
            .context("listing pending changes")?;
        let pending = rows
            .collect::<rusqlite::Result<Vec<_>>>()
            .context("listing pending changes")?;
        drop(statement);
        drop(connection);
        pending
            .into_iter()
            .map(|p| self.opened_proposal(p))
            .collect()
    }

    /// One change by id.
    pub fn soul_proposal(&self, id: i64) -> Result<SoulProposal> {
        let proposal = self
            .lock()
            .query_row(
                &format!("SELECT {COLUMNS} FROM soul_proposals WHERE id = ?1"),
                [id],
                from_row,
            )
            .optional()
            .context("reading a proposed change")?
            .ok_or(StoreError::NotFound {
                what: "proposed change",
                id: id.to_string(),
            })?;
        self.opened_proposal(proposal)
    }

    /// Marks a pending change `status`; fails when it was already decided.
    pub fn decide_soul_proposal(&self, id: i64, status: &str) -> Result<SoulProposal> {
        let changed = self
            .lock()
            .execute(
                "UPDATE soul_proposals SET status = ?2, decided_at = ?3 WHERE id = ?1 AND status = 'pending'",
                params![id, status, unix_now()],
            )
            .context("deciding a proposed change")?;
        if changed == 0 {
            return Err(StoreError::NotFound {
                what: "pending change",
                id: id.to_string(),
            });
        }
        self.soul_proposal(id)
    }

    /// Marks every pending change to `file` from `origin` superseded (the
    /// owner saved over them, or the file changed again).
    pub fn supersede_soul_proposals(&self, file: &str, origin: &str) -> Result<usize> {
        self.lock()
            .execute(
                "UPDATE soul_proposals SET status = 'superseded', decided_at = ?3
                 WHERE file = ?1 AND origin = ?2 AND status = 'pending'",
                params![file, origin, unix_now()],
            )
            .context("superseding proposed changes")
    }
}
