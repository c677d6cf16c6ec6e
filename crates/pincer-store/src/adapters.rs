//! Trained adapters, every version kept: where it lives, what it was
//! trained from and with, how it scored, and what the gate decided. At most
//! one serves (a unique index says so); a rollback is a change of which.

use crate::{unix_now_ms, Result, SqliteContext, Store};
use rusqlite::{params, OptionalExtension, Row};
use serde::{Deserialize, Serialize};

/// A trained adapter to register.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewAdapter {
    /// The base model's folder it was trained on.
    pub base_model: String,
    /// The adapter training started from, if any.
    pub parent_id: Option<i64>,
    /// Its folder (PEFT layout).
    pub path: String,
    /// The run's settings.
    pub settings: serde_json::Value,
    /// The turns it was trained on and those held out (ids).
    pub data: serde_json::Value,
    /// The gate's metrics and the run's loss history.
    pub metrics: serde_json::Value,
}

/// A registered adapter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdapterVersion {
    /// Version number.
    pub id: i64,
    /// Unix ms.
    pub created_at_ms: i64,
    /// `serving`, `kept` (passed or retired, not serving) or `rejected`.
    pub status: String,
    /// The gate's reasons, or why its status last changed.
    pub reason: String,
    /// What was registered.
    #[serde(flatten)]
    pub adapter: NewAdapter,
}

const COLUMNS: &str =
    "id, created_at_ms, status, reason, base_model, parent_id, path, settings, data, metrics";

fn from_row(row: &Row) -> rusqlite::Result<AdapterVersion> {
    let json = |index: usize| -> rusqlite::Result<serde_json::Value> {
        let text: String = row.get(index)?;
        serde_json::from_str(&text).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(
                index,
                rusqlite::types::Type::Text,
                Box::new(e),
            )
        })
    };
    Ok(AdapterVersion {
        id: row.get(0)?,
        created_at_ms: row.get(1)?,
        status: row.get(2)?,
        reason: row.get(3)?,
        adapter: NewAdapter {
            base_model: row.get(4)?,
            parent_id: row.get(5)?,
            path: row.get(6)?,
            settings: json(7)?,
            data: json(8)?,
            metrics: json(9)?,
        },
    })
}

impl Store {
    /// Registers an adapter: `serving` (the one serving before is kept) or,
    /// when the gate said no, `rejected`; `reason` says why.
    pub fn add_adapter(
        &self,
        adapter: &NewAdapter,
        serve: bool,
        reason: &str,
    ) -> Result<AdapterVersion> {
        let mut connection = self.lock();
        let transaction = connection.transaction().context("registering an adapter")?;
        if serve {
            transaction
                .execute("UPDATE adapters SET status = 'kept', reason = 'replaced by a newer adapter' WHERE status = 'serving'", [])
                .context("retiring the serving adapter")?;
        }
        transaction
            .execute(
                "INSERT INTO adapters (created_at_ms, base_model, parent_id, path, status, reason, settings, data, metrics)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    unix_now_ms(),
                    adapter.base_model,
                    adapter.parent_id,
                    adapter.path,
                    if serve { "serving" } else { "rejected" },
                    reason,
                    adapter.settings.to_string(),
                    adapter.data.to_string(),
                    adapter.metrics.to_string()
                ],
            )
            .context("registering an adapter")?;
        let id = transaction.last_insert_rowid();
        transaction.commit().context("registering an adapter")?;
        drop(connection);
        Ok(self.adapter(id)?.expect("the row just written"))
    }

    /// One version.
    pub fn adapter(&self, id: i64) -> Result<Option<AdapterVersion>> {
        self.lock()
            .query_row(
                &format!("SELECT {COLUMNS} FROM adapters WHERE id = ?1"),
                [id],
                from_row,
            )
            .optional()
            .context("reading an adapter")
    }

    /// Every version, newest first.
    pub fn adapters(&self) -> Result<Vec<AdapterVersion>> {
        self.query_rows(
            &format!("SELECT {COLUMNS} FROM adapters ORDER BY id DESC"),
            [],
            from_row,
            "listing adapters",
        )
    }

    /// The adapter serving now, if any.
    pub fn serving_adapter(&self) -> Result<Option<AdapterVersion>> {
        self.lock()
            .query_row(
                &format!("SELECT {COLUMNS} FROM adapters WHERE status = 'serving'"),
                [],
                from_row,
            )
            .optional()
            .context("reading the serving adapter")
    }

    /// Makes `id` the serving adapter (any version, rejected ones too: the
    /// owner decides), or none with `None`; the one serving before is kept.
    pub fn serve_adapter(&self, id: Option<i64>, reason: &str) -> Result<()> {
        let mut connection = self.lock();
        let transaction = connection.transaction().context("switching adapters")?;
        transaction
            .execute(
                "UPDATE adapters SET status = 'kept', reason = ?1 WHERE status = 'serving'",
                [reason],
            )
            .context("retiring the serving adapter")?;
        if let Some(id) = id {
            let changed = transaction
                .execute(
                    "UPDATE adapters SET status = 'serving', reason = ?2 WHERE id = ?1",
                    params![id, reason],
                )
                .context("serving an adapter")?;
            if changed == 0 {
                return Err(crate::StoreError::NotFound {
                    what: "adapter version",
                    id: id.to_string(),
                });
            }
        }
        transaction.commit().context("switching adapters")
    }
}
