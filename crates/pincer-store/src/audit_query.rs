//! Reading the audit log the way the Audit pane does: newest first, filtered
//! by actor, action, outcome, time and free text.

use crate::audit::AuditRecord;
use crate::{Result, SqliteContext, Store};
use rusqlite::types::Value;

/// Which records to read. Empty fields do not filter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Exactly this actor.
    pub actor: Option<String>,
    /// Actions starting with this (`gateway.` or `gateway.auth`).
    pub action: Option<String>,
    /// Exactly this decision.
    pub decision: Option<String>,
    /// Text found (case-insensitively) in the action, target or details.
    pub text: Option<String>,
    /// From this time (unix ms, inclusive).
    pub from_ms: Option<i64>,
    /// Until this time (unix ms, exclusive).
    pub to_ms: Option<i64>,
    /// Only records before this one (the next page).
    pub before_seq: Option<i64>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<i64>,
}

fn like_pattern(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

impl Store {
    /// Records matching `filter`, newest first.
    pub fn query_audit(&self, filter: &AuditFilter) -> Result<Vec<AuditRecord>> {
        let mut clauses = Vec::new();
        let mut values: Vec<Value> = Vec::new();
        let mut add = |clause: &str, value: Value| {
            values.push(value);
            clauses.push(clause.replace('?', &format!("?{}", values.len())));
        };
        if let Some(actor) = filter.actor.as_deref().filter(|s| !s.is_empty()) {
            add("actor = ?", Value::Text(actor.into()));
        }
        if let Some(action) = filter.action.as_deref().filter(|s| !s.is_empty()) {
            add(
                "substr(action, 1, length(?)) = ?",
                Value::Text(action.into()),
            );
        }
        if let Some(decision) = filter.decision.as_deref().filter(|s| !s.is_empty()) {
            add("decision = ?", Value::Text(decision.into()));
        }
        if let Some(text) = filter.text.as_deref().filter(|s| !s.trim().is_empty()) {
            add(
                "(action || ' ' || target || ' ' || details) LIKE ? ESCAPE '\\'",
                Value::Text(like_pattern(text.trim())),
            );
        }
        if let Some(from) = filter.from_ms {
            add("at_ms >= ?", Value::Integer(from));
        }
        if let Some(to) = filter.to_ms {
            add("at_ms < ?", Value::Integer(to));
        }
        if let Some(before) = filter.before_seq {
            add("seq < ?", Value::Integer(before));
        }
        let limit = filter.limit.unwrap_or(100).clamp(1, 1000);
        let where_clause = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        let sql = format!(
            "SELECT seq, at_ms, actor, action, target, decision, details, prev_hash, hash FROM audit_log {where_clause}
             ORDER BY seq DESC LIMIT {limit}"
        );
        let connection = self.lock();
        let mut statement = connection.prepare(&sql).context("querying the audit log")?;
        let rows = statement
            .query_map(
                rusqlite::params_from_iter(values),
                crate::audit::record_from_row,
            )
            .context("querying the audit log")?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .context("querying the audit log")
    }

    /// The actors and actions that occur, for the pane's filter lists.
    pub fn audit_vocabulary(&self) -> Result<(Vec<String>, Vec<String>)> {
        let connection = self.lock();
        let distinct = |column: &str| -> Result<Vec<String>> {
            let mut statement = connection
                .prepare(&format!(
                    "SELECT DISTINCT {column} FROM audit_log ORDER BY 1"
                ))
                .context("listing audit values")?;
            let rows = statement
                .query_map([], |r| r.get(0))
                .context("listing audit values")?;
            rows.collect::<rusqlite::Result<Vec<String>>>()
                .context("listing audit values")
        };
        Ok((distinct("actor")?, distinct("action")?))
    }
}
