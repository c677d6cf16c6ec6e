//! `pincer backup …`: copies of the database and the workspace's markdown,
//! taken online, checked, and restored while Pincer is stopped.

use anyhow::{bail, Result};
use pincer_app::store::{human_bytes, StoreCondition};
use pincer_app::Maintenance;
use std::path::Path;

/// The backup subcommands.
#[derive(clap::Subcommand)]
pub enum BackupCommand {
    /// Take a backup now (the server may keep running).
    Now,
    /// List the backups, oldest first.
    List,
    /// Check a backup: its files, SQLite's full check, its audit chain.
    Verify {
        /// `latest` or a backup's id (or its start), as `list` shows.
        #[arg(default_value = "latest")]
        when: String,
    },
    /// Restore a backup over the data folder (quit Pincer first); the
    /// current database and workspace files are kept aside.
    Restore {
        /// `latest` or a backup's id (or its start), as `list` shows.
        when: String,
    },
}

/// Runs one backup subcommand.
pub fn run(data_dir: &Path, command: BackupCommand) -> Result<()> {
    if let BackupCommand::Restore { when } = command {
        let restored = pincer_app::restore_backup(data_dir, &when)?;
        println!(
            "restored {} ({}, audit log up to record {})",
            restored.backup.id, restored.backup.copy.reason, restored.audit_seq
        );
        println!(
            "the replaced files are kept in {}",
            restored.kept_aside.display()
        );
        return Ok(());
    }
    let admin = Maintenance::open(data_dir)?;
    match command {
        BackupCommand::Now => {
            if let StoreCondition::Damaged { cause } = admin.store().condition() {
                bail!("not backing up a damaged database: {cause}");
            }
            let backup = admin.take_backup("manual")?;
            println!(
                "backup {}: {} and {} workspace files in {} ms, in {}",
                backup.id,
                human_bytes(backup.copy.bytes),
                backup.copy.files.len(),
                backup.copy.took_ms,
                backup.folder.display()
            );
        }
        BackupCommand::List => {
            let all = admin.backups()?.list()?;
            if all.is_empty() {
                println!("no backups yet in {}", admin.backups()?.folder().display());
            }
            for backup in all {
                println!(
                    "{}  {:>9}  schema v{}  audit up to {}  {} files  ({})",
                    backup.id,
                    human_bytes(backup.copy.bytes),
                    backup.copy.schema_version,
                    backup.copy.audit_head.as_ref().map_or(0, |(seq, _)| *seq),
                    backup.copy.files.len(),
                    backup.copy.reason
                );
            }
        }
        BackupCommand::Verify { when } => {
            let check = admin.check_backup(&when)?;
            match &check.problem {
                None => println!(
                    "backup {}: intact (SQLite's full check passed; audit chain of {} records verifies)",
                    check.backup.id,
                    check.audit.as_ref().map_or(0, |a| a.records)
                ),
                Some(problem) => bail!("backup {} cannot be used: {problem}", check.backup.id),
            }
        }
        BackupCommand::Restore { .. } => unreachable!("handled above"),
    }
    Ok(())
}
