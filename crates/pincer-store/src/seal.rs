//! Sealed mode in the database: the text of every soul version and pending
//! change is kept as sealed text ([`pincer_seal`]), so a copy of the database
//! file shows none of the protected files. The hashes stay plain: they are
//! what change detection and the audit log compare.

use crate::{Result, SqliteContext, Store, StoreError};
use pincer_seal::Sealer;
use rusqlite::params;

/// The key that opens sealed rows, and whether new rows are sealed.
#[derive(Debug, Default)]
pub(crate) struct Sealing {
    sealer: Option<Sealer>,
    seal_writes: bool,
}

/// Associated data binding a sealed text to its table and file, so a row
/// moved to another file does not open.
fn bound(table: &str, file: &str) -> String {
    format!("{table}:{file}")
}

impl Store {
    /// Sets the key that opens sealed rows (kept even when `seal_writes` is
    /// off, so rows sealed earlier still read) and whether new rows are sealed.
    pub fn set_sealing(&self, sealer: Option<Sealer>, seal_writes: bool) {
        *self.sealing.write().unwrap_or_else(|p| p.into_inner()) = Sealing { seal_writes: seal_writes && sealer.is_some(), sealer };
    }

    /// `text` as it is written to `table` for `file`: sealed in sealed mode.
    pub(crate) fn seal_text(&self, table: &str, file: &str, text: &str) -> String {
        let sealing = self.sealing.read().unwrap_or_else(|p| p.into_inner());
        match &sealing.sealer {
            Some(sealer) if sealing.seal_writes => sealer.seal(&bound(table, file), text),
            _ => text.to_string(),
        }
    }

    /// `text` as read from `table` for `file`: opened when sealed.
    pub(crate) fn open_text(&self, table: &'static str, file: &str, text: String) -> Result<String> {
        if !pincer_seal::is_sealed(&text) {
            return Ok(text);
        }
        let sealing = self.sealing.read().unwrap_or_else(|p| p.into_inner());
        let sealer = sealing.sealer.as_ref().ok_or(StoreError::Sealed { what: table, reason: "no key is loaded to open it".into() })?;
        sealer.open(&bound(table, file), &text).map_err(|error| StoreError::Sealed { what: table, reason: error.to_string() })
    }

    /// Rewrites every soul version and pending or decided change sealed
    /// (`seal`) or plain, in one transaction: a failure leaves every row as
    /// it was. Returns the rows rewritten.
    pub fn reseal_soul_history(&self, seal: bool) -> Result<usize> {
        let sealing = self.sealing.read().unwrap_or_else(|p| p.into_inner());
        let sealer = sealing.sealer.as_ref().ok_or(StoreError::Sealed { what: "soul history", reason: "no key is loaded".into() })?;
        let convert = |table: &str, file: &str, text: String| -> Result<Option<String>> {
            let aad = bound(table, file);
            match (pincer_seal::is_sealed(&text), seal) {
                (true, true) | (false, false) => Ok(None),
                (false, true) => Ok(Some(sealer.seal(&aad, &text))),
                (true, false) => sealer
                    .open(&aad, &text)
                    .map(Some)
                    .map_err(|error| StoreError::Sealed { what: "soul history", reason: error.to_string() }),
            }
        };
        let mut connection = self.lock();
        let transaction = connection.transaction().context("starting to reseal the soul history")?;
        let mut rewritten = 0;
        {
            let versions: Vec<(i64, String, String)> = transaction
                .prepare("SELECT id, file, content FROM soul_versions")
                .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect())
                .context("reading soul versions to reseal")?;
            for (id, file, content) in versions {
                if let Some(content) = convert("soul_versions", &file, content)? {
                    transaction
                        .execute("UPDATE soul_versions SET content = ?2 WHERE id = ?1", params![id, content])
                        .context("resealing a soul version")?;
                    rewritten += 1;
                }
            }
            let proposals: Vec<(i64, String, String, String)> = transaction
                .prepare("SELECT id, file, content, reason FROM soul_proposals")
                .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?.collect())
                .context("reading proposed changes to reseal")?;
            for (id, file, content, reason) in proposals {
                let content = convert("soul_proposals", &file, content)?;
                let reason = convert("soul_proposals.reason", &file, reason)?;
                if content.is_some() || reason.is_some() {
                    transaction
                        .execute(
                            "UPDATE soul_proposals SET content = coalesce(?2, content), reason = coalesce(?3, reason) WHERE id = ?1",
                            params![id, content, reason],
                        )
                        .context("resealing a proposed change")?;
                    rewritten += 1;
                }
            }
        }
        transaction.commit().context("committing the resealed soul history")?;
        Ok(rewritten)
    }
}
