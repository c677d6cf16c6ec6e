//! Sealed mode in the database: the text of every soul version and pending
//! change is kept as sealed text ([`pincer_seal`]), so a copy of the database
//! file shows none of the protected files. The hashes stay plain: they are
//! what change detection and the audit log compare.

use crate::{Result, SqliteContext, Store, StoreError};
use pincer_seal::{Sealer, Sealing, SEALED_PREFIX};
use rusqlite::params;

/// Associated data binding a sealed text to its table and file, so a row
/// moved to another file does not open.
fn bound(table: &str, file: &str) -> String {
    format!("{table}:{file}")
}

impl Store {
    /// Sets the key that opens sealed rows (kept even when `seal_writes` is
    /// off, so rows sealed earlier still read) and whether new rows are sealed.
    pub fn set_sealing(&self, sealer: Option<Sealer>, seal_writes: bool) {
        *self.sealing.write().unwrap_or_else(|p| p.into_inner()) =
            Sealing::new(sealer, seal_writes);
    }

    fn sealing(&self) -> Sealing {
        self.sealing
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// `text` as it is written to `table` for `file`: sealed in sealed mode.
    pub(crate) fn seal_text(&self, table: &str, file: &str, text: &str) -> String {
        self.sealing().seal(&bound(table, file), text).into_owned()
    }

    /// `text` as read from `table` for `file`: opened when sealed.
    pub(crate) fn open_text(
        &self,
        table: &'static str,
        file: &str,
        text: String,
    ) -> Result<String> {
        self.sealing()
            .open(&bound(table, file), text)
            .map_err(|error| StoreError::Sealed {
                what: table,
                reason: error.to_string(),
            })
    }

    /// Rewrites every soul version and pending or decided change sealed
    /// (`seal`) or plain, in one transaction: a failure leaves every row as
    /// it was. Only rows in the other form are read. Returns the rows
    /// rewritten.
    pub fn reseal_soul_history(&self, seal: bool) -> Result<usize> {
        let sealing = self.sealing();
        let convert = |table: &str, file: &str, text: &str| {
            sealing
                .convert(&bound(table, file), text, seal)
                .map_err(|error| StoreError::Sealed {
                    what: "soul history",
                    reason: error.to_string(),
                })
        };
        // Rows whose text is not yet in the wanted form.
        let other_form = |column: &str| {
            format!(
                "(substr({column}, 1, {}) = '{SEALED_PREFIX}') != ?1",
                SEALED_PREFIX.len()
            )
        };
        let mut connection = self.lock();
        let transaction = connection
            .transaction()
            .context("starting to reseal the soul history")?;
        let mut rewritten = 0;
        {
            let versions: Vec<(i64, String, String)> = transaction
                .prepare(&format!(
                    "SELECT id, file, content FROM soul_versions WHERE {}",
                    other_form("content")
                ))
                .and_then(|mut s| {
                    s.query_map([seal], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                        .collect()
                })
                .context("reading soul versions to reseal")?;
            for (id, file, content) in versions {
                if let Some(content) = convert("soul_versions", &file, &content)? {
                    transaction
                        .execute(
                            "UPDATE soul_versions SET content = ?2 WHERE id = ?1",
                            params![id, content],
                        )
                        .context("resealing a soul version")?;
                    rewritten += 1;
                }
            }
            let proposals: Vec<(i64, String, String, String)> = transaction
                .prepare(&format!(
                    "SELECT id, file, content, reason FROM soul_proposals WHERE {} OR {}",
                    other_form("content"),
                    other_form("reason")
                ))
                .and_then(|mut s| {
                    s.query_map([seal], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                        .collect()
                })
                .context("reading proposed changes to reseal")?;
            for (id, file, content, reason) in proposals {
                let content = convert("soul_proposals", &file, &content)?;
                let reason = convert("soul_proposals.reason", &file, &reason)?;
                transaction
                    .execute(
                        "UPDATE soul_proposals SET content = coalesce(?2, content), reason = coalesce(?3, reason) WHERE id = ?1",
                        params![id, content, reason],
                    )
                    .context("resealing a proposed change")?;
                rewritten += 1;
            }
        }
        transaction
            .commit()
            .context("committing the resealed soul history")?;
        Ok(rewritten)
    }
}
