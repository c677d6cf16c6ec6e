//! Version history of the protected files. The files themselves stay plain
//! markdown in the workspace (unless sealed); every saved state is kept
//! here, so any earlier version can be compared with or restored. In sealed
//! mode the text is stored sealed ([`Store::set_sealing`]).

use crate::{unix_now, Result, SqliteContext, Store, StoreError};
use rusqlite::{params, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One saved state of a soul file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SoulVersion {
    /// Row id, increasing with time.
    pub id: i64,
    /// The file name (`SOUL.md`).
    pub file: String,
    /// The full text.
    pub content: String,
    /// SHA-256 of the text, hex.
    pub sha256: String,
    /// Who made it: `owner` (saved in Pincer), `restore`, `external` (found
    /// changed on disk), `default` (first run).
    pub origin: String,
    /// Unix seconds.
    pub saved_at: i64,
}

const COLUMNS: &str = "id, file, content, sha256, origin, saved_at";
const TABLE: &str = "soul_versions";

fn from_row(row: &Row) -> rusqlite::Result<SoulVersion> {
    Ok(SoulVersion {
        id: row.get(0)?,
        file: row.get(1)?,
        content: row.get(2)?,
        sha256: row.get(3)?,
        origin: row.get(4)?,
        saved_at: row.get(5)?,
    })
}

/// SHA-256 of a text, hex, as stored in [`SoulVersion::sha256`].
pub fn content_sha256(content: &str) -> String {
    hex::encode(Sha256::digest(content.as_bytes()))
}

impl Store {
    /// Records a version of `file`; returns the latest version unchanged when
    /// its text is the same.
    pub fn record_soul_version(
        &self,
        file: &str,
        content: &str,
        origin: &str,
    ) -> Result<SoulVersion> {
        // The hash is of the text as written, so change detection compares
        // files; the stored text is scrubbed of secrets.
        let sha256 = content_sha256(content);
        if let Some(latest) = self.latest_soul_version(file)? {
            if latest.sha256 == sha256 {
                return Ok(latest);
            }
        }
        let content = self.scrub("soul history", content);
        let content = self.seal_text(TABLE, file, &content);
        let version = self.write_row(
            &format!(
                "INSERT INTO soul_versions (file, content, sha256, origin, saved_at)
                 VALUES (?1, ?2, ?3, ?4, ?5) RETURNING {COLUMNS}"
            ),
            params![file, content, sha256, origin, unix_now()],
            from_row,
            "recording a soul version",
        )?;
        self.opened_version(version)
    }

    /// A version read from the table, its text opened when sealed.
    fn opened_version(&self, mut version: SoulVersion) -> Result<SoulVersion> {
        version.content =
            self.open_text(TABLE, &version.file, std::mem::take(&mut version.content))?;
        Ok(version)
    }

    /// The newest recorded version of `file`, if any.
    pub fn latest_soul_version(&self, file: &str) -> Result<Option<SoulVersion>> {
        let latest = self
            .lock()
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM soul_versions WHERE file = ?1 ORDER BY id DESC LIMIT 1"
                ),
                [file],
                from_row,
            )
            .optional()
            .context("reading the latest soul version")?;
        latest.map(|v| self.opened_version(v)).transpose()
    }

    /// Every version of `file`, newest first.
    pub fn soul_history(&self, file: &str) -> Result<Vec<SoulVersion>> {
        let connection = self.lock();
        let mut statement = connection
            .prepare(&format!(
                "SELECT {COLUMNS} FROM soul_versions WHERE file = ?1 ORDER BY id DESC"
            ))
            .context("listing soul versions")?;
        let rows = statement
            .query_map([file], from_row)
            .context("listing soul versions")?;
        let versions = rows
            .collect::<rusqlite::Result<Vec<_>>>()
            .context("listing soul versions")?;
        drop(statement);
        drop(connection);
        versions
            .into_iter()
            .map(|v| self.opened_version(v))
            .collect()
    }

    /// One version by id.
    pub fn soul_version(&self, id: i64) -> Result<SoulVersion> {
        let version = self
            .lock()
            .query_row(
                &format!("SELECT {COLUMNS} FROM soul_versions WHERE id = ?1"),
                [id],
                from_row,
            )
            .optional()
            .context("reading a soul version")?
            .ok_or_else(|| StoreError::NotFound {
                what: "soul version",
                id: id.to_string(),
            })?;
        self.opened_version(version)
    }
}
