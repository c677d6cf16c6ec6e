//! `pincer audit …`: read, verify and export the audit chain.

use anyhow::Result;
use pincer_store::{AuditRecord, Store};
use std::io::Write;
use std::path::Path;

/// The audit subcommands.
#[derive(clap::Subcommand)]
pub enum AuditCommand {
    /// Check the whole chain; exits 1 naming the first edited, missing or swapped record.
    Verify,
    /// Print the newest records.
    List {
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: i64,
    },
    /// Write every record, with its hashes, to stdout.
    Export {
        /// `jsonl` (one JSON object per line) or `csv`.
        #[arg(long, default_value = "jsonl")]
        format: String,
    },
}

/// Runs one audit subcommand.
pub fn run(data_dir: &Path, command: AuditCommand) -> Result<()> {
    let store = Store::open_in(data_dir)?;
    match command {
        AuditCommand::Verify => {
            let verification = store.verify_audit()?;
            match verification.broken_at {
                None => println!("audit chain intact: {} records verified", verification.records),
                Some(broken) => anyhow::bail!(
                    "audit chain broken at record {}: {} ({} records before it verified)",
                    broken.seq,
                    broken.reason,
                    verification.records
                ),
            }
        }
        AuditCommand::List { limit } => {
            let records = all(&store)?;
            for record in records.iter().rev().take(limit.max(0) as usize).rev() {
                let e = &record.event;
                println!("{:>6}  {}  {:<7} {:<24} {:<8} {}  {}", record.seq, record.at_ms, e.actor, e.action, e.decision, e.target, e.details);
            }
        }
        AuditCommand::Export { format } => {
            let mut out = std::io::stdout().lock();
            let records = all(&store)?;
            match format.as_str() {
                "jsonl" => {
                    for record in &records {
                        writeln!(out, "{}", serde_json::to_string(record)?)?;
                    }
                }
                "csv" => {
                    writeln!(out, "seq,at_ms,actor,action,target,decision,details,prev_hash,hash")?;
                    for r in &records {
                        let e = &r.event;
                        let fields = [e.actor.clone(), e.action.clone(), e.target.clone(), e.decision.clone(), e.details.to_string()];
                        let quoted: Vec<String> = fields.iter().map(|f| format!("\"{}\"", f.replace('"', "\"\""))).collect();
                        writeln!(out, "{},{},{},{},{}", r.seq, r.at_ms, quoted.join(","), r.prev_hash, r.hash)?;
                    }
                }
                other => anyhow::bail!("unknown export format {other:?}; use jsonl or csv"),
            }
        }
    }
    Ok(())
}

fn all(store: &Store) -> Result<Vec<AuditRecord>> {
    let mut records = Vec::new();
    loop {
        let page = store.audit_records(records.last().map_or(0, |r: &AuditRecord| r.seq), 1000)?;
        if page.is_empty() {
            return Ok(records);
        }
        records.extend(page);
    }
}
