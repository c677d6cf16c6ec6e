//! `pincer data …`: the learning records — consent per source, counts,
//! export as JSON lines, deletion. Every change is audited.

use anyhow::Result;
use pincer_app::ipc::{DeleteTrainingData, SetConsent};
use pincer_app::Maintenance;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The data subcommands.
#[derive(clap::Subcommand)]
pub enum DataCommand {
    /// Counts per source (recorded, judged, +1/0/−1, hinted, waiting) and
    /// the consent in force for each.
    Stats,
    /// Write the records, each with the consent it was taken under and its
    /// teacher context, as JSON lines.
    Export {
        /// Only this source (`app`, `client:<name>`).
        #[arg(long)]
        source: Option<String>,
        /// Write to this file instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Delete one record or every record of a source.
    Delete {
        /// The record's id.
        #[arg(long, conflicts_with = "source", required_unless_present = "source")]
        id: Option<u64>,
        /// Every record of this source.
        #[arg(long)]
        source: Option<String>,
    },
    /// Give (`on`) or withdraw (`off`) consent for a source. A withdrawal
    /// keeps its records out of every later training set.
    Consent {
        /// `app`, `client:<name>` or `session:<id>`.
        source: String,
        /// `on` or `off`.
        #[arg(value_parser = ["on", "off"])]
        decision: String,
        /// `training` or `cloud-judge`.
        #[arg(long, default_value = "training")]
        purpose: String,
    },
}

/// Runs one data subcommand.
pub fn run(data_dir: &Path, command: DataCommand) -> Result<()> {
    let admin = Maintenance::open(data_dir)?;
    let data = admin.training_data()?;
    match command {
        DataCommand::Stats => {
            let overview = data.overview()?;
            if overview.sources.is_empty() {
                println!("no training data yet; training consent is off until you turn it on (`pincer data consent app on`)");
            }
            println!(
                "{:<28} {:>9} {:>7} {:>7} {:>4} {:>4} {:>4} {:>7} {:>8}",
                "source", "consent", "records", "judged", "+1", "0", "-1", "hinted", "waiting"
            );
            for s in &overview.sources {
                let consent = match s.training {
                    Some(true) => "on",
                    Some(false) => "withdrawn",
                    None => "never",
                };
                println!(
                    "{:<28} {:>9} {:>7} {:>7} {:>4} {:>4} {:>4} {:>7} {:>8}",
                    s.source,
                    consent,
                    s.total,
                    s.judged,
                    s.positive,
                    s.neutral,
                    s.negative,
                    s.hinted,
                    s.waiting
                );
            }
            println!("judge: {} samples per turn", overview.judge_samples);
        }
        DataCommand::Export { source, out } => {
            let text = data.export(source.as_deref())?;
            match out {
                Some(path) => {
                    std::fs::write(&path, &text)
                        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
                    eprintln!(
                        "wrote {} records to {}",
                        text.lines().count(),
                        path.display()
                    );
                }
                None => std::io::stdout().lock().write_all(text.as_bytes())?,
            }
        }
        DataCommand::Delete { id, source } => {
            let removed = data.delete(DeleteTrainingData {
                id: id.map(|id| id as f64),
                source,
            })?;
            println!("deleted {removed} records");
        }
        DataCommand::Consent {
            source,
            decision,
            purpose,
        } => {
            let consent = data.set_consent(SetConsent {
                source,
                purpose: Some(purpose),
                granted: decision == "on",
            })?;
            println!(
                "{} consent for {}: {}",
                consent.purpose,
                consent.source,
                if consent.granted { "on" } else { "withdrawn" }
            );
        }
    }
    Ok(())
}
