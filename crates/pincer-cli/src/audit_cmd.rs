//! `pincer audit …`: read, verify and export the audit chain.

use anyhow::Result;
use pincer_app::Maintenance;

use std::io::Write;
use std::path::Path;

/// The audit subcommands.
#[derive(clap::Subcommand)]
pub enum AuditCommand {
    /// Check the whole chain and its signed checkpoints; exits 1 naming the
    /// first edited, missing, swapped or cut-off record.
    Verify,
    /// Delete records older than a number of days (retention); the rest
    /// still verifies.
    Prune {
        /// Keep this many days.
        #[arg(long)]
        keep_days: u32,
    },
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
    let admin = Maintenance::open(data_dir)?;
    let store = admin.store();
    match command {
        AuditCommand::Prune { keep_days } => {
            let before = pincer_store::unix_now_ms() - i64::from(keep_days) * 86_400_000;
            let pruned = admin.prune_audit(before)?;
            println!(
                "removed {} records; the log now starts at record {}",
                pruned.removed, pruned.first_kept
            );
        }
        AuditCommand::Verify => {
            let verification = admin.verify_audit()?;
            match verification.broken_at {
                None => println!(
                    "audit chain intact: {} records verified, signed up to record {}",
                    verification.records,
                    verification
                        .signed_up_to
                        .map_or("none yet".into(), |seq| seq.to_string())
                ),
                Some(broken) => anyhow::bail!(
                    "audit chain broken at record {}: {} ({} records before it verified)",
                    broken.seq,
                    broken.reason,
                    verification.records
                ),
            }
        }
        AuditCommand::List { limit } => {
            let records = store.all_audit_records()?;
            for record in records.iter().rev().take(limit.max(0) as usize).rev() {
                let e = &record.event;
                println!(
                    "{:>6}  {}  {:<7} {:<24} {:<8} {}  {}",
                    record.seq, record.at_ms, e.actor, e.action, e.decision, e.target, e.details
                );
            }
        }
        AuditCommand::Export { format } => {
            let text = admin.export_audit(&format)?;
            std::io::stdout().lock().write_all(text.as_bytes())?;
        }
    }
    Ok(())
}
