//! `pincer memory …`: memory from the command line, on the same database a
//! running server uses (it notices the changes on its next search).

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use pincer_memory::{
    ChunkOptions, Embedder, EmbedderOptions, Memory, MemoryOptions, Provenance, SearchOptions,
    SyncReport,
};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// The memory subcommands.
#[derive(clap::Subcommand)]
pub enum MemoryCommand {
    /// Add a folder or file (markdown, text, code, PDF) and index it.
    Add {
        /// The folder or file.
        path: PathBuf,
        /// `untrusted` for outside documents (fenced as data in prompts) or
        /// `owner` for your own notes.
        #[arg(long, default_value = "untrusted")]
        provenance: String,
    },
    /// Search memory (keywords and meaning) and print the hits with their lines.
    Search {
        /// What to look for.
        query: String,
        /// Hits to print.
        #[arg(long, default_value_t = 8)]
        limit: usize,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Bring the index in step with the files (new, changed, deleted).
    Sync,
    /// Drop the index and rebuild it from the files.
    Reindex,
    /// Counts and a consistency check of the index.
    Stats,
}

/// Runs one memory subcommand.
pub fn run(data_dir: &Path, embedder: Option<PathBuf>, command: MemoryCommand) -> Result<()> {
    let memory = open(data_dir, embedder)?;
    match command {
        MemoryCommand::Add { path, provenance } => {
            let provenance = Provenance::parse(&provenance).with_context(|| {
                format!("unknown provenance {provenance:?}; use owner or untrusted")
            })?;
            let source = memory.add_source(&path, provenance)?;
            println!(
                "added {} ({}, {})",
                source.path,
                source.kind,
                source.provenance.as_str()
            );
            print_report(&with_progress(&memory, |m, cancel| m.sync(cancel))?);
        }
        MemoryCommand::Search { query, limit, json } => {
            let hits = memory.search(
                &query,
                &SearchOptions {
                    limit,
                    ..Default::default()
                },
            )?;
            if json {
                println!("{}", serde_json::to_string_pretty(&hits)?);
            } else if hits.is_empty() {
                println!("nothing in memory matches {query:?}");
            }
            for (n, hit) in hits.iter().enumerate().filter(|_| !json) {
                println!(
                    "[{}] {}:{}-{}  ({}, {}, score {:.4})",
                    n + 1,
                    hit.path,
                    hit.start_line,
                    hit.end_line,
                    hit.provenance.as_str(),
                    hit.day,
                    hit.score
                );
                for line in hit.text.lines().take(4) {
                    println!("    {line}");
                }
            }
        }
        MemoryCommand::Sync => print_report(&with_progress(&memory, |m, cancel| m.sync(cancel))?),
        MemoryCommand::Reindex => {
            print_report(&with_progress(&memory, |m, cancel| m.reindex(cancel))?)
        }
        MemoryCommand::Stats => {
            let stats = memory.stats()?;
            println!("{}", serde_json::to_string_pretty(&stats)?);
            for source in memory.sources()? {
                println!(
                    "source {}: {} ({}, {}): {} files, {} chunks",
                    source.id,
                    source.path,
                    source.kind,
                    source.provenance.as_str(),
                    source.files,
                    source.chunks
                );
            }
            anyhow::ensure!(
                stats.integrity == "ok",
                "the database reports damage: {}",
                stats.integrity
            );
            anyhow::ensure!(
                stats.vectors == stats.chunks && stats.keyword_rows == stats.chunks,
                "the index is out of step ({} chunks, {} vectors, {} keyword rows); run `pincer memory reindex`",
                stats.chunks,
                stats.vectors,
                stats.keyword_rows
            );
        }
    }
    Ok(())
}

fn open(data_dir: &Path, embedder: Option<PathBuf>) -> Result<Arc<Memory>> {
    let folder = pincer_app::find_embedder(embedder).context(
        "no embedding model: pass --embedder <folder> (all-MiniLM-L6-v2: config.json, tokenizer.json, model.safetensors) or download it from the Memory pane",
    )?;
    let embedder = Arc::new(Embedder::load(&folder, EmbedderOptions::default())?);
    // Through the vault, so the index gets the same leak redaction as the
    // server's, and MEMORY.md is indexed only as the owner accepted it.
    let admin = pincer_app::Maintenance::open(data_dir)?;
    let options = MemoryOptions {
        workspace: data_dir.join("workspace"),
        chunking: ChunkOptions::default(),
    };
    let memory = Memory::open(Arc::clone(admin.store()), embedder, options)?;
    memory.set_protection(admin.memory_guard()?);
    Ok(Arc::new(memory))
}

/// Runs a sync on a worker thread and draws its progress.
fn with_progress(
    memory: &Arc<Memory>,
    work: impl FnOnce(&Memory, &AtomicBool) -> pincer_memory::Result<SyncReport> + Send + 'static,
) -> Result<SyncReport> {
    let worker_memory = memory.clone();
    let worker = std::thread::spawn(move || work(&worker_memory, &AtomicBool::new(false)));
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} files  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    while !worker.is_finished() {
        let progress = memory.progress();
        bar.set_length(progress.files_total as u64);
        bar.set_position(progress.files_done as u64);
        bar.set_message(progress.current.unwrap_or_default());
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    bar.finish_and_clear();
    worker
        .join()
        .map_err(|_| anyhow::anyhow!("the indexing thread panicked"))?
        .map_err(Into::into)
}

fn print_report(report: &SyncReport) {
    println!(
        "indexed {} files ({} chunks embedded, {} re-used), {} unchanged, {} removed",
        report.files_indexed,
        report.chunks_embedded,
        report.chunks_reused,
        report.files_unchanged,
        report.files_removed
    );
    for error in &report.errors {
        eprintln!("skipped: {error}");
    }
}
